"""A benefit without an amount (research status N, `unpriced` in the catalogue) is never calculated: a register
with a right of it is refused with exit code 2, naming the benefit, the reason and the fix, and nothing is written."""
import json

import pyarrow.parquet as pq
from click.testing import CliRunner

from cli.main import main
from formats.catalogue import catalogue_path
from synthetic.register import generate_register

REASON = "research status N: no amount found in public sources (test)"


def test_a_right_of_an_unpriced_benefit_is_refused_and_nothing_is_written(tmp_path):
    register = tmp_path / "register"
    generate_register(register, 400, 3, "2025-01")
    assert "ME_DNJP" in pq.read_table(register / "rights.parquet").column("benefit").to_pylist()
    text = catalogue_path("me").read_text(encoding="utf-8")
    marked = text.replace('code = "ME_DNJP"\n', f'code = "ME_DNJP"\nunpriced = "{REASON}"\n', 1)
    assert marked != text
    rules = tmp_path / "unpriced.toml"
    rules.write_text(marked, encoding="utf-8")
    db = f"sqlite:///{tmp_path / 'ledger.db'}"
    runner = CliRunner()
    assert runner.invoke(main, ["--db", db, "db", "init"]).exit_code == 0
    result = runner.invoke(main, ["--db", db, "calculate", "--data", str(register), "--period", "2025-01",
                                  "--by", "ana", "--rules", str(rules), "--store", str(tmp_path / "store")])
    assert result.exit_code == 2, result.output
    assert "ME_DNJP has no amount" in result.output and REASON in result.output
    assert "add the amount with its source to the catalogue" in result.output
    assert "Traceback" not in result.output and not (tmp_path / "store").exists()
    listed = runner.invoke(main, ["--db", db, "payroll", "list", "--json"])
    assert listed.exit_code == 0 and json.loads(listed.stdout) == []
    # the bundled catalogue (priced) calculates the same register
    calculated = runner.invoke(main, ["--db", db, "calculate", "--data", str(register), "--period", "2025-01",
                                      "--by", "ana", "--store", str(tmp_path / "store")])
    assert calculated.exit_code == 0, calculated.output


def test_a_bundled_unpriced_graded_benefit_is_refused_before_any_amount(tmp_path):
    """ME_BOR_ORTOPEDSKI (graded, research status N) in the bundled catalogue: rights relabelled to it are refused
    with its reason, not priced at grade 0 nor crashed on an empty amount table."""
    import pyarrow as pa
    import pyarrow.compute as pc

    register = tmp_path / "register"
    generate_register(register, 400, 3, "2025-01")
    rights = pq.read_table(register / "rights.parquet")
    benefit = rights.column("benefit")
    relabelled = pc.if_else(pc.equal(benefit, "ME_BOR_LI"), pa.scalar("ME_BOR_ORTOPEDSKI"), benefit)
    assert pc.sum(pc.cast(pc.equal(benefit, "ME_BOR_LI"), pa.int64())).as_py() > 0
    pq.write_table(rights.set_column(rights.schema.get_field_index("benefit"), "benefit", relabelled),
                   register / "rights.parquet")
    db = f"sqlite:///{tmp_path / 'ledger.db'}"
    runner = CliRunner()
    assert runner.invoke(main, ["--db", db, "db", "init"]).exit_code == 0
    result = runner.invoke(main, ["--db", db, "calculate", "--data", str(register), "--period", "2025-01",
                                  "--by", "ana", "--store", str(tmp_path / "store"), "--json"])
    assert result.exit_code == 2, result.output
    problems = json.loads(result.stdout)["problems"]
    assert problems and all(problem["value"] == "ME_BOR_ORTOPEDSKI" and "research status N" in problem["rule"]
                            and problem["fix"].startswith("add the amount with its source to the catalogue")
                            for problem in problems)
    assert problems[0]["row"] >= 1 and problems[0]["column"] == "benefit"
    assert not (tmp_path / "store").exists()


def test_a_right_of_an_unpriced_benefit_that_is_never_due_is_refused_too(tmp_path):
    """ME_ALIMENTACIONI (a maintenance advance, unpriced) without a maintenance title in force is never due: it is
    refused all the same, by validate and by calculate, at its row, never paid 0.00."""
    import pyarrow as pa

    register = tmp_path / "register"
    generate_register(register, 400, 3, "2025-01")
    rights = pq.read_table(register / "rights.parquet")
    benefit = rights.column("benefit").to_pylist()
    benefit[0] = "ME_ALIMENTACIONI"
    pq.write_table(rights.set_column(rights.schema.get_field_index("benefit"), "benefit", pa.array(benefit)),
                   register / "rights.parquet")
    db = f"sqlite:///{tmp_path / 'ledger.db'}"
    runner = CliRunner()
    validated = runner.invoke(main, ["validate", "--data", str(register), "--json"])
    assert validated.exit_code == 2, validated.output
    document = json.loads(validated.stdout)  # the error document of every command
    assert document["error"] == "1 problem(s) in the input" and document["ok"] is False
    assert document["problems"][0]["value"] == "ME_ALIMENTACIONI"
    assert runner.invoke(main, ["--db", db, "db", "init"]).exit_code == 0
    result = runner.invoke(main, ["--db", db, "calculate", "--data", str(register), "--period", "2025-01",
                                  "--by", "ana", "--store", str(tmp_path / "store"), "--json"])
    assert result.exit_code == 2, result.output
    [problem] = json.loads(result.stdout)["problems"]
    assert (problem["row"], problem["column"], problem["value"]) == (1, "benefit", "ME_ALIMENTACIONI")
    assert "has no amount" in problem["rule"] and not (tmp_path / "store").exists()


def test_a_conversion_problem_names_the_register_file_and_validate_finds_it_too(tmp_path):
    """A grade outside the benefit's table is found by the conversion: validate reports it as calculate does, at
    its row of rights.parquet (the file, not the table's name)."""
    import pyarrow as pa

    register = tmp_path / "register"
    generate_register(register, 400, 3, "2025-01")
    rights = pq.read_table(register / "rights.parquet")
    graded = [i for i, (code, grade) in enumerate(zip(rights.column("benefit").to_pylist(),
                                                       rights.column("grade").to_pylist())) if grade]
    grade = rights.column("grade").to_pylist()
    grade[graded[0]] = 77
    pq.write_table(rights.set_column(rights.schema.get_field_index("grade"), "grade",
                                     pa.array(grade, rights.schema.field("grade").type)), register / "rights.parquet")
    runner = CliRunner()
    db = f"sqlite:///{tmp_path / 'ledger.db'}"
    assert runner.invoke(main, ["--db", db, "db", "init"]).exit_code == 0
    for args in (["validate", "--data", str(register), "--json"],
                 ["--db", db, "calculate", "--data", str(register), "--period", "2025-01", "--by", "ana", "--json"]):
        result = runner.invoke(main, args)
        assert result.exit_code == 2, result.output
        [problem] = json.loads(result.stdout)["problems"]
        assert (problem["file"], problem["row"], problem["column"], problem["value"]) == (
            "rights.parquet", graded[0] + 1, "grade", "77")
