"""Two officers at once: the same step started twice at the same moment, as two `isplata` processes, on SQLite
and PostgreSQL. Each step takes the ledger's lock and checks its precondition inside it, so one of them does
the work and the other is refused with who did it and when (exit 2), or finds the work done and writes nothing
twice; neither ends in a traceback, and the ledger and payroll state equal a single clean run."""
import os
import subprocess
import sys
from pathlib import Path

from test_crash import (PAYROLL, STEPS, backend, cli_args, clean_state, new_run, register,  # noqa: F401
                        returns, run_step, snapshot)

ROOT = Path(__file__).resolve().parents[2]


def twice(args: list[str], db: str) -> list[subprocess.CompletedProcess]:
    """The same command in two processes started together."""
    code = "import sys; from cli.main import main; sys.exit(main())"
    env = {key: value for key, value in os.environ.items() if key != "ISPLATA_CRASH_AT"}
    started = [subprocess.Popen([sys.executable, "-c", code, "--db", db, *args], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, cwd=ROOT, env=env) for _ in range(2)]
    done = []
    for process in started:
        stdout, stderr = process.communicate(timeout=600)
        done.append(subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr))
    for result in done:
        assert "Traceback" not in result.stderr, result.stderr[-3000:]
    return done


def prepared(step: str, backend: str, request, root: Path, register: Path, returns: list) -> dict:
    run = new_run(backend, request, root)
    for done in STEPS[:STEPS.index(step)]:
        run_step(done, run, register, returns)
    return run


def test_two_approvals_at_once_one_wins(backend, request, tmp_path, register, returns):
    expected = clean_state("approve", backend, request, tmp_path / "clean", register, returns)
    run = prepared("approve", backend, request, tmp_path / "run", register, returns)
    results = twice(cli_args("approve", run, register, returns), run["db"])
    assert sorted(r.returncode for r in results) == [0, 2], [r.stderr for r in results]
    loser = next(r for r in results if r.returncode == 2)
    assert f"{PAYROLL} is already approved by marko at " in loser.stderr
    assert snapshot(run) == expected


def test_two_exports_into_one_folder_leave_one_manifest(backend, request, tmp_path, register, returns):
    expected = clean_state("export", backend, request, tmp_path / "clean", register, returns)
    run = prepared("export", backend, request, tmp_path / "run", register, returns)
    results = twice(cli_args("export", run, register, returns), run["db"])
    assert [r.returncode for r in results] == [0, 0], [r.stderr for r in results]
    assert snapshot(run) == expected  # one batch, one event, every file as its manifest says, nothing else


def test_two_reconciles_of_the_same_files_post_once(backend, request, tmp_path, register, returns):
    expected = clean_state("reconcile", backend, request, tmp_path / "clean", register, returns)
    run = prepared("reconcile", backend, request, tmp_path / "run", register, returns)
    results = twice(cli_args("reconcile", run, register, returns), run["db"])
    assert [r.returncode for r in results] == [0, 0], [r.stderr for r in results]
    assert snapshot(run) == expected  # one batch, one `reconciled` event and one set of holds per file


def test_two_releases_of_one_hold_one_wins(backend, request, tmp_path, register, returns):
    expected = clean_state("hold_release", backend, request, tmp_path / "clean", register, returns)
    run = prepared("hold_release", backend, request, tmp_path / "run", register, returns)
    results = twice(cli_args("hold_release", run, register, returns), run["db"])
    assert sorted(r.returncode for r in results) == [0, 2], [r.stderr for r in results]
    assert "already released" in next(r for r in results if r.returncode == 2).stderr
    assert snapshot(run) == expected


def test_two_calculations_of_one_period_store_distinct_runs_or_refuse(backend, request, tmp_path, register,
                                                                      returns):
    run = prepared("calculate", backend, request, tmp_path / "run", register, returns)
    results = twice(cli_args("calculate", run, register, returns), run["db"])
    codes = sorted(r.returncode for r in results)
    assert codes in ([0, 0], [0, 2]), [r.stderr for r in results]
    payrolls = snapshot(run)["payrolls"]
    if codes == [0, 2]:  # they overlapped: the second to store is refused, nothing of it stored
        assert "while this calculation of 2025-01 ran" in next(r for r in results if r.returncode == 2).stderr
        assert [p[0] for p in payrolls] == [PAYROLL]
    else:  # one finished before the other stored: a supplementary run
        assert [p[0] for p in payrolls] == [PAYROLL, PAYROLL[:-2] + "02"]
    store_folders = sorted(path.name for path in run["store"].iterdir())
    assert store_folders == [p[0] for p in payrolls]  # no staged folder left, none without its payroll


def test_a_batch_that_cannot_be_built_is_refused_before_the_locked_check(backend, request, tmp_path, register,
                                                                         returns, monkeypatch):
    """approve builds its batch while its step holds the ledger's lock (writing the payments meanwhile): a batch
    that cannot be built is still refused before what the check under the lock refuses, as when it was built
    before the lock, and nothing of it is written."""
    import pytest

    from engine.payroll_kernel import ConservationError
    from ledgers.store import Ledger
    from payroll import cycle, postings
    from payroll.errors import Refused

    expected = clean_state("approve", backend, request, tmp_path / "clean", register, returns)
    run = prepared("approve", backend, request, tmp_path / "run", register, returns)
    real_check, real_build = cycle.check_approvable, postings.approve_postings

    def refused_under_the_lock(ledger, record, checker, conn=None):
        real_check(ledger, record, checker, conn)
        if conn is not None:
            raise Refused("approved meanwhile by another officer")

    def unbuildable(*inputs):
        raise ConservationError("a line's amount does not add up")

    def altered(record):
        raise Refused("payments.parquet no longer has the SHA-256 recorded at calculation")

    real_paid = cycle.paid_columns
    monkeypatch.setattr(cycle, "check_approvable", refused_under_the_lock)
    monkeypatch.setattr(postings, "approve_postings", unbuildable)
    with pytest.raises(ConservationError, match="does not add up"):
        cycle.approve(run["db"], PAYROLL, "marko")
    monkeypatch.setattr(cycle, "paid_columns", altered)  # the batch is refused before its payments, as before
    with pytest.raises(ConservationError, match="does not add up"):
        cycle.approve(run["db"], PAYROLL, "marko")
    monkeypatch.setattr(postings, "approve_postings", real_build)
    with pytest.raises(Refused, match="no longer has the SHA-256"):
        cycle.approve(run["db"], PAYROLL, "marko")
    monkeypatch.setattr(cycle, "paid_columns", real_paid)
    with pytest.raises(Refused, match="approved meanwhile"):
        cycle.approve(run["db"], PAYROLL, "marko")
    with Ledger(run["db"]) as ledger, ledger.engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM ledger_payments").scalar() == 0
    monkeypatch.setattr(cycle, "check_approvable", real_check)
    cycle.approve(run["db"], PAYROLL, "marko")
    assert snapshot(run) == expected
