"""Money as text: the only place where amounts become text and text becomes amounts (scalar and column-wise),
and where a currency's minor-unit exponent is looked up.

Amounts are int64 minor units (engine.money); text appears only at the edges (files written and read). Text from
outside is read by the rules of the ISO 20022 amount types (xs:decimal, at least 0, at most 18 digits), stricter
than Python's Decimal: ASCII digits and one optional '.', nothing else (no sign, exponent, '_', spaces inside, or
other scripts' digits), at most the currency's decimals (more are accepted only when they are zeros), and a value
inside int64 minor units. Exponents come from ISO 4217 through the maintained `iso4217` package (ISO's own table,
published by SIX): JPY 0, KWD 3, CLF 4, RSD 2. (Babel's CLDR "precision" differs for some currencies — it is the
digits shown, not ISO's minor unit: e.g. RSD and HUF 0 in CLDR, 2 in ISO — so it is not used.) A ledger may keep a
currency in a larger unit than ISO's (Serbian benefits are whole dinars: RULES.md), see `rescale`.
"""
import re
from decimal import Decimal
from functools import lru_cache

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from iso4217 import Currency

ISO_DIGITS_MAX = 18          # totalDigits of ISO 20022 amount types
INT64_MAX = 2**63 - 1
DEFAULT_EXPONENT = 2         # for an amount whose currency is missing or not an ISO 4217 code
_PLAIN = re.compile(r"[0-9]+(?:\.[0-9]*)?|\.[0-9]+", re.ASCII)


@lru_cache(maxsize=None)
def iso_exponent(currency: str | None) -> int | None:
    """ISO 4217 minor-unit exponent of an active currency code; None for no code, an unknown code or a code
    without minor units defined (gold, testing codes: ISO says "N.A.")."""
    if not currency or not isinstance(currency, str):
        return None
    try:
        return Currency(currency.strip().upper()).exponent
    except (ValueError, KeyError):
        return None


def exponent_of(currency: str | None) -> int:
    """The exponent amounts in this currency are read with: ISO 4217's, DEFAULT_EXPONENT when there is none."""
    exponent = iso_exponent(currency)
    return DEFAULT_EXPONENT if exponent is None else exponent


def parse_amount(text, exponent: int = 2) -> int:
    """'1234.56' -> 123456 minor units at `exponent`; ValueError (saying why) for anything else."""
    if text is None:
        raise ValueError("the amount is empty")
    value = str(text).strip()
    if not value:
        raise ValueError("the amount is empty")
    if not _PLAIN.fullmatch(value):
        raise ValueError(f"{value!r} is not an ISO 20022 amount (ASCII digits and one '.', no sign or exponent)")
    whole, _point, fraction = value.partition(".")
    digits = (whole.lstrip("0") + fraction.rstrip("0")) or "0"
    if len(digits) > ISO_DIGITS_MAX:
        raise ValueError(f"{value!r} has more than {ISO_DIGITS_MAX} digits")
    extra = fraction[exponent:]
    if extra.strip("0"):
        raise ValueError(f"{value!r} has more than {exponent} decimals")
    minor = int((whole or "0") + fraction[:exponent].ljust(exponent, "0"))
    if minor > INT64_MAX:
        raise ValueError(f"{value!r} does not fit in 64-bit minor units")
    return minor


def format_amount(amount_minor: int, exponent: int = 2) -> str:
    """123456 -> '1234.56' (exponent = digits after the point)."""
    sign = "-" if amount_minor < 0 else ""
    digits = str(abs(int(amount_minor)))
    if exponent == 0:
        return sign + digits
    digits = digits.rjust(exponent + 1, "0")
    return f"{sign}{digits[:-exponent]}.{digits[-exponent:]}"


def format_amounts(amount_minor, exponent: int) -> pa.Array:
    """Column-wise format_amount for amounts > 0 (tests compare the two)."""
    values = np.asarray(pc.cast(amount_minor, pa.int64()).to_numpy(zero_copy_only=False))
    assert values.size == 0 or values.min() > 0, "amounts are checked > 0 before rendering"
    assert 0 <= exponent <= 5, exponent
    if exponent == 0:
        return pc.cast(pa.array(values), pa.string())
    whole, fraction = np.divmod(values, 10 ** exponent)
    fraction_text = pc.utf8_lpad(pc.cast(pa.array(fraction), pa.string()), exponent, "0")
    return pc.binary_join_element_wise(pc.cast(pa.array(whole), pa.string()), fraction_text, ".")


def decimal_amounts(amount_minor, exponent: int) -> pa.Array:
    """int64 minor units as exact decimals in currency units (decimal128 with `exponent` places): the amount
    column of the files officers open in a spreadsheet."""
    whole = pa.array(amount_minor, pa.int64()) if not isinstance(amount_minor, (pa.Array, pa.ChunkedArray)) \
        else amount_minor
    as_decimal = pc.cast(whole, pa.decimal128(19, 0))
    if exponent == 0:
        return as_decimal
    unit = pa.scalar(Decimal(1).scaleb(-exponent), pa.decimal128(exponent + 1, exponent))
    return pc.multiply(as_decimal, unit)


def parse_amounts(texts: pa.Array, exponent: int) -> tuple[np.ndarray, np.ndarray]:
    """Column-wise parse_amount of the plain form (at most 15 digits before the point and at most `exponent`
    after it: inside int64 at any exponent): (minor units, mask of the rows converted). The rows left out (nulls,
    other forms) are for parse_amount, one by one, which converts them or says why not."""
    if isinstance(texts, pa.ChunkedArray):
        texts = texts.combine_chunks()
    count = len(texts)
    minor = np.zeros(count, np.int64)
    fraction = rf"(\.[0-9]{{1,{exponent}}})?" if exponent else ""
    plain = pc.fill_null(pc.match_substring_regex(texts, rf"^[0-9]{{1,15}}{fraction}$"), False)
    done = np.asarray(plain.to_numpy(zero_copy_only=False), bool)
    if done.any():
        pieces = pc.extract_regex(texts.filter(plain), r"^(?P<whole>[0-9]+)(?:\.(?P<fraction>[0-9]*))?$")
        digits = pc.binary_join_element_wise(
            pieces.field("whole"), pc.utf8_rpad(pieces.field("fraction"), width=exponent, padding="0"), "")
        minor[done] = np.asarray(pc.cast(digits, pa.int64()).to_numpy(zero_copy_only=False), np.int64)
    return minor, done


def rescale(amount_minor: int, from_exponent: int, to_exponent: int) -> int | None:
    """An amount at one exponent in units of another (ISO's RSD paras -> a ledger's whole dinars); None when it
    is not a whole number of the coarser unit."""
    if to_exponent >= from_exponent:
        return amount_minor * 10 ** (to_exponent - from_exponent)
    whole, rest = divmod(amount_minor, 10 ** (from_exponent - to_exponent))
    return None if rest else whole
