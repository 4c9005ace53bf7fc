"""Money as int64 minor units: bounds, half-up rounding of integer ratios, decimal strings at the edges.

The only place where amounts become text and text becomes amounts. Never floats.
"""
from decimal import Decimal, InvalidOperation

# 10^13 minor units (10^11 EUR) per amount keeps any product with a rate in basis points (<= 10^6)
# inside int64 (9.2e18): njit integer overflow wraps silently, so the bound is checked at the edges.
AMOUNT_MINOR_MAX = 10**13
RATE_BP_MAX = 1_000_000  # basis points: 10_000 = 100 %


def div_round_half_up(numerator: int, denominator: int) -> int:
    """numerator / denominator rounded half away from zero (commercial rounding), exact in integers."""
    assert denominator > 0
    sign = -1 if numerator < 0 else 1
    quotient, remainder = divmod(abs(numerator), denominator)
    if 2 * remainder >= denominator:
        quotient += 1
    return sign * quotient


def minor_to_decimal_str(amount_minor: int, exponent: int = 2) -> str:
    """123456 -> '1234.56' (exponent = digits after the point)."""
    sign = "-" if amount_minor < 0 else ""
    digits = str(abs(int(amount_minor)))
    if exponent == 0:
        return sign + digits
    digits = digits.rjust(exponent + 1, "0")
    return f"{sign}{digits[:-exponent]}.{digits[-exponent:]}"


def decimal_str_to_minor(text: str, exponent: int = 2) -> int:
    """'1234.56' -> 123456; refuses more decimals than the currency has (no silent rounding)."""
    try:
        value = Decimal(str(text).strip())
    except InvalidOperation as exc:
        raise ValueError(f"not a decimal amount: {text!r}") from exc
    if not value.is_finite():
        raise ValueError(f"not a finite amount: {text!r}")
    scaled = value.scaleb(exponent)
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{text!r} has more than {exponent} decimals")
    return int(scaled)
