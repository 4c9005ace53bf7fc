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

from formats.text_scan import bban_classes, bban_mismatch, iban_form_and_check_digits

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
    """Boolean per IBAN: true when it is certainly valid (false means: ask schwifty why). Form and check digits in
    one pass over the bytes (formats.text_scan), then length and BBAN pattern per country of the good ones."""
    ibans = ibans.cast(pa.string())
    if isinstance(ibans, pa.ChunkedArray):
        ibans = ibans.combine_chunks()
    good = iban_form_and_check_digits(ibans)
    checked = np.flatnonzero(good)
    if len(checked) == 0:
        return pa.array(good)
    subset = ibans if len(checked) == len(ibans) else ibans.take(pa.array(checked, pa.int64()))
    country = pc.utf8_slice_codeunits(subset, 0, 2)
    fits = np.ones(len(subset), dtype=bool)
    for code in pc.unique(country).to_pylist():
        fits &= ~_wrong_for_country(subset, country, code)
    good[checked] = fits
    return pa.array(good)


def _wrong_for_country(ibans: pa.Array, country: pa.Array, code: str) -> np.ndarray:
    """Mask of IBANs of country `code` whose length or BBAN pattern differs from schwifty's registry (`ibans` in
    electronic form: ASCII). A spec of fixed-length parts is checked position by position in one pass
    (formats.text_scan), any other by its regex."""
    mine = pc.fill_null(pc.equal(country, code), False).to_numpy(zero_copy_only=False)
    try:
        spec = registry.get_iban_spec(code)
    except SchwiftyException:
        return mine
    classes = bban_classes(spec.bban_spec, spec.regex.pattern, spec.iban_length)
    if classes is not None:
        rows = np.flatnonzero(mine)
        mine[rows] = bban_mismatch(ibans, rows, classes)
        return mine
    lengths = pc.utf8_length(ibans).to_numpy(zero_copy_only=False)
    bban = pc.utf8_slice_codeunits(ibans, 4, IBAN_LENGTH_MAX)
    shaped = pc.fill_null(pc.match_substring_regex(bban, spec.regex.pattern), False).to_numpy(zero_copy_only=False)
    return mine & ((lengths != spec.iban_length) | ~shaped)
