"""Column-wise IBAN/BIC/id checks agree with schwifty (the oracle) on valid and corrupted values."""
import numpy as np
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st
from schwifty import IBAN

from bank_exports.checks import bics_valid, iban_problem_text, ibans_valid, ids_valid
from synthetic.payments import montenegrin_ibans

VALID = ["ME25505000012345678951", "DE89370400440532013000", "CH9300762011623852957", "RS35260005601001611379",
         "UA213223130000026007233566001", "GB29NWBK60161331926819", "FR1420041010050500013M02606"]


def schwifty_says(value) -> bool:
    try:
        IBAN(value.replace(" ", "").upper() if value else value)
        return True
    except Exception:  # schwifty raises several types, and KeyError for unknown countries
        return False


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(VALID), st.integers(0, 40), st.sampled_from("0123456789AZ -x"), st.booleans())
def test_iban_check_agrees_with_schwifty(iban, position, character, delete):
    position %= len(iban)
    changed = iban[:position] + ("" if delete else character) + iban[position + 1:]
    values = [iban, changed, changed.lower(), changed[:4]]
    assert ibans_valid(pa.array(values)).tolist() == [schwifty_says(v) for v in values]


def test_generated_montenegrin_ibans_are_valid_and_nulls_are_not():
    ibans = montenegrin_ibans(np.random.default_rng(4), 300).to_pylist()
    assert all(schwifty_says(iban) for iban in ibans)
    assert ibans_valid(pa.array(ibans + [None, "", "XX00"])).tolist() == [True] * 300 + [False] * 3
    assert "checksum" in iban_problem_text("ME25505000012345678952").lower()


def test_bics_and_ids():
    assert bics_valid(pa.array(["CKBCMEPG", "CKBCMEPGXXX", "CKBC", None, "ckbcmepg"])).tolist() == [
        True, True, False, False, False]
    ids = ["ME-2026-1", "a" * 35, "a" * 36, "ME/1", "", None, "Ж-1", "ME 1"]
    assert ids_valid(pa.array(ids)).tolist() == [True, True, False, False, False, False, False, False]
