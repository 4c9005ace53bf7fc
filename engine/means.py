"""Integer rounding and the per-capita means test, shared by the entitlement kernels (engine/entitlement.py: the
per-child reference less income) and the maintenance advance (engine/advances.py), which entitlement.py imports:
one formula, one rounding, in a module both can import."""
from engine.jit import helper


@helper
def div_half_up(numerator, denominator):
    """numerator / denominator rounded half away from zero, in integers."""
    assert denominator > 0
    if numerator >= 0:
        return (2 * numerator + denominator) // (2 * denominator)
    return -((2 * -numerator + denominator) // (2 * denominator))


@helper
def reference_minus_per_capita_numerator(reference, n_members, income, floor_bp):
    """max(reference - income / n_members, reference x floor_bp / 10_000, 0) as a numerator over
    n_members x 10_000 (sum several, then div_half_up once)."""
    assert n_members > 0
    assert reference >= 0 and income >= 0
    return multiple_minus_per_capita_numerator(reference, 10_000, n_members, income, floor_bp)


@helper
def multiple_minus_per_capita_numerator(reference, multiplier_bp, n_members, income, floor_bp):
    """max(reference x multiplier_bp / 10_000 - income / n_members, reference x floor_bp / 10_000, 0) as a
    numerator over n_members x 10_000."""
    assert n_members > 0
    assert reference >= 0 and income >= 0 and floor_bp >= 0 and multiplier_bp >= 0
    shortfall = reference * multiplier_bp * n_members - income * 10_000
    floor = reference * floor_bp * n_members
    return max(shortfall, floor, 0)
