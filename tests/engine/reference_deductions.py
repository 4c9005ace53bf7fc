"""Plain-Python reference of deductions and netting, written straight from RULES.md; the oracle of the tests.

Deliberately simple and slow: Python ints, dicts and one loop per right and order. Semantics (documented in
engine/deductions.py and engine/netting.py): cap base = gross of the right in this payroll plus what it carries in (carried whole, its
deductions owed, Readings 3); caps are floors of
a share of the gross; percentages round half-up once; the receivable is recovered just before the first order
of priority >= 3; consent lifts the recovery cap to 100 % of a non-protected right and frees recovery from the
total cap, which then bounds the other deductions alone (what they take together, recovery left out); protected rights take only recovery, and none where recovery is blocked (RULES.md Readings 7); the
higher total cap needs an alimony order for a minor (Readings 10); the minimum payable applies per (payee,
channel) payment to its whole total, withholding the rights' nets only, and a withheld payment takes no
deduction at all (Readings 3): its rights are deducted again without orders or receivable, repeatedly.
"""
import numpy as np

from engine.deductions import DeductionCaps
from engine.payroll_kernel import compute_payroll


def floor_share(gross, bp):
    return gross * bp // 10_000


def half_up_share(gross, bp):
    quotient, rest = divmod(gross * bp, 10_000)
    return quotient + (1 if 2 * rest >= 10_000 else 0)


def deduct_one_right(gross, receivable, consent, protected, orders, caps, blocked=False):
    """orders: list of dicts kind, priority, fixed, percent, remaining, active, position (caller index).
    caps: dict of basis points. Returns (taken by kind 1..4 with the receivable in kind 3, receivable taken,
    {position: (deducted, new remaining)})."""
    orders = sorted(orders, key=lambda o: (o["priority"], o["position"]))
    alimony_involved = not protected and any(
        o["kind"] == 1 and o.get("for_minor", True) and o["active"] and o["remaining"] != 0
        and (o["percent"] > 0 if o["percent"] >= 0 else o["fixed"] > 0) for o in orders)
    total_cap = floor_share(gross, caps["total_with_alimony_bp"] if alimony_involved else caps["total_bp"])
    consent = consent and not protected
    recovery_cap = 0 if blocked else floor_share(gross, caps["recovery_consent_bp"] if consent else caps["recovery_bp"])
    kind_cap = {1: floor_share(gross, caps["alimony_bp"]), 2: floor_share(gross, caps["damages_bp"]),
                3: recovery_cap, 4: floor_share(gross, caps["enforcement_bp"])}
    support_cap = floor_share(gross, caps["support_bp"])
    taken = {1: 0, 2: 0, 3: 0, 4: 0}
    result = {}

    def room(kind):
        deducted = sum(taken.values())
        limits = [kind_cap[kind] - taken[kind], gross - deducted]
        if kind in (1, 2):
            limits.append(support_cap - taken[1] - taken[2])
        if not (kind == 3 and consent):  # recovery with consent lies beyond the others' total cap (Readings 7)
            limits.append(total_cap - deducted + (taken[3] if consent else 0))
        return max(0, min(limits))

    receivable_taken = None
    for order in orders + [None]:
        if receivable_taken is None and (order is None or order["priority"] >= 3):
            receivable_taken = min(receivable, room(3))
            taken[3] += receivable_taken
        if order is None:
            break
        kind, remaining = order["kind"], order["remaining"]
        if not order["active"] or (protected and kind != 3):
            result[order["position"]] = (0, remaining)
            continue
        # a fixed order's monthly amount is owed once a month: less what earlier payrolls of the month took
        asked = half_up_share(gross, order["percent"]) if order["percent"] >= 0 else \
            max(order["fixed"] - order.get("taken", 0), 0)
        if remaining != -1:
            asked = min(asked, remaining)
        amount = min(asked, room(kind))
        taken[kind] += amount
        result[order["position"]] = (amount, remaining - amount if remaining != -1 else -1)
    return taken, receivable_taken, result


def reference_payroll(rights, orders, extras, caps):
    """rights: list of dicts gross, carry_in, receivable, consent, protected, payee, channel, minimum, carry,
    group (-1 = own receivable; rights of one group share one receivable balance, in right order), blocked.
    orders: list of dicts right, kind, priority, fixed, percent, remaining, active, creditor, creditor_channel,
    for_minor. extras: list of (payee, channel, amount). Returns per right dicts, per order (deducted,
    remaining) and payments {(payee, channel): total} of the payments actually made."""
    withheld_rights = set()
    while True:
        result, withheld = one_round(rights, orders, extras, caps, withheld_rights)
        took = {i for i, r in enumerate(result[0]) if r["alimony"] + r["damages"] + r["recovery"] + r["enforcement"]}
        if not (withheld - withheld_rights) & took:
            return result
        withheld_rights = withheld


def one_round(rights, orders, extras, caps, withheld_rights):
    """One pass with the rights of `withheld_rights` taking nothing and withheld whatever their total."""
    by_right = {i: [] for i in range(len(rights))}
    for position, order in enumerate(orders):
        active = order["active"] and order["right"] not in withheld_rights
        by_right[order["right"]].append(dict(order, position=position, active=active))
    out_rights, out_orders = [], [None] * len(orders)
    group_balance = {}
    for i, right in enumerate(rights):
        group = right.get("group", -1) if i not in withheld_rights else -1
        if group >= 0:
            group_balance.setdefault(group, right["receivable"])
        receivable = group_balance[group] if group >= 0 else right["receivable"]
        receivable = 0 if i in withheld_rights else receivable
        taken, receivable_taken, per_order = deduct_one_right(
            right["gross"] + right["carry_in"], receivable, right["consent"], right["protected"], by_right[i], caps,
            right.get("blocked", False))
        if group >= 0:
            group_balance[group] -= receivable_taken
        for position, value in per_order.items():
            out_orders[position] = value
        net = right["gross"] + right["carry_in"] - sum(taken.values())
        out_rights.append({"alimony": taken[1], "damages": taken[2], "recovery": taken[3],
                           "enforcement": taken[4], "receivable": receivable_taken, "net": net})
    totals, minimum = {}, {}
    for i, right in enumerate(rights):
        key = (right["payee"], right["channel"])
        totals[key] = totals.get(key, 0) + out_rights[i]["net"]
        minimum[key] = max(minimum.get(key, 0), right["minimum"])
    for position, order in enumerate(orders):
        if order["kind"] in (1, 2, 4):
            key = (order["creditor"], order["creditor_channel"])
            totals[key] = totals.get(key, 0) + out_orders[position][0]
    for payee, channel, amount in extras:
        totals[(payee, channel)] = totals.get((payee, channel), 0) + amount
    forced = {(rights[i]["payee"], rights[i]["channel"]) for i in withheld_rights}
    withheld = {key: totals[key] < minimum.get(key, 0) or key in forced for key in totals}
    for i, right in enumerate(rights):
        key = (right["payee"], right["channel"])
        values = out_rights[i]
        values["paid"], values["carry_out"], values["dropped"] = values["net"], 0, 0
        if withheld[key]:
            values["paid"] = 0
            values["carry_out" if right["carry"] else "dropped"] = values["net"]
            totals[key] -= values["net"]
    payments = {key: total for key, total in totals.items() if total > 0}
    withheld_now = {i for i, right in enumerate(rights) if withheld[(right["payee"], right["channel"])]}
    return (out_rights, out_orders, payments), withheld_now


# ---- adapters: readable dict cases <-> engine arrays ----------------------------------------

RIGHT_DEFAULTS = dict(gross=0, carry_in=0, receivable=0, consent=False, protected=False, payee=0, channel=0,
                      minimum=0, carry=True, group=-1, blocked=False)
ORDER_DEFAULTS = dict(right=0, kind=1, priority=None, fixed=-1, percent=-1, remaining=-1, taken=0, active=True,
                      creditor=None, creditor_channel=0, for_minor=True)


def complete_rights(rights):
    return [dict(RIGHT_DEFAULTS, **r) for r in rights]


def complete_orders(orders, n_payees):
    done = []
    for o in orders:
        o = dict(ORDER_DEFAULTS, **o)
        if o["priority"] is None:
            o["priority"] = o["kind"]
        if o["creditor"] is None:
            o["creditor"] = -1 if o["kind"] == 3 else n_payees - 1
        done.append(o)
    return done


def caps_dict(caps: DeductionCaps) -> dict:
    return dict(caps.__dict__)


def run_engine(rights, orders, extras=(), caps=DeductionCaps(), n_payees=None, readonly=False):
    """rights/orders as completed dicts; returns the PayrollResult."""
    if n_payees is None:
        n_payees = 1 + max([r["payee"] for r in rights] + [o["creditor"] for o in orders] + [e[0] for e in extras]
                           + [0])

    def column(rows, name, dtype=np.int64):
        array = np.array([row[name] for row in rows], dtype=dtype)
        array.flags.writeable = not readonly
        return array

    return compute_payroll(
        column(rights, "gross"), column(rights, "carry_in"), column(rights, "receivable"),
        column(rights, "consent", bool), column(rights, "protected", bool), column(rights, "payee"),
        column(rights, "channel"), column(rights, "minimum"), column(rights, "carry", bool),
        column(orders, "right"), column(orders, "kind"), column(orders, "priority"), column(orders, "fixed"),
        column(orders, "percent"), column(orders, "remaining"), column(orders, "active", bool),
        column(orders, "creditor"), column(orders, "creditor_channel"), n_payees=n_payees, caps=caps,
        extra_payee=np.array([e[0] for e in extras], dtype=np.int64),
        extra_channel=np.array([e[1] for e in extras], dtype=np.int64),
        extra_amount_minor=np.array([e[2] for e in extras], dtype=np.int64),
        receivable_group=column(rights, "group") if any(r.get("group", -1) >= 0 for r in rights) else None,
        recovery_blocked=column(rights, "blocked", bool), order_for_minor=column(orders, "for_minor", bool),
        order_taken_minor=column(orders, "taken"))


def engine_payments(result, n_channels=2) -> dict:
    netting = result.netting
    return {(int(p), int(c)): int(v) for p, c, v in
            zip(netting.payment_payee, netting.payment_channel, netting.payment_net_minor)}
