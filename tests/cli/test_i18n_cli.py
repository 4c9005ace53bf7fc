"""The README cycle in Ukrainian (`--lang uk`): tables, confirmations, the report and errors in Ukrainian, money as
Ukraine writes it; --json output, files and exit codes the same in every language; ISPLATA_LANG and the
catalogue's country choose the language when --lang does not."""
import json

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from cli.main import main
from formats.catalogue import load_catalogue
from payroll import demo


def run(*args, code=0, env=None):
    result = CliRunner().invoke(main, [str(a) for a in args], env=env)
    assert result.exit_code == code, result.output
    return result


@pytest.fixture
def ua_register(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ISPLATA_DB", raising=False)
    monkeypatch.delenv("ISPLATA_STORE", raising=False)
    run("generate", "--out", "reg", "--rights", 300, "--seed", 3, "--period", "2025-01", "--country", "ua")
    return tmp_path


def bad_register(folder, source="reg", name="bad"):
    import shutil

    import pyarrow as pa
    import pyarrow.parquet as pq

    shutil.copytree(folder / source, folder / name)
    table = pq.read_table(folder / name / "rights.parquet")
    benefits = table.column("benefit").to_pylist()
    benefits[1] = "UA_XX"
    table = table.set_column(table.schema.get_field_index("benefit"), "benefit", pa.array(benefits))
    pq.write_table(table, folder / name / "rights.parquet")
    return folder / name


def test_the_readme_cycle_in_ukrainian(ua_register):
    folder = ua_register
    refused = run("--lang", "uk", "validate", "--data", bad_register(folder), code=2)
    assert "1 проблема у вхідних даних:" in refused.stderr
    assert "rights.parquet, рядок 2, стовпець benefit, значення 'UA_XX': невідоме значення: код допомоги. " \
           "Виправлення: використайте одне з:" in refused.stderr
    assert "облікова книга готова" in run("db", "init", "--lang", "uk").output
    calculated = run("--lang", "uk", "calculate", "--data", "reg", "--period", "2025-01", "--by", "ana").output
    assert "за складовими" in calculated and "сума (UAH)" in calculated and "належить за цей місяць" in calculated
    assert "далі: другий працівник виконує" in calculated
    maker_checker = run("--lang", "uk", "approve", "UA-202501-01", "--by", "ana", code=2)
    assert "принцип двох осіб" in maker_checker.stderr
    approved = run("--lang", "uk", "approve", "UA-202501-01", "--by", "marko").output
    assert "відомість UA-202501-01 затвердив(-ла) marko" in approved
    exported = run("--lang", "uk", "export", "UA-202501-01", "--out", "out").output
    assert "експорт UA-202501-01 у out" in exported and "контрольна сума" in exported
    net = json.loads(run("payroll", "show", "UA-202501-01", "--json").stdout)["net_minor"]
    hryvnias = f"{net // 100:,}".replace(",", "\u00a0") + f",{net % 100:02d}\u00a0₴"  # uk_UA: 1 023 855,39 ₴
    assert hryvnias in exported
    run("payroll", "lines", "UA-202501-01", "--out", "lines.parquet")
    lines = pq.read_table(folder / "lines.parquet").to_pylist()
    paid = next(line for line in lines if line["component"] == "due" and line["payment_ref"])
    explained = run("--lang", "uk", "explain", paid["right_id"], "--period", "2025-01").output
    assert "надіслано" in explained and "вік " in explained and "право " in explained
    returns = demo.simulate_bank(f"sqlite:///{folder / 'isplata.db'}", "UA-202501-01", folder / "returns",
                                 load_catalogue(country="ua"), seed=1)
    reconciled = run("--lang", "uk", "reconcile", *returns["files"]).output
    assert "звірка" in reconciled and "зіставлено" in reconciled
    reported = run("--lang", "uk", "report", "UA-202501-01", "--html", "report.html").output
    assert "за допомогами" in reported and "доплати та утримання" in reported
    page = (folder / "report.html").read_text(encoding="utf-8")
    assert "<h2>Підписи</h2>" in page and "<h2>Отримувачі та суми за допомогами</h2>" in page
    assert "гаразд: пакетів: " in run("--lang", "uk", "ledger", "verify").output


def test_json_output_and_exit_codes_are_the_same_in_every_language(ua_register):
    bad = bad_register(ua_register)
    run("db", "init")
    run("calculate", "--data", "reg", "--period", "2025-01", "--by", "ana")
    run("payroll", "lines", "UA-202501-01", "--out", "lines.parquet")
    right = pq.read_table(ua_register / "lines.parquet").column("right_id")[0].as_py()
    commands = [(("explain", right, "--period", "2025-01", "--json"), 0), (("ledger", "balance", "--json"), 0),
                (("validate", "--data", "reg", "--json"), 0), (("validate", "--data", bad, "--json"), 2),
                (("payroll", "show", "UA-202501-01", "--json"), 0), (("payroll", "list", "--json"), 0),
                (("approve", "UA-202501-01", "--by", "ana", "--json"), 2),
                (("explain", "999999", "--period", "2025-01", "--json"), 2),
                (("report", "UA-202501-01", "--json"), 0), (("ledger", "verify", "--json"), 0)]
    for args, code in commands:
        outputs = {lang: run("--lang", lang, *args, code=code).stdout for lang in ("en", "uk", "sr-Cyrl", "me")}
        assert len(set(outputs.values())) == 1, args
        json.loads(outputs["uk"])


def test_the_environment_then_the_registers_country_choose_the_language(ua_register, monkeypatch):
    bad = bad_register(ua_register)
    assert "рядок 2" in run("validate", "--data", bad, code=2, env={"ISPLATA_LANG": "uk"}).stderr
    assert "ред 2" in run("validate", "--data", bad, code=2, env={"ISPLATA_LANG": "sr-Cyrl"}).stderr
    assert "row 2" in run("--lang", "en", "validate", "--data", bad, code=2, env={"ISPLATA_LANG": "uk"}).stderr
    monkeypatch.delenv("ISPLATA_LANG")
    assert "рядок 2" in run("validate", "--data", bad, code=2).stderr   # a Ukrainian register: Ukrainian
    assert "row 2" in run("validate", "--data", bad, "--lang", "en", code=2).stderr  # --lang after the command


def test_an_unknown_language_is_a_usage_error(ua_register):
    result = run("--lang", "de", "payroll", "list", code=2)
    assert "unknown language 'de'" in result.output and "sr-Cyrl" in result.output
    assert "unknown language" in run("payroll", "list", "--lang", "xx", code=2).output


def test_serbian_and_montenegrin_tables(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    run("generate", "--out", "rs", "--rights", 100, "--seed", 2, "--period", "2025-01", "--country", "rs")
    cyrillic = run("--lang", "sr-Cyrl", "validate", "--data", "rs").output
    assert "┃ давање" in cyrillic and "┃ канал" in cyrillic and "банковни пренос" in cyrillic
    assert "┃ davanje" in run("--lang", "sr-Latn", "validate", "--data", "rs").output
    run("generate", "--out", "me", "--rights", 100, "--seed", 2, "--period", "2025-01", "--country", "me")
    run("db", "init")
    calculated = run("--lang", "me", "calculate", "--data", "me", "--period", "2025-01", "--by", "ana").output
    assert "dospjelo ovog mjeseca" in calculated and "iznos (EUR)" in calculated


def test_the_postal_list_header_is_in_the_countrys_language_whatever_lang_says(ua_register):
    run("db", "init")
    run("calculate", "--data", "reg", "--period", "2025-01", "--by", "ana")
    run("approve", "UA-202501-01", "--by", "marko")
    first = json.loads(run("--lang", "en", "export", "UA-202501-01", "--out", "out", "--json").stdout)
    again = json.loads(run("--lang", "sr-Cyrl", "export", "UA-202501-01", "--out", "out", "--json").stdout)
    assert [f["sha256"] for f in first["files"]] == [f["sha256"] for f in again["files"]]
    postal = next(ua_register.joinpath("out").glob("*-postal.csv"))
    header = postal.read_text(encoding="utf-8").splitlines()[0]
    assert header.startswith('"область","район","населений пункт","вулиця"') and "прізвище" in header


def test_the_demo_steps_and_the_explain_formula_in_ukrainian(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ISPLATA_DB", raising=False)
    shown = run("demo", "--rights", 300, "--country", "ua", "--period", "2026-01", "--workdir", "d", "--lang", "uk")
    text = " ".join(shown.output.split())
    assert "генерування" in text and "розрахунок 2026-01" in text and "затвердив marko" in text
    assert "₴" in text and "UAH," not in text   # amounts as Ukraine writes them, not the English data text
    document = json.loads(run("demo", "--rights", 300, "--country", "ua", "--period", "2026-01", "--workdir", "e",
                              "--json", "--lang", "uk").stdout)
    assert [row["step"] for row in document["steps"]][:3] == ["generate", "validate", "calculate 2026-01"]
    assert " UAH" in document["steps"][2]["detail"]   # --json keeps the English data
    db = f"sqlite:///{tmp_path / 'd' / 'isplata.db'}"
    listed = run("--db", db, "payroll", "lines", "UA-202601-01", "--out", "l.parquet")
    assert listed.exit_code == 0
    right = pq.read_table(tmp_path / "l.parquet").column("right_id")[0].as_py()
    explained = run("--db", db, "explain", right, "--period", "2026-01", "--payroll", "UA-202601-01", "--lang", "uk")
    assert "належить" in explained.output and "з 20" in explained.output
