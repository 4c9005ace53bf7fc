"""Checks on payment columns before anything is written: message ids, IBANs, BICs, amounts.

All checks take whole columns and return a boolean "valid" mask; the IBAN check reproduces schwifty's rules
(characters, country length, BBAN structure, ISO 7064 mod 97-10 check digits) with numpy over the column, using
schwifty's own per-country specs, because calling schwifty once per IBAN (~20 us) would alone spend the
writer's time budget on 100,000 payments. schwifty itself words the message of every IBAN that fails.
"""
import re

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from schwifty import BIC, IBAN, exceptions, registry

ID_CHARS_MAX = 35
# Letters, digits and '-' only: accepted by SEPA (no '/' rules to break) and by the Swiss Payment Standards.
ID_PATTERN = r"^[A-Za-z0-9-]{1,35}$"
ID_RULE = "an id must be 1-35 characters, only letters A-Z a-z, digits and '-'"
_ID_RE = re.compile(ID_PATTERN)
IBAN_CHARS_MAX = 34


def flat(column) -> pa.Array:
    """One contiguous Array (table columns are ChunkedArrays)."""
    return column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column


def id_is_valid(text: str) -> bool:
    return bool(_ID_RE.match(text or ""))


def ids_valid(column: pa.Array) -> np.ndarray:
    """Mask of ids that are non-null and follow ID_PATTERN."""
    matched = pc.match_substring_regex(pc.cast(column, pa.string()), ID_PATTERN)
    return matched.fill_null(False).to_numpy(zero_copy_only=False)


def normalise_iban(column: pa.Array) -> pa.Array:
    """Upper case without spaces: the form written to files."""
    return pc.utf8_upper(pc.replace_substring(pc.cast(column, pa.string()), " ", ""))


def mod97_remainders(alphanumeric: pa.Array) -> np.ndarray:
    """ISO 7064 mod 97-10 remainder of each string of [0-9A-Z] (at most 34 characters; letters count as 10..35).

    Left-padding with '0' keeps the number, so every string becomes one column of a 34-row byte matrix and the
    remainder is carried over 34 vector steps, whatever the number of strings.
    """
    padded = flat(pc.utf8_lpad(alphanumeric, IBAN_CHARS_MAX, "0"))
    offsets = np.frombuffer(padded.buffers()[1], dtype=np.int32)[padded.offset:][: len(padded) + 1]
    assert offsets[-1] - offsets[0] == IBAN_CHARS_MAX * len(padded), "ASCII of at most 34 characters expected"
    data = np.frombuffer(padded.buffers()[2], dtype=np.uint8)[offsets[0]: offsets[-1]]
    chars = data.reshape(len(padded), IBAN_CHARS_MAX).T.copy()  # one row per position: contiguous steps
    letters = chars >= ord("A")
    values = chars.astype(np.int32) - ord("0")
    values[letters] -= ord("A") - ord("0") - 10
    scale = np.where(letters, 100, 10).astype(np.int32)
    remainder = np.zeros(len(padded), dtype=np.int32)
    for position in range(IBAN_CHARS_MAX):
        remainder *= scale[position]
        remainder += values[position]
        remainder %= 97
    return remainder


def ibans_valid(column: pa.Array) -> np.ndarray:
    """Mask of IBANs valid by schwifty's rules (nulls are invalid; the caller decides where an IBAN is needed)."""
    iban = normalise_iban(column)
    valid = pc.match_substring_regex(iban, r"^[A-Z]{2}[0-9]{2}[A-Z0-9]{1,30}$").fill_null(False)
    valid = valid.to_numpy(zero_copy_only=False).copy()
    if not valid.any():
        return valid
    country = pc.utf8_slice_codeunits(iban, 0, 2)
    for code in pc.unique(pc.filter(country, pa.array(valid))).to_pylist():
        rows = np.flatnonzero(valid & pc.equal(country, code).fill_null(False).to_numpy(zero_copy_only=False))
        valid[rows] = _country_rows_valid(pc.take(iban, pa.array(rows)), code)
    checked = np.flatnonzero(valid)
    if checked.size:
        subset = pc.take(iban, pa.array(checked))
        rearranged = pc.binary_join_element_wise(
            pc.utf8_slice_codeunits(subset, 4), pc.utf8_slice_codeunits(subset, 0, 4), "")
        check_digits = pc.utf8_slice_codeunits(subset, 2, 4)
        canonical = pc.invert(pc.is_in(check_digits, pa.array(["00", "01", "99"]))).to_numpy(
            zero_copy_only=False)
        valid[checked] = (mod97_remainders(rearranged) == 1) & canonical
    return valid


def _country_rows_valid(ibans: pa.Array, country_code: str) -> np.ndarray:
    try:
        spec = registry.get_iban_spec(country_code)
    except (KeyError, exceptions.SchwiftyException):
        return np.zeros(len(ibans), dtype=bool)
    length_ok = pc.equal(pc.utf8_length(ibans), spec.iban_length).to_numpy(zero_copy_only=False)
    bban_ok = pc.match_substring_regex(pc.utf8_slice_codeunits(ibans, 4), spec.regex.pattern)
    return length_ok & bban_ok.to_numpy(zero_copy_only=False)


def iban_problem_text(iban: str | None) -> str:
    """schwifty's own words for why an IBAN is refused."""
    if not iban:
        return "IBAN missing"
    try:
        IBAN(iban)
    except exceptions.SchwiftyException as exc:
        return f"invalid IBAN: {exc}"
    except KeyError:
        return "invalid IBAN: unknown country code"
    return "invalid IBAN"


def bics_valid(column: pa.Array) -> np.ndarray:
    """Mask of BICs valid for schwifty (checked once per distinct BIC: a country has few banks)."""
    text = pc.cast(column, pa.string())
    distinct = [value for value in pc.unique(text.drop_null()).to_pylist()]
    good = [value for value in distinct if bic_problem_text(value) is None]
    return pc.is_in(text, pa.array(good, pa.string())).to_numpy(zero_copy_only=False)


def bic_problem_text(bic: str) -> str | None:
    if not re.fullmatch(r"[A-Z0-9]{4}[A-Z]{2}[A-Z0-9]{2}([A-Z0-9]{3})?", bic or ""):
        return "a BIC is 8 or 11 characters: 4 bank, 2 country letters, 2 location, optional 3 branch"
    try:
        BIC(bic)
    except exceptions.SchwiftyException as exc:
        return f"invalid BIC: {exc}"
    return None
