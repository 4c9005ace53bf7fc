"""The command line's guards (issue 12): only `db init` creates a ledger, a database that is not one is refused,
periods follow DESIGN.md's rule (or a recorded --reopen), output folders that cannot be written are refused before
anything is written, and names with rich markup are printed as text."""
import errno
import json
import os
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli.main import main
from ledgers.store import Ledger
from synthetic.register import generate_register

PERIOD = "2025-01"
NEXT = "2025-02"


def run(db: str, *args, store: Path | None = None):
    extra = ["--store", str(store)] if store is not None and args[0] == "calculate" else []
    return CliRunner().invoke(main, ["--db", db, *map(str, args), *extra])


def ok(result) -> dict | None:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout) if result.stdout.lstrip().startswith(("{", "[")) else None


@pytest.fixture(scope="module")
def register(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("guards") / PERIOD
    generate_register(folder, 120, 8, PERIOD)
    return folder


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'ledger.db'}"
    return request.getfixturevalue("pg_schema_url")


EVERY_STEP = [["calculate", "--data", "REG", "--period", PERIOD, "--by", "ana"], ["approve", "X-1", "--by", "marko"],
              ["export", "X-1", "--out", "OUT"], ["reconcile", "FILE"], ["payroll", "list"], ["payroll", "show", "X-1"],
              ["payroll", "lines", "X-1", "--out", "LINES"], ["hold", "list"],
              ["hold", "release", "1", "--by", "marko", "--note", "n"], ["report", "X-1"],
              ["audit", "recompute", "X-1"], ["ledger", "verify"], ["ledger", "digest"], ["ledger", "balance"]]


def concrete(args: list, register: Path, tmp: Path) -> list:
    (tmp / "file.xml").write_text("<x/>")
    names = {"REG": register, "OUT": tmp / "out", "FILE": tmp / "file.xml", "LINES": tmp / "lines.parquet"}
    return [str(names.get(arg, arg)) for arg in args]


@pytest.mark.parametrize("args", EVERY_STEP, ids=[" ".join(a[:2]) for a in EVERY_STEP])
def test_a_mistyped_sqlite_database_is_refused_and_nothing_is_created(args, register, tmp_path):
    missing = tmp_path / "typo" / "dir" / "x.db"
    before = sorted(tmp_path.rglob("*"))
    result = run(f"sqlite:///{missing}", *concrete(args, register, tmp_path))
    assert result.exit_code == 2, result.output
    assert "no ledger" in result.output and "isplata db init" in result.output
    assert not (tmp_path / "typo").exists()
    assert sorted(p for p in tmp_path.rglob("*") if p.name != "file.xml") == \
        sorted(p for p in before if p.name != "file.xml")


def test_an_empty_database_has_no_ledger_on_both_databases(db_url, register, tmp_path):
    if db_url.startswith("sqlite"):
        sqlite3.connect(db_url.removeprefix("sqlite:///")).close()  # an empty SQLite file
    for args in (["payroll", "list"], ["hold", "list"], EVERY_STEP[0]):
        result = run(db_url, *concrete(args, register, tmp_path))
        assert result.exit_code == 2 and "no ledger" in result.output, result.output
    with Ledger(db_url) as ledger:
        assert ledger.schema_version() is None  # still nothing created
    ok(run(db_url, "db", "init"))
    assert ok(run(db_url, "payroll", "list", "--json")) == []


def test_a_file_that_is_not_a_database_exits_2(tmp_path):
    path = tmp_path / "notes.db"
    path.write_bytes(b"these are my notes, not a database" * 200)
    for args in (["payroll", "list"], ["db", "init"], ["ledger", "verify"]):
        result = CliRunner().invoke(main, ["--db", f"sqlite:///{path}", *args])
        assert result.exit_code == 2, result.output
        assert "not a database" in result.output and "Traceback" not in result.output
    assert path.read_bytes().startswith(b"these are my notes")


def test_a_read_only_database_exits_2(tmp_path, register):
    db = f"sqlite:///{tmp_path / 'ledger.db'}"
    ok(run(db, "db", "init"))
    # opened read-only, as a file this user cannot write (chmod would not stop root, who runs the tests here)
    read_only = f"sqlite:///file:{tmp_path / 'ledger.db'}?mode=ro&uri=true"
    assert ok(run(read_only, "payroll", "list", "--json")) == []
    result = run(read_only, "calculate", "--data", register, "--period", PERIOD, "--by", "ana",
                 store=tmp_path / "store")
    assert result.exit_code == 2, result.output
    assert "read-only" in result.output and "Traceback" not in result.output


@pytest.mark.parametrize("period", ["9999-12", "1970-01", "0001-01", "2099-01", "9999-11", "2025-13", "25-01"])
def test_extreme_months_are_bad_input(period, register, tmp_path):
    db = f"sqlite:///{tmp_path / 'ledger.db'}"
    ok(run(db, "db", "init"))
    result = run(db, "calculate", "--data", register, "--period", period, "--by", "ana", store=tmp_path / "s")
    assert result.exit_code == 2, result.output
    assert "--period" in result.output and "Traceback" not in result.output
    assert ok(run(db, "payroll", "list", "--json")) == []


def approved_january(db: str, register: Path, store: Path) -> str:
    ok(run(db, "db", "init"))
    payroll = ok(run(db, "calculate", "--data", register, "--period", PERIOD, "--by", "ana", "--json",
                     store=store))["payroll"]
    ok(run(db, "approve", payroll, "--by", "marko"))
    return payroll


def test_periods_follow_the_latest_approved_month(db_url, register, tmp_path):
    store = tmp_path / "store"
    first = approved_january(db_url, register, store)
    calc = lambda period, *extra: run(db_url, "calculate", "--data", register, "--period", period, "--by", "ana",
                                      "--json", *extra, store=store)
    earlier = calc("2024-12")  # the legacy system paid it: no override offered
    assert earlier.exit_code == 2 and "before this ledger's first payroll (2025-01)" in earlier.output
    assert "--reopen" not in earlier.output
    skipped = calc("2025-03")
    assert skipped.exit_code == 2 and "would skip 2025-02" in skipped.output
    assert f"{first}, approved by marko" in skipped.output and "--reopen 2025-03 --reason" in skipped.output
    assert ok(calc(PERIOD))["payroll"] == "ME-202501-02"          # supplementary payroll of the open month
    assert ok(calc(NEXT))["payroll"] == "ME-202502-01"            # the next month
    half = calc("2024-12", "--reopen", "2024-12")
    assert half.exit_code == 2 and "--reason" in half.output
    other = calc("2024-12", "--reopen", "2024-11", "--reason", "court ruling")
    assert other.exit_code == 2
    legacy = calc("2024-12", "--reopen", "2024-12", "--reason", "court ruling 7/2025")  # the legacy system paid it
    assert legacy.exit_code == 2 and "before this ledger's first payroll (2025-01)" in legacy.output
    reopened = ok(calc("2025-03", "--reopen", "2025-03", "--reason", "court ruling 7/2025"))
    with Ledger(db_url) as ledger:
        events = ledger.events(subject=reopened["payroll"], kind="reopened")
    assert [(e["payload"]["period"], e["payload"]["reason"], e["payload"]["by"]) for e in events] == \
        [("2025-03", "court ruling 7/2025", "ana")]


def test_a_second_approval_names_who_approved_and_when(tmp_path, register):
    db = f"sqlite:///{tmp_path / 'ledger.db'}"
    payroll = approved_january(db, register, tmp_path / "store")
    again = run(db, "approve", payroll, "--by", "petra")
    assert again.exit_code == 2 and f"{payroll} is already approved by marko at 20" in again.output


def test_a_refused_export_makes_no_folder(tmp_path, register):
    db = f"sqlite:///{tmp_path / 'ledger.db'}"
    ok(run(db, "db", "init"))
    payroll = ok(run(db, "calculate", "--data", register, "--period", PERIOD, "--by", "ana", "--json",
                     store=tmp_path / "store"))["payroll"]
    for identifier in (payroll, "ME-202501-09"):  # a draft, an unknown payroll
        refused = run(db, "export", identifier, "--out", tmp_path / "out")
        assert refused.exit_code == 2 and not (tmp_path / "out").exists(), refused.output


def test_unwritable_out_folders_exit_2_and_write_nothing(tmp_path, register, monkeypatch):
    db = f"sqlite:///{tmp_path / 'ledger.db'}"
    payroll = approved_january(db, register, tmp_path / "store")
    missing = run(db, "export", payroll, "--out", tmp_path / "no" / "such" / "dir")
    assert missing.exit_code == 2 and "does not exist" in missing.output
    assert not (tmp_path / "no").exists()
    a_file = tmp_path / "file"
    a_file.write_text("x")
    assert run(db, "export", payroll, "--out", a_file).exit_code == 2
    locked = tmp_path / "locked"
    locked.mkdir()
    access = os.access  # a folder this user may not write (chmod would not stop root, who runs the tests here)
    monkeypatch.setattr(os, "access",
                        lambda path, mode: access(path, mode) and not (Path(path) == locked and mode & os.W_OK))
    read_only = run(db, "export", payroll, "--out", locked)
    assert read_only.exit_code == 2 and "read-only" in read_only.output
    monkeypatch.undo()
    with Ledger(db) as ledger:
        assert [b.kind for b in ledger.batches()] == ["approve"]  # nothing posted as sent


def test_a_full_disk_during_export_exits_2_and_leaves_nothing(tmp_path, register, monkeypatch):
    from bank_exports import files

    db = f"sqlite:///{tmp_path / 'ledger.db'}"
    payroll = approved_january(db, register, tmp_path / "store")
    out = tmp_path / "out"
    out.mkdir()

    def full(self, data):
        raise OSError(errno.ENOSPC, "No space left on device", str(self.part))

    monkeypatch.setattr(files.HashingWriter, "write", full)
    result = run(db, "export", payroll, "--out", out)
    assert result.exit_code == 2 and "the disk is full" in result.output, result.output
    assert list(out.iterdir()) == []
    with Ledger(db) as ledger:
        assert [b.kind for b in ledger.batches()] == ["approve"]
    monkeypatch.undo()
    ok(run(db, "export", payroll, "--out", out))
    assert (out / "manifest.json").exists()


def test_officer_names_with_markup_are_printed_as_text(tmp_path, register):
    db = f"sqlite:///{tmp_path / 'ledger.db'}"
    ok(run(db, "db", "init"))
    made = run(db, "calculate", "--data", register, "--period", PERIOD, "--by", "[/bold]", store=tmp_path / "s")
    assert made.exit_code == 0, made.output
    approved = run(db, "approve", "ME-202501-01", "--by", "[red]x[/red] [/]")
    assert approved.exit_code == 0, approved.output
    assert "[red]x[/red] [/]" in approved.output
    listed = run(db, "payroll", "list")
    assert listed.exit_code == 0 and "[/bold]" in listed.output


def test_a_full_database_disk_exits_2_and_posts_nothing(tmp_path, register, monkeypatch):
    db = f"sqlite:///{tmp_path / 'ledger.db'}"
    ok(run(db, "db", "init"))
    payroll = ok(run(db, "calculate", "--data", register, "--period", PERIOD, "--by", "ana", "--json",
                     store=tmp_path / "store"))["payroll"]

    def full(self, *args, **kwargs):
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(Ledger, "append_batch", full)
    result = run(db, "approve", payroll, "--by", "marko")
    assert result.exit_code == 2 and "the disk is full" in result.output and "Traceback" not in result.output
    monkeypatch.undo()
    assert ok(run(db, "payroll", "list", "--json"))[0]["status"] == "draft"


def test_an_unwritable_lines_file_exits_2(tmp_path, register):
    db = f"sqlite:///{tmp_path / 'ledger.db'}"
    ok(run(db, "db", "init"))
    payroll = ok(run(db, "calculate", "--data", register, "--period", PERIOD, "--by", "ana", "--json",
                     store=tmp_path / "store"))["payroll"]
    (tmp_path / "taken").write_text("a file where a folder should be")
    result = run(db, "payroll", "lines", payroll, "--out", tmp_path / "taken" / "lines.parquet")
    assert result.exit_code == 2 and "cannot write" in result.output, result.output


@pytest.mark.parametrize("period", ["9999-12", "0001-01", "1970-01"])
def test_generate_and_demo_refuse_extreme_months(period, tmp_path):
    generated = CliRunner().invoke(main, ["generate", "--out", str(tmp_path / "reg"), "--rights", "10",
                                          "--period", period])
    assert generated.exit_code == 2 and "covers" in generated.output, generated.output
    demo = CliRunner().invoke(main, ["demo", "--rights", "10", "--workdir", str(tmp_path / "demo"),
                                     "--period", period])
    assert demo.exit_code == 2 and "covers" in demo.output, demo.output
    assert not (tmp_path / "reg").exists() and not (tmp_path / "demo").exists()


@pytest.mark.parametrize("how", ["-O", "PYTHONOPTIMIZE"])
def test_python_without_its_asserts_is_refused_before_anything_is_written(how, tmp_path):
    """-O strips the assert statements the kernels check bounds with: the command exits 2, says why and what to
    do, and creates no database (a real interpreter: CliRunner runs in this one, which keeps its asserts)."""
    import subprocess
    import sys

    db = tmp_path / "ledger.db"
    env = {**os.environ, "ISPLATA_LANG": "en"}
    env.pop("PYTHONOPTIMIZE", None)
    flags = ["-O"] if how == "-O" else []
    if how == "PYTHONOPTIMIZE":
        env["PYTHONOPTIMIZE"] = "1"
    done = subprocess.run([sys.executable, *flags, "-c", "from cli.main import main; main()", "--db",
                           f"sqlite:///{db}", "db", "init"], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 2, done.stderr
    assert "error: Python runs with -O or PYTHONOPTIMIZE" in done.stderr and "Traceback" not in done.stderr
    assert not db.exists()
    done = subprocess.run([sys.executable, "-c", "from cli.main import main; main()", "--db", f"sqlite:///{db}",
                           "db", "init"], capture_output=True, text=True, env={**env, "PYTHONOPTIMIZE": ""},
                          timeout=300)
    assert done.returncode == 0, done.stderr  # the same command with the asserts kept
