"""Advances of child maintenance recovered from the debtor parent (research ME #19 Alimony Fund, UA #11 temporary aid).

A `maintenance_advance` right is the child's (its beneficiary), paid to the carer (its payee). It is due in a month
only while an enforceable maintenance title for that child is in force (a title in the register means the debtor
does not pay), and each advance paid becomes a claim on the debtor, recovered later from the debtor's own benefits
by the deductions machinery (engine.deductions, advance recovery). The amount of a month:

- by the child's age band: `advance_band_limits_years` gives the age in years that ends each band but the last
  (the child stays in a band through the month of that birthday, as every age limit of the engine), and
  `advance_reference_by_band` the amount of each band (Montenegro: 0-5 / 6-13 / 14-18; Ukraine: the subsistence
  minimum of a child under 6 / 6-18);
- means-tested where `advance_floor_bp` is given (Ukraine): reference - per-capita family income (the right's
  income_minor / members of its household present that month), rounded half-up once, at least floor_bp of the
  reference (half-up), never more than the reference;
- never more than the monthly maintenance the title sets (monthly_minor), where it sets one: an advance pays
  the maintenance the debtor owes and no more (a reading, noted in the catalogue).

The kernel path of the formula is `advance_reference_amount` (called by engine.entitlement for this kind); the
title gate and the cap are `gate_by_titles`, applied to the due cells once the entitlement kernel has run, so the
kernel's argument lists stay as they are. `title_of_cells` gives the title (and so the debtor) of any cell.
"""
from typing import NamedTuple

import numpy as np
from numba import types

from engine import catalogue as cat
from engine.jit import I32_RO, I64_OUT, I64_RO, helper, kernel
from engine.means import div_half_up, reference_minus_per_capita_numerator

BP_WHOLE = 10_000
NO_TITLE = -1

_P_LIMITS = cat.PARAM_OFFSET["advance_band_limits_years"]
_P_REFERENCE = cat.PARAM_OFFSET["advance_reference_by_band"]
_P_FLOOR = cat.PARAM_OFFSET["advance_floor_bp"]


class MaintenanceTitles(NamedTuple):
    """Maintenance titles as dense arrays (formats/convert.py), rows sorted by (child, valid_from): the titles of
    the child with dense person index p are rows offsets[p]:offsets[p + 1]."""
    offsets: np.ndarray        # int64[P + 1]
    title_ids: np.ndarray      # int64[T]
    debtor: np.ndarray         # int32[T] dense person index of the debtor
    debtor_ids: np.ndarray     # int64[T] person_id of the debtor (the ledger's key of the claim)
    monthly_minor: np.ndarray  # int64[T], -1 where the title sets no amount
    from_month: np.ndarray     # int32[T]
    to_month: np.ndarray       # int32[T], NO_MONTH when open-ended


def no_titles(n_persons: int) -> MaintenanceTitles:
    empty32, empty64 = np.zeros(0, np.int32), np.zeros(0, np.int64)
    return MaintenanceTitles(np.zeros(n_persons + 1, np.int64), empty64, empty32, empty64, empty64, empty32, empty32)


@helper
def advance_reference_amount(m, mi, b, birth_month, income_minor, members, params, param_len):
    """Full-month amount of the advance before the title gate: the child's age band picks the reference; with a
    floor (means-tested) the reference less the per-capita income, at least the floor and at most the reference."""
    assert mi >= 0 and b >= 0
    assert members >= 0
    n_limits = param_len[b, _P_LIMITS]
    band = 0
    for i in range(n_limits):  # a child stays in a band through the month of the birthday that ends it
        if m > birth_month + 12 * params[b, mi, _P_LIMITS + i]:
            band = i + 1
    n_bands = max(1, param_len[b, _P_REFERENCE])
    reference = params[b, mi, _P_REFERENCE + min(band, n_bands - 1)]
    floor_bp = params[b, mi, _P_FLOOR]
    if param_len[b, _P_FLOOR] == 0 or floor_bp <= 0:
        return reference
    n = max(members, 1)
    # the reference less the per-capita income, rounded half-up once (not the per-capita income first): the per-child
    # reference's formula (engine/means.py) with a multiplier of 1
    return min(reference, div_half_up(reference_minus_per_capita_numerator(reference, n, income_minor, floor_bp),
                                      n * BP_WHOLE))


@kernel(types.void(I32_RO, I32_RO, I64_RO, I32_RO, I32_RO, I32_RO, I32_RO, types.int64, I64_RO, I32_RO,
                   I32_RO, I64_OUT))
def title_of_cells_kernel(cell_right, cell_month, version_offsets, ver_from_month, ver_to_month, ver_decided_day,
                          ver_person, limit_day, title_offsets, title_from_month, title_to_month, out_title):
    """Per cell (right, month): the title in force that month for the person of the right's winning version
    (the version touching the month with the latest valid_from, decided by the limit day), or NO_TITLE."""
    n = cell_right.shape[0]
    assert cell_month.shape[0] == n and out_title.shape[0] == n
    assert title_from_month.shape[0] == title_to_month.shape[0]
    for i in range(n):
        r, m = cell_right[i], cell_month[i]
        person = -1
        for v in range(version_offsets[r], version_offsets[r + 1]):
            if ver_decided_day[v] <= limit_day and ver_from_month[v] <= m <= ver_to_month[v]:
                person = ver_person[v]
        out_title[i] = NO_TITLE
        if person < 0:
            continue
        for t in range(title_offsets[person], title_offsets[person + 1]):
            if title_from_month[t] <= m <= title_to_month[t]:
                out_title[i] = t
                break


def title_of_cells(arrays, cell_right, cell_month, limit_day: int) -> np.ndarray:
    """Title row (into arrays.titles) of each (right index, month) cell, NO_TITLE where none is in force."""
    titles = arrays.titles if arrays.titles is not None else no_titles(len(arrays.person_ids))
    right = np.ascontiguousarray(cell_right, dtype=np.int32)
    month = np.ascontiguousarray(cell_month, dtype=np.int32)
    out = np.empty(right.shape[0], np.int64)
    title_of_cells_kernel(right, month, _i64(arrays.version_offsets), _i32(arrays.ver_from_month),
                          _i32(arrays.ver_to_month), _i32(arrays.ver_decided_day), _i32(arrays.ver_person),
                          int(limit_day), _i64(titles.offsets), _i32(titles.from_month), _i32(titles.to_month), out)
    return out


def title_event_starts(arrays, period: int, floor: int, starts: np.ndarray) -> None:
    """In place: a right whose beneficiary's maintenance title started or ended within [floor, period] is
    recomputed from that month. The register records no date for a title change (a title ended back in time when
    the debtor paid), so, as for household events, the short event lookback bounds how far back it is found."""
    titles = arrays.titles
    if titles is None or titles.title_ids.shape[0] == 0 or starts.shape[0] == 0:
        return
    no_month = np.iinfo(np.int32).max
    child = np.repeat(np.arange(titles.offsets.shape[0] - 1), np.diff(titles.offsets))
    ended = titles.to_month.astype(np.int64) + 1
    events = np.concatenate([titles.from_month.astype(np.int64), np.where(titles.to_month == no_month, -1, ended)])
    inside = (events >= floor) & (events <= period)
    person_event = np.full(titles.offsets.shape[0] - 1, period + 1, np.int64)
    np.minimum.at(person_event, np.concatenate([child, child])[inside], events[inside])
    version_event = person_event[np.asarray(arrays.ver_person, np.int64)]
    right_event = np.full(starts.shape[0], period + 1, np.int64)
    np.minimum.at(right_event, np.asarray(arrays.ver_right, np.int64), version_event)
    np.minimum(starts, right_event.astype(starts.dtype), out=starts)


def advance_benefits(kinds: np.ndarray) -> np.ndarray:
    """Per benefit of a compiled catalogue: its formula kind is the maintenance advance."""
    return np.asarray(kinds) == cat.KIND_MAINTENANCE_ADVANCE


def gate_by_titles(arrays, compiled, due_minor: np.ndarray, cell_right, cell_month, limit_day: int) -> None:
    """In place: a maintenance advance is due 0 in a month without a title in force for the child, and never
    more than the title's monthly maintenance where the title sets one."""
    is_advance = advance_benefits(compiled.kind)
    if not is_advance.any():
        return
    advance_right = is_advance[np.asarray(arrays.right_benefit, np.int64)]
    if not advance_right.any():  # a catalogue with the kind, a register without such rights: nothing to gate
        return
    cells = np.flatnonzero(advance_right[cell_right])
    if cells.shape[0] == 0:
        return
    title = title_of_cells(arrays, cell_right[cells], cell_month[cells], limit_day)
    titles = arrays.titles if arrays.titles is not None else no_titles(len(arrays.person_ids))
    monthly = np.where(title >= 0, titles.monthly_minor[np.maximum(title, 0)] if titles.monthly_minor.size else -1,
                       -1)
    due = due_minor[cells]
    due = np.where(title < 0, 0, np.where(monthly >= 0, np.minimum(due, monthly), due))
    due_minor[cells] = due


def _i32(values) -> np.ndarray:
    array = np.ascontiguousarray(values, dtype=np.int32).view()  # a read-only view; the caller's stays as it is
    array.flags.writeable = False
    return array


def _i64(values) -> np.ndarray:
    array = np.ascontiguousarray(values, dtype=np.int64).view()
    array.flags.writeable = False
    return array
