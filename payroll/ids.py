"""Identifiers of the cycle: payroll ids, payment references (EndToEndId) and message ids, deterministic and unique.

A payroll id is `<COUNTRY>-<YYYYMM>-<run no>` (run numbers count up per country and period in one database, so
an id is never reused); a payment's EndToEndId is `<payroll id>-<payment no>` and a file's MsgId is
`<payroll id>-<channel letter><file no>`. Every id uses only letters, digits and '-', at most 35 characters,
which both SEPA and the Swiss rules accept.
"""
import re

import numpy as np
import pyarrow as pa

from engine.months import format_period, parse_period

REF_LENGTH_MAX = 35
REF_PATTERN = re.compile(r"^[A-Za-z0-9]+(-[A-Za-z0-9]+)*$")
PAYROLL_ID_PATTERN = re.compile(r"^([A-Z]{2})-(\d{6})-(\d{2,})$")
PAYMENT_NO_DIGITS = 7  # up to 9,999,999 payments in one payroll: 12 + 1 + 7 = 20 characters, well under 35
CHANNEL_LETTER = {"bank": "B", "post": "P"}


def payroll_id(country: str, period_index: int, run_no: int) -> str:
    assert len(country) == 2 and country.isalpha(), country
    assert run_no >= 1
    year_month = format_period(period_index).replace("-", "")
    identifier = f"{country.upper()}-{year_month}-{run_no:02d}"
    assert is_valid_ref(identifier), identifier
    return identifier


def parse_payroll_id(identifier: str) -> tuple[str, int, int] | None:
    """'ME-202501-02' -> ('ME', month index of 2025-01, 2); None when it is not a payroll id."""
    match = PAYROLL_ID_PATTERN.match(identifier)
    if match is None:
        return None
    country, year_month, run_no = match.groups()
    return country, parse_period(f"{year_month[:4]}-{year_month[4:]}"), int(run_no)


def payment_refs(identifier: str, count: int) -> pa.Array:
    """EndToEndIds of payments 1..count of a payroll, vectorised (no Python loop over payments)."""
    return ref_strings(identifier, np.arange(count, dtype=np.int64))


def ref_matrix(identifier: str, payment_index: np.ndarray) -> np.ndarray:
    """EndToEndIds of payments by 0-based index as fixed-width ASCII: a (n, width) uint8 matrix, built with
    numpy digit arithmetic (`<payroll id>-` then the payment number zero-padded to PAYMENT_NO_DIGITS)."""
    index = np.asarray(payment_index, dtype=np.int64)
    assert index.size == 0 or (index.min() >= 0 and index.max() + 1 < 10**PAYMENT_NO_DIGITS), \
        "too many payments for the reference width"
    prefix = np.frombuffer((identifier + "-").encode("ascii"), np.uint8)
    matrix = np.empty((index.shape[0], prefix.shape[0] + PAYMENT_NO_DIGITS), np.uint8)
    matrix[:, :prefix.shape[0]] = prefix
    rest = index + 1
    end = matrix.shape[1]
    while end - prefix.shape[0] >= 4:  # four digits at a time from a table of "0000".."9999"
        rest, low = np.divmod(rest, 10_000)
        matrix[:, end - 4:end] = _FOUR_DIGITS[low]
        end -= 4
    for column in range(end - 1, prefix.shape[0] - 1, -1):
        rest, digit = np.divmod(rest, 10)
        matrix[:, column] = digit + ord("0")
    return matrix


_FOUR_DIGITS = np.frombuffer("".join(f"{i:04d}" for i in range(10_000)).encode("ascii"), np.uint8).reshape(-1, 4)


def ref_bytes(identifier: str, payment_index: np.ndarray, dtype: str = "S35") -> np.ndarray:
    """EndToEndIds per row as a numpy bytes array (b'' where payment_index < 0), as the ledger stores them."""
    index = np.asarray(payment_index, dtype=np.int64)
    paid = index >= 0
    out = np.zeros(index.shape[0], dtype)
    if paid.any():
        matrix = ref_matrix(identifier, index[paid])
        out[paid] = matrix.view(f"S{matrix.shape[1]}").ravel()
    return out


def ref_strings(identifier: str, payment_index: np.ndarray) -> pa.Array:
    """EndToEndIds per row as an Arrow string array, null where payment_index < 0 (built from buffers)."""
    index = np.asarray(payment_index, dtype=np.int64)
    valid = index >= 0
    matrix = ref_matrix(identifier, np.where(valid, index, 0))
    return fixed_width_strings(matrix, None if valid.all() else valid)


def fixed_width_strings(matrix: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    """Arrow strings from a (n, width) uint8 matrix of ASCII, one row per string; null where not valid."""
    n, width = matrix.shape
    if n * width >= 2**31 - 1:  # int32 offsets: cut into pieces
        step = (2**31 - 2) // max(width, 1)
        return pa.chunked_array([fixed_width_strings(matrix[start:start + step],
                                                     None if valid is None else valid[start:start + step])
                                 for start in range(0, n, step)], pa.string())
    offsets = np.arange(n + 1, dtype=np.int32) * np.int32(width)
    data = np.ascontiguousarray(matrix).reshape(-1)
    bitmap, nulls = None, 0
    if valid is not None:
        nulls = int(n - np.count_nonzero(valid))
        bitmap = pa.py_buffer(np.packbits(valid, bitorder="little")) if nulls else None
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(data), bitmap, nulls if bitmap else 0)


def msg_id(identifier: str, channel: str, file_no: int) -> str:
    """MsgId of the file_no-th file (1-based) of a channel in a payroll's export."""
    assert file_no >= 1
    text = f"{identifier}-{CHANNEL_LETTER[channel]}{file_no:03d}"
    assert is_valid_ref(text), text
    return text


def is_valid_ref(text: str) -> bool:
    return len(text) <= REF_LENGTH_MAX and REF_PATTERN.match(text) is not None


def payroll_of_ref(ref: str) -> str | None:
    """The payroll id a payment reference or message id belongs to ('ME-202501-01-0000007' -> 'ME-202501-01')."""
    parts = ref.split("-")
    if len(parts) < 3:
        return None
    candidate = "-".join(parts[:3])
    return candidate if PAYROLL_ID_PATTERN.match(candidate) else None
