"""`isplata demo`: the newcomer's first command runs two months end to end, on SQLite and PostgreSQL."""
import json

import pytest
from click.testing import CliRunner

from cli.main import main
from payroll.report_html import SECTIONS

STEPS = ("generate", "validate", "calculate 2025-01", "approve 2025-01", "export 2025-01", "bank returns",
         "reconcile", "advance register", "calculate 2025-02", "approve 2025-02", "export 2025-02",
         "ledger verify", "report")


def test_demo_runs_two_months_on_its_own_sqlite_database(tmp_path):
    workdir = tmp_path / "demo"
    result = CliRunner().invoke(main, ["demo", "--rights", "600", "--workdir", str(workdir), "--json"])
    assert result.exit_code == 0, result.output
    run = json.loads(result.stdout)
    assert tuple(step["step"] for step in run["steps"]) == STEPS
    assert run["ok"] and run["db"].startswith("sqlite:///") and (workdir / "isplata.db").exists()
    details = {step["step"]: step["detail"] for step in run["steps"]}
    assert "re-issued" in details["calculate 2025-02"] and "overpaid" in details["calculate 2025-02"]
    assert "deaths" in details["advance register"] and details["ledger verify"].startswith("ok")
    assert (workdir / f"report-{run['payrolls'][1]}.html").read_text().count("<section id=") == len(SECTIONS) == 14
    # a second run starts afresh in the same workdir
    again = CliRunner().invoke(main, ["demo", "--rights", "600", "--workdir", str(workdir)])
    assert again.exit_code == 0 and "ledger verify" in again.output and "total" in again.output


@pytest.mark.postgres
def test_demo_on_postgresql(tmp_path, pg_schema_url):
    result = CliRunner().invoke(main, ["demo", "--rights", "300", "--workdir", str(tmp_path / "demo"),
                                       "--db", pg_schema_url, "--audit", "--json"])
    assert result.exit_code == 0, result.output
    run = json.loads(result.stdout)
    assert run["steps"][-2]["step"] == "audit recompute" and "equals the ledger" in run["steps"][-2]["detail"]
    assert run["ok"] and run["db"] == pg_schema_url and not (tmp_path / "demo" / "isplata.db").exists()


@pytest.mark.parametrize("country, currency", [("me", "EUR"), ("rs", "RSD"), ("ua", "UAH")])
def test_demo_runs_the_whole_cycle_for_each_country(tmp_path, country, currency):
    workdir = tmp_path / f"demo-{country}"
    result = CliRunner().invoke(main, ["demo", "--country", country, "--rights", "300", "--workdir", str(workdir),
                                       "--audit", "--json"])
    assert result.exit_code == 0, result.output
    run = json.loads(result.stdout)
    assert run["ok"] and run["currency"] == currency
    assert run["payrolls"] == [f"{country.upper()}-202501-01", f"{country.upper()}-202502-01"]
    details = {step["step"]: step["detail"] for step in run["steps"]}
    assert details["ledger verify"].startswith("ok") and "equals the ledger" in details["audit recompute"]
    assert currency in details["export 2025-02"] and "matched" in details["reconcile"]
    assert json.loads((workdir / "register" / "2025-02" / "register.json").read_text())["country"] == country
