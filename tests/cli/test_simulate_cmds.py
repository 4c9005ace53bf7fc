"""`isplata simulate` through click: the JSON keys scripts rely on, the terminal tables with benefit names and
amounts in currency units, the HTML page (sections, inline SVG charts, no script, no external link), exit 2 on
another country's catalogue, and no database created or opened, whatever --db says."""
import json
import re

import pytest
from click.testing import CliRunner

from cli.main import main
from formats.catalogue import catalogue_path
from payroll.simulate_html import SECTIONS
from synthetic.register import generate_register

DNJP_2024_07 = '{ valid_from = 2024-07-01, value = "89.16", source = "rules_md", status = "reported" },'
TOP_KEYS = {"period", "months", "currency", "by_month_benefit", "by_municipality", "totals"}
ROW_KEYS = {"base_minor", "new_minor", "diff_minor", "rights", "gain", "lose", "stop"}


@pytest.fixture(scope="module")
def register(tmp_path_factory):
    folder = tmp_path_factory.mktemp("simulate") / "reg"
    generate_register(folder, 400, 5, "2025-01")
    return folder


@pytest.fixture
def rules(tmp_path):
    """Montenegro's catalogue with ME_DNJP +10 % (89.16 -> 98.08 EUR) from 2025-02."""
    text = catalogue_path("me").read_text(encoding="utf-8")
    path = tmp_path / "indexation.toml"
    added = '\n  { valid_from = 2025-02-01, value = "98.08", status = "assumption", reason = "what if" },'
    path.write_text(text.replace(DNJP_2024_07, DNJP_2024_07 + added),
                    encoding="utf-8")
    return path


def run(*args):
    result = CliRunner().invoke(main, [str(arg) for arg in args])
    assert "Traceback" not in result.output, result.output
    return result


def test_json_has_the_stable_keys_and_the_difference_of_the_changed_benefit(register, rules):
    result = run("simulate", "--data", register, "--period", "2025-01", "--rules", rules, "--months", "3", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert TOP_KEYS <= set(data) and (data["period"], data["months"], data["currency"]) == ("2025-01", 3, "EUR")
    assert all({"month", "benefit"} | ROW_KEYS <= set(row) for row in data["by_month_benefit"])
    assert all({"municipality"} | ROW_KEYS <= set(row) for row in data["by_municipality"])
    assert ROW_KEYS <= set(data["totals"])
    dnjp = {row["month"]: row for row in data["by_month_benefit"] if row["benefit"] == "ME_DNJP"}
    assert dnjp["2025-01"]["diff_minor"] == 0 and dnjp["2025-02"]["rights"] > 0
    for month in ("2025-02", "2025-03"):  # every right due that month gains 98.08 - 89.16
        assert dnjp[month]["diff_minor"] == 892 * dnjp[month]["rights"] == 892 * dnjp[month]["gain"]
    assert data["totals"]["diff_minor"] == sum(row["diff_minor"] for row in dnjp.values())


def test_terminal_tables_name_the_benefits_and_write_currency_units(register, rules):
    result = run("simulate", "--data", register, "--period", "2025-01", "--rules", rules, "--months", "2")
    assert result.exit_code == 0, result.output
    data = json.loads(run("simulate", "--data", register, "--period", "2025-01", "--rules", rules, "--months",
                          "2", "--json").stdout)
    diff = data["totals"]["diff_minor"]
    assert "(ME_DNJP)" in result.stdout and "Dodatak za njegu i" in result.stdout  # the name, folded at 80 columns
    euros = f"{diff // 100:,}.{diff % 100:02d}"  # the active language's locale (English in tests): 1,234.56
    assert euros in result.stdout
    assert "by municipality" in result.stdout and "2025-02" in result.stdout


def test_html_page_has_its_sections_and_inline_charts_and_nothing_external(register, rules, tmp_path):
    page = tmp_path / "cost.html"
    result = run("simulate", "--data", register, "--period", "2025-01", "--rules", rules, "--months", "3",
                 "--html", page)
    assert result.exit_code == 0, result.output
    text = page.read_text(encoding="utf-8")
    for anchor in SECTIONS:
        assert f"<section id='{anchor}'>" in text, anchor
    assert text.count("<svg") == 3 and text.count("<rect") > 10
    assert not re.search(r"<script|<link|<img|<iframe|https?://|src=", text, re.IGNORECASE)
    assert "Dodatak za njegu i pomoć (ME_DNJP)" in text


def test_a_catalogue_of_another_country_exits_2_with_a_message(register):
    result = run("simulate", "--data", register, "--period", "2025-01", "--rules", catalogue_path("rs"),
                 "--country", "me")
    assert result.exit_code == 2
    assert "one country and currency" in result.output and "'rs'" in result.output


def test_no_database_is_created_whatever_db_says(register, rules, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ISPLATA_DB", raising=False)
    database = tmp_path / "ledger" / "x.db"
    result = run("--db", f"sqlite:///{database}", "simulate", "--data", register, "--period", "2025-01", "--rules",
                 rules, "--months", "1", "--json")
    assert result.exit_code == 0, result.output
    assert not database.exists() and not (tmp_path / "ledger").exists() and not list(tmp_path.glob("*.db"))
    refused = run("simulate", "--data", register, "--period", "2025-01", "--rules", rules, "--db", "sqlite:///y.db")
    assert refused.exit_code == 2 and not (tmp_path / "y.db").exists()  # simulate takes no --db


@pytest.mark.parametrize("args, words", [(["--period", "2025-13"], "YYYY-MM"), (["--months", "0"], "--months"),
                                         (["--country", "xx"], "unknown country")])
def test_bad_options_exit_2_with_a_message(register, rules, args, words):
    options = {"--period": "2025-01", **dict(zip(args[::2], args[1::2]))}
    result = run("simulate", "--data", register, "--rules", rules, *[x for pair in options.items() for x in pair])
    assert result.exit_code == 2 and words in result.output, result.output
