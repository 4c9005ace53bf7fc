"""The command group itself: commands listed in the order of the cycle, errors as JSON under --json (same exit
code), and the plain message otherwise."""
import json

from click.testing import CliRunner

from cli.main import CYCLE_ORDER, main


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def test_help_lists_commands_in_the_order_of_the_cycle():
    result = run("--help")
    assert result.exit_code == 0
    listed = result.output.split("Commands:")[1].splitlines()
    names = [line.split()[0] for line in listed if line.startswith("  ") and not line.startswith("   ")]
    assert names == [name for name in CYCLE_ORDER if name in main.commands]
    assert names[:8] == ["demo", "generate", "validate", "db", "calculate", "approve", "export", "reconcile"]


def test_errors_under_json_are_one_json_document_with_the_same_exit_code(tmp_path):
    db = f"sqlite:///{tmp_path / 'x.db'}"
    missing = run("--db", db, "payroll", "show", "NOPE", "--json")
    assert missing.exit_code == 2 and "no ledger" in json.loads(missing.stdout)["error"]
    assert run("--db", db, "db", "init").exit_code == 0
    refused = run("--db", db, "payroll", "show", "NOPE", "--json")
    assert refused.exit_code == 2
    document = json.loads(refused.stdout)
    assert "no payroll 'NOPE'" in document["error"] and document["problems"] == []
    bad = run("--db", db, "calculate", "--data", tmp_path, "--period", "2025-13", "--by", "ana", "--json")
    assert bad.exit_code == 2
    problem = json.loads(bad.stdout)["problems"][0]
    assert problem["file"] == "--period" and problem["value"] == "2025-13" and problem["fix"]
    usage = run("--db", db, "calculate", "--period", "2025-01", "--json")
    assert usage.exit_code == 2 and "--data" in json.loads(usage.stdout)["error"]


def test_errors_without_json_stay_a_message_on_stderr(tmp_path):
    db = f"sqlite:///{tmp_path / 'x.db'}"
    assert run("--db", db, "db", "init").exit_code == 0
    refused = run("--db", db, "payroll", "show", "NOPE")
    assert refused.exit_code == 2 and refused.stdout == "" and refused.stderr.startswith("error: no payroll")


def test_first_compile_notice_shows_whenever_a_kernel_would_compile(tmp_path, monkeypatch):
    from payroll import warmup

    db = f"sqlite:///{tmp_path / 'x.db'}"
    assert run("--db", db, "db", "init").exit_code == 0
    monkeypatch.setattr(warmup, "is_cached", lambda dispatcher: False)
    shown = run("--db", db, "audit", "recompute", "NOPE")
    assert warmup.COMPILE_NOTICE in shown.stderr and shown.exit_code == 2
    assert warmup.COMPILE_NOTICE not in run("--db", db, "audit", "recompute", "NOPE", "--json").output
    monkeypatch.setattr(warmup, "is_cached", lambda dispatcher: True)
    assert warmup.COMPILE_NOTICE not in run("--db", db, "audit", "recompute", "NOPE").stderr
