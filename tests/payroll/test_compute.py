"""payroll.compute: what the computation refuses before anything is stored."""
import datetime as dt

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from formats.catalogue import load_catalogue
from formats.errors import InputError
from ledgers.store import Ledger
from payroll import compute, cycle, store
from synthetic.register import generate_register


def backdate(folder, benefit: str, valid_from: dt.date, decided_on: dt.date, count: int) -> list[int]:
    """Move the first `count` rights of `benefit` to start at `valid_from`, decided on `decided_on`."""
    path = folder / "rights.parquet"
    rights = pq.read_table(path)
    chosen = pc.equal(rights["benefit"], benefit).to_numpy(zero_copy_only=False).nonzero()[0][:count]
    valid = rights["valid_from"].to_pylist()
    decided = rights["decided_on"].to_pylist()
    applied = rights["applied_on"].to_pylist() if "applied_on" in rights.column_names else None
    for row in chosen:
        valid[row], decided[row] = valid_from, decided_on
        if applied is not None:
            applied[row] = valid_from  # applied for at the start: a decision is never before its application
    if applied is not None:
        rights = rights.set_column(rights.schema.get_field_index("applied_on"), "applied_on",
                                   pa.array(applied, pa.date32()))
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


# the months around each catalogue's first dates (RS_RODITELJSKI 2024-01, RS_NSP 2024-04, RS_DD 2025-01, the
# whole UA catalogue 2025-01, UA's 2026 minima) and the month after, from a fresh ledger
@pytest.mark.parametrize("country, period, following", [
    ("rs", "2024-01", "2024-02"), ("rs", "2024-04", "2024-05"), ("rs", "2025-01", "2025-02"),
    ("ua", "2025-01", "2025-02"), ("ua", "2025-12", "2026-01"), ("me", "2024-01", "2024-02"),
])
def test_a_generated_register_calculates_in_every_month_the_generator_makes(tmp_path, country, period, following):
    from synthetic.next_month import advance_register

    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    with Ledger(url) as ledger:
        ledger.init()
        store.init_schema(ledger.engine)
    generate_register(tmp_path / "a", rights=500, seed=9, period=period, country=country)
    first = cycle.calculate(url, tmp_path / "a", period, "ana", store_dir=tmp_path / "store")
    assert first["payroll"].startswith(country.upper()) and first["net_minor"] > 0
    cycle.approve(url, first["payroll"], "marko")
    advance_register(tmp_path / "a", tmp_path / "b", seed=9)
    second = cycle.calculate(url, tmp_path / "b", following, "ana", store_dir=tmp_path / "store")
    assert second["period"] == following and second["net_minor"] > 0
