"""`isplata validate` and `isplata generate` through click: summaries, JSON, every problem listed, exit 2."""
import json

import pytest
from click.testing import CliRunner

from cli.main import main

REGISTER = {
    "persons.csv": "person_id,birth_date,death_date,family_name,given_name,municipality\n"
                   "1,1985-03-14,,Đukanović,Milica,Podgorica\n2,2015-06-01,,Đukanović,Luka,Podgorica\n",
    "households.csv": "household_id,person_id,role,member_from,member_to\n"
                      "10,1,head,2015-01-01,\n10,2,child,2015-06-01,\n",
    "rights.csv": "right_id,version,benefit,person_id,household_id,payee_id,valid_from,valid_to,decided_on\n"
                  "100,1,ME_DD,1,10,1000,2024-01-01,,2023-12-20\n101,1,ME_LI,1,,1001,2024-01-01,,2023-12-20\n",
    "payees.csv": "payee_id,channel,kind,name,iban,street,postcode,town,country\n"
                  "1000,bank,person,Milica Đukanović,ME25510000000000006345,,,,ME\n"
                  "1001,post,person,Milica Đukanović,,Njegoševa 12,81000,Podgorica,ME\n",
    "deductions.csv": "order_id,right_id,kind,priority,fixed_minor,percent_bp,creditor_payee_id,valid_from\n",
}


def write(folder, replace=None):
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in {**REGISTER, **(replace or {})}.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def run(*args):
    result = CliRunner().invoke(main, [str(arg) for arg in args])
    assert "Traceback" not in result.output, result.output
    return result


def test_validate_good_register_prints_summary(tmp_path):
    result = run("validate", "--data", write(tmp_path))
    assert result.exit_code == 0, result.output
    assert "ok" in result.stdout and "rights per benefit" in result.stdout and "ME_DD" in result.stdout
    assert "payees per channel" in result.stdout


def test_validate_json_summary(tmp_path):
    result = run("validate", "--data", write(tmp_path), "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["ok"] is True and summary["country"] == "me" and summary["currency"] == "EUR"
    assert summary["rights"] == 2 and summary["persons"] == 2 and summary["households"] == 1
    assert summary["rights_by_benefit"] == {"ME_DD": 1, "ME_LI": 1}
    assert summary["payees_by_channel"] == {"bank": 1, "post": 1}
    assert set(summary["files"]) == set(REGISTER)


def test_validate_lists_every_problem_and_exits_2(tmp_path):
    bad = {
        "rights.csv": REGISTER["rights.csv"].replace("ME_LI", "ME_XX"),
        "payees.csv": REGISTER["payees.csv"].replace("ME25510000000000006345", "ME25510000000000006346"),
    }
    result = run("validate", "--data", write(tmp_path, bad))
    assert result.exit_code == 2
    assert "rights.csv, row 2, column benefit, value 'ME_XX': unknown benefit code" in result.stderr
    assert "payees.csv, row 1, column iban, value 'ME25510000000000006346': invalid IBAN" in result.stderr
    assert "2 problem(s)" in result.stderr and "Fix:" in result.stderr


def test_validate_json_problems(tmp_path):
    bad = {"persons.csv": REGISTER["persons.csv"].replace("2015-06-01", "2015-02-30")}
    result = run("validate", "--data", write(tmp_path, bad), "--json")
    assert result.exit_code == 2
    report = json.loads(result.stdout)
    assert report["ok"] is False
    assert report["problems"] == [{"file": "persons.csv", "row": 2, "column": "birth_date", "value": "2015-02-30",
                                   "rule": "not a valid date", "fix": "write the date as YYYY-MM-DD, e.g. 2024-07-01"}]


def test_validate_missing_folder_and_bad_rules(tmp_path):
    result = run("validate", "--data", tmp_path / "nothing")
    assert result.exit_code == 2 and "does not exist" in result.stderr
    (tmp_path / "bad.toml").write_text("country = 'me'\n", encoding="utf-8")
    result = run("validate", "--data", write(tmp_path / "reg"), "--rules", tmp_path / "bad.toml")
    assert result.exit_code == 2 and "bad.toml" in result.stderr


def test_validate_under_another_country_refuses_foreign_benefits(tmp_path):
    result = run("validate", "--data", write(tmp_path), "--country", "rs")
    assert result.exit_code == 2 and "unknown benefit code" in result.stderr


@pytest.mark.parametrize("args,message", [
    (["--period", "2025-13"], "month out of range"),
    (["--period", "March"], "YYYY-MM"),
    (["--period", "2025-03", "--rights", "0"], "must be 1"),
    (["--period", "2025-03", "--seed", "-4"], "seed must be 0 or more"),
])
def test_generate_refuses_bad_options(tmp_path, args, message):
    result = run("generate", "--out", tmp_path / "out", *args)
    assert result.exit_code == 2 and message in result.stderr
    assert not (tmp_path / "out").exists()


def test_generate_then_validate(tmp_path):
    out = tmp_path / "reg"
    result = run("generate", "--out", out, "--rights", 300, "--seed", 4, "--period", "2025-03", "--json")
    assert result.exit_code == 0, result.output
    generated = json.loads(result.stdout)
    assert generated["rights"] == 300 and generated["households"] > 0
    assert sum(generated["rights_by_benefit"].values()) == 300
    checked = json.loads(run("validate", "--data", out, "--json").stdout)
    assert checked["ok"] and checked["rights"] == 300 and checked["files"] == generated["files"]
    assert checked["rights_by_benefit"] == generated["rights_by_benefit"]
    human = run("generate", "--out", tmp_path / "again", "--rights", 300, "--seed", 4, "--period", "2025-03")
    assert human.exit_code == 0 and "300 rights" in human.stdout and "written to" in human.stdout


def test_generate_advance_with_death_and_closed_account(tmp_path):
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    first, second = tmp_path / "m03", tmp_path / "m04"
    assert run("generate", "--out", first, "--rights", 300, "--seed", 4, "--period", "2025-03").exit_code == 0
    persons = pq.read_table(first / "persons.parquet").filter(pc.is_null(pq.read_table(first / "persons.parquet")
                                                                         .column("death_date")))
    person = persons.column("person_id")[0].as_py()
    payees = pq.read_table(first / "payees.parquet")
    payee = payees.filter(pc.equal(payees.column("channel"), "bank")).column("payee_id")[0].as_py()
    result = run("generate", "--out", second, "--advance", first, "--seed", 4,
                 "--death", f"{person}:2025-04-09", "--close-account", payee, "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["period"] == "2025-04" and summary["rights"] >= 300
    dead = pq.read_table(second / "persons.parquet").filter(pc.equal(pc.field("person_id"), person))
    assert str(dead.column("death_date")[0]) == "2025-04-09"
    assert json.loads(run("validate", "--data", second, "--json").stdout)["ok"] is True


@pytest.mark.parametrize("args,message", [
    (["--death", "1:yesterday"], "not PERSON_ID:YYYY-MM-DD"),
    (["--death", "999999999:2025-04-01"], "not in the register"),
    (["--period", "2025-02"], "later month"),
])
def test_generate_advance_refuses_bad_requests(tmp_path, args, message):
    first = tmp_path / "m03"
    assert run("generate", "--out", first, "--rights", 50, "--period", "2025-03").exit_code == 0
    result = run("generate", "--out", tmp_path / "m04", "--advance", first, *args)
    assert result.exit_code == 2 and message in result.stderr, result.output


def test_generate_advance_of_a_broken_register_lists_its_problems(tmp_path):
    broken = write(tmp_path / "bad", {"rights.csv": REGISTER["rights.csv"].replace("ME_LI", "ME_XX")})
    result = run("generate", "--out", tmp_path / "next", "--advance", broken)
    assert result.exit_code == 2 and "unknown benefit code" in result.stderr
