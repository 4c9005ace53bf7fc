"""Kill a step at every named crash point (payroll.crash.CRASH_POINTS), run it again, and compare the ledger, the
payroll state and the files with a clean run, on SQLite and PostgreSQL.

The killed step runs as `isplata ...` in a subprocess with ISPLATA_CRASH_AT=<point> (it SIGKILLs itself there);
the steps before it and the re-run after it are the same functions called in this process. What is compared
does not depend on the clock: per batch its kind, source, posting count, postings digest and Merkle root (the
batch hash also covers its timestamp), the balances, the events by kind and subject, the holds, the payroll
rows, and the exported files against their manifest, with no staging folder or temporary file left behind.
"""
import collections
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from formats.catalogue import load_catalogue
from ledgers.store import Ledger
from ledgers.verify import verify
from payroll import cycle, demo, reconcile, store
from payroll.crash import CRASH_POINTS
from synthetic.register import generate_register

PERIOD = "2025-01"
PAYROLL = "ME-202501-01"
RIGHTS = 150
STEPS = ("calculate", "approve", "export", "reconcile", "hold_release")


@pytest.fixture(scope="module")
def register(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("crash-register") / PERIOD
    generate_register(folder, RIGHTS, 11, PERIOD)
    return folder


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request):
    return request.param


def new_run(backend: str, request, root: Path) -> dict:
    """A fresh ledger (made as `db init` makes it) and the folders of one run."""
    root.mkdir(parents=True, exist_ok=True)
    db = f"sqlite:///{root / 'ledger.db'}" if backend == "sqlite" else pg_schema(request)
    cycle.open_db(db, create=True).close()
    return {"db": db, "store": root / "store", "out": root / "out", "root": root}


def pg_schema(request) -> str:
    """A private PostgreSQL schema for one run (a test makes two: the clean run and the crashed one)."""
    import uuid
    from urllib.parse import quote

    import psycopg

    base = request.getfixturevalue("postgres_url")
    schema = "t_" + uuid.uuid4().hex[:12]
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f"create schema {schema}")

    def drop():
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f"drop schema {schema} cascade")

    request.addfinalizer(drop)
    url = base.replace("postgresql://", "postgresql+psycopg://", 1)
    return f"{url}{'&' if '?' in url else '?'}options={quote('-csearch_path=' + schema)}"


def run_step(step: str, run: dict, register: Path, returns: list | None = None) -> None:
    """One step of the cycle in this process."""
    db = run["db"]
    if step == "calculate":
        cycle.calculate(db, register, PERIOD, "ana", store_dir=run["store"])
    elif step == "approve":
        cycle.approve(db, PAYROLL, "marko")
    elif step == "export":
        run["out"].mkdir(exist_ok=True)
        cycle.export(db, PAYROLL, run["out"])
    elif step == "reconcile":
        reconcile.reconcile(db, returns, out_dir=run["root"])
    else:
        reconcile.release_hold(db, first_hold(db), "marko", "death report withdrawn")


def cli_args(step: str, run: dict, register: Path, returns: list | None) -> list[str]:
    if step == "calculate":
        return ["calculate", "--data", str(register), "--period", PERIOD, "--by", "ana", "--store", str(run["store"])]
    if step == "approve":
        return ["approve", PAYROLL, "--by", "marko"]
    if step == "export":
        run["out"].mkdir(exist_ok=True)
        return ["export", PAYROLL, "--out", str(run["out"])]
    if step == "reconcile":
        return ["reconcile", *map(str, returns), "--out", str(run["root"])]
    return ["hold", "release", str(first_hold(run["db"])), "--by", "marko", "--note", "death report withdrawn"]


def first_hold(db: str) -> int:
    rows = reconcile.list_holds(db)
    return min(row["hold_id"] for row in rows if row["reason_code"] == "MD07")


def killed_at(point: str, args: list[str], db: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, ISPLATA_CRASH_AT=point)
    code = "import sys; from cli.main import main; sys.exit(main())"
    return subprocess.run([sys.executable, "-c", code, "--db", db, *args], env=env, capture_output=True,
                          text=True, cwd=Path(__file__).resolve().parents[2])


def snapshot(run: dict) -> dict:
    """Everything a crash could leave different, none of it dependent on the clock."""
    with Ledger(run["db"]) as ledger:
        checked = verify(ledger)
        assert checked.ok, checked
        batches = [(b.kind, b.source_id, b.n_postings, b.postings_sha256, b.merkle_root) for b in ledger.batches()]
        balances = ledger.balances()
        events = sorted(collections.Counter((e["kind"], e["subject"]) for e in ledger.events()).items())
        with ledger.engine.connect() as conn:
            holds = [(h["kind"], h["right_id"], h["payee_id"], h["reason_code"], h["payment_ref"], h["released"])
                     for h in store.read_holds(conn, released=True).to_pylist()]
            payrolls = [(p.payroll_id, p.lines_sha256, p.payments_sha256, p.net_minor)
                        for p in store.list_payrolls(conn)]
    return {"batches": batches, "balances": balances, "events": events, "holds": holds, "payrolls": payrolls,
            "files": exported_files(run["out"]), "outputs": reconcile_outputs(run["root"])}


def exported_files(out: Path) -> list | None:
    """The manifest's files (name, count, control sum), each checked against its SHA-256 on disk; nothing else
    may be in the folder (no staging folder, no temporary file)."""
    if not out.exists():
        return None
    manifest_path = out / "manifest.json"
    present = sorted(path.name for path in out.iterdir())
    if not manifest_path.exists():
        return present
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    for entry in manifest["files"]:
        assert store.sha256_file(out / entry["name"]) == entry["sha256"], entry["name"]
    assert present == sorted([entry["name"] for entry in manifest["files"]] + ["manifest.json"])
    return [(entry["name"], entry["nb_of_txs"], entry["ctrl_sum_minor"]) for entry in manifest["files"]]


def reconcile_outputs(root: Path) -> dict:
    return {path.name: path.read_text(encoding="utf-8") for path in sorted(root.glob("*.csv"))}


@pytest.fixture(scope="module")
def returns(register, tmp_path_factory) -> list:
    """The bank's files for the payroll (identical for every run: ids and amounts do not depend on the clock)."""
    root = tmp_path_factory.mktemp("crash-returns")
    run = {"db": f"sqlite:///{root / 'ledger.db'}", "store": root / "store", "out": root / "out", "root": root}
    cycle.open_db(run["db"], create=True).close()
    for step in ("calculate", "approve", "export"):
        run_step(step, run, register)
    return [Path(p) for p in demo.simulate_bank(run["db"], PAYROLL, root / "returns", load_catalogue(), 5)["files"]]


CLEAN = {}  # (backend, step) -> the state after a clean run up to that step


def clean_state(step: str, backend: str, request, root: Path, register: Path, returns: list) -> dict:
    if (backend, step) not in CLEAN:
        run = new_run(backend, request, root)
        for done in STEPS[:STEPS.index(step) + 1]:
            run_step(done, run, register, returns)
        CLEAN[backend, step] = snapshot(run)
    return CLEAN[backend, step]


CASES = [(point.split(".")[0], point) for point in CRASH_POINTS]


@pytest.mark.parametrize("step,point", CASES, ids=[point for _, point in CASES])
def test_a_rerun_after_a_crash_equals_a_clean_run(step, point, backend, request, tmp_path, register, returns):
    expected = clean_state(step, backend, request, tmp_path / "clean", register, returns)
    run = new_run(backend, request, tmp_path / "crashed")
    for done in STEPS[:STEPS.index(step)]:
        run_step(done, run, register, returns)
    before = snapshot(run)
    killed = killed_at(point, cli_args(step, run, register, returns), run["db"])
    assert killed.returncode == -9, (killed.returncode, killed.stderr[-2000:])  # the point was reached
    if not point.endswith(("after_commit", "after_first_rename")):
        # killed before its commit: the database holds nothing of the step (its files are staged at most)
        database = lambda state: {k: v for k, v in state.items() if k not in ("files", "outputs")}
        assert database(snapshot(run)) == database(before)
    run_step(step, run, register, returns)
    assert snapshot(run) == expected
