"""Identifiers of the cycle: payroll ids, payment references (EndToEndId) and message ids, deterministic and unique.

A payroll id is `<COUNTRY>-<YYYYMM>-<run no>` (run numbers count up per country and period in one database, so
an id is never reused); a payment's EndToEndId is `<payroll id>-<payment no>` and a file's MsgId is
`<payroll id>-<channel letter><file no>`. Every id uses only letters, digits and '-', at most 35 characters,
which both SEPA and the Swiss rules accept.
"""
import re

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

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
    assert count < 10**PAYMENT_NO_DIGITS, "too many payments for the reference width"
    numbers = pa.array(np.arange(1, count + 1, dtype=np.int64)).cast(pa.string())
    padded = pc.utf8_lpad(numbers, width=PAYMENT_NO_DIGITS, padding="0")
    refs = pc.binary_join_element_wise(pa.scalar(identifier), padded, "-")
    return refs


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
