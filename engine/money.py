"""Money as int64 minor units: bounds and half-up rounding of integer ratios. Never floats.

Amounts become text and text becomes amounts only in formats/amounts.py (the edges: files written and read).
"""
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
