"""One payroll computed from its inputs: register, catalogue, period, what the ledger held and the holds.

A pure function of its inputs (no database, no files written), so `calculate` and `audit recompute` run exactly
the same code. Steps: register -> engine arrays; window per right; due per right and month; differences
against what was recognised (due / arrears / overpayment); holds (a right held after MD07, or a bank
channel held after a closed account and no postal route) pay nothing on the right, though overpayments are still
raised, and a held right's returned money is set against its overpayment receivable; carry-in,
receivable, order balances and re-issues come from the ledger state; engine.payroll_kernel deducts, forwards,
nets and checks conservation; the result becomes payroll lines, payments and the deductions posted at approval.
Legacy baseline: a ledger starts empty when a country migrates, but its legacy system paid the months before.
The legacy cutoff is the first day of the earliest payroll the ledger holds (of this payroll if none); for a
month before it, what was recognised is what the versions decided before the cutoff made due (what the legacy
system paid, an old version that a later decision ended early running on as before) plus what the ledger
recognised, so a retroactive change pays or recovers only the difference and a right newly granted back in time
still gets its arrears in full; months from the cutoff on follow the ledger alone.
"""
from dataclasses import dataclass, replace
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from engine import arrears, entitlement, heap
from engine.money import AMOUNT_MINOR_MAX
from engine.months import month_first_date
from engine.payroll_kernel import ConservationError, compute_payroll
from formats import convert
from formats import awards
from formats.errors import InputError, Problem
from formats.register import filled_rows, table_pool
from formats.schemas import DEDUCTION_KINDS
from formats.i18n import N_
from payroll import advance_claims
from payroll import lines as line_blocks
from payroll.ids import fixed_width_strings, ref_matrix
from payroll.ledger_state import LedgerState, lookup
from payroll.taken import deductions_taken

# RULES.md Readings 4: a retroactive decision pays back to its start however far (a catalogue's
# arrears_limit_months may cut it, reported as time_barred lines). The ledger state is read this far back, so every
# month a decision can reach is compared with what the ledger recognised (only rights with a change get a window).
LOOKBACK_MONTHS = 1200
DEATH_LOOKBACK_MONTHS = 24    # a death carries no recording date: how far back a reported death may reach
CHANGES_WINDOW_MONTHS = 1     # decisions recorded since the first day of the previous month are recomputed
CHANNEL_CODES = {"bank": 0, "post": 1}
POSTAL_FIELDS = ("street", "town", "postcode", "country")
PAYEE_DETAIL_FIELDS = ("name", "iban", "bic", "street", "house_number", "postcode", "town", "district",
                       "region", "country", "tax_id", "phone")


@dataclass(frozen=True)
class Inputs:
    register: dict               # validated tables (formats.register.read_register)
    catalogue: object            # formats.catalogue.Catalogue
    period: int                  # month index
    state: LedgerState
    holds: pa.Table              # payroll.store.read_holds
    released: pa.Table | None = None  # holds lifted (read_holds(released=True) less those in force): their months
    seen: pa.Table | None = None  # the versions the last approved payroll read (versions_seen; None: none recorded)
    approved: int | None = None   # the latest month an approved payroll paid (None: none yet)
    taken: tuple | None = None    # what register orders took per month in approved payrolls (session.orders_taken)


class Cells(NamedTuple):
    """Amounts per (right index, month)."""
    right: np.ndarray
    month: np.ndarray
    amount_minor: np.ndarray


class Reissues(NamedTuple):
    """Returned payments paid again: payee index, channel code, right index, amount."""
    payee: np.ndarray
    channel: np.ndarray
    right: np.ndarray
    amount_minor: np.ndarray


class Instalments(NamedTuple):
    """A fixed order's instalments owed this payroll, per month, sorted by order then month: order index, month,
    what is owed of the month's instalment."""
    order: np.ndarray
    month: np.ndarray
    owed_minor: np.ndarray


class Offsets(NamedTuple):
    """A held right's returned money set against its receivable: right index, payee index, amount."""
    right: np.ndarray
    payee: np.ndarray
    amount_minor: np.ndarray


@dataclass(frozen=True)
class Computation:
    lines: pa.Table              # formats.schemas.PAYROLL_LINES
    payments: pa.Table           # one row per payment: number, EndToEndId, payee, channel, amount, details
    orders: pa.Table             # deductions taken, as posted at approval
    summary: dict                # totals and breakdowns (JSON-able)
    versions: pa.Table           # versions_seen: what the next payroll compares its register with


def np_col(table: pa.Table, name: str, fill=None) -> np.ndarray:
    column = table.column(name)
    if fill is not None:
        column = pc.fill_null(column, fill)
    return np.asarray(column.to_numpy(zero_copy_only=False))


# ---- per right ------------------------------------------------------------------------------------------

def right_versions(arrays, period: int) -> np.ndarray:
    """The version row in force in the period (else the right's last version): payee, consent, person."""
    chosen = convert.versions_for_period(arrays, period)
    return np.where(chosen >= 0, chosen, arrays.version_offsets[1:] - 1).astype(np.int64)


def payee_table_rows(payees: pa.Table, payee_ids: np.ndarray) -> np.ndarray:
    """Per payee index (arrays.payee_ids order, sorted ids): its row in the register's payees table. The rows
    are the indexes themselves when the table is already in id order (no hash table over the ids)."""
    table_ids = np.asarray(payees.column("payee_id").to_numpy(), np.int64) \
        if payees.column("payee_id").null_count == 0 else None
    if table_ids is not None and table_ids.shape == payee_ids.shape and np.array_equal(table_ids, payee_ids):
        return np.arange(payee_ids.shape[0], dtype=np.int64)
    index = pc.index_in(pa.array(payee_ids), value_set=payees.column("payee_id")).to_numpy(zero_copy_only=False)
    return index.astype(np.int64)


def payee_column(register: dict, name: str):
    """Column `name` of the register's payees table; a deferred one (formats.register.Register.deferred_column,
    held as the file's bytes until the payments need it) decoded again, exactly as validated."""
    deferred = register.deferred_columns("payees") if hasattr(register, "deferred_columns") else ()
    return register.deferred_column("payees", name) if name in deferred else register["payees"].column(name)


def payee_channels(payees: pa.Table, payee_ids: np.ndarray, postal_rows: np.ndarray) \
        -> tuple[np.ndarray, np.ndarray, pa.Table]:
    """Per payee index (arrays.payee_ids order): channel code, postal address complete (postal_rows: per row of
    the payees table), and the payee rows (`channel`, and `row`: the row in the register's payees table)."""
    index = payee_table_rows(payees, payee_ids)
    rows = payees.select(["channel"])
    if not np.array_equal(index, np.arange(rows.num_rows)):
        rows = rows.take(pa.array(index))
    rows = rows.append_column("row", pa.array(index))
    channel = pc_mask(pc.equal(rows.column("channel"), "post")).astype(np.int64)
    return channel, postal_rows[index], rows


def postal_rows(register: dict) -> np.ndarray:
    """Per row of the register's payees table: a complete postal address, every POSTAL_FIELDS column neither null
    nor empty. From the masks read_register kept as it validated them (Register.filled_mask), so the deferred
    address columns are not decoded for it; from the columns themselves when it kept none."""
    complete = np.ones(register["payees"].num_rows, bool)
    for name in POSTAL_FIELDS:
        kept = register.filled_mask("payees", name) if hasattr(register, "filled_mask") else None
        complete &= filled_rows(payee_column(register, name)) if kept is None else kept
    return complete


def pc_mask(values) -> np.ndarray:
    """A boolean Arrow result as a numpy mask, null as False."""
    return np.asarray(pc.fill_null(values, False).to_numpy(zero_copy_only=False), bool)


def bank_holds(holds: pa.Table, payee_ids: np.ndarray, payee_rows: pa.Table, ibans) -> np.ndarray:
    """Per payee index: a bank-channel hold still applies (the register still shows the held IBAN). `ibans()`
    gives the payees table's iban column, asked for only when there is such a hold."""
    held = np.zeros(len(payee_ids), bool)
    bank = holds.filter(pc.equal(holds.column("kind"), "bank_channel"))
    if bank.num_rows == 0:
        return held
    idx = np.searchsorted(payee_ids, np_col(bank, "payee_id"))
    idx = np.clip(idx, 0, max(len(payee_ids) - 1, 0))
    known = payee_ids[idx] == np_col(bank, "payee_id") if len(payee_ids) else np.zeros(0, bool)
    rows = payee_rows.select(["row", "channel"]).take(pa.array(idx.astype(np.int64)))
    rows = rows.append_column("iban", pc.take(ibans(), rows.column("row")))
    current_iban = np_col(rows, "iban", "")
    same = known & (current_iban == np_col(bank, "iban", "")) & (np_col(rows, "channel") == "bank")
    held[idx[same]] = True
    return held


def route_rights(inputs: Inputs, arrays, right_payee: np.ndarray, benefit_post: np.ndarray,
                 payee_channel: np.ndarray, payee_postal: np.ndarray, payee_held: np.ndarray):
    """Channel per right and the rights held out of this payroll (MD07, or bank held without a postal route)."""
    channel = payee_channel[right_payee].copy()
    bank_held = payee_held[right_payee]
    reroute = bank_held & benefit_post & payee_postal[right_payee]
    channel[reroute] = CHANNEL_CODES["post"]
    held = bank_held & ~reroute
    held |= right_held_mask(inputs, arrays, right_payee)
    return channel, held


def right_held_mask(inputs: Inputs, arrays, right_payee: np.ndarray) -> np.ndarray:
    """Per right: held by a right-level hold (MD07, or an officer's), whoever its money goes to, or paid to a
    payee an officer held (a "payee" hold stops every payment to the payee)."""
    kinds = inputs.holds.column("kind")
    right_holds = inputs.holds.filter(pc.equal(kinds, "right"))
    payee_holds = inputs.holds.filter(pc.equal(kinds, "payee"))
    held = np.zeros(len(arrays.right_ids), bool)
    if right_holds.num_rows:
        held |= np.isin(arrays.right_ids, np_col(right_holds, "right_id"))
    if payee_holds.num_rows and len(right_payee):
        held |= np.isin(arrays.payee_ids[right_payee], np_col(payee_holds, "payee_id"))
    return held


# ---- differences ----------------------------------------------------------------------------------------

def once_benefits(catalogue) -> np.ndarray:
    """Per benefit of the catalogue: paid once for a period of days, so a new version recomputes its first month."""
    return entitlement.rate_days_benefits([benefit.kind for benefit in catalogue.benefits])


def windows(arrays, inputs: Inputs, ended: np.ndarray | None = None) -> tuple[np.ndarray, object]:
    """Per right the first month recomputed, by every rule below, and the catalogue compiled for those months.
    `ended`: per right, a month it is recomputed from at least (ended_hold_starts), or None."""
    period = inputs.period
    changes_since = (month_first_date(period - CHANGES_WINDOW_MONTHS) - month_first_date(0)).days
    starts = entitlement.window_starts(arrays, period, LOOKBACK_MONTHS, changes_since,
                                       death_lookback_months=DEATH_LOOKBACK_MONTHS,
                                       once_benefits=once_benefits(inputs.catalogue))
    released_hold_starts(inputs, arrays, starts)
    unseen_version_starts(inputs, arrays, starts)
    if ended is not None:
        np.minimum(starts, np.maximum(ended, period - LOOKBACK_MONTHS).astype(starts.dtype), out=starts)
    if inputs.approved is not None and inputs.approved + 1 < period:  # months skipped (calculate --reopen): every
        np.minimum(starts, max(inputs.approved + 1, period - LOOKBACK_MONTHS), out=starts)  # right pays them
    first, last = entitlement.compiled_range(starts, period)
    compiled = inputs.catalogue.compile(min(first, inputs.catalogue.first_month()), last)
    linked_starts(arrays, compiled, starts, period)  # (lowers starts to ones above `first`: the range holds)
    return starts, compiled


def differences(arrays, inputs: Inputs, held: np.ndarray, ended: np.ndarray | None = None):
    """Due per right and month against what the ledger recognised: cells with a non-zero difference, and the
    cells listed as due 0 for a reason (refused_cells); `ended` as for windows."""
    period = inputs.period
    starts, compiled = windows(arrays, inputs, ended)
    cells = entitlement.compute_due(arrays, compiled, period, starts)
    missing_rules(arrays, cells, inputs.catalogue)
    listed = refused_cells(arrays, cells)
    state = inputs.state
    recognised_index = convert.right_index_of(arrays, state.recognised_right)
    known = recognised_index >= 0  # rights no longer in the register are not recomputed
    legacy = legacy_baseline(arrays, compiled, starts, legacy_cutoff_month(inputs),
                             awards.award_limits(inputs.catalogue))
    diffs = arrears.differences(cells, period, np.concatenate([recognised_index[known], legacy[0]]),
                                np.concatenate([state.recognised_month[known], legacy[1]]),
                                np.concatenate([state.recognised_minor[known], legacy[2]]))
    # a held right is paid nothing, but what was paid for months it was not due (after a death) is raised
    keep = ~held[diffs.right_index] | (diffs.amount_minor < 0)
    return (diffs.right_index[keep].astype(np.int64), diffs.month[keep].astype(np.int64),
            diffs.amount_minor[keep].astype(np.int64), listed)


def ended_hold_starts(inputs: Inputs, routing) -> np.ndarray | None:
    """Per right paid (by any version) to a payee that an approved payroll held by a bank-channel hold that no
    longer applies (the register shows another IBAN, or the post; holds' applied_from, payroll/session.py), its
    first month (first_months), else the period; None when there is no such hold. The hold left the right unpaid,
    arrears of any month included, and no release row lifts it, so the right is recomputed as a release does;
    months paid give no difference (a hold whose months were paid costs a recomputation only)."""
    holds, arrays = inputs.holds, routing.arrays
    if "applied_from" not in holds.column_names or not len(arrays.payee_ids):
        return None
    bank = holds.filter(pc.and_(pc.equal(holds.column("kind"), "bank_channel"),
                                pc.greater_equal(holds.column("applied_from"), 0)))
    if bank.num_rows == 0:
        return None
    payees = np_col(bank, "payee_id")
    index = np.clip(np.searchsorted(arrays.payee_ids, payees), 0, len(arrays.payee_ids) - 1)
    ended = (arrays.payee_ids[index] == payees) & ~routing.payee_held[index]
    if not ended.any():
        return None
    payees_ended = np.zeros(len(arrays.payee_ids), bool)
    payees_ended[index[ended]] = True
    chosen = np.zeros(len(arrays.right_ids), bool)
    chosen[np.asarray(arrays.ver_right, np.int64)[payees_ended[arrays.ver_payee]]] = True
    return np.where(chosen, first_months(arrays, inputs), inputs.period)


def released_hold_starts(inputs: Inputs, arrays, starts: np.ndarray) -> None:
    """In place: a right a hold lifted since the last period's calculation covered (of the right, or of its
    payee's payments or bank channel; store.held_from) is recomputed from its first month (not beyond
    LOOKBACK_MONTHS): what the hold left unpaid, arrears it held back included, is paid as arrears once it is
    lifted (README: held rights are left unpaid and carried; after the release the next calculation pays again);
    months paid before give no difference."""
    lifted = inputs.released
    if lifted is None or lifted.num_rows == 0 or not len(arrays.right_ids):
        return
    kinds = lifted.column("kind")
    rights = np_col(lifted.filter(pc.equal(kinds, "right")), "right_id")
    payees = np_col(lifted.filter(pc.not_equal(kinds, "right")), "payee_id")
    chosen = np.isin(arrays.right_ids, rights) if rights.size else np.zeros(len(arrays.right_ids), bool)
    if payees.size:  # a payee's payments, or its bank channel: the rights paid to the payee
        version = convert.versions_for_period(arrays, inputs.period)
        right_payee = np.where(version >= 0, arrays.ver_payee[np.maximum(version, 0)], -1)
        held_payees = np.flatnonzero(np.isin(arrays.payee_ids, payees))
        chosen |= np.isin(right_payee, held_payees)
    index = np.flatnonzero(chosen)
    start = np.maximum(first_months(arrays, inputs)[index], inputs.period - LOOKBACK_MONTHS)
    starts[index] = np.minimum(starts[index], start).astype(starts.dtype)


def first_months(arrays, inputs: Inputs) -> np.ndarray:
    """Per right its first month (versions by valid_from), not before the catalogue's first month: where a
    recomputation of what was paid begins (a decision reaching further back is refused for its missing rules)."""
    first = arrays.ver_from_month[np.asarray(arrays.version_offsets, np.int64)[:-1]].astype(np.int64)
    return np.maximum(first, inputs.catalogue.first_month())


def versions_seen(arrays, period: int) -> pa.Table:
    """Per right of the register (ascending ids), the highest number and the count of its versions in force for
    `period` (decided by its last day; 0 and 0 for none): what the payroll read, stored with it (store.
    VERSIONS_FILE) for the next payroll's unseen_version_starts."""
    offsets = np.asarray(arrays.version_offsets, np.int64)
    in_force = arrays.ver_decided_day <= (month_first_date(period + 1) - month_first_date(0)).days - 1
    numbers = np.where(in_force, version_numbers(arrays), 0).astype(np.int32)
    heads = offsets[:-1]
    last = np.maximum.reduceat(numbers, heads) if heads.size else np.zeros(0, np.int32)
    count = np.add.reduceat(in_force.astype(np.int32), heads) if heads.size else np.zeros(0, np.int32)
    return pa.table({"right_id": pa.array(np.asarray(arrays.right_ids, np.int64)),
                     "last_version": pa.array(np.asarray(last, np.int32)),
                     "versions": pa.array(np.asarray(count, np.int32))})


def version_numbers(arrays) -> np.ndarray:
    """Each version row's number (the register's `version`), loose or from the packed matrix."""
    if arrays.ver_number is not None:
        return np.asarray(arrays.ver_number, np.int32)
    return np.ascontiguousarray(arrays.packed.ver32[:, entitlement.V_NUMBER])


def unseen_version_starts(inputs: Inputs, arrays, starts: np.ndarray) -> None:
    """In place: a right with a version the last approved payroll did not read (numbered above the last it saw,
    or the whole right new to it) starts at the earliest such version's first month, whatever its decided_on: a
    decision recorded late, or decided while no payroll was calculated (a month skipped), pays back to its start
    (RULES.md Readings 4), where the decided_on window (CHANGES_WINDOW_MONTHS) alone would leave it unpaid. A right
    whose versions numbered up to the last seen are no longer as many (a version removed or put in between) is
    recomputed from its first month (first_months); so is one of a benefit paid once for a period of days with an
    unseen version (its first month reads every version). Versions decided after the period are not in force
    yet; nothing reaches back beyond LOOKBACK_MONTHS.
    Months that come out the same as recognised give no difference, so a wider window only costs time."""
    seen = inputs.seen
    if seen is None or not len(arrays.right_ids):
        return
    period, right_ids = inputs.period, np.asarray(arrays.right_ids, np.int64)
    seen_ids = np.asarray(seen.column("right_id").to_numpy(), np.int64)
    last = lookup(seen_ids, np.asarray(seen.column("last_version").to_numpy(), np.int64), right_ids)  # 0: new
    seen_counts = lookup(seen_ids, np.asarray(seen.column("versions").to_numpy(), np.int64), right_ids)
    offsets = np.asarray(arrays.version_offsets, np.int64)
    ver_right = np.asarray(arrays.ver_right, np.int64)
    period_end = (month_first_date(period + 1) - month_first_date(0)).days - 1
    in_force = arrays.ver_decided_day <= period_end
    unseen = (version_numbers(arrays) > last[ver_right]) & in_force
    start = np.full(right_ids.shape[0], period, np.int64)
    np.minimum.at(start, ver_right[unseen], arrays.ver_from_month[unseen].astype(np.int64))
    touched = np.zeros(right_ids.shape[0], bool)
    touched[ver_right[unseen]] = True
    kept = np.add.reduceat((in_force & ~unseen).astype(np.int64), offsets[:-1])  # versions seen, counted again
    whole = ((last > 0) & (kept != seen_counts)) \
        | (touched & once_benefits(inputs.catalogue)[np.asarray(arrays.right_benefit, np.int64)])
    start = np.where(whole, np.minimum(start, first_months(arrays, inputs)), start)
    floor = period - LOOKBACK_MONTHS
    np.minimum(starts, np.maximum(start, floor).astype(starts.dtype), out=starts)


REFUSAL_NAMES = {entitlement.REASON_LATE_CLAIM: "claims_out_of_time",
                 entitlement.REASON_NO_FAMILY_BENEFIT: "no_family_benefit",
                 entitlement.REASON_NO_BASE: "no_housing_cost_or_wage_base"}


def refused_cells(arrays, cells) -> dict:
    """{reason: [{"right_id", "month"}]}: one-offs due 0 because the claim came out of time (Readings 5) or the
    household had no benefit to multiply (Readings 12), listed in the payroll's summary."""
    listed = {name: [] for name in REFUSAL_NAMES.values()}
    if cells.reason is None:
        return listed
    for i in np.flatnonzero(cells.reason):
        listed[REFUSAL_NAMES[int(cells.reason[i])]].append(
            {"right_id": int(arrays.right_ids[cells.right_index[i]]),
             "month": month_first_date(int(cells.month[i])).strftime("%Y-%m")})
    return listed


def split_differences(inputs: Inputs, arrays, right, month, amount):
    """(kept, time_barred, written_off), each (right, month, amount). Time-barred: arrears of months before
    period - arrears_limit_months when the catalogue sets one (Readings 4; the amount not paid, positive, on no
    payment). Written off: a negative difference of a right whose latest decision records agency_fault
    (Readings 11; the difference, negative, on no payment, never a receivable)."""
    limit = inputs.catalogue.arrears_limit_months
    barred = (amount > 0) & (month < inputs.period - limit) if limit > 0 else np.zeros(amount.shape[0], bool)
    written = (amount < 0) & agency_fault_rights(arrays, inputs.period)[right]
    kept = ~(barred | written)
    part = lambda mask: Cells(right[mask], month[mask], amount[mask])
    return part(kept), part(barred), part(written)


def agency_fault_rights(arrays, period: int) -> np.ndarray:
    """Per right: its most recently decided version (decided by the period's end) records agency_fault."""
    fault = np.zeros(arrays.n_rights, bool)
    if arrays.ver_agency_fault is None or not arrays.ver_agency_fault.any():
        return fault
    end_day = (month_first_date(period + 1) - month_first_date(0)).days - 1
    decided = np.where(arrays.ver_decided_day <= end_day, arrays.ver_decided_day, -1).astype(np.int64)
    # per right (its rows are contiguous, version_offsets), the row of the latest decision, the last row among
    # equal days: the maximum of decided * 2**ROW_BITS + row over the right's rows, one pass and no sort
    rows = np.arange(decided.shape[0], dtype=np.int64)
    assert rows.shape[0] < 2**ROW_BITS
    key = (decided + 1) * 2**ROW_BITS + rows
    has_versions = np.flatnonzero(np.diff(arrays.version_offsets) > 0)
    last = np.maximum.reduceat(key, arrays.version_offsets[has_versions]) & (2**ROW_BITS - 1)
    fault[has_versions] = arrays.ver_agency_fault[last] & (decided[last] >= 0)
    return fault


ROW_BITS = 35  # version rows below 2**35 (34 billion); the decision day (about 2**15) above them in an int64


def legacy_cutoff_month(inputs: Inputs) -> int:
    """Month of the legacy cutoff: the earliest payroll this ledger holds, or this payroll's when none."""
    first = inputs.state.first_payroll_month
    return inputs.period if first < 0 else min(first, inputs.period)


def legacy_baseline(arrays, compiled, starts: np.ndarray, cutoff_month: int, award_months: np.ndarray):
    """(right index, month, amount) the legacy system paid: per cell of a window month before the cutoff, the
    amount due under the versions decided before the cutoff's first day. Only rights whose window reaches
    before the cutoff are computed, so a ledger past its first months pays nothing for this."""
    rights = np.flatnonzero(starts < cutoff_month).astype(np.int64)
    if rights.shape[0] == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64)
    cutoff_day = (month_first_date(cutoff_month) - month_first_date(0)).days
    # the rights a due reads besides its own (ME_DD's 60.00 for a child holding ME_LI, UA_POHOV's family UA_DSD)
    # are in the subset too, else the legacy due of those months misses them (ME_DD's children holding ME_LI at
    # 30.00 or 44.00: spurious arrears at the first payroll); their own cells are computed for one month, dropped
    linked = np.flatnonzero(linked_benefits(compiled)[np.asarray(arrays.right_benefit, np.int64)])
    computed = np.union1d(rights, linked)
    window = np.where(np.isin(computed, rights), starts[computed], cutoff_month - 1)
    legacy = legacy_versions(rights_subset(arrays, computed), cutoff_day, award_months)
    cells = entitlement.compute_due(legacy, compiled, cutoff_month - 1, window, decided_by_day=cutoff_day - 1)
    # no rule_missing check: these months lie in the window the current computation has checked already
    right = computed[cells.right_index]
    paid = (cells.due_minor != 0) & np.isin(right, rights)
    return right[paid], cells.month[paid].astype(np.int64), cells.due_minor[paid].astype(np.int64)


def linked_starts(arrays, compiled, starts: np.ndarray, period: int) -> None:
    """In place: a right whose due reads other rights starts no later than they do, so a decision on them reaches
    its due too: ME_DD's child rate reads whether a child of its household holds ME_LI (special_rate_benefit,
    Readings 6: an ME_LI granted back in time raises ME_DD's months), UA_POHOV the due of its family's UA_DSD
    (multiple_of_benefit, Readings 12). Matched by household: the source right's household, or for a special
    rate every household its beneficiary is a member of."""
    right_benefit = np.asarray(arrays.right_benefit, np.int64)
    early = starts < period
    if not early.any():
        return
    packed = arrays.packed if arrays.packed is not None else entitlement.pack_register(arrays)
    ver_right = np.asarray(arrays.ver_right, np.int64)
    n_households = len(arrays.household_ids)
    for column in (entitlement.cat.SET_SPECIAL_BENEFIT, entitlement.cat.SET_MULTIPLE_OF):
        named = compiled.settings[:, column].astype(np.int64)  # per benefit: 1 + the benefit its due reads
        for taker in np.flatnonzero(named > 0):
            rows = np.flatnonzero((right_benefit[ver_right] == named[taker] - 1) & early[ver_right])
            if rows.size == 0 or n_households == 0:
                continue
            household_start = np.full(n_households, period, np.int64)
            source_start = starts[ver_right[rows]].astype(np.int64)
            if column == entitlement.cat.SET_SPECIAL_BENEFIT:
                person_start = np.full(len(arrays.person_ids), period, np.int64)
                np.minimum.at(person_start, packed.ver32[rows, entitlement.V_PERSON], source_start)
                member_start = person_start[packed.member32[:, entitlement.M_PERSON]]
                chosen = np.flatnonzero(member_start < period)
                member_household = np.searchsorted(arrays.member_offsets, chosen, side="right") - 1
                np.minimum.at(household_start, member_household, member_start[chosen])
            else:
                household = packed.ver32[rows, entitlement.V_HOUSEHOLD].astype(np.int64)
                np.minimum.at(household_start, household[household >= 0], source_start[household >= 0])
            takers = np.flatnonzero(right_benefit[ver_right] == taker)
            household = packed.ver32[takers, entitlement.V_HOUSEHOLD].astype(np.int64)
            takers, household = takers[household >= 0], household[household >= 0]
            np.minimum.at(starts, ver_right[takers], household_start[household].astype(starts.dtype))


def linked_benefits(compiled) -> np.ndarray:
    """Per benefit: some benefit's due reads rights of it (special_rate_benefit, multiple_of_benefit)."""
    linked = np.zeros(len(compiled.codes), bool)
    for column in (entitlement.cat.SET_SPECIAL_BENEFIT, entitlement.cat.SET_MULTIPLE_OF):
        named = compiled.settings[:, column]
        linked[named[named > 0] - 1] = True
    return linked


def rights_subset(arrays, rights: np.ndarray):
    """RegisterArrays of the chosen rights only (sorted indexes): their versions, all persons and households.
    With the register's packed copy, the subset's is its version rows of it (persons and members shared, not
    copied); without, packed is None (the caller packs)."""
    first, counts = arrays.version_offsets[rights], np.diff(arrays.version_offsets)[rights]
    version_offsets = np.zeros(rights.shape[0] + 1, np.int64)
    np.cumsum(counts, out=version_offsets[1:])
    rows = np.repeat(first - version_offsets[:-1], counts) + np.arange(version_offsets[-1])
    versions = {name: getattr(arrays, name)[rows] for name in arrays._fields
                if name.startswith("ver_") and getattr(arrays, name) is not None}
    versions["ver_right"] = np.repeat(np.arange(rights.shape[0]), counts).astype(arrays.ver_right.dtype)
    packed = None if arrays.packed is None else arrays.packed._replace(ver32=arrays.packed.ver32[rows],
                                                                       ver64=arrays.packed.ver64[rows])
    return arrays._replace(right_ids=arrays.right_ids[rights], right_benefit=arrays.right_benefit[rights],
                           version_offsets=version_offsets, **versions, packed=packed)


def legacy_versions(arrays, cutoff_day: int, award_months: np.ndarray):
    """The versions as the legacy system knew them. The register records a retroactive change by ending the old
    version the day before the new one starts, so a version decided before the cutoff that a later decision
    closed (its successor, decided on or after the cutoff, starts the next day and before the cutoff) runs on
    to the end of the later versions that continue it, as it did before that decision; a fixed-term award
    (award_months per benefit, formats/awards.py) runs on no further than its own award's end."""
    n = arrays.ver_right.shape[0]
    from_day, to_day = arrays.ver_from_day.astype(np.int64), arrays.ver_to_day.astype(np.int64)
    late = arrays.ver_decided_day >= cutoff_day
    link = np.zeros(n, bool)  # row i is continued by row i + 1, a later decision
    link[:-1] = (arrays.ver_right[1:] == arrays.ver_right[:-1]) & late[1:] & (from_day[1:] == to_day[:-1] + 1)
    chain_ends = np.flatnonzero(~link)
    chain_end = chain_ends[np.searchsorted(chain_ends, np.arange(n))]
    extend = np.flatnonzero(~late & link & (np.r_[from_day[1:], cutoff_day] < cutoff_day))
    ver_to_day, ver_to_month = arrays.ver_to_day.copy(), arrays.ver_to_month.copy()
    ver_to_day[extend], ver_to_month[extend] = ver_to_day[chain_end[extend]], ver_to_month[chain_end[extend]]
    limit = award_months[np.asarray(arrays.right_benefit, np.int64)[arrays.ver_right]]
    if extend.size and limit[extend].any():
        applied = arrays.ver_applied_day if arrays.ver_applied_day is not None else arrays.ver_decided_day
        last = awards.award_start(arrays, limit > 0, applied) + limit - 1  # (as formats.convert ended the awards)
        ended = extend[(limit[extend] > 0) & (ver_to_month[extend] > last[extend])]
        ver_to_month[ended] = last[ended]
        ver_to_day[ended] = awards.month_last_days(last[ended])
    legacy = arrays._replace(ver_to_day=ver_to_day, ver_to_month=ver_to_month)
    if arrays.packed is None:
        return legacy._replace(packed=entitlement.pack_register(legacy))  # the engine packs its own layout
    # the packed copy differs from the register's only in the two end columns (persons and members shared)
    ver32 = arrays.packed.ver32.copy()
    ver32[:, entitlement.V_TO_DAY], ver32[:, entitlement.V_TO_MONTH] = ver_to_day, ver_to_month
    return legacy._replace(packed=arrays.packed._replace(ver32=ver32))


def missing_rules(arrays, cells, catalogue) -> None:
    """A due amount in a month before the catalogue has rules is bad input, reported, never silently 0: one
    problem per benefit, naming the months without a rule, how many rights need them, a few ids and the fix."""
    bad = np.flatnonzero(cells.rule_missing)
    if bad.shape[0] == 0:
        return
    benefit = arrays.right_benefit[cells.right_index[bad]].astype(np.int64)
    problems = []
    for b in np.unique(benefit).tolist():
        cells_of = bad[benefit == b]
        months = cells.month[cells_of].astype(np.int64)
        first, last = (month_first_date(int(m)).strftime("%Y-%m") for m in (months.min(), months.max()))
        rights = np.unique(arrays.right_ids[cells.right_index[cells_of]])
        code = catalogue.benefit_codes[b]
        examples = ", ".join(str(int(r)) for r in rights[:5]) + (", ..." if rights.shape[0] > 5 else "")
        span = first if first == last else f"{first} to {last}"
        unpriced = catalogue.benefit(code).unpriced
        if unpriced:
            problems.append(Problem(
                "rights", None, "benefit", code,
                f"{code} has no amount in the catalogue {Path(catalogue.path).name} ({unpriced}): "
                f"{rights.shape[0]} right(s) are due in {span} (right_id {examples})",
                f"add the amount with its source to the catalogue ({code}'s parameters with source and status, "
                "and remove `unpriced`), or remove these rights from the register"))
            continue
        problems.append(Problem(
            "rights", None, "benefit", code,
            f"no rule of the catalogue {Path(catalogue.path).name} for {code} in force in {span}: "
            f"{rights.shape[0]} right(s) are due in those months (right_id {examples})",
            f"add {code}'s parameters in force from {first} to the catalogue, with their source, or correct "
            "the valid_from of these rights"))
    raise InputError(problems)


# ---- deduction orders -----------------------------------------------------------------------------------

def order_arrays(register: dict, arrays, inputs: Inputs, payee_channel: np.ndarray):
    """Deduction orders as engine arrays, balances net of what the ledger already took for them."""
    orders = register["deductions"]
    orders = orders.filter(pa.array(ids_known(arrays.right_ids, orders.column("right_id"))))
    orders = orders.sort_by([("right_id", "ascending"), ("priority", "ascending"), ("order_id", "ascending")])
    right = np.searchsorted(arrays.right_ids, np_col(orders, "right_id")).astype(np.int64)
    kind = np.asarray(pc.index_in(orders.column("kind"), value_set=pa.array(DEDUCTION_KINDS))
                      .to_numpy(zero_copy_only=False), np.int64) + 1
    period_first = (month_first_date(inputs.period) - month_first_date(0)).days
    period_last = (month_first_date(inputs.period + 1) - month_first_date(0)).days - 1
    valid_from = np.asarray(pc.cast(orders.column("valid_from"), pa.int32()).to_numpy(zero_copy_only=False))
    valid_to = np.asarray(pc.fill_null(pc.cast(orders.column("valid_to"), pa.int32()), 2**31 - 1)
                          .to_numpy(zero_copy_only=False))
    active = (valid_from <= period_last) & (valid_to >= period_first)
    # Readings 11: an overpayment the agency caused (not an arithmetic error) is never recovered
    fault = (kind == DEDUCTION_KINDS.index("overpayment") + 1) & np_col(orders, "agency_fault", False)
    fixed, taken, owed, owed_months = instalments(orders, arrays.right_ids[right], valid_from, valid_to, inputs)
    active = np.where(fixed >= 0, owed, active) & ~fault
    remaining = remaining_balances(orders, right, kind, arrays, inputs.state)
    creditor_id = np_col(orders, "creditor_payee_id", -1).astype(np.int64)
    creditor = np.where(creditor_id >= 0, np.searchsorted(arrays.payee_ids, creditor_id), -1).astype(np.int64)
    creditor_channel = np.where(creditor >= 0, payee_channel[np.maximum(creditor, 0)], -1).astype(np.int64)
    return dict(order_right=right, order_kind=kind, order_priority=np_col(orders, "priority").astype(np.int64),
                order_fixed_minor=fixed, order_percent_bp=np_col(orders, "percent_bp", -1).astype(np.int64),
                order_remaining_minor=remaining, order_active=active, order_taken_minor=taken,
                order_for_minor=np_col(orders, "for_minor", True).astype(bool),  # Readings 10: null = for a minor
                order_creditor_payee=creditor, order_creditor_channel=creditor_channel), orders, owed_months


def instalments(orders: pa.Table, order_right_id: np.ndarray, valid_from: np.ndarray, valid_to: np.ndarray,
                inputs: Inputs) -> tuple:
    """A fixed order's monthly amount is owed once for each month this payroll pays: the period, and the months
    whose payment of the right is still carried (RULES.md Readings 3: a payment not made takes nothing, its
    deductions are owed when it is paid; LedgerState.carried_months), in each only where the order is in force
    that month and only what approved payrolls of that month left of it (a supplementary takes no second
    instalment; session.orders_taken). Returns, per order, the fixed amount over those months (-1 for a percentage
    order), what was already taken of them, whether any month is owed (the kernel asks the difference), and the
    instalments owed month by month (what payroll.taken books each month's take as, oldest first)."""
    monthly = np_col(orders, "fixed_minor", -1).astype(np.int64)
    state, m = inputs.state, monthly.shape[0]
    low = np.searchsorted(state.carried_right, order_right_id, "left")
    count = np.searchsorted(state.carried_right, order_right_id, "right") - low
    order = np.r_[np.arange(m), np.repeat(np.arange(m), count)]
    month = np.r_[np.full(m, inputs.period, np.int64),
                  state.carried_month[np.repeat(low, count) + np.arange(count.sum()) - np.repeat(np.cumsum(count)
                                                                                                - count, count)]]
    first = month.astype("datetime64[M]").astype("datetime64[D]").astype(np.int64)
    last = (month + 1).astype("datetime64[M]").astype("datetime64[D]").astype(np.int64) - 1
    owed = (monthly[order] >= 0) & (valid_from[order] <= last) & (valid_to[order] >= first)
    owed &= np.r_[np.ones(m, bool), month[m:] != inputs.period]  # the period counted once
    ids = np_col(orders, "order_id").astype(np.int64)
    taken = np.zeros(month.shape[0], np.int64)
    if inputs.taken is not None:
        order_ids, months, amounts = inputs.taken
        keys = order_ids * 4096 + months
        taken = lookup(keys, amounts, ids[order] * 4096 + month)
    count_owed = np.bincount(order[owed], minlength=m)
    taken_owed = np.bincount(order[owed], np.minimum(taken, monthly[order])[owed], minlength=m).astype(np.int64)
    fixed = np.where((monthly >= 0) & (count_owed > 0),
                     np.minimum(monthly * np.maximum(count_owed, 1), AMOUNT_MINOR_MAX), monthly)
    pairs = np.lexsort((month[owed], order[owed]))
    rest = np.maximum(monthly[order] - taken, 0)[owed][pairs]
    return fixed.astype(np.int64), taken_owed, count_owed > 0, Instalments(order[owed][pairs], month[owed][pairs],
                                                                           rest.astype(np.int64))


def fault_orders(order_table: pa.Table, period: int) -> list:
    """Overpayment orders in force this period that record agency_fault (Readings 11): never recovered, listed
    with the balance written off (null: no limit given)."""
    first = (month_first_date(period) - month_first_date(0)).days
    last = (month_first_date(period + 1) - month_first_date(0)).days - 1
    valid_from = np.asarray(pc.cast(order_table.column("valid_from"), pa.int32()).to_numpy(zero_copy_only=False))
    valid_to = np.asarray(pc.fill_null(pc.cast(order_table.column("valid_to"), pa.int32()), 2**31 - 1)
                          .to_numpy(zero_copy_only=False))
    fault = np_col(order_table, "agency_fault", False).astype(bool) & (np_col(order_table, "kind") == "overpayment")
    rows = np.flatnonzero(fault & (valid_from <= last) & (valid_to >= first))
    ids, rights = np_col(order_table, "order_id"), np_col(order_table, "right_id")
    outstanding = order_table.column("outstanding_minor").to_pylist()
    return [{"order_id": int(ids[i]), "right_id": int(rights[i]), "outstanding_minor": outstanding[i]} for i in rows]


def ids_known(sorted_ids: np.ndarray, column) -> np.ndarray:
    """Per value of an id column: it is one of sorted_ids (binary search; null is unknown)."""
    values = np.asarray(pc.fill_null(column, -1).to_numpy(zero_copy_only=False), np.int64)
    if sorted_ids.shape[0] == 0:
        return np.zeros(values.shape[0], bool)
    position = np.minimum(np.searchsorted(sorted_ids, values), sorted_ids.shape[0] - 1)
    return (sorted_ids[position] == values) & np.asarray(pc.is_valid(column).to_numpy(zero_copy_only=False), bool)


def remaining_balances(orders: pa.Table, right: np.ndarray, kind: np.ndarray, arrays, state: LedgerState):
    """Outstanding minus what earlier payrolls took, applied to the orders of one (right, kind) in turn."""
    outstanding = np_col(orders, "outstanding_minor", -1).astype(np.int64)
    if outstanding.shape[0] == 0:
        return outstanding
    taken_keys = state.taken_right * 8 + (state.taken_kind + 1)
    order_keys = arrays.right_ids[right] * 8 + kind
    order_taken = lookup(np.sort(taken_keys), state.taken_minor[np.argsort(taken_keys)], order_keys)
    limited = np.where(outstanding >= 0, outstanding, 0)
    group_start = np.r_[True, order_keys[1:] != order_keys[:-1]]
    cumulative = np.cumsum(limited)
    before = cumulative - limited - (cumulative - limited)[np.maximum.accumulate(
        np.where(group_start, np.arange(len(limited)), 0))]
    left = np.maximum(0, order_taken - before)
    return np.where(outstanding >= 0, np.maximum(0, outstanding - left), -1).astype(np.int64)


# ---- re-issues ------------------------------------------------------------------------------------------

def reissues(arrays, state: LedgerState, right_held: np.ndarray, right_benefit_post: np.ndarray,
             payee_channel: np.ndarray, payee_postal: np.ndarray, payee_held: np.ndarray):
    """Returned payments awaiting re-issue, per payee and right, routed to the post when the bank is held.

    right_held is the right-level (MD07) hold only: a bank-channel hold belongs to the payee whose account
    failed, so it stops (or sends by post) that payee's re-issues and never a creditor's re-issue of money
    forwarded from the held payee's right."""
    payee_pos = np.searchsorted(arrays.payee_ids, state.returned_payee)
    right_pos = np.searchsorted(arrays.right_ids, state.returned_right)
    known = (payee_pos < len(arrays.payee_ids)) & (right_pos < len(arrays.right_ids))
    known[known] &= (arrays.payee_ids[payee_pos[known]] == state.returned_payee[known]) & \
        (arrays.right_ids[right_pos[known]] == state.returned_right[known])
    known &= state.returned_minor > 0
    known[known] &= ~right_held[right_pos[known]]
    payee, right, amount = payee_pos[known], right_pos[known], state.returned_minor[known]
    channel = payee_channel[payee].copy()
    bank_held = payee_held[payee]
    reroute = bank_held & right_benefit_post[right] & payee_postal[payee]
    channel[reroute] = CHANNEL_CODES["post"]
    keep = ~(bank_held & ~reroute)
    return Reissues(payee[keep].astype(np.int64), channel[keep].astype(np.int64), right[keep].astype(np.int64),
                    amount[keep].astype(np.int64))


def offsets(arrays, state: LedgerState, held: np.ndarray, right_payee: np.ndarray, receivable: np.ndarray):
    """Held rights: returned money of the right's own payee is set against the right's receivable (MD07)."""
    payee_pos = np.searchsorted(arrays.payee_ids, state.returned_payee)
    right_pos = np.searchsorted(arrays.right_ids, state.returned_right)
    ok = (right_pos < len(arrays.right_ids)) & (payee_pos < len(arrays.payee_ids)) & (state.returned_minor > 0)
    ok[ok] &= (arrays.right_ids[right_pos[ok]] == state.returned_right[ok]) & held[right_pos[ok]]
    ok[ok] &= right_payee[right_pos[ok]] == payee_pos[ok]
    right = right_pos[ok].astype(np.int64)
    amount = np.minimum(state.returned_minor[ok], receivable[right])
    keep = amount > 0
    return Offsets(right[keep], payee_pos[ok][keep].astype(np.int64), amount[keep].astype(np.int64))


# ---- the whole computation --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Routing:
    """Who is paid how: per right its version, payee and channel, and which rights and payees are held."""
    arrays: object             # engine.entitlement.RegisterArrays
    version: np.ndarray        # version row in force per right
    right_benefit: np.ndarray
    right_payee: np.ndarray    # payee index per right
    benefit_post: np.ndarray   # per right: its benefit may be paid by post
    payee_channel: np.ndarray  # per payee index: 0 bank, 1 post
    payee_postal: np.ndarray   # per payee index: a complete postal address
    payee_rows: pa.Table       # per payee index: `row` in the payees table
    payee_held: np.ndarray     # per payee index: bank channel held
    right_channel: np.ndarray
    held: np.ndarray           # per right: paid nothing this payroll


@dataclass(frozen=True)
class Amounts:
    """What the kernel is given: differences, gross, carry-in, receivable, orders and re-issues."""
    diff_right: np.ndarray
    diff_month: np.ndarray
    diff_minor: np.ndarray
    gross: np.ndarray
    carry_in: np.ndarray
    receivable: np.ndarray
    offset: Offsets            # held rights' returned money set against their receivables
    orders: dict
    order_table: pa.Table
    instalments: "Instalments"  # fixed orders' instalments owed per month (instalments)
    reissues: Reissues
    time_barred: Cells         # arrears cut by the catalogue's limitation period
    written_off: Cells         # reductions the agency caused (amount < 0), written off
    listed: dict               # refused_cells and overpayment orders written off
    claims: advance_claims.Claims    # maintenance advances booked on (or taken back from) their debtors
    recovery: advance_claims.RecoveryGroups  # debtors' open claims and the rights that recover them


def route(inputs: Inputs, arrays) -> Routing:
    benefits = inputs.catalogue.benefits
    right_benefit = arrays.right_benefit.astype(np.int64)
    version = right_versions(arrays, inputs.period)
    right_payee = arrays.ver_payee[version].astype(np.int64)
    benefit_post = np.array([b.post_allowed for b in benefits], bool)[right_benefit]
    payees = pa.table({name: payee_column(inputs.register, name) for name in ("payee_id", "channel")})
    payee_channel, payee_postal, payee_rows = payee_channels(payees, arrays.payee_ids, postal_rows(inputs.register))
    del payees
    payee_held = bank_holds(inputs.holds, arrays.payee_ids, payee_rows,
                            lambda: payee_column(inputs.register, "iban"))
    payee_rows = payee_rows.select(["row"])
    right_channel, held = route_rights(inputs, arrays, right_payee, benefit_post, payee_channel, payee_postal,
                                       payee_held)
    return Routing(arrays, version, right_benefit, right_payee, benefit_post, payee_channel, payee_postal,
                   payee_rows, payee_held, right_channel, held)


def amounts_of(inputs: Inputs, routing: Routing) -> Amounts:
    arrays, state, held = routing.arrays, inputs.state, routing.held
    diff_right, diff_month, diff_minor, listed = differences(arrays, inputs, held, ended_hold_starts(inputs, routing))
    (diff_right, diff_month, diff_minor), barred, written = split_differences(inputs, arrays, diff_right,
                                                                              diff_month, diff_minor)
    gross, raised = np.zeros(arrays.n_rights, np.int64), np.zeros(arrays.n_rights, np.int64)
    np.add.at(gross, diff_right[diff_minor > 0], diff_minor[diff_minor > 0])
    np.add.at(raised, diff_right[diff_minor < 0], -diff_minor[diff_minor < 0])
    carry_in = np.where(held, 0, lookup(state.carry_right, state.carry_minor, arrays.right_ids))
    receivable = np.maximum(lookup(state.receivable_right, state.receivable_minor, arrays.right_ids) + raised, 0)
    offset = offsets(arrays, state, held, routing.right_payee, receivable)
    np.subtract.at(receivable, offset.right, offset.amount_minor)
    # a creditor whose closed account holds its bank channel is paid by post where it has an address, not into
    # the closed account again (without an address it still goes to the bank: the bank returns it, and reconcile
    # re-issues it)
    creditor_channel = np.where(routing.payee_held & routing.payee_postal, CHANNEL_CODES["post"], routing.payee_channel)
    orders, order_table, owed_months = order_arrays(inputs.register, arrays, inputs, creditor_channel)
    listed["overpayment_orders_written_off"] = fault_orders(order_table, inputs.period)
    extra = reissues(arrays, state, right_held_mask(inputs, arrays, routing.right_payee), routing.benefit_post,
                     routing.payee_channel, routing.payee_postal, routing.payee_held)
    changed = Cells(np.concatenate([diff_right, written.right]), np.concatenate([diff_month, written.month]),
                    np.concatenate([diff_minor, written.amount_minor]))
    claims = advance_claims.claims_of(arrays, inputs.catalogue, state, inputs.period, *changed)
    return Amounts(diff_right, diff_month, diff_minor, gross, carry_in, np.where(held, 0, receivable), offset,
                   orders, order_table, owed_months, extra, barred, written, listed, claims,
                   advance_claims.recovery_groups(arrays, routing.version, state, claims))


def run_kernel(catalogue, routing: Routing, amounts: Amounts):
    """engine.payroll_kernel: deductions by priority and caps, forwarding, netting, conservation check."""
    benefits, b = catalogue.benefits, routing.right_benefit
    protected = np.array([x.protected for x in benefits], bool)[b]
    recovery_allowed = np.array([x.recovery_allowed for x in benefits], bool)[b]
    return compute_payroll(
        amounts.gross, amounts.carry_in, amounts.receivable, routing.arrays.ver_consent[routing.version],
        protected, routing.right_payee, routing.right_channel,
        np.array([x.minimum_payable_minor for x in benefits], np.int64)[b],
        np.array([x.below_minimum == "carry" for x in benefits], bool)[b],
        n_payees=len(routing.arrays.payee_ids), caps=catalogue.deductions.caps, extra_payee=amounts.reissues.payee,
        extra_channel=amounts.reissues.channel, extra_amount_minor=amounts.reissues.amount_minor,
        recovery_blocked=protected & ~recovery_allowed,  # Readings 7: protected benefits take no recovery
        advance_group=amounts.recovery.group, advance_balance_minor=amounts.recovery.balance_minor,
        **amounts.orders)


def line_blocks_of(period: int, rights, routing: Routing, amounts: Amounts, result) -> list:
    """Every block of lines: differences, carry-in, deductions, withheld, forwarded, re-issued, offsets."""
    ded, netting, payment = result.deductions, result.netting, result.netting.right_payment
    payee_ids, orders, extra = routing.arrays.payee_ids, amounts.orders, amounts.reissues
    blocks = line_blocks.difference_blocks(rights, amounts.diff_right, amounts.diff_month, amounts.diff_minor,
                                           payment, period)
    for name, (right, month, amount) in (("time_barred", amounts.time_barred), ("written_off", amounts.written_off)):
        blocks.append(line_blocks.LineBlock(name, right, rights.payee_id[right], rights.channel[right], month,
                                            amount, np.full(right.shape[0], -1, np.int64)))
    blocks.append(line_blocks.right_block("carry_in", rights, amounts.carry_in, payment, period, 1))
    for name, values in (("recovery", ded.recovery_minor), ("alimony", ded.alimony_minor),
                         ("damages", ded.damages_minor), ("enforcement", ded.enforcement_minor),
                         ("carry_out", netting.right_carry_out_minor), ("dropped", netting.right_dropped_minor),
                         ("advance_recovery", ded.advance_recovery_minor)):
        blocks.append(line_blocks.right_block(name, rights, values, payment, period, -1))
    at_period = lambda count: np.full(count, period, np.int64)
    forwarded = np.flatnonzero((result.order_payment >= 0) & (ded.order_deducted_minor > 0))
    blocks.append(line_blocks.LineBlock(
        "forwarded", orders["order_right"][forwarded], payee_ids[orders["order_creditor_payee"][forwarded]],
        orders["order_creditor_channel"][forwarded], at_period(forwarded.shape[0]),
        ded.order_deducted_minor[forwarded], result.order_payment[forwarded]))
    paid = np.flatnonzero(result.extra_payment >= 0)
    blocks.append(line_blocks.LineBlock("reissue", extra.right[paid], payee_ids[extra.payee[paid]],
                                        extra.channel[paid], at_period(paid.shape[0]), extra.amount_minor[paid],
                                        result.extra_payment[paid]))
    right, payee, amount = amounts.offset
    for name, sign in (("reissue", 1), ("recovery", -1)):
        blocks.append(line_blocks.LineBlock(name, right, payee_ids[payee], routing.right_channel[right],
                                            at_period(right.shape[0]), sign * amount,
                                            np.full(right.shape[0], -1, np.int64)))
    return blocks


def compute(payroll_id: str, inputs: Inputs, progress=lambda step: None, release: bool = False,
            ready=None, retention=None) -> Computation:
    """The whole payroll from its inputs (see the module docstring). With `release`, the register tables and
    columns no longer needed are dropped from inputs.register once the engine has its arrays (calculate's own
    inputs: at national scale they would otherwise stay in memory while the lines are built). `ready(name,
    table)` is told of the "orders" and the "payments" as soon as each is complete (calculate writes them while
    the lines are built); they are the Computation's own tables, never changed after. `retention` (an engine.heap.
    Retention), when given, is ended before the lines are built: from there the arrays mostly grow, and the pages
    it kept would add to the peak."""
    catalogue, period = inputs.catalogue, inputs.period
    progress(N_("converting the register"))
    done = (lambda name: release_table(inputs.register, name)) if release else None
    arrays = convert.register_arrays(inputs.register, catalogue, pack=not release, done=done)
    versions = versions_seen(arrays, period)
    if ready is not None:
        ready("versions", versions)
    routing = route(inputs, arrays)
    # the summary's municipality per right, so the persons table goes back before the kernels' copy is made
    places = right_municipalities(inputs.register["persons"], arrays, routing.version)
    if release:
        inputs.register.pop("persons")
    if release:  # the engine reads the arrays from here on: the tables go back before the packed copy is made
        release_register(inputs.register, orders=True)
        box, routing = [arrays], replace(routing, arrays=None)
        del arrays  # the box holds the loose arrays alone: packing gives them back as it goes
        arrays = convert.packed_arrays_releasing(box)
        routing = replace(routing, arrays=arrays)
    progress(N_("computing entitlements and arrears"))
    amounts = amounts_of(inputs, routing)
    if release:
        release_register(inputs.register)
        arrays = slim_arrays(arrays)  # entitlements are computed: the kernels' inputs go back (10 M: gigabytes)
        routing = replace(routing, arrays=arrays)  # routing is done
    progress(N_("deducting and netting"))
    result = run_kernel(catalogue, routing, amounts)
    if retention is not None:
        retention.end()
    progress(N_("building payroll lines"))
    netting = result.netting
    rights = line_blocks.RightColumns(arrays.right_ids, routing.right_benefit.astype(np.int64),
                                      arrays.payee_ids[routing.right_payee], routing.right_channel,
                                      tuple(catalogue.benefit_codes))
    columns = line_blocks.order_blocks(line_blocks_of(period, rights, routing, amounts, result))
    check_payments_equal_lines(columns, netting.payment_net_minor)
    summary = summarise(columns, netting, places, arrays, catalogue, routing.held)
    summary["listed"] = amounts.listed  # Readings 5 and 12: one-offs due 0 for a reason
    summary["advances_minor"] = advance_totals(amounts.claims, result.deductions)
    ref_rows = ref_matrix(payroll_id, np.arange(len(netting.payment_net_minor), dtype=np.int64))
    refs = fixed_width_strings(ref_rows)
    # what approval posts besides the lines, then the payments, then the lines: the engine's results and the
    # register's tables are given back before the next table is made (10 M: gigabytes less at the peak)
    taken = deductions_taken(result.deductions, amounts, arrays, routing.right_payee, netting.right_payment, refs,
                             period)
    if ready is not None:
        ready("orders", taken)
    payee_ids, payee_rows = arrays.payee_ids, routing.payee_rows
    del result, amounts, routing, arrays, places
    heap.trim()  # (after a retention: the engine's arrays lay in its heap)
    payments = payment_table(refs, netting, payee_ids, payee_rows, inputs.register, payroll_id, period, release)
    if ready is not None:
        ready("payments", payments)
    if release:  # the payments hold their payees' details: the register is read no more
        inputs.register.clear()
        if hasattr(inputs.register, "release_deferred"):
            inputs.register.release_deferred()
        table_pool().release_unused()
    del refs, netting, payee_rows
    heap.trim()
    lines = line_blocks.to_table(payroll_id, rights, columns, ref_rows)  # each line takes its payment's id
    return Computation(lines, payments, taken, summary, versions)


def advance_totals(claims: advance_claims.Claims, ded) -> dict:
    """Maintenance advances: claims booked on debtors, taken back, and recovered from the debtors' rights."""
    return {"booked": int(claims.amount_minor[claims.amount_minor > 0].sum()),
            "taken_back": int(-claims.amount_minor[claims.amount_minor < 0].sum()),
            "recovered": int(ded.advance_recovery_minor.sum())}


KEPT_COLUMNS = {"payees": ("payee_id", *PAYEE_DETAIL_FIELDS), "persons": ("person_id", "municipality")}


# what deducting, netting, the lines, payments, deductions taken and the summary read of the engine's arrays
KEPT_ARRAYS = frozenset({"benefit_codes", "person_ids", "payee_ids", "right_ids", "right_benefit", "ver_person",
                         "ver_consent", "titles"})


def slim_arrays(arrays):
    """The register's arrays less those only the entitlement kernels read (their packed copy above all), set to
    None: once dues and arrears are computed nothing reads them, and a read by mistake fails loudly."""
    return arrays._replace(**{name: None for name in arrays._fields if name not in KEPT_ARRAYS})


def kept_columns(table: pa.Table, name: str) -> pa.Table:
    """The columns of KEPT_COLUMNS[name] the table holds (a deferred column is not in it: Register.deferred_column)."""
    return table.select([column for column in KEPT_COLUMNS[name] if column in table.column_names])


def release_register(register: dict, orders: bool = False) -> None:
    """Keep only what the lines, payments and summary still read (payee details, persons'
    municipality; with `orders` the deduction orders too, which the amounts read) and hand the rest back to
    Arrow's memory pool, and the pool's unused memory back to the system."""
    for name in list(register):
        if name in KEPT_COLUMNS:
            register[name] = kept_columns(register[name], name)
        elif not (orders and name == "deductions"):
            del register[name]
    for pool in (pa.default_memory_pool(), table_pool()):  # the register's tables live in the second
        pool.release_unused()


def release_table(register: dict, name: str) -> None:
    """One table converted: keep only what the rest of the computation reads of it (KEPT_COLUMNS, none for most)
    and give the rest back to the system."""
    if name in KEPT_COLUMNS:
        register[name] = kept_columns(register[name], name)
    else:
        del register[name]
    table_pool().release_unused()


def payment_table(refs: pa.Array, netting, payee_ids: np.ndarray, payee_rows: pa.Table, register: dict,
                  payroll_id: str, period: int, release: bool = False) -> pa.Table:
    """One row per payment with what export needs (payee details as the register's payees table gives them).
    With `release`, each detail column of register["payees"] is given back once taken (10 M: the payees' and
    the payments' details, 1.5 GiB each, are never both held whole)."""
    payee_index = netting.payment_payee.astype(np.int64)
    table_rows = np.asarray(payee_rows.column("row").to_numpy(), np.int64)[payee_index]
    n = len(payee_index)
    remittance = f"{payroll_id} {month_first_date(period).strftime('%Y-%m')}"
    columns = {
        "payment_no": pa.array(np.arange(1, n + 1, dtype=np.int64)),
        "end_to_end_id": refs,
        "payee_id": pa.array(payee_ids[payee_index], pa.int64()),
        "channel": pc.take(pa.array(["bank", "post"]), pa.array(netting.payment_channel.astype(np.int64))),
        "amount_minor": pa.array(netting.payment_net_minor, pa.int64()),
        "rights": pa.array(netting.payment_rights, pa.int64()),
        "remittance": line_blocks.constant_strings(remittance, n),
    }
    selection = row_selection(register["payees"].num_rows, table_rows)
    for name in PAYEE_DETAIL_FIELDS:
        columns[name] = take_column(payee_column(register, name), selection)
        if release and name in register["payees"].column_names:
            register["payees"] = register["payees"].drop_columns([name])
        if release:
            table_pool().release_unused()
    unwritable_names(columns["name"], table_rows)
    return pa.table(columns)


def unwritable_names(names, table_rows: np.ndarray) -> None:
    """InputError naming each payee (payees file row) whose name the payment files cannot carry: nothing is
    left of it once transliterated to their characters (Greek or Chinese only, emoji), so export would refuse the
    approved payroll's payments; refused at calculation instead, before anything is stored."""
    from bank_exports.payments import TEXT_CHARS_MAX
    from bank_exports.text import empty_when_cleaned

    bad = np.flatnonzero(empty_when_cleaned(names, TEXT_CHARS_MAX["name"]))
    if bad.size:
        values = pc.take(names, pa.array(bad[:50])).to_pylist()
        raise InputError([Problem("payees", int(table_rows[i]) + 1, "name", value, UNWRITABLE_NAME[0],
                                  UNWRITABLE_NAME[1]) for i, value in zip(bad[:50].tolist(), values)])


UNWRITABLE_NAME = (N_("payee name has no letter the payment files can carry once transliterated"),
                   N_("give the payee's name in Latin or Cyrillic letters"))


def row_selection(count: int, rows: np.ndarray) -> pa.Array:
    """What take_column takes `rows` of a table of `count` rows with: rows in increasing order (payments come in
    payee order) as a mask, which Arrow filters chunk by chunk, several times faster than a take of strings from
    a chunked column; any other rows as indices."""
    rows = np.asarray(rows, np.int64)
    if rows.shape[0] and (rows[0] >= 0) and (rows[-1] < count) and (np.diff(rows) > 0).all():
        mask = np.zeros(count, bool)
        mask[rows] = True
        return pa.array(mask)
    return pa.array(rows)


def take_column(column, selection: pa.Array):
    return pc.filter(column, selection) if pa.types.is_boolean(selection.type) else pc.take(column, selection)


def take_rows(table: pa.Table, rows: np.ndarray) -> pa.Table:
    """table.take(rows), column by column (row_selection)."""
    selection = row_selection(table.num_rows, rows)
    return pa.table({name: take_column(table.column(name), selection) for name in table.column_names})


def check_payments_equal_lines(columns: line_blocks.LineColumns, payment_net_minor: np.ndarray) -> None:
    """Each payment's net is the sum of its lines (DESIGN.md); ConservationError (a programmer error, raised
    even under python -O) if not. Exact int64 sums of the lines sorted by payment (lines on no payment last)."""
    net = np.asarray(payment_net_minor, np.int64)
    paid = int(np.searchsorted(columns.payment < 0, True))  # sorted: every line on a payment comes first
    payment, amount = columns.payment[:paid], columns.amount_minor[:paid]
    if not ((columns.payment[paid:] < 0).all() and (payment >= 0).all()):
        raise ConservationError("payroll lines out of payment order")
    sums = np.zeros(net.shape[0], np.int64)
    starts = np.flatnonzero(np.r_[True, payment[1:] != payment[:-1]]) if paid else np.zeros(0, np.int64)
    if starts.shape[0] != net.shape[0]:
        raise ConservationError("a payment without lines, or lines of an unknown payment")
    if paid:
        sums[payment[starts]] = np.add.reduceat(amount, starts)
    if not np.array_equal(sums, net):
        bad = int(np.flatnonzero(sums != net)[0])
        raise ConservationError(f"payment {bad} nets {int(net[bad])} but its lines sum to {int(sums[bad])}")


def sums_by(table: pa.Table, key: str, value: str = "amount_minor") -> dict:
    if table.num_rows == 0:
        return {}
    grouped = table.group_by(key).aggregate([(value, "sum")])
    keys = grouped.column(key).to_pylist()
    return {str(k): int(v) for k, v in zip(keys, grouped.column(f"{value}_sum").to_pylist())}


def coded_sums(codes: np.ndarray, names, amount_minor: np.ndarray) -> dict:
    """{name: sum} of amounts grouped by integer codes into `names` (bincount on int64; exact below 2**53
    per group is not enough for money, so the sums are done with np.add.at in int64)."""
    sums = np.zeros(len(names), np.int64)
    np.add.at(sums, codes, amount_minor)
    used = np.zeros(len(names), bool)
    used[codes] = True
    return {str(names[i]): int(sums[i]) for i in sorted(np.flatnonzero(used), key=lambda i: str(names[i]))}


def summarise(columns: line_blocks.LineColumns, netting, places: tuple, arrays, catalogue, held) -> dict:
    """Totals per component and the breakdowns that calculate prints and the report charts (net paid by
    benefit and by the beneficiary's municipality: the lines on payments, forwarded deductions included)."""
    totals = {name: 0 for name in line_blocks.LINE_COMPONENTS}
    totals.update(coded_sums(columns.component.astype(np.int64), line_blocks.LINE_COMPONENTS, columns.amount_minor))
    paid = columns.payment >= 0
    paid_amount, right_pos = columns.amount_minor[paid], columns.right[paid]
    paid_rights = np.zeros(arrays.n_rights, bool)
    paid_rights[right_pos] = True
    rights_paid = np.flatnonzero(paid_rights)
    channel_codes = np.asarray(netting.payment_channel, np.int64)
    payment_amount = np.asarray(netting.payment_net_minor, np.int64)
    return {
        "rights": int(arrays.n_rights),
        "rights_paid": int(rights_paid.shape[0]),
        "rights_held": int(np.count_nonzero(held)),
        "payments": int(payment_amount.shape[0]),
        "lines": columns.size,
        "net_minor": int(payment_amount.sum()),
        "totals_minor": totals,
        "by_benefit_minor": coded_sums(arrays.right_benefit[right_pos].astype(np.int64), catalogue.benefit_codes,
                                       paid_amount),
        "by_channel_minor": coded_sums(channel_codes, ("bank", "post"), payment_amount),
        "payments_by_channel": coded_sums(channel_codes, ("bank", "post"), np.ones_like(payment_amount)),
        "by_municipality_minor": coded_sums(places[0][right_pos], places[1], paid_amount),
    }


def municipality_sums(persons: pa.Table, arrays, version, rights_paid: np.ndarray, right_pos: np.ndarray,
                      paid_amount: np.ndarray) -> dict:
    """{municipality: net paid} by the municipality of each paid right's beneficiary (its version's person)."""
    codes, names = right_municipalities(persons, arrays, version, rights_paid)
    right_code = np.zeros(arrays.n_rights, np.int64)
    right_code[rights_paid] = codes
    return coded_sums(right_code[right_pos], names, paid_amount)


def right_municipalities(persons: pa.Table, arrays, version, rights: np.ndarray | None = None) -> tuple:
    """(code per right of `rights`, all rights when None; names): the municipality of each right's beneficiary
    (its version's person) as a code into `names`."""
    rights = np.arange(arrays.n_rights, dtype=np.int64) if rights is None else rights
    person = arrays.ver_person[version[rights]].astype(np.int64)  # dense person index (sorted ids)
    table_ids, places = persons.column("person_id"), persons.column("municipality")
    if pa.types.is_dictionary(places.type):  # read as Parquet's dictionaries: one for every chunk
        places = places.unify_dictionaries()
    ids = np.asarray(table_ids.to_numpy(), np.int64) if table_ids.null_count == 0 else None
    in_order = ids is not None and ids.shape == arrays.person_ids.shape and np.array_equal(ids, arrays.person_ids)
    if in_order and pa.types.is_dictionary(places.type) and places.null_count == 0 and places.num_chunks:
        # the rows' codes into the one (unified) dictionary, read where the dense index (the row) points
        codes = np.concatenate([chunk.indices.to_numpy(zero_copy_only=False) for chunk in places.chunks])
        return codes[person], places.chunk(0).dictionary.to_pylist()
    if in_order:
        # the table is in id order, so the dense index is the row: select the persons' rows with a mask (Arrow
        # filters a chunked column chunk by chunk; a take of strings from it would be several times slower)
        chosen = np.zeros(ids.shape[0], bool)
        chosen[person] = True
        place = places.filter(pa.array(chosen)).combine_chunks().dictionary_encode()
        rank = np.cumsum(chosen, dtype=np.int32) - 1  # row -> position among the chosen rows
        codes = np.asarray(place.indices.to_numpy(zero_copy_only=False), np.int64)
        return codes[rank[person]], place.dictionary.to_pylist()
    rows = pc.index_in(pa.array(arrays.person_ids[person]), value_set=table_ids)
    place = pc.take(places, rows).combine_chunks().dictionary_encode()
    return np.asarray(place.indices.to_numpy(zero_copy_only=False), np.int64), place.dictionary.to_pylist()
