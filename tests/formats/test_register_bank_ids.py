"""The vectorised IBAN check agrees with schwifty, value by value, on valid, corrupted and random IBANs."""
import random

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st
from schwifty import IBAN
from schwifty.exceptions import SchwiftyException

from formats.bank_ids import fast_valid_ibans, invalid_bics, invalid_ibans

COUNTRIES = ("ME", "RS", "UA", "DE", "CH", "FR", "GB", "NL", "IT", "BA", "MK", "AL")
ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ az-"


def schwifty_accepts(value: str) -> bool:
    """The reference: schwifty accepts it and it is already in electronic form."""
    try:
        IBAN(value)
    except SchwiftyException:
        return False
    return value == value.replace(" ", "").upper()


@st.composite
def ibans(draw):
    rng = random.Random(draw(st.integers(0, 2**32)))
    value = str(IBAN.random(draw(st.sampled_from(COUNTRIES)), random=rng))
    change = draw(st.sampled_from(["none", "replace", "delete", "insert", "swap", "lower", "digits", "text"]))
    at = draw(st.integers(0, len(value) - 1))
    char = draw(st.sampled_from(ALPHABET))
    if change == "replace":
        value = value[:at] + char + value[at + 1:]
    elif change == "delete":
        value = value[:at] + value[at + 1:]
    elif change == "insert":
        value = value[:at] + char + value[at:]
    elif change == "swap" and at + 1 < len(value):
        value = value[:at] + value[at + 1] + value[at] + value[at + 2:]
    elif change == "lower":
        value = value.lower()
    elif change == "digits":
        value = value[:2] + draw(st.sampled_from(["00", "01", "99", "97", "98", "02"])) + value[4:]
    elif change == "text":
        value = draw(st.text(alphabet=ALPHABET, max_size=40))
    return value


@settings(max_examples=60, deadline=None)
@given(st.lists(ibans(), min_size=1, max_size=40))
def test_fast_path_agrees_with_schwifty(values):
    fast = fast_valid_ibans(pa.array(values, pa.string())).to_pylist()
    assert fast == [schwifty_accepts(value) for value in values]
    bad_rows = sorted(row for rows in invalid_ibans(pa.array(values, pa.string())).values() for row in rows)
    assert bad_rows == [row for row, value in enumerate(values) if not schwifty_accepts(value)]


def test_known_ibans_and_nulls():
    values = ["ME25510000000000006345", None, "ME25510000000000006346", "DE89370400440532013000", ""]
    found = invalid_ibans(pa.array(values, pa.string()))
    assert {reason: rows.tolist() for reason, rows in found.items()} == {
        "wrong check digits": [2], "wrong characters or structure for its country": [4]}


def test_bics():
    found = invalid_bics(pa.array(["CKBCMEPG", "CKBCMEPGXXX", None, "CKBCMEP", "CKBCMEPG"], pa.string()))
    assert {reason: rows.tolist() for reason, rows in found.items()} == {"must have 8 or 11 characters": [3]}
