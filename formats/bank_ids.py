"""IBAN and BIC validation for whole columns: a vectorised fast path, schwifty as the judge of failures.

Calling schwifty once per payee costs ~16 µs, over a second for a national register. So the distinct IBANs are
checked column-wise with the same tests schwifty applies (characters, length and BBAN pattern of schwifty's
registry for the country, ISO 7064 mod-97 check digits in 02..98); only the values that fail are handed to
schwifty, whose exception names the reason. schwifty has the last word: a value it accepts is not rejected.
IBANs must be stored in electronic form (capitals, no spaces), the form pain.001 carries.
"""
import re

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from schwifty import BIC, IBAN, registry
from schwifty.exceptions import SchwiftyException

IBAN_LENGTH_MAX = 34
ELECTRONIC_IBAN = r"^[A-Z]{2}[0-9]{2}[A-Z0-9]{1,30}$"
# The one BIC rule of the project (register, catalogue and payment files): ISO 9362's form, exactly as pain.001.001.09
# writes it (BICFIDec2014Identifier: the 4-character party prefix may hold digits, e.g. CKB1MEPG), and schwifty
# must accept it (known country, 8 or 11 characters).
BIC_PATTERN = r"^[A-Z0-9]{4}[A-Z]{2}[A-Z0-9]{2}([A-Z0-9]{3})?$"
NOT_ELECTRONIC = "not in electronic form (capitals and digits only, no spaces)"
REASONS = {
    "InvalidLength": "wrong length for its country",
    "InvalidStructure": "wrong characters or structure for its country",
    "InvalidChecksumDigits": "wrong check digits",
    "InvalidCountryCode": "unknown country code",
    "InvalidBankCode": "unknown bank code",
    "InvalidBranchCode": "unknown branch code",
    "InvalidBBANChecksum": "wrong national check digits",
}

BIC_REASONS = {
    "InvalidLength": "must have 8 or 11 characters",
    "InvalidStructure": "wrong characters or structure",
    "InvalidCountryCode": "unknown country code",
}


def invalid_ibans(ibans: pa.Array) -> dict[str, np.ndarray]:
    """{reason: 0-based rows} for every non-null IBAN that is not valid."""
    distinct = pc.unique(ibans.drop_null())
    good = fast_valid_ibans(distinct)
    reasons = [_iban_reason(value) for value in distinct.filter(pc.invert(good)).to_pylist()]
    return _rows_by_reason(ibans, distinct, good, reasons)


def invalid_bics(bics: pa.Array) -> dict[str, np.ndarray]:
    """{reason: 0-based rows} for every non-null BIC that schwifty refuses (distinct values checked once)."""
    distinct = pc.unique(bics.drop_null())
    reasons_by_value = {value: bic_reason(value) for value in distinct.to_pylist()}
    good = pa.array([reason is None for reason in reasons_by_value.values()], pa.bool_())
    reasons = [reason for reason in reasons_by_value.values() if reason is not None]
    return _rows_by_reason(bics, distinct, good, reasons)


def _rows_by_reason(values: pa.Array, distinct: pa.Array, good: pa.Array, reasons: list) -> dict:
    bad_values = distinct.filter(pc.invert(good))
    found = {}
    if len(bad_values) == 0:
        return found
    position = pc.fill_null(pc.index_in(values, value_set=bad_values), -1).to_numpy(zero_copy_only=False)
    reason_codes = np.array(reasons, dtype=object)
    rows = np.flatnonzero(position >= 0)
    for reason in sorted(set(reasons) - {None}):
        found[reason] = rows[reason_codes[position[rows]] == reason]
    return found


def _iban_reason(value: str) -> str | None:
    """Why schwifty refuses `value`, or None when it accepts it (then only our form rule can fail)."""
    try:
        IBAN(value)
    except SchwiftyException as exc:
        return REASONS.get(type(exc).__name__, str(exc))
    if value != value.replace(" ", "").upper():
        return NOT_ELECTRONIC
    return None


def bic_reason(value: str) -> str | None:
    """Why `value` is not a BIC (schwifty's reason first, then the form of BIC_PATTERN), or None when it is one."""
    try:
        BIC(value)
    except SchwiftyException as exc:
        return BIC_REASONS.get(type(exc).__name__, type(exc).__name__)
    return None if re.fullmatch(BIC_PATTERN, value) else "not in capitals or wrong structure"


def fast_valid_ibans(ibans: pa.Array) -> pa.Array:
    """Boolean per IBAN: true when it is certainly valid (false means: ask schwifty why)."""
    ibans = ibans.cast(pa.string())
    good = pc.fill_null(pc.match_substring_regex(ibans, ELECTRONIC_IBAN), False).to_numpy(zero_copy_only=False)
    country = pc.utf8_slice_codeunits(ibans, 0, 2)
    for code in pc.unique(country.filter(pa.array(good))).to_pylist():
        good &= ~_wrong_for_country(ibans, country, code)
    checked = np.flatnonzero(good)
    good[checked] = _mod97_ok(ibans.take(pa.array(checked, pa.int64())))
    return pa.array(good)


def _wrong_for_country(ibans: pa.Array, country: pa.Array, code: str) -> np.ndarray:
    """Mask of IBANs of country `code` whose length or BBAN pattern differs from schwifty's registry."""
    mine = pc.fill_null(pc.equal(country, code), False).to_numpy(zero_copy_only=False)
    try:
        spec = registry.get_iban_spec(code)
    except SchwiftyException:
        return mine
    lengths = pc.utf8_length(ibans).to_numpy(zero_copy_only=False)
    bban = pc.utf8_slice_codeunits(ibans, 4, IBAN_LENGTH_MAX)
    shaped = pc.fill_null(pc.match_substring_regex(bban, spec.regex.pattern), False).to_numpy(zero_copy_only=False)
    return mine & ((lengths != spec.iban_length) | ~shaped)


def _mod97_ok(ibans: pa.Array) -> np.ndarray:
    """ISO 7064 mod 97-10 over BBAN + country + check digits."""
    moved = pc.binary_join_element_wise(pc.utf8_slice_codeunits(ibans, 4, IBAN_LENGTH_MAX),
                                        pc.utf8_slice_codeunits(ibans, 0, 4), "")
    check_digits = pc.cast(pc.utf8_slice_codeunits(ibans, 2, 4), pa.int64()).to_numpy(zero_copy_only=False)
    # mod 97 == 1 also holds for the aliases 00, 01 and 99, which the algorithm never produces
    return (mod97_remainders(moved) == 1) & (check_digits >= 2) & (check_digits <= 98)


def mod97_remainders(alphanumeric: pa.Array) -> np.ndarray:
    """ISO 7064 mod 97-10 remainder of each string of [0-9A-Z] (at most 34 characters; letters count as 10..35),
    column by column over a byte matrix (also used to compute check digits)."""
    padded = pc.utf8_lpad(alphanumeric, width=IBAN_LENGTH_MAX, padding="0")  # leading zeros keep the remainder
    if isinstance(padded, pa.ChunkedArray):
        padded = padded.combine_chunks()
    chars = np.asfortranarray(_byte_matrix(padded, IBAN_LENGTH_MAX))  # columns contiguous for the loop
    remainder = np.zeros(len(chars), dtype=np.int32)
    for position in range(IBAN_LENGTH_MAX):
        column = chars[:, position]
        remainder = (remainder * _SHIFT[column] + _VALUE[column]) % 97
    return remainder


def _char_tables() -> tuple[np.ndarray, np.ndarray]:
    """Per ASCII byte: its value in the mod-97 number (A=10 .. Z=35) and the decimal shift it needs."""
    value = np.zeros(256, dtype=np.int32)
    shift = np.ones(256, dtype=np.int32)
    for code in range(ord("0"), ord("9") + 1):
        value[code], shift[code] = code - ord("0"), 10
    for code in range(ord("A"), ord("Z") + 1):
        value[code], shift[code] = code - ord("A") + 10, 100  # letters count as two digits
    return value, shift


_VALUE, _SHIFT = _char_tables()


def _byte_matrix(strings: pa.Array, width: int) -> np.ndarray:
    """ASCII strings all `width` long as an (n, width) uint8 matrix, without a Python loop."""
    if len(strings) == 0:
        return np.zeros((0, width), dtype=np.uint8)
    offsets = np.frombuffer(strings.buffers()[1], dtype=np.int32)[strings.offset: strings.offset + len(strings) + 1]
    data = np.frombuffer(strings.buffers()[2], dtype=np.uint8)
    assert np.all(np.diff(offsets) == width), "IBANs must be padded to one width"
    return data[offsets[0]: offsets[-1]].reshape(len(strings), width)
