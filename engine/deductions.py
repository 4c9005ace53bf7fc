"""Deductions from the gross of each right: alimony, damages, recovery of overpayments, enforcement.

RULES.md "Deductions from a payment" as one Numba pass over rights. The cap base of every percentage and every
cap is the GROSS OF THE RIGHT IN THIS PAYROLL (this period's due plus arrears paid now) PLUS WHAT IT CARRIES IN
from earlier payrolls: a payment withheld under the minimum takes nothing and is carried whole (RULES.md Readings
3, engine.payroll_kernel), so its deductions are owed when it is paid. Per right, in priority
order (orders sorted by right, priority, then their own position):

- an order asks for its fixed monthly amount, or `percent_bp` of the gross rounded half-up once, never more than
  its remaining balance (-1 = no limit); the balance runs down by what was taken and stops at zero. A fixed
  order asks its fixed amount less `order_taken_minor`, what earlier payrolls took of the same instalments: a
  monthly amount is owed once a month, so a supplementary payroll asks only what the month's payrolls left of it
  (the caller, payroll.compute.instalments, gives a carried payment's months as one amount over its instalments);
  a percentage order takes its share of the supplementary's gross;
- caps are floors of a basis-point share of the gross (a cap must never be exceeded, so it is not rounded up):
  alimony (kind 1) and damages (kind 2) each have their own cap and share `support_bp`; recovery (the ledger's
  receivable plus register overpayment orders, kind 3) shares `recovery_bp`, or `recovery_consent_bp` where
  the recipient consented; enforcement (kind 4) has `enforcement_bp`; all deductions together stay within
  `total_bp`, or `total_with_alimony_bp` where the right has an active alimony order with something still owed;
- recovery under consent is voluntary, so the total cap does not limit it (only what is left of the gross does):
  up to 100 % of a non-protected benefit, and it lies "beyond the total cap of the other deductions" (RULES.md
  Readings 7): the total cap bounds what the other deductions take together, the consented recovery not counted;
- protected benefits take only recovery (kind 3 and the receivable), never third-party orders, and no recovery
  either where `recovery_blocked` (their catalogue entry does not say recovery_allowed = true, Readings 7);
- the higher total cap needs an active alimony order for a minor (`order_for_minor`, Readings 10);
- the ledger's receivable is recovered at priority 3, before the register's overpayment orders. A receivable
  is owed by a recipient, who may hold several rights: rights given the same `receivable_group` share one
  balance (every one of them carries the group's full receivable), recovered from the rights in index order,
  so that a debt is never recovered twice; without a group a right's receivable is its own;
- a maintenance advance paid for a debtor's child (engine/advances.py) is a claim on the debtor, recovered from
  the rights the debtor receives right after their priority-1 orders, as alimony for a minor: it shares the
  alimony cap and the cap of priorities 1 and 2, raises the total cap as an alimony order for a minor does, and
  is never taken from a protected benefit. It is not forwarded: it reduces the claim. The debtor's rights share
  one balance (`advance_group`), recovered in index order, so the claim is never recovered twice.
Inactive orders take nothing and keep their balance. Bad arrays are refused with ValueError before the kernel.
"""
from dataclasses import dataclass

import numpy as np
from numba import types

from engine.jit import BOOL_RO, I64_OUT, I64_RO, helper, kernel
from engine.money import AMOUNT_MINOR_MAX

KIND_ALIMONY = 1
KIND_DAMAGES = 2
KIND_OVERPAYMENT = 3
KIND_ENFORCEMENT = 4
FORWARDED_KINDS = (KIND_ALIMONY, KIND_DAMAGES, KIND_ENFORCEMENT)  # paid on to a third party's payee
PRIORITY_RECOVERY = 3  # the receivable is recovered just before the first order of this priority or later
PRIORITY_ADVANCE = 1   # an advance is recovered after the orders of this priority, before any later one
BP_WHOLE = 10_000

# positions in the caps array handed to the kernel
CAP_ALIMONY, CAP_DAMAGES, CAP_SUPPORT, CAP_RECOVERY, CAP_RECOVERY_CONSENT = 0, 1, 2, 3, 4
CAP_ENFORCEMENT, CAP_TOTAL, CAP_TOTAL_WITH_ALIMONY = 5, 6, 7
CAPS_LEN = 8


@dataclass(frozen=True)
class DeductionCaps:
    """Caps of a country in basis points of the gross (10_000 = 100 %). Defaults: Montenegro and Serbia."""

    alimony_bp: int = 5_000
    damages_bp: int = 5_000
    support_bp: int = 5_000  # alimony + damages together
    recovery_bp: int = 2_000
    recovery_consent_bp: int = 10_000
    enforcement_bp: int = 2_000
    total_bp: int = 5_000
    total_with_alimony_bp: int = 7_000

    @classmethod
    def ukraine(cls) -> "DeductionCaps":
        """Ukraine lets alimony for minors take 70 %."""
        return cls(alimony_bp=7_000, support_bp=7_000, total_with_alimony_bp=7_000)

    def as_array(self) -> np.ndarray:
        caps = np.array([self.alimony_bp, self.damages_bp, self.support_bp, self.recovery_bp,
                         self.recovery_consent_bp, self.enforcement_bp, self.total_bp,
                         self.total_with_alimony_bp], dtype=np.int64)
        if caps.min() < 0 or caps.max() > BP_WHOLE:
            raise ValueError(f"deduction caps must be within 0..{BP_WHOLE} basis points, got {self}")
        return caps


@dataclass(frozen=True)
class Deductions:
    """Per right (in the order of the inputs) the amounts taken; per order (in the caller's order) the rest."""

    alimony_minor: np.ndarray
    damages_minor: np.ndarray
    recovery_minor: np.ndarray            # receivable recovered + register overpayment orders
    enforcement_minor: np.ndarray
    recovered_receivable_minor: np.ndarray  # part of recovery_minor that reduces the ledger's receivable
    advance_recovery_minor: np.ndarray    # maintenance advances recovered from the debtor (reduces the claim)
    net_minor: np.ndarray                 # gross + carry_in - all of the above, before the minimum payable
    order_deducted_minor: np.ndarray
    order_remaining_minor: np.ndarray     # new balance; -1 stays -1 (no limit)

    @property
    def total_minor(self) -> np.ndarray:
        return (self.alimony_minor + self.damages_minor + self.recovery_minor + self.enforcement_minor
                + self.advance_recovery_minor)


@helper(types.int64(types.int64, types.int64))
def share_floor_minor(gross_minor, bp):
    """A cap: bp of the gross rounded down, so that it is never exceeded."""
    assert gross_minor >= 0
    assert 0 <= bp <= BP_WHOLE
    return gross_minor * bp // BP_WHOLE


@helper(types.int64(types.int64, types.int64))
def share_half_up_minor(gross_minor, bp):
    """A percentage deduction: bp of the gross rounded half-up, once (amounts are never negative here)."""
    assert gross_minor >= 0
    assert 0 <= bp <= BP_WHOLE
    return (gross_minor * bp + BP_WHOLE // 2) // BP_WHOLE


@helper(types.boolean(types.int64, types.int64, I64_RO, I64_RO, I64_RO, I64_RO, BOOL_RO, BOOL_RO))
def has_alimony(lo, hi, kind, fixed_minor, percent_bp, remaining_minor, active, for_minor):
    """True when an active alimony order for a minor still asks for something: the total cap is then the
    higher one (RULES.md Readings 10)."""
    assert lo <= hi
    assert hi <= kind.shape[0]
    for k in range(lo, hi):
        asks = fixed_minor[k] > 0 if percent_bp[k] < 0 else percent_bp[k] > 0
        if kind[k] == KIND_ALIMONY and for_minor[k] and active[k] and remaining_minor[k] != 0 and asks:
            return True
    return False


@helper(types.int64(types.int64, types.int64, types.int64, types.int64, types.int64, types.int64,
                    types.int64, types.int64, types.int64, types.boolean, I64_RO))
def room_minor(kind, gross_minor, total_limit_minor, recovery_limit_minor, deducted_minor, alimony_minor,
               damages_minor, recovery_minor, enforcement_minor, voluntary, caps_bp):
    """How much an order of `kind` may still take from this right under its kind cap and the total cap. With
    `voluntary` (a recovery with consent) the total cap does not count recovery_minor (Readings 7)."""
    assert 1 <= kind <= 4
    assert 0 <= recovery_minor <= deducted_minor <= gross_minor
    capped_minor = deducted_minor - recovery_minor if voluntary else deducted_minor
    support_room = share_floor_minor(gross_minor, caps_bp[CAP_SUPPORT]) - alimony_minor - damages_minor
    if kind == KIND_ALIMONY:
        room = min(share_floor_minor(gross_minor, caps_bp[CAP_ALIMONY]) - alimony_minor, support_room)
    elif kind == KIND_DAMAGES:
        room = min(share_floor_minor(gross_minor, caps_bp[CAP_DAMAGES]) - damages_minor, support_room)
    elif kind == KIND_OVERPAYMENT:
        room = recovery_limit_minor - recovery_minor
    else:
        room = share_floor_minor(gross_minor, caps_bp[CAP_ENFORCEMENT]) - enforcement_minor
    room = min(room, total_limit_minor - capped_minor, gross_minor - deducted_minor)
    return max(room, 0)


@helper(types.int64(types.int64, types.int64, types.int64, types.int64, types.int64))
def asked_minor(gross_minor, fixed_minor, percent_bp, remaining_minor, taken_minor):
    """What an order asks for this payroll before caps: a half-up share, or its fixed monthly amount less what
    earlier payrolls of the same month took (`taken_minor`: a supplementary payroll takes no second instalment),
    within its balance."""
    assert fixed_minor >= 0 or percent_bp >= 0
    assert remaining_minor >= -1 and taken_minor >= 0
    asked = share_half_up_minor(gross_minor, percent_bp) if percent_bp >= 0 else max(fixed_minor - taken_minor, 0)
    if remaining_minor >= 0:
        asked = min(asked, remaining_minor)
    return asked


@helper(types.UniTuple(types.int64, 3)(types.int64, types.boolean, types.boolean, types.boolean, I64_RO))
def right_limits(gross, alimony, consented, blocked, caps_bp):
    """(total cap, recovery cap, what recovery may take together with the rest) of one right's gross. Full
    recovery with consent (non-protected benefits only) is voluntary: bounded by the gross, not by the total
    cap of enforced deductions; a blocked right takes no recovery (Readings 7)."""
    assert gross >= 0
    assert caps_bp.shape[0] == CAPS_LEN
    total_limit = share_floor_minor(gross, caps_bp[CAP_TOTAL_WITH_ALIMONY if alimony else CAP_TOTAL])
    recovery_limit = 0 if blocked else share_floor_minor(
        gross, caps_bp[CAP_RECOVERY_CONSENT if consented else CAP_RECOVERY])
    return total_limit, recovery_limit, gross if consented else total_limit


@helper(types.int64(types.int64, types.int64, I64_OUT))
def take_from_balance(group, room_minor, balance_minor):
    """Take up to room_minor from a shared balance (it runs down in place); returns the amount taken."""
    assert room_minor >= 0
    assert 0 <= group < balance_minor.shape[0]
    amount = min(balance_minor[group], room_minor)
    balance_minor[group] -= amount
    return amount


@kernel(types.void(I64_RO, I64_RO, I64_RO, I64_RO, I64_OUT, BOOL_RO, BOOL_RO, BOOL_RO, I64_RO, I64_RO,
                   I64_RO, I64_RO, I64_RO, I64_RO, I64_RO, BOOL_RO, BOOL_RO, I64_RO, I64_RO, I64_OUT,
                   I64_OUT, I64_OUT, I64_OUT, I64_OUT, I64_OUT, I64_OUT, I64_OUT, I64_OUT, I64_OUT))
def deduct_rights(gross_minor, carry_in_minor, receivable_minor, receivable_group, group_balance_minor, consent,
                  protected, recovery_blocked, order_right, order_kind, order_priority, order_fixed_minor,
                  order_percent_bp, order_remaining_minor, order_taken_minor, order_active, order_for_minor, caps_bp,
                  advance_group, advance_balance_minor, out_alimony, out_damages, out_recovery, out_enforcement,
                  out_receivable, out_advance, out_net, out_order_deducted, out_order_remaining):
    """Each right's orders (sorted by right: a cursor walks them); out_net = gross + carry_in - deducted. Group
    arrays: [] or per right a shared balance (-1: none) run down in place (see module, and Readings 3 and 7)."""
    n = gross_minor.shape[0]
    assert caps_bp.shape[0] == CAPS_LEN and carry_in_minor.shape[0] == n and out_net.shape[0] == n
    grouped, advances, m, hi = receivable_group.shape[0] == n, advance_group.shape[0] == n, order_right.shape[0], 0
    assert receivable_group.shape[0] in (0, n) and advance_group.shape[0] in (0, n) and order_taken_minor.shape[0] \
        == order_kind.shape[0] == out_order_remaining.shape[0] == m
    for r in range(n):
        gross, lo, voluntary = gross_minor[r] + carry_in_minor[r], hi, consent[r] and not protected[r]
        while hi < m and order_right[hi] == r:
            hi += 1
        advance = advance_group[r] if advances and not protected[r] else -1
        advance = advance if advance >= 0 and advance_balance_minor[advance] > 0 else -1  # an open claim only
        alimony = (advance >= 0 or has_alimony(lo, hi, order_kind, order_fixed_minor, order_percent_bp,
                                               order_remaining_minor, order_active, order_for_minor)) \
            and not protected[r]
        total_limit, recovery_limit, recovery_total_limit = right_limits(gross, alimony, voluntary,
                                                                         recovery_blocked[r], caps_bp)
        taken_alimony = taken_damages = taken_recovery = taken_enforcement = deducted = taken_advance = 0
        receivable_pending, advance_pending = True, advance >= 0
        for k in range(lo, hi + 1):
            if advance_pending and (k == hi or order_priority[k] > PRIORITY_ADVANCE):
                advance_pending = False
                room = room_minor(KIND_ALIMONY, gross, total_limit, recovery_limit, deducted, taken_alimony,
                                  taken_damages, taken_recovery, taken_enforcement, voluntary, caps_bp)
                taken_advance = take_from_balance(advance, room, advance_balance_minor)
                taken_alimony += taken_advance
                deducted += taken_advance
            if receivable_pending and (k == hi or order_priority[k] >= PRIORITY_RECOVERY):
                receivable_pending = False
                room = room_minor(KIND_OVERPAYMENT, gross, recovery_total_limit, recovery_limit, deducted,
                                  taken_alimony, taken_damages, taken_recovery, taken_enforcement, voluntary, caps_bp)
                group = receivable_group[r] if grouped else -1
                amount = take_from_balance(group, room, group_balance_minor) if group >= 0 else \
                    min(receivable_minor[r], room)
                out_receivable[r] = amount
                taken_recovery += amount
                deducted += amount
            if k == hi:
                break
            kind = order_kind[k]
            out_order_deducted[k], out_order_remaining[k] = 0, order_remaining_minor[k]
            if not order_active[k] or (protected[r] and kind != KIND_OVERPAYMENT):
                continue
            limit = recovery_total_limit if kind == KIND_OVERPAYMENT else total_limit
            room = room_minor(kind, gross, limit, recovery_limit, deducted, taken_alimony, taken_damages,
                              taken_recovery, taken_enforcement, voluntary, caps_bp)
            amount = min(room, asked_minor(gross, order_fixed_minor[k], order_percent_bp[k], order_remaining_minor[k],
                                           order_taken_minor[k]))
            left = order_remaining_minor[k] - amount if order_remaining_minor[k] >= 0 else -1
            out_order_deducted[k], out_order_remaining[k] = amount, left
            deducted += amount
            if kind == KIND_ALIMONY:
                taken_alimony += amount
            elif kind == KIND_DAMAGES:
                taken_damages += amount
            elif kind == KIND_OVERPAYMENT:
                taken_recovery += amount
            else:
                taken_enforcement += amount
        assert 0 <= deducted <= gross
        out_alimony[r], out_damages[r], out_advance[r] = taken_alimony - taken_advance, taken_damages, taken_advance
        out_recovery[r], out_enforcement[r] = taken_recovery, taken_enforcement
        out_net[r] = gross - deducted
    assert hi == m  # every order was met by its right: they were sorted and in range


def _int64(values, name: str, length: int | None = None) -> np.ndarray:
    array = np.ascontiguousarray(values, dtype=np.int64)
    if array.ndim != 1 or (length is not None and array.shape[0] != length):
        raise ValueError(f"{name}: expected a 1-d array of length {length}, got shape {array.shape}")
    return array


def _bool(values, name: str, length: int) -> np.ndarray:
    array = np.ascontiguousarray(values, dtype=np.bool_)
    if array.ndim != 1 or array.shape[0] != length:
        raise ValueError(f"{name}: expected a 1-d array of length {length}, got shape {array.shape}")
    return array


def _require(ok: bool, message: str) -> None:
    if not ok:
        raise ValueError(message)


@kernel(types.int64(I64_RO, types.int64, types.int64))
def first_outside(values, low, high):
    """Position of the first value outside low..high, or -1: one pass where min() and max() take two."""
    assert low <= high
    assert values.ndim == 1
    for i in range(values.shape[0]):
        if values[i] < low or values[i] > high:
            return i
    return -1


def check_amounts(array: np.ndarray, name: str, low: int = 0) -> None:
    """ValueError naming the first amount outside low..AMOUNT_MINOR_MAX."""
    bad = first_outside(array, low, AMOUNT_MINOR_MAX)
    _require(bad < 0, f"{name}[{bad}] = {array[bad] if bad >= 0 else ''} lies outside {low}..{AMOUNT_MINOR_MAX}"
                      " minor units")


def _check_orders(n_rights, right, kind, priority, fixed, percent, remaining) -> None:
    if right.shape[0] == 0:
        return
    _require(int(right.min()) >= 0 and int(right.max()) < n_rights, "order_right must index a right")
    _require(bool(np.isin(kind, (1, 2, 3, 4)).all()), "order_kind must be 1..4")
    _require(int(priority.min()) >= 1, "order_priority must be >= 1")
    _require(bool(((fixed >= 0) != (percent >= 0)).all()),
             "each order needs exactly one of fixed_minor >= 0 or percent_bp >= 0 (the other -1)")
    _require(int(percent.max()) <= BP_WHOLE, f"order_percent_bp must be <= {BP_WHOLE}")
    check_amounts(fixed, "order_fixed_minor", low=-1)
    check_amounts(remaining, "order_remaining_minor", low=-1)


def order_permutation(order_right: np.ndarray, order_priority: np.ndarray) -> np.ndarray | None:
    """None when orders are already sorted by (right, priority); else the stable sorting permutation."""
    if order_right.shape[0] < 2:
        return None
    step_right = np.diff(order_right)
    sorted_ok = (step_right > 0) | ((step_right == 0) & (np.diff(order_priority) >= 0))
    if sorted_ok.all():
        return None
    return np.lexsort((np.arange(order_right.shape[0]), order_priority, order_right))


def receivable_groups(receivable_group, receivable: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(group per right or an empty array, initial balance per group); every right of a group must carry the
    group's full receivable, so that a mistake in the caller's grouping cannot double a debt."""
    if receivable_group is None:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    group = _int64(receivable_group, "receivable_group", receivable.shape[0])
    in_group = group >= 0
    if not in_group.any():
        return group, np.empty(0, dtype=np.int64)
    _require(int(group.min()) >= -1, "receivable_group must be -1 (none) or a group index >= 0")
    balance = np.zeros(int(group.max()) + 1, dtype=np.int64)
    balance[group[in_group]] = receivable[in_group]
    _require(bool((balance[group[in_group]] == receivable[in_group]).all()),
             "rights of one receivable_group must carry the same recovery_receivable_minor (the group's debt)")
    return group, balance


def _flags(values, name: str, length: int, default: bool) -> np.ndarray:
    return np.full(length, default, dtype=np.bool_) if values is None else _bool(values, name, length)


def _right_arrays(gross_minor, carry_in_minor, recovery_receivable_minor, consent_full_recovery, protected):
    gross = _int64(gross_minor, "gross_minor")
    n = gross.shape[0]
    carry_in = _int64(np.zeros(n, dtype=np.int64) if carry_in_minor is None else carry_in_minor,
                      "carry_in_minor", n)
    receivable = _int64(recovery_receivable_minor, "recovery_receivable_minor", n)
    for array, name in ((gross, "gross_minor"), (carry_in, "carry_in_minor"),
                        (receivable, "recovery_receivable_minor")):
        check_amounts(array, name)
    return (gross, carry_in, receivable, _bool(consent_full_recovery, "consent_full_recovery", n),
            _bool(protected, "protected", n))


def _order_arrays(n_rights, order_right, order_kind, order_priority, order_fixed_minor, order_percent_bp,
                  order_remaining_minor, order_taken_minor, order_active):
    """The order arrays, checked and sorted by (right, priority); perm is None when they came sorted."""
    right = _int64(order_right, "order_right")
    m = right.shape[0]
    taken = _int64(np.zeros(m, np.int64) if order_taken_minor is None else order_taken_minor, "order_taken_minor", m)
    arrays = (right, _int64(order_kind, "order_kind", m), _int64(order_priority, "order_priority", m),
              _int64(order_fixed_minor, "order_fixed_minor", m), _int64(order_percent_bp, "order_percent_bp", m),
              _int64(order_remaining_minor, "order_remaining_minor", m), taken, _bool(order_active, "order_active", m))
    _check_orders(n_rights, *arrays[:6])
    check_amounts(taken, "order_taken_minor")
    perm = order_permutation(arrays[0], arrays[2])
    if perm is not None:
        arrays = tuple(a[perm] for a in arrays)
    return arrays, perm


def apply_deductions(gross_minor, recovery_receivable_minor, consent_full_recovery, protected,
                     order_right, order_kind, order_priority, order_fixed_minor, order_percent_bp,
                     order_remaining_minor, order_active, caps: DeductionCaps = DeductionCaps(),
                     carry_in_minor=None, receivable_group=None, recovery_blocked=None,
                     order_for_minor=None, advance_group=None, advance_balance_minor=None,
                     order_taken_minor=None) -> Deductions:
    """Deduct every order and the receivable from each right's gross. Orders may come in any order;
    per-order outputs are returned in the caller's order. carry_in_minor (default none) joins the base and the net.
    receivable_group (default none; -1 = own) makes rights share one receivable balance (module docstring).
    recovery_blocked (default none): rights that take no recovery at all; order_for_minor (default all):
    alimony orders for a minor. advance_group (default none; -1 = none) gives per right the index of its debtor's
    maintenance-advance claim in advance_balance_minor: recovered after the right's priority-1 orders as alimony
    for a minor (its caps, and the higher total cap), shared by the debtor's rights in index order, never from a
    protected benefit. order_taken_minor (default none): what each order already took for this month in earlier
    payrolls of the month; a fixed order asks only the rest of its monthly amount. Raises ValueError on malformed
    arrays."""
    gross, carry_in, receivable, consent, protect = _right_arrays(
        gross_minor, carry_in_minor, recovery_receivable_minor, consent_full_recovery, protected)
    n = gross.shape[0]
    blocked = _flags(recovery_blocked, "recovery_blocked", n, False)
    group, group_balance = receivable_groups(receivable_group, receivable)
    m = np.shape(order_right)[0]
    for_minor = _flags(order_for_minor, "order_for_minor", m, True)
    orders, perm = _order_arrays(n, order_right, order_kind, order_priority, order_fixed_minor,
                                 order_percent_bp, order_remaining_minor, order_taken_minor, order_active)
    if perm is not None:
        for_minor = for_minor[perm]
    caps_bp = caps.as_array()
    m = orders[0].shape[0]
    advance, advance_balance = advance_groups(advance_group, advance_balance_minor, n)
    outs = [np.empty(n, dtype=np.int64) for _ in range(7)]
    deducted, left = np.empty(m, dtype=np.int64), np.empty(m, dtype=np.int64)
    deduct_rights(gross, carry_in, receivable, group, group_balance, consent, protect, blocked, *orders,
                  for_minor, caps_bp, advance, advance_balance, *outs, deducted, left)
    if perm is not None:
        deducted[perm], left[perm] = deducted.copy(), left.copy()
    return Deductions(*outs, order_deducted_minor=deducted, order_remaining_minor=left)


def advance_groups(advance_group, advance_balance_minor, n: int) -> tuple[np.ndarray, np.ndarray]:
    """(group per right or an empty array, a copy of the balances the kernel runs down), checked."""
    if advance_group is None:
        return np.empty(0, dtype=np.int64), np.zeros(1, dtype=np.int64)
    group = _int64(advance_group, "advance_group", n)
    balance = _int64(advance_balance_minor, "advance_balance_minor").copy()
    check_amounts(balance, "advance_balance_minor")
    _require(n == 0 or (int(group.min()) >= -1 and int(group.max()) < balance.shape[0]),
             "advance_group must be -1 (none) or an index into advance_balance_minor")
    return group, balance if balance.shape[0] else np.zeros(1, dtype=np.int64)
