"""The monthly cycle as a finance officer runs it: `isplata calculate`, `approve` and `export` as three separate
commands in fresh processes on SQLite (goal for 100,000 rights: <= 10 s in total), and the whole `isplata demo`
(two months with returns; goal <= 30 s). Each round starts from an empty database, so every round does the same
work. The normal test run uses a tiny size, once; the full size:

    ISPLATA_BENCH_FULL=1 .venv/bin/python -m pytest benchmarks/bench_cycle.py --benchmark-enable
"""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from synthetic.register import generate_register

FULL = os.environ.get("ISPLATA_BENCH_FULL") == "1"
RIGHTS = 100_000 if FULL else 300
ROUNDS = 3 if FULL else 1
PERIOD = "2025-01"
# the console script installed next to this interpreter (the venv's), else one on PATH
ISPLATA = [str(Path(sys.executable).with_name("isplata"))] if Path(sys.executable).with_name("isplata").exists() \
    else [shutil.which("isplata") or "isplata"]


def isplata(*args: str) -> dict:
    """One command in a fresh process; its --json output."""
    done = subprocess.run([*ISPLATA, *args, "--json"], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout)


def cycle_once(register: Path, work: Path) -> dict:
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    db = ["--db", f"sqlite:///{work / 'bench.db'}"]
    from payroll.cycle import open_db

    open_db(db[1], create=True).close()  # `db init`, done once by an administrator, not part of the officers' month
    summary = isplata(*db, "calculate", "--data", str(register), "--period", PERIOD, "--by", "ana",
                      "--store", str(work / "store"))
    isplata(*db, "approve", summary["payroll"], "--by", "marko")
    manifest = isplata(*db, "export", summary["payroll"], "--out", str(work / "out"))
    assert manifest["ctrl_sum_minor"] == summary["net_minor"]
    return manifest


def test_calculate_approve_export_fresh_processes(benchmark, tmp_path):
    register = tmp_path / "register"
    generate_register(register, RIGHTS, 11, PERIOD)
    manifest = benchmark.pedantic(cycle_once, args=(register, tmp_path / "run"), rounds=ROUNDS, iterations=1)
    assert manifest["payments"] > 0


def test_whole_demo(benchmark, tmp_path):
    run = benchmark.pedantic(lambda: isplata("demo", "--rights", str(RIGHTS), "--workdir", str(tmp_path / "demo")),
                             rounds=ROUNDS, iterations=1)
    assert run["ok"]
