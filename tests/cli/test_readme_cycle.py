"""The README's monthly cycle, as a new user types it in a fresh folder, for Serbia and Ukraine (Montenegro's runs
in test_payroll_cmds.py): generate, validate, db init, calculate, approve, export, reconcile the bank's returns,
a supplementary run, report, audit recompute, ledger verify, then the next month of the register."""
import functools
import json
import re

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from bank_exports.text import clean_one
from cli.main import main
from formats.catalogue import load_catalogue
from payroll import demo

CURRENCY = {"rs": "RSD", "ua": "UAH"}


def run_isplata(*args, code=0, db=None) -> dict | str:
    result = CliRunner().invoke(main, [*(["--db", db] if db else []), *(str(a) for a in args)])
    assert result.exit_code == code, result.output
    if code == 0 and "--json" in args:
        return json.loads(result.stdout)
    return result.output


isplata = run_isplata


@pytest.fixture
def fresh_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ISPLATA_DB", raising=False)
    monkeypatch.delenv("ISPLATA_STORE", raising=False)
    return tmp_path


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request, fresh_folder):
    """None: the README's default (sqlite:///isplata.db in the folder); else a PostgreSQL schema of its own."""
    if request.param == "sqlite":
        return None
    return request.getfixturevalue("pg_schema_url").replace("postgresql+psycopg://", "postgresql://", 1)


@pytest.mark.parametrize("country", ["rs", "ua"])
def test_the_readme_cycle_runs_from_a_fresh_folder(fresh_folder, database, country):
    isplata = functools.partial(run_isplata, db=database)
    isplata("generate", "--out", "reg", "--rights", 300, "--seed", 1, "--period", "2025-01", "--country", country)
    assert json.loads((fresh_folder / "reg" / "register.json").read_text())["country"] == country
    assert isplata("validate", "--data", "reg", "--json")["country"] == country      # no --rules needed
    init = isplata("db", "init", *(["--country", country] if country == "rs" else []), "--json")
    assert init["country"] == (country if country == "rs" else None)                 # ua: the first payroll fixes it
    first = isplata("calculate", "--data", "reg", "--period", "2025-01", "--by", "ana", "--json")
    payroll = first["payroll"]
    assert payroll == f"{country.upper()}-202501-01" and first["currency"] == CURRENCY[country]
    assert first["payments"] > 0 and first["net_minor"] > 0
    isplata("approve", payroll, "--by", "marko")
    manifest = isplata("export", payroll, "--out", "out", "--json")
    assert manifest["ctrl_sum_minor"] == first["net_minor"]
    db = database or f"sqlite:///{fresh_folder / 'isplata.db'}"
    returns = demo.simulate_bank(db, payroll, fresh_folder / "returns", load_catalogue(country=country), seed=1)
    reconciled = isplata("reconcile", *returns["files"], "--json")
    assert reconciled["unmatched"] == 0 and reconciled["matched"] == reconciled["records"] > 0
    supplementary = isplata("calculate", "--data", "reg", "--period", "2025-01", "--by", "ana", "--json")
    assert supplementary["payroll"] == f"{country.upper()}-202501-02"
    assert supplementary["net_minor"] == supplementary["totals_minor"].get("reissue", 0)
    isplata("report", payroll, "--html", "report.html")
    assert (fresh_folder / "report.html").stat().st_size > 0
    assert isplata("audit", "recompute", payroll, "--json")["ok"]
    # the next month, with retroactive decisions, deaths and new rights
    isplata("generate", "--out", "reg-2025-02", "--advance", "reg", "--seed", 1)
    isplata("approve", supplementary["payroll"], "--by", "marko")
    second = isplata("calculate", "--data", "reg-2025-02", "--period", "2025-02", "--by", "ana", "--json")
    isplata("approve", second["payroll"], "--by", "marko")
    isplata("export", second["payroll"], "--out", "out-2025-02")
    verified = isplata("ledger", "verify", "--json")
    assert verified["ok"] and verified["batches"] >= 4
    isplata("payroll", "lines", second["payroll"], "--out", "lines-2025-02.parquet")
    lines = pq.read_table(fresh_folder / "lines-2025-02.parquet").to_pylist()
    right = next(line for line in lines if line["component"] == "due" and line["payment_ref"])
    explained = isplata("explain", right["right_id"], "--period", "2025-02", "--json")
    assert explained["payroll"] == second["payroll"] and explained["currency"] == CURRENCY[country]
    assert sum(m["difference_minor"] for m in explained["months"] if m["component"] == "due") == sum(
        line["amount_minor"] for line in lines if line["right_id"] == right["right_id"] and line["component"] == "due")


def test_a_ledger_refuses_a_register_of_another_country(fresh_folder):
    isplata("generate", "--out", "rs", "--rights", 100, "--seed", 2, "--period", "2025-01", "--country", "rs")
    isplata("generate", "--out", "ua", "--rights", 100, "--seed", 2, "--period", "2025-01", "--country", "ua")
    isplata("db", "init")                                                                    # no country named
    isplata("calculate", "--data", "ua", "--period", "2025-01", "--by", "ana", "--json")   # binds it to UA
    refused = isplata("calculate", "--data", "rs", "--period", "2025-01", "--by", "ana", code=2)
    assert "holds RS" in refused and "belongs to UA (UAH)" in refused and "db init --country rs" in refused
    refused = isplata("db", "init", "--country", "rs", code=2)
    assert "belongs to UA (UAH)" in refused
    mismatch = isplata("calculate", "--data", "ua", "--period", "2025-01", "--by", "ana", "--country", "rs", code=2)
    assert "register.json" in mismatch and "the register holds UA benefits" in mismatch


def test_ukrainian_payees_are_transliterated_by_the_national_standard_in_the_payment_files(fresh_folder):
    isplata("generate", "--out", "reg", "--rights", 300, "--seed", 4, "--period", "2025-01", "--country", "ua")
    isplata("db", "init", "--country", "ua")
    payroll = isplata("calculate", "--data", "reg", "--period", "2025-01", "--by", "ana", "--json")["payroll"]
    isplata("approve", payroll, "--by", "marko")
    isplata("export", payroll, "--out", "out")
    names = set(pq.read_table(fresh_folder / "reg" / "payees.parquet", columns=["name"])["name"].to_pylist())
    written = set()
    for path in (fresh_folder / "out").glob("*.xml"):
        written |= set(re.findall(r"<Cdtr><Nm>([^<]*)</Nm>", path.read_text(encoding="utf-8")))
    differs = {name for name in names if clean_one(name, 140, "sepa", "uk") != clean_one(name, 140, "sepa", "sr")}
    assert differs and written
    expected = {clean_one(name, 140, "sepa", "uk") for name in differs}
    assert expected & written                                      # the national standard's spelling is written
    assert not {clean_one(name, 140, "sepa", "sr") for name in differs} & written - expected
