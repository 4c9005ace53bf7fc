"""A maternity leave (UA_VAGITNIST, a period of days) whose length the catalogue does not allow is refused by
`calculate` with exit code 2, naming the file, row, column, the days counted, the lengths allowed and the fix, and
nothing is written; the generated register itself (lengths 126, 140, 180) calculates."""
import datetime as dt
import json

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from click.testing import CliRunner

from cli.main import main
from synthetic.register import generate_register


def test_a_leave_of_a_length_the_law_does_not_know_is_refused_and_nothing_is_written(tmp_path):
    register = tmp_path / "register"
    generate_register(register, 1_500, 3, "2026-03", "ua")
    rights = pq.read_table(register / "rights.parquet")
    leave = pc.equal(rights["benefit"], "UA_VAGITNIST").to_numpy(zero_copy_only=False)
    assert leave.sum() > 0
    starts, ends = rights["valid_from"].to_pylist(), rights["valid_to"].to_pylist()
    assert {(end - start).days + 1 for start, end, mine in zip(starts, ends, leave) if mine} <= {126, 140, 180}
    db = f"sqlite:///{tmp_path / 'ledger.db'}"
    runner = CliRunner()
    assert runner.invoke(main, ["--db", db, "db", "init"]).exit_code == 0
    calculated = runner.invoke(main, ["--db", db, "calculate", "--data", str(register), "--period", "2026-03",
                                      "--by", "ana", "--store", str(tmp_path / "good"), "--json"])
    assert calculated.exit_code == 0, calculated.output

    row = int(leave.argmax())
    ends[row] = starts[row] + dt.timedelta(days=99)   # 100 days
    pq.write_table(rights.set_column(rights.schema.get_field_index("valid_to"), "valid_to",
                                     pa.array(ends, rights.schema.field("valid_to").type)), register / "rights.parquet")
    result = runner.invoke(main, ["--db", db, "calculate", "--data", str(register), "--period", "2026-03",
                                  "--by", "ana", "--store", str(tmp_path / "store"), "--json"])
    assert result.exit_code == 2, result.output
    [problem] = json.loads(result.stdout)["problems"]
    assert (problem["file"], problem["column"], str(problem["value"])) == ("rights.parquet", "valid_to", "100")
    assert problem["row"] == row + 1 and "(126, 140, 180)" in problem["rule"]   # 1-based row of the file
    assert problem["fix"].startswith("end the period (valid_to) so that it lasts 126, 140, 180 days")
    assert "Traceback" not in result.output and not (tmp_path / "store").exists()
