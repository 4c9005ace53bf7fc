"""The national-scale driver on a tiny register: every step of the month against a private PostgreSQL schema (in
this process, to keep the suite fast; the fresh-process runner is exercised by the failure and memory-cap
tests), the month adds up, a failing step stops the ones after it, and nothing is left behind."""
import json

import psycopg
import pytest

from benchmarks import national_scale


def _args(tmp_path, pg_url, rights, steps, work=None):
    return national_scale._arguments(["--rights", str(rights), "--db", pg_url, "--steps", steps,
                                      "--out", str(tmp_path / "ns.json")] + (["--work", work] if work else []))


def _schemas(pg_url) -> set:
    with psycopg.connect(pg_url) as conn:
        rows = conn.execute("SELECT nspname FROM pg_namespace WHERE nspname LIKE 'isplata_national_%'").fetchall()
    return {row[0] for row in rows}


def test_tiny_month_runs_end_to_end(tmp_path, postgres_url):
    report = national_scale.run_month(_args(tmp_path, postgres_url, 300, ",".join(national_scale.STEPS)),
                                      log=lambda _line: None, runner=national_scale.run_step_here)
    steps = {s["step"]: s for s in report["steps"]}
    assert [s["error"] for s in report["steps"]] == [None] * len(national_scale.STEPS)
    assert steps["calculate"]["result"]["rights"] == 300
    assert steps["export"]["result"]["ctrl_sum_minor"] == steps["calculate"]["result"]["net_minor"]
    assert steps["reconcile"]["result"]["matched"] >= steps["bank-returns"]["result"]["returned"]
    assert steps["verify"]["result"]["ok"] and steps["verify"]["result"]["batches"] >= 3
    assert all(s["peak_rss_mib"] > 0 and s["wall_s"] >= s["seconds"] for s in report["steps"])
    # where the time goes: the step's process (calculate alone takes well over a clock tick), then the server
    assert all(s["cpu_s"] >= 0 and s["server_cpu_s"] >= 0 for s in report["steps"])
    assert steps["calculate"]["cpu_s"] > 0
    month = report["month"]
    assert month["complete"] and month["wall_s"] == pytest.approx(
        sum(steps[name]["wall_s"] for name in national_scale.MONTH_STEPS))
    assert month["cpu_s"] == pytest.approx(sum(steps[name]["cpu_s"] for name in national_scale.MONTH_STEPS))
    assert "meets the goal" in national_scale.format_report(report)
    assert "(PostgreSQL) of" in national_scale.format_report(report)
    markdown = national_scale.render_readme(json.loads(json.dumps(report, default=str)))
    assert markdown.count("\n| ") == len(national_scale.STEPS) + 3 and "meets the goal" in markdown
    assert "- calculate: validating the register" in markdown  # the stages of the payroll steps
    own_schema = report["database"].rsplit("(schema ", 1)[1].rstrip(")")
    assert own_schema.startswith("isplata_national_")
    assert own_schema not in _schemas(postgres_url)  # its private schema is dropped (others' runs may be live)
    json.dumps(report, default=str)


def test_a_failed_step_stops_the_rest(tmp_path, postgres_url):
    # approve without a calculated payroll fails; export and verify must not run
    report = national_scale.run_month(_args(tmp_path, postgres_url, 10, "approve,export,verify",
                                            work=str(tmp_path / "work")), log=lambda _line: None)
    approve, export, verify = report["steps"]
    assert approve["error"] and approve["wall_s"] > 0
    assert export["error"] == verify["error"] == "not run: an earlier step failed"
    assert not report["month"]["complete"] and not report["month"]["meets_goal"]
    assert "INCOMPLETE" in national_scale.format_report(report)


def test_a_step_over_the_memory_cap_is_killed(tmp_path, postgres_url):
    args = _args(tmp_path, postgres_url, 20_000, "generate", work=str(tmp_path / "work"))
    args.max_rss_gib = 0.05  # 50 MiB: below what any step needs just to import its libraries
    report = national_scale.run_month(args, log=lambda _line: None)
    step = report["steps"][0]
    assert step["error"].startswith("killed: resident memory passed 0.05 GiB")
    assert step["peak_rss_mib"] > 50


def test_unknown_step_is_refused(capsys):
    with pytest.raises(SystemExit):
        national_scale._arguments(["--steps", "calculate,bake"])
    assert "bake" in capsys.readouterr().err


def _stat(proc, pid: int, name: str, utime: int, stime: int, cutime: int, cstime: int) -> None:
    folder = proc / str(pid)
    folder.mkdir()
    fields = ["S", "1", "1", "1", "0", "-1", "4194560", "0", "0", "0", "0", utime, stime, cutime, cstime, "20", "0"]
    (folder / "stat").write_text(f"{pid} ({name}) " + " ".join(str(f) for f in fields) + "\n")


def test_server_cpu_counts_the_local_postgres_processes(tmp_path):
    import os

    proc = tmp_path / "proc"
    proc.mkdir()
    ticks = os.sysconf("SC_CLK_TCK")
    _stat(proc, 10, "postgres", 5 * ticks, 1 * ticks, 30 * ticks, 4 * ticks)  # the postmaster: ended backends
    _stat(proc, 11, "postgres", 2 * ticks, 2 * ticks, 0, 0)
    _stat(proc, 12, "python (x) y", 99 * ticks, 99 * ticks, 0, 0)  # not the server, whatever its name holds
    (proc / "self").mkdir()
    url = "postgresql://postgres@127.0.0.1:5432/test"
    assert national_scale.server_cpu_s(url, str(proc)) == pytest.approx(44)
    assert national_scale.server_cpu_s("postgresql:///test", str(proc)) == pytest.approx(44)  # the socket
    assert national_scale.server_cpu_s("postgresql://postgres@db.example:5432/test", str(proc)) is None
    assert national_scale.server_cpu_s("sqlite:///ledger.db", str(proc)) is None
    assert national_scale.server_cpu_s(url, str(tmp_path / "none")) is None  # no /proc
    (proc / "10" / "stat").unlink()
    (proc / "11" / "stat").unlink()
    assert national_scale.server_cpu_s(url, str(proc)) is None  # no server process visible
