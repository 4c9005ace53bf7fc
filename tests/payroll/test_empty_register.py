"""A register with no rights (a new office, a month with none yet) is a valid register: validate says so, and
calculate gives an empty payroll that approves and exports to no file, never a traceback."""
import pyarrow.parquet as pq

from acceptance.test_contracts import Cli
from synthetic.register import generate_register


def test_a_register_without_rights_calculates_an_empty_payroll(tmp_path, monkeypatch):
    register = tmp_path / "register"
    generate_register(register, 200, 3, "2025-01")
    for name in ("rights", "deductions"):
        table = pq.read_table(register / f"{name}.parquet")
        pq.write_table(table.slice(0, 0), register / f"{name}.parquet")
    monkeypatch.chdir(tmp_path)
    cli = Cli(tmp_path / "isplata.db")
    assert cli.json("validate", "--data", register)["rights"] == 0
    cli("db", "init")
    summary = cli.json("calculate", "--data", register, "--period", "2025-01", "--by", "ana")
    assert (summary["rights"], summary["payments"], summary["net_minor"]) == (0, 0, 0)
    cli.json("approve", summary["payroll"], "--by", "marko")
    exported = cli.json("export", summary["payroll"], "--out", tmp_path / "out")
    assert (exported["files"], exported["payments"], exported["ctrl_sum_minor"]) == ([], 0, 0)
    assert cli.json("ledger", "verify")["ok"] is True
