"""calculate's inputs read lean (payroll.session.load_inputs: persons' names dropped, municipality as dictionaries)
and released as the calculation goes (compute(release=True)) give exactly the payroll of the whole register."""
import numpy as np
import pytest

from engine.months import parse_period
from formats.register import read_register
from payroll import compute as computing, session
from payroll.country import catalogue_for
from payroll.ledger_state import read_state
from payroll.store import read_holds, write_table
from synthetic.register import generate_register


@pytest.mark.parametrize("country", ["me", "ua"])
def test_lean_released_inputs_give_the_same_payroll(tmp_path, country):
    folder = tmp_path / "reg"
    generate_register(folder, 3_000, 9, "2026-01", country=country)
    catalogue, period = catalogue_for(folder, None, None), parse_period("2026-01")
    ledger = session.open_db(f"sqlite:///{tmp_path / 'ledger.db'}", create=True)
    try:
        lean = session.load_inputs(ledger, folder, catalogue, period)
        with ledger.engine.connect() as conn:
            state = read_state(conn, first_month=period - computing.LOOKBACK_MONTHS - 12)
            holds = read_holds(conn)
    finally:
        ledger.close()
    assert "family_name" not in lean.register["persons"].column_names
    assert "iban" not in lean.register["payees"].column_names  # deferred: held as the file's bytes
    assert set(lean.register.deferred_columns("payees")) == set(computing.PAYEE_DETAIL_FIELDS)
    full = computing.Inputs(read_register(folder, catalogue), catalogue, period, state, holds)
    expected = computing.compute("X-202601-01", full)
    got = computing.compute("X-202601-01", lean, release=True)
    assert not lean.register  # released as the calculation went, the payees once the payments hold their details
    assert lean.register.deferred_columns("payees") == ()
    assert got.lines.num_rows > 0 and got.lines.equals(expected.lines)
    assert got.payments.equals(expected.payments) and got.orders.equals(expected.orders)
    assert got.summary == expected.summary and got.summary["by_municipality_minor"]
    assert np.array_equal(got.lines.column("amount_minor").to_numpy(), expected.lines.column("amount_minor").to_numpy())
    # the stored files too, byte for byte (the payee details decoded again come in the same chunks)
    for name in ("lines", "payments", "orders"):
        assert write_table(getattr(got, name), tmp_path / "got" / name) == \
            write_table(getattr(expected, name), tmp_path / "expected" / name), name


def test_postal_addresses_kept_at_validation_are_those_of_the_columns(tmp_path):
    """Routing's postal test from the masks read_register keeps (the address columns deferred, never decoded for
    it) equals the test on the columns of a full read, with empty and missing cells in each address column."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder = tmp_path / "reg"
    generate_register(folder, 2_000, 5, "2026-01", country="me")
    payees = pq.read_table(folder / "payees.parquet")
    for k, name in enumerate(("street", "town", "postcode")):  # country is required
        values = payees.column(name).to_pylist()
        values[3 + 7 * k], values[4 + 7 * k] = "", None
        payees = payees.set_column(payees.column_names.index(name), name, pa.array(values, pa.string()))
    pq.write_table(payees, folder / "payees.parquet", row_group_size=500)
    catalogue = catalogue_for(folder, None, None)
    lean = read_register(folder, catalogue, defer=session.DEFERRED, filled={"payees": computing.POSTAL_FIELDS})
    assert set(computing.POSTAL_FIELDS) <= set(lean.deferred_columns("payees"))
    assert all(lean.filled_mask("payees", name) is not None for name in computing.POSTAL_FIELDS)
    full = dict(read_register(folder, catalogue))
    expected = computing.postal_rows(full)
    assert np.array_equal(computing.postal_rows(lean), expected)
    assert np.count_nonzero(~expected) >= 6
    plain = read_register(folder, catalogue, defer=session.DEFERRED)  # no masks kept: decoded again, same answer
    assert plain.filled_mask("payees", "street") is None
    assert np.array_equal(computing.postal_rows(plain), expected)


def test_bank_holds_take_the_iban_of_the_held_payees_only(tmp_path):
    """bank_holds with the payees' IBANs asked for lazily: a hold applies while the register still shows the held
    IBAN on a bank payee (payees table not in id order, so rows are looked up); no hold asks for no IBAN."""
    import pyarrow as pa

    payees = pa.table({"payee_id": [30, 10, 20, 40], "channel": ["bank", "bank", "post", "bank"],
                       "iban": ["ME30", "ME10", "ME20", None]})
    payee_ids = np.array([10, 20, 30, 40], np.int64)
    _channel, _postal, rows = computing.payee_channels(payees, payee_ids, np.ones(4, bool))
    holds = pa.table({"kind": ["bank_channel", "bank_channel", "bank_channel", "bank_channel", "right"],
                      "payee_id": pa.array([30, 10, 20, 99, 40], pa.int64()),
                      "iban": ["ME30", "ME-OLD", "ME20", "ME99", "ME40"]})
    asked = []
    ibans = lambda: asked.append(1) or payees.column("iban")
    assert computing.bank_holds(holds, payee_ids, rows, ibans).tolist() == [False, False, True, False]
    assert asked == [1]
    none = holds.filter(pa.array([False] * 4 + [True]))
    assert not computing.bank_holds(none, payee_ids, rows, ibans).any() and asked == [1]
