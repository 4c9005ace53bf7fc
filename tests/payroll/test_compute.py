"""payroll.compute: what the computation refuses before anything is stored."""
import datetime as dt

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from formats.catalogue import load_catalogue
from formats.errors import InputError
from formats.generator import generate_register
from ledgers.store import Ledger
from payroll import compute, cycle, store


def backdate(folder, benefit: str, valid_from: dt.date, decided_on: dt.date, count: int) -> list[int]:
    """Move the first `count` rights of `benefit` to start at `valid_from`, decided on `decided_on`."""
    path = folder / "rights.parquet"
    rights = pq.read_table(path)
    chosen = pc.equal(rights["benefit"], benefit).to_numpy(zero_copy_only=False).nonzero()[0][:count]
    valid = rights["valid_from"].to_pylist()
    decided = rights["decided_on"].to_pylist()
    for row in chosen:
        valid[row], decided[row] = valid_from, decided_on
    rights = rights.set_column(rights.schema.get_field_index("valid_from"), "valid_from", pa.array(valid, pa.date32()))
    rights = rights.set_column(rights.schema.get_field_index("decided_on"), "decided_on",
                               pa.array(decided, pa.date32()))
    pq.write_table(rights, path)
    return sorted(rights["right_id"].take(pa.array(chosen)).to_pylist())


def test_a_right_due_before_its_benefits_first_date_names_the_benefit_the_months_and_the_fix(tmp_path):
    register = tmp_path / "register"
    generate_register(register, rights=400, seed=2, period="2025-01", country="rs")
    moved = backdate(register, "RS_DD", dt.date(2024, 10, 1), dt.date(2025, 1, 10), 3)
    catalogue = load_catalogue(country="rs")
    ledger = Ledger(f"sqlite:///{tmp_path / 'ledger.db'}")
    try:
        ledger.init()
        store.init_schema(ledger.engine)
        inputs = cycle.load_inputs(ledger, register, catalogue, cycle.parse_period_arg("2025-01"))
        with pytest.raises(InputError) as caught:
            compute.compute("RS-202501-01", inputs, cycle.noop, release=True)
    finally:
        ledger.close()
    [problem] = caught.value.problems
    assert problem.column == "benefit" and problem.value == "RS_DD"
    assert "serbia.toml" in problem.rule and "2024-10 to 2024-12" in problem.rule
    assert f"{len(moved)} right(s)" in problem.rule and str(moved[0]) in problem.rule
    assert "RS_DD's parameters in force from 2024-10" in problem.fix
