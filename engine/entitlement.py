"""Due amounts of every right for every month of its window: Numba kernels for every formula kind of RULES.md.

Input is a `RegisterArrays` (built from Arrow tables by formats/convert.py) and a `CompiledCatalogue`
(engine/catalogue.py); output is one cell per right and month of its window [start, period], with the amount
due under the rules in force that month, in minor units. The semantics the kernels implement, in one place:

- Versions: a version decided after the last day of the period is ignored. A version applies to every month
  its [valid_from, valid_to] touches. When two versions touch one month (a change mid-month), the one with the
  later valid_from wins the whole month under the whole_months policy (ties: higher version number); under
  the days policy each version pays its own days: sum(full amount x days) / days in month, rounded once.
- Start and stop "through the month of the event": a right is due for the whole month it starts in and the
  whole month its valid_to, the beneficiary's death or an age limit falls in, and nothing after (days policy:
  nothing after the day of death). Benefits with stops_on_death = false (funeral grants) ignore the death.
- Ages are per month from the birth month: a limit of N years is reached in month birth_month + 12 N; a
  child counts through that month and not after; age_min_years counts from that month on.
- Household members count in a month when their membership touches it, they are born by its end and alive
  at its start; a right without a household has its beneficiary as the only member.
- Who is a child is decided by the birth date alone (RULES.md Readings 1), never by the role label.
- per_child: members within the age limit; at most max_children (0 = no cap), oldest first, and with
  twins_excepted children born on the same day as the last counted child count too. Each child gets the
  most favourable rate that applies: special (without parental care, or holding a right of the benefit's
  special_rate_benefit in force that month: ME_LI for ME_DD, Readings 6), MO family, single parent.
- Equivalence scale: members oldest first, at most max_members; the first counts scale_first_adult, further
  adults (age beyond the child limit) scale_further_adult, children scale_child; +supplement when no member
  can work or single parent. due = round(base x scale x (1 + supplement)) - income, at least 0. A work-able
  household is paid at most max_months_per_year months with a positive amount per calendar year (counted
  from January, so the kernel looks back to January of the window's first year).
- Category sum: children under the young-child limit and under the child limit by age, disabled or not; adults
  with a disability or aged lost_capacity_age_years or more (UA 60, Readings 2), then working age;
  GM = round(sum subsistence x guaranteed share); due = min(max(0, GM - income), sum of
  subsistence minimums).
- Lump sum + instalments and one-off: anchored at the month of the right's earliest valid_from (among the
  versions not ignored); amounts from the catalogue in force in that month, picked by birth order (the last
  value serves any higher order); instalments in the months after the anchor, the last one taking the
  remainder so the total is exact. A one-off with decided_amount pays the version's amount_minor. A benefit with
  claim_within_months pays nothing when the first version was applied for after the anchor month + that many
  months (Readings 5; reason REASON_LATE_CLAIM). A one-off with multiple_of_benefit pays multiple_bp of the due of
  that benefit's rights of its household in the anchor month (UA_POHOV = 2 x UA_DSD, Readings 12), computed by a
  first pass of the same kernel; none due: 0 with REASON_NO_FAMILY_BENEFIT.
- Maintenance advance (engine/advances.py): the reference of the child's age band, means-tested against the
  per-capita income where the benefit has a floor; due only in months with a maintenance title in force for the
  child (arrays.titles) and never more than the title's monthly amount: the gate runs on the cells after the kernel.
- A month whose benefit has no parameter in force (before the catalogue's first date) is due 0 and flagged
  in `rule_missing`, so the caller can refuse or report it.
- Issue 17 kinds. flat x disabled_multiplier_bp when the beneficiary is disabled (UA childcare to age 1: x 1.5);
  graded_flat + supplement_by_subgroup[subgroup] when the version has a subgroup (UA group I-A / I-B care); a
  grade with an age limit (age_max_by_grade: UA's child with a disability) pays through the month of that birthday.
  per_member_category: sum over the members (or the beneficiary alone) of child_or_disabled_amount for a child
  within the age limit or a disabled person, else adult_amount (UA IDP allowance).
  housing_cost_minus_share: n members, income I, cost C (housing_costs table, the row in force that month),
  per-person subsistence S, coefficient k: share_bp = round(I x k / (2 x n x S)) (the mandatory share as a rate,
  to 0.01 %), due = max(0, C - round(I x share_bp / 10_000)) (UA subsidy, КМУ 1156).
  wage_replacement: round(base x replacement_bp / 10_000) with the wage_bases row of the beneficiary in force that
  month, at least floor_amount and at most ceiling_amount (each when given, 0 = none).
  top_up_to_ceiling: max(0, ceiling_amount - the version's other_payment_minor).
  per_child_reference_minus_income: n members, income I; per child within the age limit with reference R (the
  young-child or the older-child subsistence by age), max(R x multiplier - I / n, R x floor_bp / 10_000, 0),
  summed over the children in exact fractions and rounded once (UA single-mother allowance). The multiplier is
  multiplier_by_order_bp of the child's order among the children present, oldest first (the last value serves
  any later child; UA foster families: 2.5 for the first, 1.5 for each further), 1 without the parameter.
  A month whose housing cost or wage base the register lacks is due 0 with REASON_NO_BASE.
- monthly_rate_times_days (UA maternity benefit of the uninsured): paid once, in the anchor month, as
  round(monthly_rate / days_per_month) x days, the daily rate rounded half-up to the minor unit first, with the
  parameters in force in the anchor month (the rate in force on the first day of the leave). days: the days of the
  right's versions decided by the limit day (valid_from .. valid_to, each end included; the register refuses an
  open end and a total the catalogue's period_days_allowed lacks), so a later version that lengthens the leave
  raises the anchor month's due and the payroll pays the difference as arrears.
- Rounding is half-up to the minor unit, once per amount; every product is bounded by the catalogue loader.
"""
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import NamedTuple

import numba
import numpy as np
from numba import types

from engine import advances, jit
from engine import catalogue as cat
from engine.means import div_half_up, multiple_minus_per_capita_numerator, reference_minus_per_capita_numerator
from engine.zero_pages import untouched_zeros
from engine.jit import I32_2D_RO, I32_OUT, I32_RO, I64_2D_RO, I64_OUT, I64_RO, helper, kernel

NO_DAY = np.int32(2**31 - 1)        # open-ended valid_to / member_to, no death
NO_MONTH = np.int32(2**31 - 1)
ROLE_HEAD, ROLE_ADULT, ROLE_CHILD = 0, 1, 2
MONTHS_MAX = 100_000                # sanity bound on a month index (year ~10300)

# parameter slot offsets as plain ints so Numba treats them as compile-time constants
_P_AMOUNT = cat.PARAM_OFFSET["amount"]
_P_GRADE = cat.PARAM_OFFSET["amount_by_grade"]
_P_GRADE_AGE = cat.PARAM_OFFSET["age_max_by_grade"]
_P_CHILD = cat.PARAM_OFFSET["child_amount"]
_P_CHILD_MO = cat.PARAM_OFFSET["child_amount_mo_family"]
_P_CHILD_SINGLE = cat.PARAM_OFFSET["child_amount_single_parent"]
_P_CHILD_SPECIAL = cat.PARAM_OFFSET["child_amount_special"]
_P_MAX_CHILDREN = cat.PARAM_OFFSET["max_children"]
_P_SIZE = cat.PARAM_OFFSET["base_by_size"]
_P_BASE = cat.PARAM_OFFSET["base"]
_P_SCALE_FIRST = cat.PARAM_OFFSET["scale_first_adult_bp"]
_P_SCALE_ADULT = cat.PARAM_OFFSET["scale_further_adult_bp"]
_P_SCALE_CHILD = cat.PARAM_OFFSET["scale_child_bp"]
_P_MAX_MEMBERS = cat.PARAM_OFFSET["max_members"]
_P_SUPPLEMENT = cat.PARAM_OFFSET["supplement_bp"]
_P_MAX_MONTHS = cat.PARAM_OFFSET["max_months_per_year"]
_P_SUB_WORK = cat.PARAM_OFFSET["subsistence_working_age"]
_P_SUB_YOUNG = cat.PARAM_OFFSET["subsistence_child_under_6"]
_P_SUB_CHILD = cat.PARAM_OFFSET["subsistence_child_6_18"]
_P_SUB_DISABLED = cat.PARAM_OFFSET["subsistence_disabled"]
_P_GM_WORK = cat.PARAM_OFFSET["guaranteed_working_age_bp"]
_P_GM_CHILD = cat.PARAM_OFFSET["guaranteed_child_bp"]
_P_GM_DISABLED = cat.PARAM_OFFSET["guaranteed_disabled_bp"]
_P_LUMP = cat.PARAM_OFFSET["lump_sum_by_order"]
_P_INST_TOTAL = cat.PARAM_OFFSET["instalment_total_by_order"]
_P_INST_COUNT = cat.PARAM_OFFSET["instalment_count_by_order"]
_P_ORDER = cat.PARAM_OFFSET["amount_by_order"]
_P_ORDER_MO = cat.PARAM_OFFSET["amount_by_order_mo_family"]
_P_ADULT = cat.PARAM_OFFSET["adult_amount"]
_P_CHILD_OR_DISABLED = cat.PARAM_OFFSET["child_or_disabled_amount"]
_P_SHARE_COEFF = cat.PARAM_OFFSET["share_coefficient_bp"]
_P_SUB_PERSON = cat.PARAM_OFFSET["subsistence_per_person"]
_P_REPLACEMENT = cat.PARAM_OFFSET["replacement_bp"]
_P_FLOOR_AMOUNT = cat.PARAM_OFFSET["floor_amount"]
_P_CEILING = cat.PARAM_OFFSET["ceiling_amount"]
_P_DISABLED_MULT = cat.PARAM_OFFSET["disabled_multiplier_bp"]
_P_SUBGROUP_SUP = cat.PARAM_OFFSET["supplement_by_subgroup"]
_P_FLOOR_BP = cat.PARAM_OFFSET["floor_bp"]
_P_ORDER_MULT = cat.PARAM_OFFSET["multiplier_by_order_bp"]
_P_MONTHLY_RATE = cat.PARAM_OFFSET["monthly_rate"]
_P_DAYS_PER_MONTH = cat.PARAM_OFFSET["days_per_month"]
_S_STOPS = cat.SET_STOPS_ON_DEATH
_S_AGE_MIN = cat.SET_AGE_MIN
_S_AGE_MAX = cat.SET_AGE_MAX
_S_CHILD_AGE = cat.SET_CHILD_AGE
_S_YOUNG_AGE = cat.SET_YOUNG_CHILD_AGE
_S_TWINS = cat.SET_TWINS
_S_DECIDED = cat.SET_DECIDED
_S_LOST_AGE = cat.SET_LOST_CAPACITY_AGE
_S_CLAIM = cat.SET_CLAIM_WITHIN
_S_SPECIAL = cat.SET_SPECIAL_BENEFIT
_S_MULTIPLE_OF = cat.SET_MULTIPLE_OF
_S_MULTIPLE_BP = cat.SET_MULTIPLE_BP
# why a cell is due 0 although its right is in force (DueCells.reason)
REASON_NONE, REASON_LATE_CLAIM, REASON_NO_FAMILY_BENEFIT, REASON_NO_BASE = 0, 1, 2, 3
_MISSING, _LATE_CLAIM, _NO_FAMILY, _NO_BASE = -1, -2, -3, -4   # _month_due's codes for them
NEWBORN_YEARS_MAX = 12  # a birth grant's beneficiary born fewer years than this before its first month is the child


class RegisterArrays(NamedTuple):
    """A register snapshot as dense integer arrays (see formats/convert.py). Days since 1970-01-01, months
    since 1970-01; NO_DAY / NO_MONTH for "never"; -1 for "none" in index arrays."""
    benefit_codes: tuple          # catalogue order: ver_benefit indexes into it
    person_ids: np.ndarray        # int64[P] sorted
    person_birth_day: np.ndarray  # int32[P]
    person_birth_month: np.ndarray
    person_death_day: np.ndarray  # int32[P], NO_DAY if alive
    person_death_month: np.ndarray
    person_disabled: np.ndarray   # bool[P]
    person_without_care: np.ndarray
    household_ids: np.ndarray     # int64[H] sorted
    member_offsets: np.ndarray    # int64[H+1]: members of household h are rows offsets[h]:offsets[h+1]
    member_person: np.ndarray     # int32[K], rows sorted by (household, birth day, person, member_from)
    member_role: np.ndarray       # int8[K] ROLE_*
    member_from_month: np.ndarray  # int32[K]
    member_to_month: np.ndarray    # int32[K], NO_MONTH if open
    payee_ids: np.ndarray         # int64[Y] sorted
    right_ids: np.ndarray         # int64[R] sorted
    right_benefit: np.ndarray     # int16[R] (one benefit per right)
    version_offsets: np.ndarray   # int64[R+1]: versions of right r are rows offsets[r]:offsets[r+1]
    ver_right: np.ndarray         # int32[V], rows sorted by (right, valid_from, version)
    ver_number: np.ndarray        # int32[V]
    ver_person: np.ndarray        # int32[V]
    ver_household: np.ndarray     # int32[V], -1 if none
    ver_payee: np.ndarray         # int32[V]
    ver_from_day: np.ndarray      # int32[V]
    ver_to_day: np.ndarray        # int32[V], NO_DAY if open
    ver_from_month: np.ndarray
    ver_to_month: np.ndarray
    ver_decided_day: np.ndarray   # int32[V]
    ver_income_minor: np.ndarray  # int64[V]
    ver_grade: np.ndarray         # int16[V], 1-based
    ver_birth_order: np.ndarray   # int16[V], 1-based
    ver_amount_minor: np.ndarray  # int64[V] decided amount (one-offs with decided_amount)
    ver_mo_family: np.ndarray     # bool[V]
    ver_single_parent: np.ndarray
    ver_unable_to_work: np.ndarray
    ver_consent: np.ndarray
    packed: "PackedRegister | None" = None   # the kernels' matrices (formats/convert.py fills it)
    ver_applied_day: "np.ndarray | None" = None  # int32[V] date of application; None: the decision day
    ver_agency_fault: "np.ndarray | None" = None  # bool[V] the decision corrects the agency's own fault
    titles: "advances.MaintenanceTitles | None" = None  # maintenance titles by child (engine/advances.py)
    ver_other_minor: "np.ndarray | None" = None   # int64[V] another institution's payment (top_up_to_ceiling)
    ver_subgroup: "np.ndarray | None" = None      # int16[V] 0 = none, 1 = A, 2 = B
    # dated register amounts (issue 17): rows fact_offsets[h]:fact_offsets[h+1] are household h's housing costs,
    # rows fact_offsets[H+1+p]:fact_offsets[H+2+p] person p's wage bases; each row (from month, to month, amount),
    # sorted by from month within its key. None: no such rows.
    fact_offsets: "np.ndarray | None" = None      # int64[H+1+P+1]
    fact64: "np.ndarray | None" = None            # int64[N, 3] FACT_* columns

    @property
    def n_rights(self) -> int:
        return len(self.right_ids)


class DueCells:
    """One cell per right and month of its window; rows sorted by (right, month). The kernel writes the amounts
    alone: which right and month a cell is follows from `offsets` and each right's first month (`starts`), so
    right_index and month are derived on their first read (most callers read the amounts only, and the two index
    columns were two fifths of the bytes the kernel wrote, each on a page the system had to clear first).
    Given right_index and month (tests), those are kept as given."""
    __slots__ = ("due_minor", "rule_missing", "offsets", "reason", "_right_index", "_month", "_starts")
    _fields = ("right_index", "month", "due_minor", "rule_missing", "offsets", "reason")  # as the named tuple it was

    def __init__(self, right_index: "np.ndarray | None", month: "np.ndarray | None", due_minor: np.ndarray,
                 rule_missing: np.ndarray, offsets: np.ndarray, reason: "np.ndarray | None" = None,
                 starts: "np.ndarray | None" = None):
        assert (right_index is not None and month is not None) or starts is not None
        self.due_minor = due_minor          # int64
        self.rule_missing = rule_missing    # bool: no parameter in force for the benefit that month (due 0)
        self.offsets = offsets              # int64[R+1]: cells of right r are rows offsets[r]:offsets[r+1]
        self.reason = reason                # int8 REASON_*: a claim out of time, no family benefit to multiply
        self._right_index, self._month, self._starts = right_index, month, starts

    @property
    def right_index(self) -> np.ndarray:
        """int32 right of each cell."""
        if self._right_index is None:
            self._derive_indexes()
        return self._right_index

    @property
    def month(self) -> np.ndarray:
        """int32 month index of each cell."""
        if self._month is None:
            self._derive_indexes()
        return self._month

    def _derive_indexes(self) -> None:
        right_index = np.empty(self.due_minor.shape[0], dtype=np.int32)
        month = np.empty(self.due_minor.shape[0], dtype=np.int32)
        cell_indexes_kernel(self.offsets, self._starts, right_index, month)
        self._right_index, self._month = right_index, month


@kernel(types.void(I64_RO, I32_RO, I32_OUT, I32_OUT))
def cell_indexes_kernel(offsets, starts, out_right, out_month):
    """out_right[c], out_month[c] = the right and month of cell c: right r holds cells offsets[r]:offsets[r + 1],
    its months from starts[r] on."""
    assert offsets.shape[0] == starts.shape[0] + 1
    assert out_right.shape[0] == out_month.shape[0] == offsets[offsets.shape[0] - 1]
    for r in range(starts.shape[0]):
        for cell in range(offsets[r], offsets[r + 1]):
            out_right[cell] = r
            out_month[cell] = starts[r] + (cell - offsets[r])


# ---- packed kernel inputs ------------------------------------------------------------------------------------
# A Numba call between compiled functions costs about 6 ns per array argument (reference counting), so the
# per-cell helpers read a few record matrices instead of thirty separate arrays (one record per cache line:
# a household's members and their persons are read together), and are inlined into the kernel by LLVM
# (engine/jit.py's helper: no reference counts, no call): they stay short and testable, the loop stays fast.

V_NUMBER, V_PERSON, V_HOUSEHOLD, V_FROM_DAY, V_TO_DAY, V_FROM_MONTH, V_TO_MONTH, V_DECIDED_DAY = range(8)
V_GRADE, V_ORDER, V_FLAGS, V_APPLIED_MONTH, V_SUBGROUP = 8, 9, 10, 11, 12
V_INCOME, V_AMOUNT, V_OTHER = 0, 1, 2
FACT_FROM_MONTH, FACT_TO_MONTH, FACT_AMOUNT = 0, 1, 2
P_BIRTH_DAY, P_BIRTH_MONTH, P_DEATH_DAY, P_DEATH_MONTH, P_FLAGS = range(5)
M_PERSON, M_ROLE, M_FROM_MONTH, M_TO_MONTH = range(4)
FLAG_MO, FLAG_SINGLE, FLAG_UNABLE = 1, 2, 4           # ver32[V_FLAGS]
FLAG_DISABLED, FLAG_WITHOUT_CARE = 1, 2               # person32[P_FLAGS]
L_FROM_MONTH, L_TO_MONTH, L_DECIDED_DAY, L_BENEFIT = range(4)  # link32: versions of special-rate rights by person
B_KIND = len(cat.BENEFIT_SETTINGS)                    # binfo columns: settings..., kind, prorate_days
B_PRORATE = B_KIND + 1


class PackedRegister(NamedTuple):
    """Record matrices of a RegisterArrays for the kernels (columns named by the V_/P_/M_ constants)."""
    ver32: np.ndarray     # int32[V, 13]
    ver64: np.ndarray     # int64[V, 3]: income, decided amount, other institution's payment
    person32: np.ndarray  # int32[P, 5]
    member32: np.ndarray  # int32[K, 4]


def pack_register(a: RegisterArrays) -> PackedRegister:
    """Pack once per register; compute_due packs by itself when not given one."""
    return pack_fields(a._asdict())


def pack_fields(fields: dict, release: bool = False) -> PackedRegister:
    """pack_register over RegisterArrays fields by name. With `release`, each field only the packing reads
    (PACKED_ONLY) is taken out of `fields` as soon as its matrix is made: a caller holding no other reference to
    the loose arrays has their memory back matrix by matrix, never the loose and the packed register whole."""
    take = (lambda names: [fields.pop(name) if name in PACKED_ONLY else fields[name] for name in names]) \
        if release else (lambda names: [fields[name] for name in names])
    birth_day, birth_month, death_day, death_month, disabled, without_care = take(
        ("person_birth_day", "person_birth_month", "person_death_day", "person_death_month", "person_disabled",
         "person_without_care"))
    person32 = _records([birth_day, birth_month, death_day, death_month,
                         _flag_bits((disabled, FLAG_DISABLED), (without_care, FLAG_WITHOUT_CARE))], np.int32)
    del birth_day, birth_month, death_day, death_month, disabled, without_care
    member32 = _records(take(("member_person", "member_role", "member_from_month", "member_to_month")), np.int32)
    mo, single, unable, applied, subgroup = take(("ver_mo_family", "ver_single_parent", "ver_unable_to_work",
                                                  "ver_applied_day", "ver_subgroup"))
    number, person, household, from_day, to_day, from_month, to_month, decided, grade, order = take(
        ("ver_number", "ver_person", "ver_household", "ver_from_day", "ver_to_day", "ver_from_month",
         "ver_to_month", "ver_decided_day", "ver_grade", "ver_birth_order"))
    applied = decided if applied is None else applied
    ver32 = _records([number, person, household, from_day, to_day, from_month, to_month, decided, grade, order,
                      _flag_bits((mo, FLAG_MO), (single, FLAG_SINGLE), (unable, FLAG_UNABLE)),
                      months_of_days(np.ascontiguousarray(applied, dtype=np.int32)), _or_zeros(subgroup, number)],
                     np.int32)
    del mo, single, unable, applied, subgroup, person, household, from_day, to_day, from_month, to_month, decided
    del grade, order
    income, amount, other = take(("ver_income_minor", "ver_amount_minor", "ver_other_minor"))
    ver64 = _records([income, amount, _or_zeros(other, number)], np.int64)
    return PackedRegister(ver32, ver64, person32, member32)


# RegisterArrays fields nothing but pack_register reads (payroll.explain reads some: it keeps them): once packed, a
# caller that computes from the packed copy alone may drop them (formats.convert.packed_arrays(keep_loose=False))
PACKED_ONLY = frozenset({
    "person_birth_day", "person_birth_month", "person_death_day", "person_death_month", "person_disabled",
    "person_without_care", "member_person", "member_role", "member_from_month", "member_to_month", "ver_number",
    "ver_household", "ver_income_minor", "ver_grade", "ver_birth_order", "ver_amount_minor", "ver_mo_family",
    "ver_single_parent", "ver_unable_to_work", "ver_other_minor", "ver_subgroup"})
# (ver_applied_day stays: a fixed-term award is told apart by its application day, payroll.compute.legacy_versions)


def _flag_bits(*columns) -> np.ndarray:
    """The sum of bit x column over (boolean column, bit) pairs, in bytes (int64 products would be eight times
    the memory to write and read again)."""
    out = np.zeros(len(columns[0][0]), dtype=np.uint8)
    for column, bit in columns:
        out |= np.asarray(column, dtype=np.bool_).view(np.uint8) * np.uint8(bit)
    return out


def _or_zeros(column, like) -> np.ndarray:
    return np.zeros(len(like), dtype=np.int64) if column is None else column


def fact_arrays(a: RegisterArrays) -> tuple[np.ndarray, np.ndarray]:
    """(fact_offsets, fact64) of a register, empty ones when it has no dated register amounts."""
    if a.fact_offsets is not None:
        return a.fact_offsets, a.fact64
    return (np.zeros(len(a.household_ids) + 1 + len(a.person_ids) + 1, dtype=np.int64),
            np.zeros((0, 3), dtype=np.int64))


def fact_values(a: RegisterArrays, table: str, keys: np.ndarray, months: np.ndarray) -> np.ndarray:
    """The dated register amount (table "housing_costs" by household index, "wage_bases" by person index) in
    force in each month, -1 where there is none: what the kernels read, for checks and reports."""
    offsets, fact64 = fact_arrays(a)
    base = 0 if table == "housing_costs" else len(a.household_ids) + 1
    out = np.empty(len(keys), dtype=np.int64)
    fact_values_kernel(np.ascontiguousarray(keys, dtype=np.int64) + base,
                       np.ascontiguousarray(months, dtype=np.int64), offsets, fact64, out)
    return out


@kernel(types.void(I64_RO, I64_RO, I64_RO, I64_2D_RO, I64_OUT))
def fact_values_kernel(slots, months, fact_offsets, fact64, out):
    assert slots.shape[0] == months.shape[0] == out.shape[0]
    assert fact64.shape[1] == 3
    for i in range(slots.shape[0]):
        out[i] = _fact_value(slots[i], months[i], fact_offsets, fact64)


@helper
def _fact_value(slot, m, fact_offsets, fact64):
    """Amount of the row of key slot touching month m with the latest from month; -1 if none."""
    assert slot >= 0
    assert m >= 0
    found = -1
    for i in range(fact_offsets[slot], fact_offsets[slot + 1]):
        if fact64[i, FACT_FROM_MONTH] <= m <= fact64[i, FACT_TO_MONTH]:
            found = fact64[i, FACT_AMOUNT]
    return found


RECORD_BLOCK_ROWS = 2048  # rows written per block of _records: a block of the matrix stays in cache across columns


def _records(columns, dtype) -> np.ndarray:
    """Columns side by side, one row per record (C order), so one record's fields share a cache line. Written in
    blocks of rows: column by column over the whole matrix would pull every cache line in once per column."""
    rows = len(columns[0])
    out = np.empty((rows, len(columns)), dtype=dtype)
    for begin in range(0, rows, RECORD_BLOCK_ROWS):
        end = min(rows, begin + RECORD_BLOCK_ROWS)
        for i, column in enumerate(columns):
            out[begin:end, i] = column[begin:end]
    return out


def months_of_days(days: np.ndarray) -> np.ndarray:
    """Month index of each day (days since 1970-01-01); NO_DAY stays "never" (NO_MONTH). int32 out.

    Register dates cluster (births within a century, decisions within years): when they do, the month of every
    day between the earliest and the latest one is computed once into a table and each day is looked up in it
    (a third of the time of the civil-calendar arithmetic per day)."""
    days = np.ascontiguousarray(days, dtype=np.int32)
    out = np.empty(days.shape[0], dtype=np.int32)
    low = int(days.min(initial=NO_DAY))
    high = int((days + np.int32(1)).max(initial=np.iinfo(np.int32).min)) - 1  # NO_DAY + 1 wraps to the lowest
    if low == NO_DAY or high - low + 1 > 4 * days.shape[0] + DAY_TABLE_SLACK:
        months_of_days_kernel(days, out)
        return out
    span = high - low + 1
    table = np.empty(span + 1, dtype=np.int32)  # the last slot: NO_DAY's
    months_of_days_kernel(np.arange(low, high + 1, dtype=np.int32), table[:-1])
    table[-1] = NO_MONTH
    # day - low as an unsigned number: NO_DAY lands past the table (it wraps when low < 0), clipped to its slot
    np.take(table, np.minimum((days - np.int32(low)).view(np.uint32), np.uint32(span)), out=out)
    return out


DAY_TABLE_SLACK = 65_536  # a day -> month table may have this many days more than 4 per input day


@kernel(types.void(I32_RO, I32_OUT))
def months_of_days_kernel(days, out):
    """Month index of each day (NO_DAY stays NO_MONTH), by civil_month (numpy's datetime64 casts are ten times
    slower)."""
    assert out.shape[0] == days.shape[0]
    assert out.ndim == 1
    for i in range(days.shape[0]):
        day = days[i]
        out[i] = NO_MONTH if day == NO_DAY else civil_month(day)


@helper
def civil_month(day):
    """H. Hinnant's civil_from_days, month part only: the month index of a day (days since 1970-01-01)."""
    assert day != NO_DAY
    z = np.int64(day) + 719468
    assert z > -(2**40)
    era = z // 146097  # floor division (Python semantics in Numba)
    day_of_era = z - era * 146097
    year_of_era = (day_of_era - day_of_era // 1460 + day_of_era // 36524 - day_of_era // 146096) // 365
    day_of_year = day_of_era - (365 * year_of_era + year_of_era // 4 - year_of_era // 100)
    shifted_month = (5 * day_of_year + 2) // 153
    month_number = shifted_month + 3 if shifted_month < 10 else shifted_month - 9
    year = year_of_era + era * 400 + (1 if month_number <= 2 else 0)
    return np.int32((year - 1970) * 12 + month_number - 1)


# ---- small helpers -----------------------------------------------------------------------------------------

@helper
def month_first_day(month):
    """Days since 1970-01-01 of the first day of a month index (proleptic Gregorian, H. Hinnant's method)."""
    assert 0 <= month < MONTHS_MAX
    year = 1970 + month // 12
    month_number = month % 12 + 1
    if month_number <= 2:
        year -= 1
    era = year // 400
    year_of_era = year - era * 400
    shifted = month_number - 3 if month_number > 2 else month_number + 9
    day_of_year = (153 * shifted + 2) // 5
    day_of_era = year_of_era * 365 + year_of_era // 4 - year_of_era // 100 + day_of_year
    return era * 146097 + day_of_era - 719468


@helper
def _pick(params, b, mi, offset, index, length):
    """Value at a 1-based index of a list parameter; indexes past the end take the last value."""
    assert length >= 1
    assert index >= 1
    return params[b, mi, offset + min(index, length) - 1]


# ---- household facts of one month ------------------------------------------------------------------------

@helper
def _member_present(j, m, member32, person32):
    """Membership row j touches month m, its person is born by the month's end and alive at its start."""
    assert j >= 0
    assert m >= 0
    p = member32[j, M_PERSON]
    return (member32[j, M_FROM_MONTH] <= m <= member32[j, M_TO_MONTH] and person32[p, P_BIRTH_MONTH] <= m
            and person32[p, P_DEATH_MONTH] >= m)


# counts[0:5] are _member_counts' counts; counts[5:11] say for which household, months and age limits they hold;
# counts[11:19] are _scale_members' members at each scale and for what they hold
COUNTS_SLOTS = 19
_C_HOUSEHOLD, _C_FIRST_MONTH, _C_LAST_MONTH, _C_CHILD_YEARS, _C_YOUNG_YEARS, _C_LOST_YEARS = range(5, 11)
_S_FIRSTS, _S_CHILDREN, _S_ADULTS, _S_HOUSEHOLD, _S_FIRST_MONTH, _S_LAST_MONTH, _S_LIMIT_YEARS, _S_CAP = range(11, 19)


@helper
def _member_counts(h, person, m, child_years, young_years, lost_years, member32, member_offsets, person32, counts):
    """counts[0:5] = members, children within the limit, young children, older children, adults of lost working
    capacity (disabled, or aged lost_years or more when lost_years > 0). Children by birth date alone.

    A household's counts change only in a month a member joins or leaves, is born or dies, or passes an age limit:
    counts[5:] remember the household, the months [m, day before the next such change] and the age limits of
    the counts, and a later month of a right's window inside them reuses the counts without the member loop."""
    assert counts.shape[0] == COUNTS_SLOTS
    assert m >= 0
    if (h >= 0 and counts[_C_HOUSEHOLD] == h and counts[_C_FIRST_MONTH] <= m <= counts[_C_LAST_MONTH]
            and counts[_C_CHILD_YEARS] == child_years and counts[_C_YOUNG_YEARS] == young_years
            and counts[_C_LOST_YEARS] == lost_years):
        return counts[0]
    counts[0], counts[1], counts[2], counts[3], counts[4] = 0, 0, 0, 0, 0
    counts[_C_HOUSEHOLD] = h  # -1 (no household): never reused
    if h < 0:
        _count_one(person, m, child_years, young_years, lost_years, person32, counts)
        return 1
    # the counts in locals, stored once: stored each member, they would be read back from memory each member
    previous, next_change, members, children, young, older, lost = -1, np.int64(NO_MONTH), 0, 0, 0, 0, 0
    for j in range(member_offsets[h], member_offsets[h + 1]):
        p = member32[j, M_PERSON]
        next_change = min(next_change, _next_member_change(j, p, m, child_years, young_years, lost_years, member32,
                                                           person32))
        if p == previous or not _member_present(j, m, member32, person32):
            continue
        previous = p
        is_child, is_young, is_older, is_lost = _categories(p, m, child_years, young_years, lost_years, person32)
        members, children, young, older, lost = members + 1, children + is_child, young + is_young, older + is_older, \
            lost + is_lost
    counts[0], counts[1], counts[2], counts[3], counts[4] = members, children, young, older, lost
    counts[_C_FIRST_MONTH], counts[_C_LAST_MONTH] = m, next_change - 1
    counts[_C_CHILD_YEARS], counts[_C_YOUNG_YEARS], counts[_C_LOST_YEARS] = child_years, young_years, lost_years
    return counts[0]


@helper
def _next_member_change(j, p, m, child_years, young_years, lost_years, member32, person32):
    """The first month after m in which membership row j (person p) may count differently: its membership
    starts or ends, the person is born or dies, or passes the child, young-child or lost-capacity age."""
    assert j >= 0 and p >= 0
    assert m >= 0
    birth_month = np.int64(person32[p, P_BIRTH_MONTH])
    change = np.int64(NO_MONTH)
    # one loop over the seven months (LLVM selects without branches); built on _next_presence_change instead, the
    # equivalence scale's rights took 45 % longer and the category sum's 10 %
    for month in (np.int64(member32[j, M_FROM_MONTH]), np.int64(member32[j, M_TO_MONTH]) + 1, birth_month,
                  np.int64(person32[p, P_DEATH_MONTH]) + 1, birth_month + 12 * child_years + 1,
                  birth_month + 12 * young_years + 1, birth_month + 12 * lost_years if lost_years > 0 else change):
        if month > m:
            change = min(change, month)
    return change


@helper
def _next_presence_change(j, p, m, member32, person32):
    """The first month after m in which membership row j (person p) may start or stop being present: its
    membership starts or ends, the person is born or dies (NO_MONTH when none). Four calls rather than a loop over
    a tuple of the four months: with the loop, a right of the household table took ~92 ns instead of ~48."""
    assert j >= 0 and p >= 0
    assert m >= 0
    after, never = np.int64(m) + 1, np.int64(NO_MONTH)  # months in [m + 1, NO_MONTH]: an open end changes nothing
    change = _earlier_inside(never, np.int64(member32[j, M_FROM_MONTH]), after, never)
    change = _earlier_inside(change, np.int64(member32[j, M_TO_MONTH]) + 1, after, never)
    change = _earlier_inside(change, np.int64(person32[p, P_BIRTH_MONTH]), after, never)
    return _earlier_inside(change, np.int64(person32[p, P_DEATH_MONTH]) + 1, after, never)


@helper
def _count_present(h, m, member32, member_offsets, person32):
    """(members of household h present in month m, the last month through which that number holds): what the
    household table reads. Neither the categories nor the age limits of _member_counts are taken: a member's age
    changes nothing here, and without them a right of the household table took ~48 ns instead of ~68 (compare
    workload, one thread)."""
    assert h >= 0
    assert m >= 0
    previous, next_change, members = -1, np.int64(NO_MONTH), 0
    for j in range(member_offsets[h], member_offsets[h + 1]):
        p = member32[j, M_PERSON]
        next_change = min(next_change, _next_presence_change(j, p, m, member32, person32))
        if p == previous or not _member_present(j, m, member32, person32):
            continue
        previous = p
        members += 1
    return members, next_change - 1


@helper
def _categories(p, m, child_years, young_years, lost_years, person32):
    """(child within the limit, young child, older child, adult of lost working capacity: disabled, or aged
    lost_years or more when lost_years > 0) of person p in month m, each 0 or 1. Children by birth date alone."""
    assert p >= 0
    assert child_years >= 0
    # without branches: whether a member is a child is a coin toss for the branch predictor
    birth_month = np.int64(person32[p, P_BIRTH_MONTH])
    is_child = np.int64(m <= birth_month + 12 * child_years)
    is_young = np.int64(m <= birth_month + 12 * young_years)
    lost = np.int64((person32[p, P_FLAGS] & FLAG_DISABLED) != 0) | np.int64(
        (lost_years > 0) & (m >= birth_month + 12 * lost_years))
    return is_child, is_child & is_young, is_child & (1 - is_young), (1 - is_child) & lost


@helper
def _count_one(p, m, child_years, young_years, lost_years, person32, counts):
    """counts[0:5] (_member_counts' counts) with person p of month m added."""
    assert p >= 0
    assert counts.shape[0] >= 5
    is_child, is_young, is_older, is_lost = _categories(p, m, child_years, young_years, lost_years, person32)
    counts[0] += 1
    counts[1] += is_child
    counts[2] += is_young
    counts[3] += is_older
    counts[4] += is_lost


@helper
def _holds_right(p, m, special_b, decided_limit_day, link_offsets, link32):
    """Person p holds a right of benefit index special_b - 1 in force in month m (a version decided by the
    limit day touches the month)."""
    assert special_b > 0
    assert p >= 0
    for i in range(link_offsets[p], link_offsets[p + 1]):
        if (link32[i, L_BENEFIT] == special_b - 1 and link32[i, L_DECIDED_DAY] <= decided_limit_day
                and link32[i, L_FROM_MONTH] <= m <= link32[i, L_TO_MONTH]):
            return True
    return False


@helper
def _per_child_amount(h, m, b, mi, flags, limit_years, twins, special_b, decided_limit_day, params, member32,
                      member_offsets, person32, link_offsets, link32):
    """Sum over the counted children (members within the age limit by birth date, whatever their role; oldest
    first, capped, twins excepted) of each child's best rate. The special rate: without parental care, or
    holding a right of the special_rate_benefit in force that month (RULES.md Readings 1 and 6)."""
    assert b >= 0 and mi >= 0
    assert limit_years >= 0
    if h < 0:
        return 0
    cap = params[b, mi, _P_MAX_CHILDREN]
    family_rate = params[b, mi, _P_CHILD]
    if flags & FLAG_MO:
        family_rate = max(family_rate, params[b, mi, _P_CHILD_MO])
    if flags & FLAG_SINGLE:
        family_rate = max(family_rate, params[b, mi, _P_CHILD_SINGLE])
    total, counted, last_birth_day, previous = 0, 0, -1, -1
    for j in range(member_offsets[h], member_offsets[h + 1]):
        p = member32[j, M_PERSON]
        # the age first: most members of a household with children are adults, and it reads one field
        if p == previous or m > person32[p, P_BIRTH_MONTH] + 12 * limit_years:
            continue
        if not _member_present(j, m, member32, person32):
            continue
        previous = p
        twin_of_last = twins != 0 and person32[p, P_BIRTH_DAY] == last_birth_day
        if cap > 0 and counted >= cap and not twin_of_last:
            continue
        counted += 1
        last_birth_day = person32[p, P_BIRTH_DAY]
        rate = family_rate
        if person32[p, P_FLAGS] & FLAG_WITHOUT_CARE or (
                special_b > 0 and _holds_right(p, m, special_b, decided_limit_day, link_offsets, link32)):
            rate = max(rate, params[b, mi, _P_CHILD_SPECIAL])
        total += rate
    return total


@helper
def _scale_amount(h, m, b, mi, flags, income, limit_years, params, member32, member_offsets, person32, counts):
    """Equivalence scale: round(base x scale x (1 + supplement)) - income, at least 0. The members counted at each
    scale are kept in counts[11:] for the following months, like _member_counts' counts."""
    assert b >= 0 and mi >= 0
    assert limit_years >= 0
    cap = params[b, mi, _P_MAX_MEMBERS]
    if h < 0:
        scale_bp = params[b, mi, _P_SCALE_FIRST]
    else:
        if not (counts[_S_HOUSEHOLD] == h and counts[_S_FIRST_MONTH] <= m <= counts[_S_LAST_MONTH]
                and counts[_S_LIMIT_YEARS] == limit_years and counts[_S_CAP] == cap):
            _scale_members(h, m, limit_years, cap, member32, member_offsets, person32, counts)
        scale_bp = _members_scale_bp(b, mi, counts, params)
    return _scaled_minus_income(b, mi, flags, income, scale_bp, params)


@helper
def _scaled_minus_income(b, mi, flags, income, scale_bp, params):
    """round(base x scale x (1 + supplement)) - income, at least 0."""
    assert b >= 0 and mi >= 0
    assert scale_bp >= 0
    supplement_bp = 0
    if flags & (FLAG_UNABLE | FLAG_SINGLE):
        supplement_bp = params[b, mi, _P_SUPPLEMENT]
    gross = div_half_up(params[b, mi, _P_BASE] * scale_bp * (10_000 + supplement_bp), 100_000_000)
    return max(0, gross - income)


@helper
def _members_scale_bp(b, mi, counts, params):
    """The scale of the members _scale_members counted (counts[11:14])."""
    assert b >= 0 and mi >= 0
    assert counts.shape[0] == COUNTS_SLOTS
    return (counts[_S_FIRSTS] * params[b, mi, _P_SCALE_FIRST] + counts[_S_CHILDREN] * params[b, mi, _P_SCALE_CHILD]
            + counts[_S_ADULTS] * params[b, mi, _P_SCALE_ADULT])


@helper
def _scale_members(h, m, limit_years, cap, member32, member_offsets, person32, counts):
    """counts[11:]: the members present in month m counted oldest first, at most cap (0 = no cap): the first at the
    first adult's scale, then children (within limit_years) and further adults; and for which household, months
    [m, day before the next change of a member] and limits these hold."""
    assert h >= 0 and m >= 0
    assert counts.shape[0] == COUNTS_SLOTS
    counted, children, adults, previous, next_change = 0, 0, 0, -1, np.int64(NO_MONTH)
    for j in range(member_offsets[h], member_offsets[h + 1]):
        p = member32[j, M_PERSON]
        next_change = min(next_change, _next_member_change(j, p, m, limit_years, limit_years, 0, member32, person32))
        if p == previous or not _member_present(j, m, member32, person32):
            continue
        previous = p
        if cap > 0 and counted >= cap:
            continue  # not counted, but a later month may count it: its changes are still read
        if counted > 0 and m <= person32[p, P_BIRTH_MONTH] + 12 * limit_years:
            children += 1
        elif counted > 0:
            adults += 1
        counted += 1
    counts[_S_FIRSTS], counts[_S_CHILDREN], counts[_S_ADULTS] = min(counted, 1), children, adults
    counts[_S_HOUSEHOLD], counts[_S_FIRST_MONTH], counts[_S_LAST_MONTH] = h, m, next_change - 1
    counts[_S_LIMIT_YEARS], counts[_S_CAP] = limit_years, cap


@helper
def _table_amount(b, mi, income, n_members, params, param_len):
    """The household table's base for n_members (at least 1) minus income, at least 0."""
    assert b >= 0 and mi >= 0
    assert n_members >= 0
    base = _pick(params, b, mi, _P_SIZE, max(1, n_members), param_len[b, _P_SIZE])
    return max(0, base - income)


@helper
def _category_amount(b, mi, income, counts, params):
    """Guaranteed minimum of the members minus income, capped at their total subsistence minimum."""
    assert counts.shape[0] == COUNTS_SLOTS
    assert b >= 0 and mi >= 0
    adults = counts[0] - counts[2] - counts[3]
    working = adults - counts[4]
    sub_young, sub_child = params[b, mi, _P_SUB_YOUNG], params[b, mi, _P_SUB_CHILD]
    sub_work, sub_disabled = params[b, mi, _P_SUB_WORK], params[b, mi, _P_SUB_DISABLED]
    gm_numerator = ((counts[2] * sub_young + counts[3] * sub_child) * params[b, mi, _P_GM_CHILD]
                    + working * sub_work * params[b, mi, _P_GM_WORK]
                    + counts[4] * sub_disabled * params[b, mi, _P_GM_DISABLED])
    cap = counts[2] * sub_young + counts[3] * sub_child + working * sub_work + counts[4] * sub_disabled
    guaranteed = div_half_up(gm_numerator, 10_000)
    return min(max(0, guaranteed - income), cap)


@helper
def claim_start(anchor, birth_month):
    """The month a claim window (RULES.md Readings 5: "the month of application is at most the birth month + 12")
    counts from: the beneficiary's birth month where the beneficiary is the newborn (born in or before the right's
    first month, and fewer than NEWBORN_YEARS_MAX years before it: no parent is that young), else the right's first
    month, which for a grant paid to a parent is the birth (the register's valid_from of a birth grant)."""
    assert anchor >= 0
    assert NEWBORN_YEARS_MAX > 0
    if anchor - 12 * NEWBORN_YEARS_MAX < birth_month <= anchor:
        return np.int64(birth_month)
    return np.int64(anchor)


@helper
def _scheduled_amount(m, anchor, b, v, kind, first_month, binfo, params, param_len, defined, ver32, ver64,
                      source_minor, birth_month):
    """Lump sum + instalments, or a one-off, from the parameters in force in the anchor month (-1: missing).
    A claim applied after the birth + claim_within_months is _LATE_CLAIM (due 0; the birth: claim_start); a
    multiple of the household's benefit (source_minor: its due in the anchor month) without that benefit due is
    _NO_FAMILY (due 0)."""
    assert anchor <= m
    assert v >= 0
    if kind == cat.KIND_ONE_OFF and m != anchor:
        return 0
    claim = binfo[b, _S_CLAIM]
    if claim > 0 and ver32[v, V_APPLIED_MONTH] > claim_start(anchor, birth_month) + claim:
        return _LATE_CLAIM
    if kind == cat.KIND_ONE_OFF and binfo[b, _S_MULTIPLE_OF] != 0:
        if source_minor <= 0:
            return _NO_FAMILY
        return div_half_up(source_minor * binfo[b, _S_MULTIPLE_BP], 10_000)
    if kind == cat.KIND_ONE_OFF and binfo[b, _S_DECIDED] != 0:
        return ver64[v, V_AMOUNT]
    ai = anchor - first_month
    if ai < 0 or ai >= defined.shape[1] or not defined[b, ai]:
        return -1
    order = max(1, ver32[v, V_ORDER])
    if kind == cat.KIND_ONE_OFF:
        if ver32[v, V_FLAGS] & FLAG_MO:
            return _pick(params, b, ai, _P_ORDER_MO, order, param_len[b, _P_ORDER_MO])
        return _pick(params, b, ai, _P_ORDER, order, param_len[b, _P_ORDER])
    if m == anchor:
        return _pick(params, b, ai, _P_LUMP, order, param_len[b, _P_LUMP])
    count = _pick(params, b, ai, _P_INST_COUNT, order, param_len[b, _P_INST_COUNT])
    total = _pick(params, b, ai, _P_INST_TOTAL, order, param_len[b, _P_INST_TOTAL])
    k = m - anchor
    if count <= 0 or k > count:
        return 0
    instalment = total // count
    if k == count:
        return total - instalment * (count - 1)
    return instalment


@kernel
def _rate_days_amount(m, anchor, b, v_begin, v_end, first_month, decided_limit_day, ver32, params, defined):
    """monthly_rate_times_days: in the anchor month only, the daily rate (parameters in force in the anchor month)
    x the days of the versions decided by the limit day; -1 when no parameter is in force then. Called, not
    inlined: the other kinds' cells do not carry its loop."""
    assert anchor <= m
    assert v_begin < v_end
    if m != anchor:
        return 0
    ai = anchor - first_month
    if ai < 0 or ai >= defined.shape[1] or not defined[b, ai]:
        return -1
    days = 0
    for v in range(v_begin, v_end):
        if ver32[v, V_DECIDED_DAY] <= decided_limit_day and ver32[v, V_TO_DAY] != NO_DAY:
            days += ver32[v, V_TO_DAY] - ver32[v, V_FROM_DAY] + 1
    return rate_times_days(params[b, ai, _P_MONTHLY_RATE], params[b, ai, _P_DAYS_PER_MONTH], days)


@helper
def rate_times_days(monthly_rate, days_per_month, days):
    """round(monthly_rate / days_per_month) x days: the daily rate rounded half-up to the minor unit, then
    multiplied (7,000.00 / 30 = 233.33; x 126 = 29,399.58)."""
    assert days_per_month > 0
    assert monthly_rate >= 0 and days >= 0
    return div_half_up(monthly_rate, days_per_month) * days


# ---- one version, one month --------------------------------------------------------------------------------

@helper
def _version_amount(v, m, mi, b, kind, decided_limit_day, counts, binfo, params, param_len, ver32, ver64, member32,
                    member_offsets, person32, link_offsets, link32, fact_offsets, fact64, kinds):
    """Full-month amount of a monthly formula under version v in month m (parameters of month m); _NO_BASE
    when the register lacks the housing cost or wage base the formula reads. kinds: `kind_gates` (the formulas
    of a kind whose gate is None are cut from the compiled kernel)."""
    assert v >= 0 and mi >= 0
    assert 0 <= kind < len(cat.KINDS)
    if kind == cat.KIND_FLAT:
        return _flat_amount(b, mi, person32[ver32[v, V_PERSON], P_FLAGS], params)
    if kind == cat.KIND_GRADED:
        if _past_grade_age(v, m, mi, b, params, param_len, ver32, person32):
            return 0
        return (_pick(params, b, mi, _P_GRADE, ver32[v, V_GRADE], param_len[b, _P_GRADE])
                + _subgroup_supplement(b, mi, ver32[v, V_SUBGROUP], params, param_len))
    if cat.KIND_PER_MEMBER <= kind <= cat.KIND_CHILD_REFERENCE:   # issue 17 kinds (maintenance_advance: below)
        return _issue17_amount(m, mi, b, kind, ver32[v, V_HOUSEHOLD], ver32[v, V_PERSON], ver64[v, V_INCOME],
                               ver64[v, V_OTHER], binfo[b, _S_CHILD_AGE], binfo[b, _S_YOUNG_AGE], counts, params,
                               param_len, member32, member_offsets, person32, fact_offsets, fact64,
                               kinds[cat.KIND_PER_MEMBER], kinds[cat.KIND_HOUSING], kinds[cat.KIND_WAGE],
                               kinds[cat.KIND_TOP_UP], kinds[cat.KIND_CHILD_REFERENCE])
    # special_b > 0 (a per-child benefit with a special-rate benefit) is decided_limit_day's only reader
    special_b = binfo[b, _S_SPECIAL]
    return _household_amount(m, mi, b, kind, ver32[v, V_HOUSEHOLD], ver32[v, V_PERSON], ver32[v, V_FLAGS],
                             ver64[v, V_INCOME], binfo[b, _S_CHILD_AGE], binfo[b, _S_YOUNG_AGE], binfo[b, _S_TWINS],
                             binfo[b, _S_LOST_AGE], special_b, decided_limit_day, counts, params, param_len,
                             member32, member_offsets, person32, link_offsets, link32, kinds[cat.KIND_PER_CHILD],
                             kinds[cat.KIND_HOUSEHOLD_TABLE], kinds[cat.KIND_EQUIVALENCE],
                             kinds[cat.KIND_MAINTENANCE_ADVANCE], kinds[cat.KIND_CATEGORY_SUM])


@helper
def _past_grade_age(v, m, mi, b, params, param_len, ver32, person32):
    """A graded benefit's grade with an age limit (age_max_by_grade, 0: none; UA's "child with a disability")
    pays through the month of that birthday and nothing after it (RULES.md "Stop")."""
    assert v >= 0 and mi >= 0
    assert ver32[v, V_GRADE] >= 1
    if param_len[b, _P_GRADE_AGE] == 0:
        return False
    years = _pick(params, b, mi, _P_GRADE_AGE, ver32[v, V_GRADE], param_len[b, _P_GRADE_AGE])
    return years > 0 and m > person32[ver32[v, V_PERSON], P_BIRTH_MONTH] + 12 * years


@helper
def _household_amount(m, mi, b, kind, h, person, flags, income, child_years, young_years, twins, lost_years,
                      special_b, decided_limit_day, counts, params, param_len, member32, member_offsets, person32,
                      link_offsets, link32, on_child, on_table, on_scale, on_advance, on_category):
    """The formulas that read the household, inlined by LLVM like every helper. on_*: the kind's gate
    (None: the catalogue has none, and Numba drops its branch before compiling it)."""
    assert mi >= 0 and h >= -1
    assert counts.shape[0] == COUNTS_SLOTS
    if on_child is not None and kind == cat.KIND_PER_CHILD:
        return _per_child_amount(h, m, b, mi, flags, child_years, twins, special_b, decided_limit_day, params,
                                 member32, member_offsets, person32, link_offsets, link32)
    if on_scale is not None and kind == cat.KIND_EQUIVALENCE:
        return _scale_amount(h, m, b, mi, flags, income, child_years, params, member32, member_offsets, person32,
                             counts)
    if on_table is None and on_advance is None and on_category is None:
        return 0
    _member_counts(h, person, m, child_years, young_years, lost_years, member32, member_offsets, person32, counts)
    if on_table is not None and kind == cat.KIND_HOUSEHOLD_TABLE:
        return _table_amount(b, mi, income, counts[0], params, param_len)
    if on_advance is not None and kind == cat.KIND_MAINTENANCE_ADVANCE:  # before the title gate of compute_due
        return advances.advance_reference_amount(m, mi, b, person32[person, P_BIRTH_MONTH], income, counts[0],
                                                 params, param_len)
    if on_category is not None:
        return _category_amount(b, mi, income, counts, params)
    return 0


@helper
def _flat_amount(b, mi, person_flags, params):
    """The flat amount, x disabled_multiplier_bp for a disabled beneficiary when the benefit has one."""
    assert b >= 0
    assert mi >= 0
    amount = params[b, mi, _P_AMOUNT]
    multiplier = params[b, mi, _P_DISABLED_MULT]
    if multiplier > 0 and person_flags & FLAG_DISABLED:
        return div_half_up(amount * multiplier, 10_000)
    return amount


@helper
def _subgroup_supplement(b, mi, subgroup, params, param_len):
    """supplement_by_subgroup[subgroup] (1 = A, 2 = B) when the version has a subgroup and the benefit the list."""
    assert b >= 0 and mi >= 0
    assert subgroup >= 0
    if subgroup == 0 or param_len[b, _P_SUBGROUP_SUP] == 0:
        return 0
    return _pick(params, b, mi, _P_SUBGROUP_SUP, subgroup, param_len[b, _P_SUBGROUP_SUP])


@helper
def _issue17_amount(m, mi, b, kind, h, person, income, other, child_years, young_years, counts, params, param_len,
                    member32, member_offsets, person32, fact_offsets, fact64, on_member, on_housing, on_wage, on_top_up,
                    on_reference):
    """The formula kinds of issue 17 (see the module docstring). Inlined by LLVM, like _household_amount, and
    cut to the kinds of the catalogue the same way (on_*)."""
    assert mi >= 0 and h >= -1
    assert counts.shape[0] == COUNTS_SLOTS
    if on_top_up is not None and kind == cat.KIND_TOP_UP:
        return max(0, params[b, mi, _P_CEILING] - other)
    if on_wage is not None and kind == cat.KIND_WAGE:
        base = _fact_value(member_offsets.shape[0] + person, m, fact_offsets, fact64)
        return _NO_BASE if base < 0 else _wage_amount(b, mi, base, params)
    if on_member is not None and kind == cat.KIND_PER_MEMBER:
        return _per_member_amount(h, person, m, b, mi, child_years, params, member32, member_offsets, person32)
    if on_housing is None and on_reference is None:
        return 0
    n_members = _member_counts(h, person, m, child_years, young_years, 0, member32, member_offsets, person32,
                               counts)
    if n_members == 0:
        return 0
    if on_housing is not None and kind == cat.KIND_HOUSING:
        cost = _fact_value(h, m, fact_offsets, fact64) if h >= 0 else -1
        return _NO_BASE if cost < 0 else housing_subsidy(cost, income, n_members, params[b, mi, _P_SUB_PERSON],
                                                         params[b, mi, _P_SHARE_COEFF])
    if on_reference is not None:
        return _child_reference_amount(h, person, m, b, mi, n_members, income, child_years, young_years, params,
                                       param_len, member32, member_offsets, person32)
    return 0


@helper
def _wage_amount(b, mi, base, params):
    """round(base x replacement), at least the floor and at most the ceiling when the benefit gives them."""
    assert base >= 0
    assert b >= 0 and mi >= 0
    amount = div_half_up(base * params[b, mi, _P_REPLACEMENT], 10_000)
    amount = max(amount, params[b, mi, _P_FLOOR_AMOUNT])
    ceiling = params[b, mi, _P_CEILING]
    return min(amount, ceiling) if ceiling > 0 else amount


@helper
def housing_subsidy(cost, income, n_members, subsistence_per_person, coefficient_bp):
    """max(0, cost - mandatory payment): share_bp = round(income x coefficient / (2 x n x subsistence)), the
    payment round(income x share_bp / 10_000). Exact in int64 for amounts within AMOUNT_MINOR_MAX."""
    assert n_members > 0 and subsistence_per_person > 0
    assert cost >= 0 and income >= 0
    share_bp = div_half_up(income * coefficient_bp, 2 * n_members * subsistence_per_person)
    if share_bp > 0 and income >= ((cost + 1) * 10_000 + share_bp - 1) // share_bp:
        return 0  # the payment is more than the cost (and income x share_bp might not fit int64)
    return max(0, cost - div_half_up(income * share_bp, 10_000))


@helper
def _per_member_amount(h, person, m, b, mi, child_years, params, member32, member_offsets, person32):
    """Sum over the members present (the beneficiary alone without a household) of the rate of their category."""
    assert b >= 0 and mi >= 0
    assert child_years >= 0
    adult, child_or_disabled = params[b, mi, _P_ADULT], params[b, mi, _P_CHILD_OR_DISABLED]
    if h < 0:
        is_child = m <= person32[person, P_BIRTH_MONTH] + 12 * child_years
        return child_or_disabled if is_child or person32[person, P_FLAGS] & FLAG_DISABLED else adult
    total, previous = 0, -1
    for j in range(member_offsets[h], member_offsets[h + 1]):
        p = member32[j, M_PERSON]
        if p == previous or not _member_present(j, m, member32, person32):
            continue
        previous = p
        is_child = m <= person32[p, P_BIRTH_MONTH] + 12 * child_years
        total += child_or_disabled if is_child or person32[p, P_FLAGS] & FLAG_DISABLED else adult
    return total


@helper
def _child_reference_amount(h, person, m, b, mi, n_members, income, child_years, young_years, params, param_len,
                            member32, member_offsets, person32):
    """Sum over the children present of their age band's reference (x the multiplier of their order) minus the
    per-capita income (at least the floor), in exact fractions of n_members x 10_000, rounded once."""
    assert n_members > 0
    assert b >= 0 and mi >= 0
    floor_bp = params[b, mi, _P_FLOOR_BP]
    multipliers = param_len[b, _P_ORDER_MULT]
    numerator, previous, order = 0, -1, 0
    for j in range(member_offsets[h] if h >= 0 else 0, member_offsets[h + 1] if h >= 0 else 1):
        p = member32[j, M_PERSON] if h >= 0 else person
        if p == previous or (h >= 0 and not _member_present(j, m, member32, person32)):
            continue
        previous = p
        birth_month = person32[p, P_BIRTH_MONTH]
        if m > birth_month + 12 * child_years:
            continue
        reference = params[b, mi, _P_SUB_YOUNG] if m <= birth_month + 12 * young_years else params[b, mi, _P_SUB_CHILD]
        order += 1
        multiplier = _pick(params, b, mi, _P_ORDER_MULT, order, multipliers) if multipliers > 0 else 0
        multiplier = multiplier if multiplier > 0 else 10_000  # 0: not in force that month (the loader refuses 0)
        numerator += multiple_minus_per_capita_numerator(reference, multiplier, n_members, income, floor_bp)
    return div_half_up(numerator, n_members * 10_000)


@kernel
def reference_minus_per_capita(reference, n_members, income, floor_bp):
    """One child's amount: max(reference - income / n_members, reference x floor_bp / 10_000, 0), rounded once."""
    assert n_members > 0
    assert reference >= 0
    return div_half_up(reference_minus_per_capita_numerator(reference, n_members, income, floor_bp),
                       n_members * 10_000)


@helper
def _anchor_month(v_begin, v_end, ver32, decided_limit_day):
    """Earliest valid_from month among the versions decided by the limit day (NO_MONTH if none)."""
    assert v_begin <= v_end
    assert decided_limit_day >= 0
    anchor = NO_MONTH
    for v in range(v_begin, v_end):
        if ver32[v, V_DECIDED_DAY] <= decided_limit_day:
            anchor = min(anchor, ver32[v, V_FROM_MONTH])
    return anchor


@helper
def _winning_version(v_begin, v_end, m, ver32, decided_limit_day):
    """Version touching month m with the latest valid_from (rows are sorted by valid_from, version): -1 if none."""
    assert v_begin <= v_end
    assert m >= 0
    winner = -1
    for v in range(v_begin, v_end):
        if ver32[v, V_DECIDED_DAY] <= decided_limit_day and ver32[v, V_FROM_MONTH] <= m <= ver32[v, V_TO_MONTH]:
            winner = v
    return winner


@helper
def _month_due(r, m, b, k, anchor, decided_limit_day, counts, version_offsets, ver32, ver64, person32, member32,
               member_offsets, first_month, binfo, params, param_len, defined, link_offsets, link32, source_minor,
               fact_offsets, fact64, kinds, scheduled_gate, rate_days_gate, days_gate):
    """Amount due for right r in month m; _MISSING when the benefit has no parameter in force that month,
    _LATE_CLAIM / _NO_FAMILY for a one-off refused for that reason, _NO_BASE without the register amount read.
    The gates (`kind_gates`) are chunk_due_kernel's arguments: a None one cuts its formulas from the kernel."""
    assert r >= 0 and m >= 0
    assert version_offsets[r] <= version_offsets[r + 1]
    v = _winning_version(version_offsets[r], version_offsets[r + 1], m, ver32, decided_limit_day)
    if v < 0:
        return 0
    person = ver32[v, V_PERSON]
    stops_on_death = binfo[b, _S_STOPS] != 0
    if stops_on_death and m > person32[person, P_DEATH_MONTH]:
        return 0
    birth_month = person32[person, P_BIRTH_MONTH]
    if binfo[b, _S_AGE_MIN] > 0 and m < birth_month + 12 * binfo[b, _S_AGE_MIN]:
        return 0
    if binfo[b, _S_AGE_MAX] > 0 and m > birth_month + 12 * binfo[b, _S_AGE_MAX]:
        return 0
    if scheduled_gate is not None and (k == cat.KIND_LUMP_SUM or k == cat.KIND_ONE_OFF):
        return _scheduled_amount(m, anchor, b, v, k, first_month, binfo, params, param_len, defined, ver32, ver64,
                                 source_minor, birth_month)
    if rate_days_gate is not None and k == cat.KIND_RATE_DAYS:
        return _rate_days_amount(m, anchor, b, version_offsets[r], version_offsets[r + 1], first_month,
                                 decided_limit_day, ver32, params, defined)
    mi = m - first_month
    if mi < 0 or mi >= defined.shape[1] or not defined[b, mi]:
        return _MISSING
    return _policy_amount(r, v, m, mi, b, k, decided_limit_day, stops_on_death, counts, version_offsets, ver32,
                          ver64, person32, member32, member_offsets, binfo, params, param_len, link_offsets,
                          link32, fact_offsets, fact64, kinds, days_gate)


@helper
def _policy_amount(r, v, m, mi, b, k, decided_limit_day, stops_on_death, counts, version_offsets, ver32, ver64,
                   person32, member32, member_offsets, binfo, params, param_len, link_offsets, link32, fact_offsets,
                   fact64, kinds, days_gate):
    """Whole months: the full amount of the winning version v. Days policy: sum over the versions touching the
    month of full amount x days paid, / days, rounded once (_NO_BASE for the whole month when a version paying
    days in it lacks its register amount). One loop, so the formulas (_version_amount) are inlined only once:
    each inlined copy costs seconds of the first compile; days_gate None (no benefit on the days policy) cuts
    the days code."""
    assert r >= 0 and mi >= 0
    assert version_offsets[r] <= v < version_offsets[r + 1]
    prorate = days_gate is not None and binfo[b, B_PRORATE] != 0
    begin, end = (version_offsets[r], version_offsets[r + 1]) if prorate else (v, v + 1)
    first_day, next_first_day, numerator, days = 0, 0, 0, 0
    if prorate:
        first_day, next_first_day = month_first_day(m), month_first_day(m + 1)
    for w in range(begin, end):
        if days_gate is not None and prorate:
            if ver32[w, V_DECIDED_DAY] > decided_limit_day or not ver32[w, V_FROM_MONTH] <= m <= ver32[w, V_TO_MONTH]:
                continue
            last_day = min(ver32[w, V_TO_DAY], next_first_day - 1)
            if stops_on_death:
                last_day = min(last_day, person32[ver32[w, V_PERSON], P_DEATH_DAY])
            days = last_day - max(ver32[w, V_FROM_DAY], first_day) + 1
            if days <= 0:
                continue
        full = _version_amount(w, m, mi, b, k, decided_limit_day, counts, binfo, params, param_len, ver32, ver64,
                               member32, member_offsets, person32, link_offsets, link32, fact_offsets, fact64, kinds)
        if not prorate or full == _NO_BASE:
            return full
        numerator += full * days
    return div_half_up(numerator, next_first_day - first_day)


@helper
def _year_limited(r, m, b, amount, paid_in_year, first_month, params, version_offsets, ver32, decided_limit_day):
    """A work-able household gets at most max_months_per_year paid months per calendar year: 0 past it."""
    assert amount > 0
    assert paid_in_year >= 0
    limit = params[b, m - first_month, _P_MAX_MONTHS]
    v = _winning_version(version_offsets[r], version_offsets[r + 1], m, ver32, decided_limit_day)
    if limit > 0 and not (ver32[v, V_FLAGS] & FLAG_UNABLE) and paid_in_year >= limit:
        return 0
    return amount


# ---- one right of a household formula, all its months in one pass -------------------------------------------

@helper
def _active_months(v, b, decided_limit_day, period, binfo, ver32, person32):
    """(first, last) month in which the single version v of a right pays by its dates, the beneficiary's death and
    the benefit's age limits: _month_due's checks before the formula, as one interval (empty when v is decided
    after the limit day)."""
    assert v >= 0
    assert decided_limit_day >= 0
    person = ver32[v, V_PERSON]
    birth_month = np.int64(person32[person, P_BIRTH_MONTH])
    first, last = np.int64(ver32[v, V_FROM_MONTH]), min(np.int64(ver32[v, V_TO_MONTH]), period)
    if binfo[b, _S_STOPS] != 0:
        last = min(last, np.int64(person32[person, P_DEATH_MONTH]))
    if binfo[b, _S_AGE_MIN] > 0:
        first = max(first, birth_month + 12 * binfo[b, _S_AGE_MIN])
    if binfo[b, _S_AGE_MAX] > 0:
        last = min(last, birth_month + 12 * binfo[b, _S_AGE_MAX])
    if ver32[v, V_DECIDED_DAY] > decided_limit_day:
        return np.int64(0), np.int64(-1)
    return first, last


@helper
def _days_share(v, m, full, stops_on_death, ver32, person32):
    """_policy_amount's days policy for a single version v in month m: full x days paid / days in month, rounded
    once (0 without a day paid)."""
    assert v >= 0 and m >= 0
    assert full >= 0
    first_day, to_day = month_first_day(m), np.int64(ver32[v, V_TO_DAY])
    if stops_on_death:
        to_day = min(to_day, np.int64(person32[ver32[v, V_PERSON], P_DEATH_DAY]))
    if ver32[v, V_FROM_DAY] <= first_day and to_day >= first_day + 30:
        return full  # every day of the month (it has 31 at most): the common first month, without a division
    next_first_day = month_first_day(m + 1)
    days = min(to_day, next_first_day - 1) - max(ver32[v, V_FROM_DAY], first_day) + 1
    if days <= 0:
        return 0
    return div_half_up(full * days, next_first_day - first_day)


@helper
def _one_pass_versions(v_begin, v_end, k, ver32):
    """_household_right serves a right's versions v_begin..v_end-1 (a household formula's), each over its own months:
    one version with a household, or (but for the equivalence scale, whose months-per-year limit counts across
    versions) several with households, each ending in a month before the next one's first (UA_DSD's award and its
    renewal). No month is touched by two versions, so each month's winner is the one version touching it, and a
    version decided after the limit day pays nothing in its months whichever way the right is computed."""
    assert v_begin < v_end
    assert ver32.shape[1] > V_TO_MONTH
    if ver32[v_begin, V_HOUSEHOLD] < 0:
        return False
    if v_end - v_begin == 1:
        return True
    if k == cat.KIND_EQUIVALENCE:
        return False
    for v in range(v_begin, v_end):  # each with a household and a month of its own, after the one before
        if ver32[v, V_HOUSEHOLD] < 0 or ver32[v, V_FROM_MONTH] > ver32[v, V_TO_MONTH] or (
                v > v_begin and ver32[v, V_FROM_MONTH] <= ver32[v - 1, V_TO_MONTH]):
            return False
    return True


@helper
def _household_right(r, v, k, b, start, period, cell0, decided_limit_day, counts, ver32, ver64, person32, member32,
                     member_offsets, first_month, binfo, params, param_len, defined, param_runs, out_due,
                     out_missing, on_table, on_scale, on_category, days_gate):
    """Right r's cells of months start..period, whose one version touching them (_one_pass_versions) is v, with a
    household formula (table, equivalence scale, category sum): the month loop's cells, with the checks that do not
    change from month to month made once and the members counted again only where the counts may change (their
    valid months, as _member_counts and _scale_members keep them). Days policy: only the months of the version's
    first and last day and of the death can pay fewer days (_days_share); in the others full x days / days = full.
    param_runs[b, mi]: the last month index through which the benefit's parameters are those of month mi, so with
    the same counts the formula gives the same amount."""
    assert v >= 0 and ver32[v, V_HOUSEHOLD] >= 0
    assert k == cat.KIND_HOUSEHOLD_TABLE or k == cat.KIND_EQUIVALENCE or k == cat.KIND_CATEGORY_SUM
    h, flags, income = ver32[v, V_HOUSEHOLD], ver32[v, V_FLAGS], ver64[v, V_INCOME]
    first, last = _active_months(v, b, decided_limit_day, period, binfo, ver32, person32)
    limit_months = on_scale is not None and k == cat.KIND_EQUIVALENCE
    work_able = not (flags & FLAG_UNABLE)
    n_defined = defined.shape[1]
    prorate = days_gate is not None and binfo[b, B_PRORATE] != 0
    stops_on_death = binfo[b, _S_STOPS] != 0
    death_month = person32[ver32[v, V_PERSON], P_DEATH_MONTH] if stops_on_death else NO_MONTH
    # the months outside [first, last] pay nothing; the loop below writes every month inside them
    _zero_cells(start, min(period, first - 1), start, cell0, out_due)
    _zero_cells(max(start, last + 1), period, start, cell0, out_due)
    # counts hold through month counted_to; full: the formula's amount in months m..reuse_to (the counts and the
    # parameters of every such month are those it was computed with)
    counted_to, reuse_to, paid_in_year, full = np.int64(-1), np.int64(-1), 0, np.int64(0)
    # the months before `first` pay nothing (their cells are filled); the months-per-year limit counts from January
    m = max(first, start - (start % 12) if limit_months else start)
    while m <= last:
        if m % 12 == 0:
            paid_in_year = 0
        mi = m - first_month
        if m > reuse_to:
            if mi < 0 or mi >= n_defined or not defined[b, mi]:
                if m >= start:
                    out_missing[cell0 + m - start] = True
                    out_due[cell0 + m - start] = 0
                m += 1
                continue
            full, counted_to = _household_formula(m, mi, k, b, h, ver32[v, V_PERSON], flags, income, counted_to,
                                                  counts, binfo, params, param_len, member32, member_offsets,
                                                  person32, on_table, on_scale, on_category)
            reuse_to = min(counted_to, first_month + param_runs[b, mi])
        if not prorate and not limit_months:  # every month up to reuse_to is due the same full amount
            end = min(reuse_to, last)
            for cell in range(cell0 + m - start, cell0 + end - start + 1):
                out_due[cell] = full
            m = end + 1
            continue
        from_month, to_month = np.int64(ver32[v, V_FROM_MONTH]), np.int64(ver32[v, V_TO_MONTH])
        if prorate and (m == from_month or m == to_month or m == death_month):
            amount = _days_share(v, m, full, stops_on_death, ver32, person32)  # the days policy's own months
            if limit_months and amount > 0:
                limit = params[b, mi, _P_MAX_MONTHS]
                if limit > 0 and work_able and paid_in_year >= limit:
                    amount = 0
                paid_in_year += amount > 0
            if m >= start:
                out_due[cell0 + m - start] = amount
            m += 1
            continue
        end = min(reuse_to, last, m - m % 12 + 11)  # one calendar year, the counts and parameters held
        if prorate:  # and no month of the days policy's own
            for edge in (from_month, to_month, np.int64(death_month)):
                if m < edge <= end:
                    end = edge - 1
        paid_in_year = _whole_months(m, end, start, cell0, full, paid_in_year,
                                     max(0, params[b, mi, _P_MAX_MONTHS]) if limit_months and work_able else 0,
                                     out_due)
        m = end + 1


@helper
def _whole_months(m, end, start, cell0, full, paid_in_year, limit, out_due):
    """_household_right's months m..end of one calendar year, every day of each paid, each due `full`: the months-
    per-year `limit` (0: none) leaves the first of them paid until paid_in_year reaches it and the others 0, as the
    month-by-month loop does. Writes the cells of the months from `start`; returns paid_in_year after `end`."""
    assert m <= end and end - m < 12
    assert paid_in_year >= 0 and limit >= 0
    paying = end - m + 1
    if full > 0:
        if limit > 0:
            paying = min(paying, max(0, limit - paid_in_year))
        paid_in_year += paying
    for month in range(max(m, start), end + 1):
        out_due[cell0 + month - start] = full if month < m + paying else 0
    return paid_in_year


@helper
def _household_formula(m, mi, k, b, h, person, flags, income, counted_to, counts, binfo, params, param_len, member32,
                       member_offsets, person32, on_table, on_scale, on_category):
    """(full-month amount of a household formula in month m, the last month its member counts hold): the members
    are counted again when m is past counted_to (or, for the equivalence scale, the cap on members changed)."""
    assert h >= 0 and mi >= 0
    assert counts.shape[0] == COUNTS_SLOTS
    child_years = binfo[b, _S_CHILD_AGE]
    if on_scale is not None and k == cat.KIND_EQUIVALENCE:
        cap = params[b, mi, _P_MAX_MEMBERS]
        if m > counted_to or counts[_S_CAP] != cap or counts[_S_HOUSEHOLD] != h:
            _scale_members(h, m, child_years, cap, member32, member_offsets, person32, counts)
            counted_to = counts[_S_LAST_MONTH]
        return _scaled_minus_income(b, mi, flags, income, _members_scale_bp(b, mi, counts, params), params), counted_to
    if on_table is not None and k == cat.KIND_HOUSEHOLD_TABLE:  # the number of members alone
        if m > counted_to:
            counts[0], counted_to = _count_present(h, m, member32, member_offsets, person32)
            counts[_C_HOUSEHOLD] = -1  # counts[1:5] are not this household's: _member_counts must not reuse them
        return _table_amount(b, mi, income, counts[0], params, param_len), counted_to
    if m > counted_to:
        _member_counts(h, person, m, child_years, binfo[b, _S_YOUNG_AGE], binfo[b, _S_LOST_AGE], member32,
                       member_offsets, person32, counts)
        counted_to = counts[_C_LAST_MONTH]
    if on_category is not None:
        return _category_amount(b, mi, income, counts, params), counted_to
    return np.int64(0), counted_to


@helper
def _zero_cells(low, high, start, cell0, out_due):
    """The cells of months low..high (none when high < low) of a right whose cells start at month `start` as due 0
    (rule_missing and reason are zeros already)."""
    assert low >= start
    assert cell0 >= 0
    for m in range(low, high + 1):
        out_due[cell0 + m - start] = 0


# ---- the kernel ----------------------------------------------------------------------------------------------

# a right of one version with a household formula: all its months in one pass (_household_right); False: month by
# month like every other right (tests compare the two)
ONE_PASS_HOUSEHOLDS = True
CHUNK_RIGHTS = 4096  # rights per parallel task at least: large enough to amortise scheduling, small enough to balance
CHUNKS_PER_THREAD = 8  # at most this many tasks per thread: a call of the chunk kernel unboxes 29 arguments
COUNTS_PAD = 8  # int64 slots either side of a chunk's counts: 64 bytes, a cache line


_GATES_LOADED: set = set()  # the kind_gates whose chunk kernel this process compiled or loaded (due_kernel)


def due_kernel(window_start, period, out_offsets, decided_limit_day, version_offsets, right_benefit, ver32, ver64,
               person32, member32, member_offsets, first_month, binfo, params, param_len, defined, link_offsets,
               link32, right_source, out_due, out_missing, out_reason, fact_offsets, fact64):
    """Fill the cells of every right r and month in [window_start[r], period]: chunks of rights on
    numba.get_num_threads() threads. chunk_due_kernel releases the GIL and each chunk writes only its own cells, so
    the result does not depend on the threads. A pool of Python threads rather than prange: the parfor machinery
    added ~4 s to the first compile, and the chunk kernel runs without NRT reference counting."""
    n_rights = window_start.shape[0]
    assert out_offsets.shape[0] == n_rights + 1 and version_offsets.shape[0] == n_rights + 1
    assert out_due.shape[0] == out_offsets[n_rights] and out_missing.shape[0] == out_due.shape[0]
    assert right_source.shape[0] == n_rights and out_reason.shape[0] == out_due.shape[0]
    threads = max(1, numba.get_num_threads())
    size = max(CHUNK_RIGHTS, -(-n_rights // (threads * CHUNKS_PER_THREAD)))
    begins = range(0, max(n_rights, 1), size)
    # counts of the household formulas, a row a chunk, COUNTS_PAD slots apart: chunks that run at once on two threads
    # rewrite their counts for every right, and rows on one cache line would pass that line between the cores
    padded = np.zeros((len(begins), COUNTS_PAD + COUNTS_SLOTS + COUNTS_PAD), dtype=np.int64)
    scratch = padded[:, COUNTS_PAD:COUNTS_PAD + COUNTS_SLOTS]
    scratch[:, _C_HOUSEHOLD] = scratch[:, _S_HOUSEHOLD] = -1  # no counts to reuse yet
    gates = kind_gates(binfo[:, B_KIND], binfo[:, B_PRORATE])
    param_runs = parameter_runs(params, defined)

    def arguments(i: int) -> tuple:
        return (begins[i], min(n_rights, begins[i] + size), scratch[i], period, window_start, out_offsets,
                decided_limit_day, version_offsets, right_benefit, ver32, ver64, person32, member32, member_offsets,
                first_month, binfo, params, param_len, defined, param_runs, link_offsets, link32, right_source,
                out_due, out_missing, out_reason, fact_offsets, fact64) + gate_arguments(gates)

    def chunk(i: int) -> None:
        chunk_due_kernel(*arguments(i))
    if gates not in _GATES_LOADED:
        # a first call waits for a background process compiling this specialisation (payroll.warmup), then loads it;
        # once per catalogue's gates: typing the arguments costs about a millisecond, more than a small register
        jit.compile_for_arguments(chunk_due_kernel, arguments(0))
        _GATES_LOADED.add(gates)
    if threads == 1 or len(begins) == 1:
        for i in range(len(begins)):
            chunk(i)
        return
    list(_chunk_pool(threads).map(chunk, range(len(begins))))  # list(): a kernel's exception is raised here


_POOL_LOCK = threading.Lock()
_POOLS: dict = {}  # (process id, thread count) -> the pool


def _chunk_pool(threads: int) -> ThreadPoolExecutor:
    """The process's pool of `threads` worker threads for due_kernel's chunks, made on first use and kept: starting
    threads on every call cost a millisecond or more on a loaded machine. One pool per thread count, never shut
    down while a caller may still use it (two threads asking for different counts each keep theirs); a forked child
    makes its own (it does not inherit the parent's threads)."""
    with _POOL_LOCK:
        key = (os.getpid(), threads)
        if key not in _POOLS:
            _POOLS[key] = ThreadPoolExecutor(threads, thread_name_prefix="isplata-due")
        return _POOLS[key]


@kernel(_nrt=False)
def chunk_due_kernel(r_begin, r_end, counts, period, window_start, out_offsets, decided_limit_day, version_offsets,
                     right_benefit, ver32, ver64, person32, member32, member_offsets, first_month, binfo, params,
                     param_len, defined, param_runs, link_offsets, link32, right_source, out_due, out_missing,
                     out_reason, fact_offsets, fact64, kinds, scheduled_gate, rate_days_gate, days_gate, scale_gate,
                     table_gate, category_gate, one_pass):
    """Rights r_begin..r_end-1, one after the other. Compiled without NRT (_nrt=False): it allocates nothing (the
    counts scratch comes from the caller), and the atomic reference counts of every array handed to the inlined
    helpers took ~70 % of its time. scale_gate: kinds' gate of the equivalence scale again, as an argument of its own
    (Numba prunes a branch on an argument, not on a tuple's item), so its months-per-year limit compiles only for a
    catalogue with that kind; table_gate and category_gate likewise for _household_right, which one_pass (None:
    ONE_PASS_HOUSEHOLDS off) lets serve the rights of a household formula whose versions each have months of their
    own (_one_pass_versions)."""
    assert 0 <= r_begin <= r_end <= window_start.shape[0]
    assert out_missing.shape[0] == out_due.shape[0] and out_reason.shape[0] == out_due.shape[0]
    # the loop over one right's months is written here, not in an inlined helper: Numba copies an inlined callee's
    # IR block by block with its whole scope, and this one held every formula (seconds of the first compile)
    for r in range(r_begin, r_end):
        start, cell0, source_minor = window_start[r], out_offsets[r], right_source[r]
        b = right_benefit[r]
        k = binfo[b, B_KIND]
        household_kind = one_pass is not None and ((table_gate is not None and k == cat.KIND_HOUSEHOLD_TABLE)
                                                   or (scale_gate is not None and k == cat.KIND_EQUIVALENCE)
                                                   or (category_gate is not None and k == cat.KIND_CATEGORY_SUM))
        if household_kind and _one_pass_versions(version_offsets[r], version_offsets[r + 1], k, ver32):
            for v in range(version_offsets[r], version_offsets[r + 1]):  # each its own months (disjoint)
                low = start if v == version_offsets[r] else max(start, np.int64(ver32[v, V_FROM_MONTH]))
                high = period if v == version_offsets[r + 1] - 1 else min(period, ver32[v + 1, V_FROM_MONTH] - 1)
                if low <= high:
                    _household_right(r, v, k, b, low, high, cell0 + low - start, decided_limit_day, counts, ver32,
                                     ver64, person32, member32, member_offsets, first_month, binfo, params, param_len,
                                     defined, param_runs, out_due, out_missing, table_gate, scale_gate, category_gate,
                                     days_gate)
            continue
        anchor = _anchor_month(version_offsets[r], version_offsets[r + 1], ver32, decided_limit_day)
        limit_months = k == cat.KIND_EQUIVALENCE  # the months-per-year limit counts from January
        paid_in_year = 0
        for m in range(start - (start % 12) if limit_months else start, period + 1):
            if m % 12 == 0:
                paid_in_year = 0
            amount = _month_due(r, m, b, k, anchor, decided_limit_day, counts, version_offsets, ver32, ver64,
                                person32, member32, member_offsets, first_month, binfo, params, param_len, defined,
                                link_offsets, link32, source_minor, fact_offsets, fact64, kinds, scheduled_gate,
                                rate_days_gate, days_gate)
            missing = amount == _MISSING
            reason = REASON_LATE_CLAIM if amount == _LATE_CLAIM else REASON_NO_FAMILY_BENEFIT \
                if amount == _NO_FAMILY else REASON_NO_BASE if amount == _NO_BASE else REASON_NONE
            if amount < 0:
                amount = 0
            if scale_gate is not None and limit_months and amount > 0:
                amount = _year_limited(r, m, b, amount, paid_in_year, first_month, params, version_offsets, ver32,
                                       decided_limit_day)
                paid_in_year += amount > 0
            if m >= start:
                cell = cell0 + m - start
                out_due[cell] = amount
                if missing:  # zeros already: a page never written is never cleared (DueCells)
                    out_missing[cell] = True
                if reason != REASON_NONE:
                    out_reason[cell] = reason


def parameter_runs(params: np.ndarray, defined: np.ndarray) -> np.ndarray:
    """int64[B, M]: for a month index mi whose benefit b has parameters in force, the last month index through which
    every month has them in force with the same values as mi (mi itself at least); mi - 1 where none is in force."""
    n_benefits, n_months = defined.shape
    same = np.zeros(defined.shape, dtype=np.bool_)  # month mi has month mi - 1's parameters, both in force
    if n_months > 1:
        same[:, 1:] = (params[:, 1:] == params[:, :-1]).all(axis=2) & defined[:, 1:] & defined[:, :-1]
    index = np.arange(n_months, dtype=np.int64)
    breaks = np.where(same, n_months, index)  # month mi starts a run
    runs = np.full((n_benefits, n_months), n_months - 1, dtype=np.int64)
    if n_months > 1:  # the month before the next start of a run
        runs[:, :-1] = np.minimum.accumulate(breaks[:, :0:-1], axis=1)[:, ::-1] - 1
    return np.where(defined, runs, index - 1)


def kind_gates(kind: np.ndarray, prorate_days: np.ndarray) -> tuple:
    """The gates of a catalogue whose benefits have these kinds (indexes into engine.catalogue.KINDS) and proration
    flags: a tuple with one gate per formula kind, then the gates of lump sums and one-offs, of
    monthly_rate_times_days and of the days policy. A gate is 1 when the catalogue uses it and None otherwise:
    the kernel's code for a None gate is dropped before Numba compiles it (dead branch pruning on a None-typed
    argument), so a catalogue compiles, and caches on disk under its own signature, only the formulas it uses (a
    cold start compiles a third to half of the kernel)."""
    used = set(int(k) for k in kind)
    kinds = tuple(1 if k in used else None for k in range(len(cat.KINDS)))
    prorate = bool(np.any(prorate_days))
    scheduled = cat.KIND_LUMP_SUM in used or cat.KIND_ONE_OFF in used
    return kinds, 1 if scheduled else None, 1 if cat.KIND_RATE_DAYS in used else None, 1 if prorate else None


def gate_arguments(gates: tuple) -> tuple:
    """chunk_due_kernel's last arguments for a catalogue's kind_gates: the gates, those of the equivalence scale,
    the household table and the category sum again (Numba prunes a branch on an argument, not on a tuple's item),
    and the one-pass households' gate (ONE_PASS_HOUSEHOLDS)."""
    kinds = gates[0]
    return (*gates, kinds[cat.KIND_EQUIVALENCE], kinds[cat.KIND_HOUSEHOLD_TABLE], kinds[cat.KIND_CATEGORY_SUM],
            1 if ONE_PASS_HOUSEHOLDS else None)


def chunk_due_signature(gates: tuple) -> tuple:
    """The argument types compute_due calls chunk_due_kernel with for a catalogue whose kind_gates are `gates`:
    the specialisation a background process compiles as soon as the command knows its catalogue
    (payroll.warmup), while the command reads and checks the register. tests/engine/test_kind_gates.py checks
    that compute_due calls exactly this one."""
    def array(dtype, ndim: int):
        return types.Array(dtype, ndim, "C")

    def gate(value):
        return types.none if value is None else types.int64
    i64, i32 = types.int64, types.int32
    return (i64, i64, array(i64, 1), i64, array(i32, 1), array(i64, 1), i64, array(i64, 1), array(types.int16, 1),
            array(i32, 2), array(i64, 2), array(i32, 2), array(i32, 2), array(i64, 1), i64, array(i32, 2),
            array(i64, 3), array(i32, 2), array(types.boolean, 2), array(i64, 2), array(i64, 1), array(i32, 2),
            array(i64, 1), array(i64, 1), array(types.boolean, 1), array(types.int8, 1), array(i64, 1), array(i64, 2),
            types.Tuple(tuple(gate(g) for g in gates[0]))) + tuple(gate(g) for g in gate_arguments(gates)[1:])


def compile_chunk_kernel(gates: tuple) -> None:
    """Compile (or load from the cache) chunk_due_kernel for a catalogue's kind_gates (payroll.warmup)."""
    jit.compile_signature(chunk_due_kernel, chunk_due_signature(gates))


# ---- entry points ------------------------------------------------------------------------------------------

def compute_due(arrays: RegisterArrays, compiled: cat.CompiledCatalogue, period: int,
                window_start: np.ndarray | int | None = None, packed: PackedRegister | None = None,
                decided_by_day: int | None = None) -> DueCells:
    """Due amounts for every right over [window_start[r], period] (all cells, zeros included).

    window_start: per-right array from `window_starts`, one month for all rights (mass recalculation), or
    None for the period alone. Versions decided after `decided_by_day` (days since 1970-01-01; default and
    at most: the last day of `period`) are ignored, so a caller can ask what was due as decided by an earlier
    day (e.g. what a legacy system paid before a migration). `packed`
    (pack_register(arrays)) saves the packing when `arrays.packed` is empty and the register is computed
    more than once.
    """
    n_rights = arrays.n_rights
    starts = _starts_array(window_start, period, n_rights)
    _check_compiled_range(compiled, starts, period)
    assert arrays.benefit_codes == compiled.codes, "register arrays and catalogue disagree on benefit order"
    packed = packed if packed is not None else arrays.packed if arrays.packed is not None else pack_register(arrays)
    # read-only inputs (Arrow buffers) work, but would compile a second specialisation: copy the small ones
    version_offsets, right_benefit, member_offsets = (
        x if x.flags.writeable else x.copy()
        for x in (arrays.version_offsets, arrays.right_benefit, arrays.member_offsets))
    binfo = np.column_stack([compiled.settings, compiled.kind, compiled.prorate_days]).astype(np.int32)
    period_end_day = month_first_day(period + 1) - 1
    limit_day = period_end_day if decided_by_day is None else min(int(decided_by_day), period_end_day)
    assert limit_day >= 0, limit_day
    present = benefits_present(arrays.right_benefit, len(compiled.codes))
    links = special_rate_links(arrays, compiled, packed, present)
    fact_offsets, fact64 = fact_arrays(arrays)

    def run(window: np.ndarray, right_source: np.ndarray) -> DueCells:
        lengths = (period - window + 1).astype(np.int64)
        offsets = np.empty(n_rights + 1, dtype=np.int64)
        offsets[0] = 0
        np.cumsum(lengths, out=offsets[1:])
        n_cells = int(offsets[-1])
        # rule_missing and reason are mostly zeros: the kernel writes the others, on the few pages they fall on
        due, missing = np.empty(n_cells, dtype=np.int64), untouched_zeros(n_cells, np.bool_)
        reason = untouched_zeros(n_cells, np.int8)
        due_kernel(window, period, offsets, limit_day, version_offsets, right_benefit, packed.ver32, packed.ver64,
                   packed.person32, packed.member32, member_offsets, compiled.first_month, binfo, compiled.params,
                   compiled.param_len, compiled.defined, links[0], links[1], right_source, due, missing, reason,
                   fact_offsets, fact64)
        cells = DueCells(None, None, due, missing, offsets, reason, starts=window)
        if (advances.advance_benefits(compiled.kind) & present).any():  # no title, no advance
            advances.gate_by_titles(arrays, compiled, due, cells.right_index, cells.month, limit_day)
        return cells

    # the kernel reads every right's source: zeros written here (recycled memory, no system call), not a fresh map
    # whose every page the kernel's reads would fault in one by one (~200 faults a call at 100 k rights)
    no_source = np.zeros(n_rights, np.int64)
    if not (compiled.settings[:, cat.SET_MULTIPLE_OF][present] > 0).any():  # no right of a multiple of a benefit
        return run(starts, no_source)
    return run(starts, family_sources(arrays, compiled, period, starts, packed, limit_day, run, no_source))


def benefits_present(right_benefit: np.ndarray, n_benefits: int) -> np.ndarray:
    """bool[B]: some right is of benefit b. One benefit throughout (a register of one benefit) needs only min and
    max, the Python steps around the kernel ask this of every catalogue-wide list (special rates, multiples,
    maintenance titles) instead of gathering per right."""
    present = np.zeros(n_benefits, dtype=np.bool_)
    if len(right_benefit) == 0:
        return present
    low, high = int(right_benefit.min()), int(right_benefit.max())
    assert 0 <= low and high < n_benefits, (low, high, n_benefits)
    if low == high:
        present[low] = True
    else:
        present[:] = np.bincount(right_benefit, minlength=n_benefits)[:n_benefits] > 0
    return present


def special_rate_links(arrays: RegisterArrays, compiled: cat.CompiledCatalogue, packed: PackedRegister,
                       present: np.ndarray | None = None):
    """(offsets by person, link32 rows) of the versions of every benefit that some per-child benefit names as
    its special_rate_benefit (ME_LI for ME_DD): whom the kernel asks "holds such a right in force this month"."""
    special = compiled.settings[:, cat.SET_SPECIAL_BENEFIT]
    if present is not None:  # the benefits of no right name no special rate, and no right holds a special one
        special = special[present]
    wanted = np.unique(special[special > 0] - 1)
    if present is not None:
        wanted = wanted[present[wanted]]
    n_persons = len(arrays.person_ids)
    if wanted.size == 0 or len(arrays.ver_right) == 0:
        return untouched_zeros(n_persons + 1, np.int64), np.zeros((0, 4), dtype=np.int32)
    is_wanted = np.zeros(len(compiled.codes), dtype=np.bool_)
    is_wanted[wanted] = True
    right_benefit = np.asarray(arrays.right_benefit, dtype=np.int64)
    rows = np.flatnonzero(is_wanted[right_benefit][arrays.ver_right])  # few: the special benefits' versions
    person = packed.ver32[rows, V_PERSON]
    order = np.argsort(person, kind="stable")
    rows, person = rows[order], person[order]
    link32 = np.empty((rows.shape[0], 4), dtype=np.int32)
    link32[:, L_FROM_MONTH], link32[:, L_TO_MONTH] = packed.ver32[rows, V_FROM_MONTH], packed.ver32[rows, V_TO_MONTH]
    link32[:, L_DECIDED_DAY] = packed.ver32[rows, V_DECIDED_DAY]
    link32[:, L_BENEFIT] = right_benefit[arrays.ver_right[rows]]
    offsets = np.zeros(n_persons + 1, dtype=np.int64)
    np.cumsum(np.bincount(person, minlength=n_persons), out=offsets[1:])
    return offsets, link32


def family_sources(arrays, compiled, period, starts, packed, limit_day, run, no_source) -> np.ndarray:
    """Per right whose benefit is a multiple of a household benefit (UA_POHOV of UA_DSD, Readings 12): the due
    of that benefit's rights of the right's household in the right's first month (0 when there is none);
    0 for every other right. Computed by a pass of the same kernel over those months."""
    multiple_of = compiled.settings[:, cat.SET_MULTIPLE_OF]
    right_benefit = np.asarray(arrays.right_benefit, dtype=np.int64)
    takers = np.flatnonzero(multiple_of[right_benefit] > 0)
    if takers.size == 0:
        return no_source
    ver32, offsets = packed.ver32, arrays.version_offsets
    decided = ver32[:, V_DECIDED_DAY] <= limit_day
    ver_benefit = right_benefit[arrays.ver_right]
    candidates = np.flatnonzero(decided & np.isin(ver_benefit, np.unique(multiple_of[multiple_of > 0] - 1)))
    candidates = candidates[np.argsort(ver32[candidates, V_HOUSEHOLD], kind="stable")]
    households = ver32[candidates, V_HOUSEHOLD]
    links = []  # (taker, source right, month)
    for t in takers:
        own = [v for v in range(offsets[t], offsets[t + 1]) if decided[v]]
        if not own:
            continue
        v = own[0]  # rows are sorted by valid_from: the first decided version holds the first month
        month, household = int(ver32[v, V_FROM_MONTH]), int(ver32[v, V_HOUSEHOLD])
        if household < 0 or not starts[t] <= month <= period:
            continue
        wanted = multiple_of[right_benefit[t]] - 1
        for c in candidates[np.searchsorted(households, household):np.searchsorted(households, household, "right")]:
            if ver_benefit[c] == wanted and ver32[c, V_FROM_MONTH] <= month <= ver32[c, V_TO_MONTH]:
                links.append((t, int(arrays.ver_right[c]), month))
    source = no_source.copy()
    if not links:
        return source
    window = np.full(arrays.n_rights, period, dtype=np.int32)
    for _t, right, month in links:
        window[right] = min(window[right], month)
    cells = run(window, no_source)
    seen = set()
    for t, right, month in links:
        if (t, right) not in seen:  # two versions of one source right in the month: count the right once
            seen.add((t, right))
            source[t] += int(cells.due_minor[cells.offsets[right] + month - window[right]])
    return source


def _starts_array(window_start, period, n_rights) -> np.ndarray:
    if window_start is None:
        return np.full(n_rights, period, dtype=np.int32)
    if np.isscalar(window_start):
        assert int(window_start) <= period, (window_start, period)
        return np.full(n_rights, int(window_start), dtype=np.int32)
    starts = np.ascontiguousarray(window_start, dtype=np.int32)
    if np.may_share_memory(starts, window_start):  # DueCells reads it after the call, when the caller's may differ
        starts = starts.copy()
    assert starts.shape == (n_rights,), starts.shape
    assert n_rights == 0 or int(starts.max()) <= period
    return starts


def _check_compiled_range(compiled, starts, period):
    """The compiled months must reach the period and, for the months-per-year limit, January of the start."""
    earliest = int(starts.min()) if starts.size else period
    earliest -= earliest % 12
    last = compiled.first_month + compiled.n_months - 1
    if compiled.first_month > earliest or last < period:
        raise ValueError(f"catalogue compiled for months {compiled.first_month}..{last}, "
                         f"the window needs {earliest}..{period}: compile with compiled_range(...)")


def compiled_range(window_start, period: int, catalogue_first_month: int | None = None) -> tuple[int, int]:
    """(first_month, last_month) to compile the catalogue for a window: from January of the window's first
    year (months-per-year limit), or from the catalogue's first dated value if that is earlier (lump sums
    read the parameters of their anchor month, which may lie before the window), to the period."""
    earliest = period if window_start is None or not np.size(window_start) else int(np.min(window_start))
    first = earliest - earliest % 12
    if catalogue_first_month is not None:
        first = min(first, catalogue_first_month)
    return first, period


def window_starts(arrays: RegisterArrays, period: int, lookback_months: int, changes_since_day: int,
                  event_lookback_months: int = 3, death_lookback_months: int | None = None,
                  once_benefits: np.ndarray | None = None) -> np.ndarray:
    """First month each right must be recomputed from, so a recalculation catches every change.

    A right starts at `period` unless: a version decided on or after `changes_since_day` (and by the period's
    end) takes effect earlier -> its valid_from month; the beneficiary died within the lookback -> the month
    of the death (a day-prorated month pays through the day of death, Readings 9; anything paid for it beyond
    that, and for every month after, is an overpayment); a member of its household was born, died, joined
    or left within `event_lookback_months` -> that month (the register carries no recording date for these, so
    the shorter event lookback bounds the cost); so does a maintenance title of the beneficiary that started or
    ended within it (engine/advances.py). Nothing reaches back beyond period - lookback_months, and a death
    not beyond period - death_lookback_months when that is given (the register carries no recording date for a
    death: a short lookback bounds the cost, where a decision reaches back to its start, RULES.md Readings 4).
    A catalogue change (late indexation) is a mass recalculation: pass one month to compute_due instead.
    once_benefits (bool per benefit, rate_days_benefits): a right of such a benefit with a version decided since
    changes_since_day starts at its first month, whose due reads every version (a lengthened period of days).
    """
    assert lookback_months >= 0 and event_lookback_months >= 0
    a = arrays
    packed = a.packed if a.packed is not None else pack_register(a)
    floor = period - lookback_months
    death_floor = floor if death_lookback_months is None else max(floor, period - death_lookback_months)
    household_start = np.full(len(a.household_ids), period, dtype=np.int32)
    household_events_kernel(period, max(floor, period - event_lookback_months), a.member_offsets,
                            packed.member32, packed.person32, household_start)
    starts = np.full(a.n_rights, period, dtype=np.int32)
    window_starts_kernel(period, floor, death_floor, changes_since_day, month_first_day(period + 1) - 1,
                         a.version_offsets, packed.ver32, packed.person32, household_start, starts)
    advances.title_event_starts(a, period, max(floor, period - event_lookback_months), starts)  # titles: events too
    if once_benefits is not None:
        period_of_days_starts(a, packed, np.asarray(once_benefits, dtype=np.bool_), floor, changes_since_day,
                              month_first_day(period + 1) - 1, starts)
    return starts


def rate_days_benefits(kind_names) -> np.ndarray:
    """Per benefit (catalogue order, its kinds' names): paid once for a period of days (monthly_rate_times_days)."""
    return np.array([name == "monthly_rate_times_days" for name in kind_names], dtype=np.bool_)


def period_of_days_starts(a: RegisterArrays, packed: PackedRegister, once: np.ndarray, floor: int,
                          changes_since_day: int, period_end_day: int, starts: np.ndarray) -> None:
    """In place: a right of a benefit paid once for a period of days with a version decided in [changes_since_day,
    period_end_day] starts at its first month (not before floor): a version lengthening the period changes the
    due of the month the period started in, which the payroll pays as arrears."""
    if not once.any() or a.n_rights == 0:
        return
    decided = packed.ver32[:, V_DECIDED_DAY]
    changed = once[np.asarray(a.right_benefit, np.int64)[a.ver_right]] & (decided >= changes_since_day) \
        & (decided <= period_end_day)
    rights = np.unique(a.ver_right[changed])
    first_month = packed.ver32[a.version_offsets[rights], V_FROM_MONTH].astype(np.int64)  # rows by valid_from
    starts[rights] = np.minimum(starts[rights], np.maximum(floor, first_month)).astype(starts.dtype)


@kernel(types.void(types.int64, types.int64, types.int64, types.int64, types.int64, I64_RO, I32_2D_RO,
                    I32_2D_RO, I32_RO, I32_OUT))
def window_starts_kernel(period, floor, death_floor, changes_since_day, period_end_day, version_offsets, ver32,
                         person32, household_start, out_starts):
    """out_starts[r] = earliest month a change of right r's versions, beneficiary or household reaches."""
    n_rights = out_starts.shape[0]
    assert version_offsets.shape[0] == n_rights + 1
    assert floor <= period
    for r in range(n_rights):
        start = period
        for v in range(version_offsets[r], version_offsets[r + 1]):
            decided = ver32[v, V_DECIDED_DAY]
            if changes_since_day <= decided <= period_end_day:
                start = min(start, max(floor, ver32[v, V_FROM_MONTH]))
            death_month = person32[ver32[v, V_PERSON], P_DEATH_MONTH]
            if death_floor <= death_month < period:  # the death month too: a day-prorated benefit pays through
                start = min(start, death_month)      # the day of death (Readings 9), paid in full before
            h = ver32[v, V_HOUSEHOLD]
            if h >= 0:
                start = min(start, household_start[h])
        out_starts[r] = start


@kernel(types.void(types.int64, types.int64, I64_RO, I32_2D_RO, I32_2D_RO, I32_OUT))
def household_events_kernel(period, floor, member_offsets, member32, person32, out_start):
    """out_start[h] = earliest month in [floor, period] in which a member of h was born, died, joined or left."""
    n_households = out_start.shape[0]
    assert member_offsets.shape[0] == n_households + 1
    assert floor <= period
    for h in range(n_households):
        start = np.int64(out_start[h])  # every argument int64: one specialisation of _earlier_inside
        for j in range(member_offsets[h], member_offsets[h + 1]):
            p = member32[j, M_PERSON]
            start = _earlier_inside(start, np.int64(member32[j, M_FROM_MONTH]), floor, period)
            start = _earlier_inside(start, np.int64(member32[j, M_TO_MONTH]) + 1, floor, period)
            start = _earlier_inside(start, np.int64(person32[p, P_BIRTH_MONTH]), floor, period)
            start = _earlier_inside(start, np.int64(person32[p, P_DEATH_MONTH]) + 1, floor, period)
        out_start[h] = start


@helper
def _earlier_inside(start, month, floor, period):
    """min(start, month) when month lies in [floor, period]."""
    assert floor <= period
    assert start <= period
    if floor <= month <= period:
        return min(start, month)
    return start
