"""Register tables (Arrow, formats/schemas.py) -> the engine's dense integer arrays, vectorised.

Ids become dense indexes (position in the sorted unique ids), strings become integer codes (benefit index in
the catalogue's order, member roles), dates become days since 1970-01-01 and month indexes, nulls become the
engine's sentinels (NO_DAY / NO_MONTH, -1, 0, False). Versions are sorted by (right, valid_from, version) and
household members by (household, birth day, person, member_from), both addressed through offsets (CSR).
The checks the engine relies on (known benefit codes, one benefit per right, existing persons, households
and payees, grades within the catalogue's table, a decided amount where the benefit needs one) are repeated
here as `Problem`s, because the kernels trust their input. No Python loop runs over rows.
"""
import datetime as dt
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from engine.advances import MaintenanceTitles
from engine.entitlement import (NO_DAY, PACKED_ONLY, PackedRegister, RegisterArrays, benefits_present,
                                month_first_day, months_of_days, pack_fields, pack_register)
from engine.register_columns import grouped_order
from engine.zero_pages import untouched_zeros
from formats.awards import end_awards
from formats.errors import InputError, problem
from formats.keys import index_of, is_lex_sorted, lex_order, repeated_values, sorted_distinct
from formats import ordered_register
from formats.ordered_register import (benefit_list, beside, column_of, grade_count, household_ids_in_order,
                                      members_in_order, one_pass, payee_ids_in_order, persons_in_order, string_codes,
                                      versions_in_order)
from formats.schemas import DEDUCTIONS, HOUSEHOLD_ROLES, OPTIONAL_TABLES, PAYEES
from formats.i18n import N_

PROBLEMS_PER_RULE_MAX = 50   # enough to see the pattern; the count says how many there are
# columns never converted (names, payment details, orders): a caller may drop them once checked (read_register)
NOT_CONVERTED = {"persons": ("family_name", "given_name", "patronymic", "tax_id"),
                 "payees": tuple(name for name in PAYEES.names if name != "payee_id"),
                 "deductions": tuple(DEDUCTIONS.names)}


def register_arrays(tables: dict, catalogue, pack: bool = True, done=None) -> RegisterArrays:
    """Convert validated register tables (persons, households, rights, payees) for `catalogue`. With
    pack=False the kernels' packed copy is left out (packed=None): a caller that gives the tables' memory back
    first packs with `packed_arrays`, so the tables and the copy are never held at once. `done(name)`, when
    given, is called once the conversion has read all it reads of table `name` (persons, households, rights),
    so the caller can give back what it does not keep while the rest is converted (10 M rights: gigabytes).

    A table in the engine's order whose ids are all known (the usual register) is converted in one pass that
    writes the loose arrays and, with `pack`, the packed matrices (formats/ordered_register.py); any other goes
    the general way below, which sorts, searches and reports the Problems of bad input."""
    problems = []
    one_by_one = done is not None  # tables given back as they are read: nothing runs beside
    done = done or (lambda _name: None)
    matrices = {}  # packed matrices the one-pass conversion wrote (with pack), by PackedRegister field
    rights = tables["rights"]
    # the role codes and household ids on the worker while the persons are converted here: this thread (persons,
    # then memberships) is the longer of the two
    worker = not one_by_one and ordered_register.kernels_ready()
    roles = beside(string_codes, tables["households"].column("role"), HOUSEHOLD_ROLES) if worker else None
    known_later = beside(one_pass, household_ids_in_order, tables["households"], rights) if worker else None
    persons = one_pass(persons_in_order, tables["persons"], pack, matrices) or _persons(tables["persons"], problems)
    done("persons")
    person_ids, birth_day = persons["person_ids"], persons["person_birth_day"]
    known = known_later.result() if worker else one_pass(household_ids_in_order, tables["households"], rights)
    household_ids, right_household = known or (_household_ids(tables["households"], rights), None)
    payee_ids = one_pass(payee_ids_in_order, tables["payees"])
    version_matrices = {}
    in_order = (rights, catalogue, person_ids, household_ids, right_household)
    # the versions beside the memberships (the kernels release the GIL): the two take most of the time
    running = beside(one_pass, versions_in_order, *in_order, payee_ids, pack, version_matrices) \
        if not (one_by_one or problems or payee_ids is None) else None
    members = one_pass(members_in_order, tables["households"], household_ids, person_ids, birth_day, pack,
                       matrices, roles) or _members(tables["households"], household_ids, person_ids, birth_day, problems)
    done("households")
    if payee_ids is None:
        payee_ids = _unique_ids(_ints(tables["payees"], "payee_id", 0), "payees", "payee_id", problems)
    found = running.result() if running is not None else None
    if running is None and not problems:
        found = one_pass(versions_in_order, *in_order, payee_ids, pack, version_matrices)
    if found is None or problems:  # the general path, the Problems of bad input in their order
        versions = _versions(rights, catalogue, person_ids, household_ids, payee_ids, problems)
        file_rows = lex_order(_ints(rights, "right_id", 0), _days(rights, "valid_from"), _ints(rights, "version", 0))
    else:  # in file order
        versions, suspect_benefit = found
        if suspect_benefit is not None:
            _check_formula_inputs(rights, catalogue, suspect_benefit, versions, None, problems)
        matrices.update(version_matrices)
        file_rows = np.arange(len(versions["ver_right"]), dtype=np.int64)
    del rights
    done("rights")
    titles = _titles(tables.get("maintenance_titles"), person_ids, problems)
    facts = _facts(tables, household_ids, person_ids, problems)
    if problems:
        raise InputError(problems)
    arrays = RegisterArrays(benefit_codes=tuple(catalogue.benefit_codes), payee_ids=payee_ids,
                            household_ids=household_ids, **persons, **members, **versions, **facts, titles=titles)
    _check_register_bases(arrays, catalogue, file_rows, problems)
    _check_award_windows(arrays, catalogue, file_rows, problems)
    _check_leave_periods(arrays, catalogue, file_rows, problems)
    _check_unpriced(arrays, catalogue, file_rows, problems)
    if problems:
        raise InputError(problems)
    arrays = end_awards(arrays, catalogue, matrices)  # a fixed-term award ends after its months (UA_DSD: 6)
    if not pack:
        return arrays
    if set(matrices) == set(PackedRegister._fields):
        return arrays._replace(packed=PackedRegister(**matrices))
    return packed_arrays(arrays)


def packed_arrays(arrays: RegisterArrays) -> RegisterArrays:
    """The arrays with the entitlement kernels' packed copy (engine.entitlement.pack_register)."""
    return arrays._replace(packed=pack_register(arrays))


def packed_arrays_releasing(box: list) -> RegisterArrays:
    """packed_arrays(box[0]) less the loose arrays only the packing reads (PACKED_ONLY, set to None: the kernels
    read their packed copy, and a read by mistake fails loudly). `box` is emptied first, so with no other
    reference to the loose arrays each goes back as soon as its packed matrix is made (engine.entitlement.
    pack_fields): at national scale the loose and the packed register are gigabytes each."""
    fields = box.pop()._asdict()
    assert not box
    packed = pack_fields(fields, release=True)
    if fields["fact_offsets"] is not None and fields["fact64"].shape[0] == 0:
        # no dated amounts: offsets all 0, as zeros never written (pages the system does not make resident)
        fields["fact_offsets"] = untouched_zeros(fields["fact_offsets"].shape[0], np.int64)
    fields.update({name: None for name in PACKED_ONLY}, packed=packed)
    return RegisterArrays(**fields)


def right_index_of(arrays: RegisterArrays, right_ids) -> np.ndarray:
    """Dense index of each right id (-1 for an id the register does not hold)."""
    return index_of(arrays.right_ids, np.asarray(right_ids, dtype=np.int64))


def versions_for_period(arrays: RegisterArrays, period: int) -> np.ndarray:
    """Per right the version row in force in `period`, else the last one in force before it (-1: none).

    Versions decided after the period's last day are ignored, as in the entitlement kernels. The row gives
    the payee, flags and consent a payroll for the period uses.
    """
    end_day = month_first_day(period + 1) - 1
    usable = (arrays.ver_decided_day <= end_day) & (arrays.ver_from_month <= period)
    rows = np.arange(len(arrays.ver_right), dtype=np.int64)
    chosen = np.full(arrays.n_rights, -1, dtype=np.int64)
    np.maximum.at(chosen, arrays.ver_right[usable], rows[usable])
    return chosen


# ---- tables ------------------------------------------------------------------------------------------------

def _persons(table, problems) -> dict:
    ids = _ints(table, "person_id", 0)
    order = _order(ids)
    person_ids = _unique_ids(ids, "persons", "person_id", problems)
    birth_day = _take(_days(table, "birth_date"), order)
    death_day = _take(_days(table, "death_date"), order)
    return dict(person_ids=person_ids, person_birth_day=birth_day, person_birth_month=_months(birth_day),
                person_death_day=death_day, person_death_month=_months(death_day),
                person_disabled=_take(_bools(table, "disabled"), order),
                person_without_care=_take(_bools(table, "without_parental_care"), order))


def _household_ids(households, rights) -> np.ndarray:
    ids = sorted_distinct(_ints(households, "household_id", 0))
    if "household_id" not in rights.column_names:
        return ids
    in_rights = rights.column("household_id").drop_null().to_numpy().astype(np.int64, copy=False)
    extra = in_rights[index_of(ids, in_rights) < 0]  # none once validated: rights name known households
    return sorted_distinct(np.concatenate([ids, extra])) if len(extra) else ids


def _members(table, household_ids, person_ids, birth_day, problems) -> dict:
    household = index_of(household_ids, _ints(table, "household_id", 0))
    person = _index_or_problem(person_ids, _ints(table, "person_id", 0), "households", "person_id",
                               "person not in persons", "add the person to persons or remove the membership",
                               problems)
    role = _codes(table.column("role"), HOUSEHOLD_ROLES, "households", "role", problems)
    from_day, to_day = _days(table, "member_from"), _days(table, "member_to")
    safe_person = np.maximum(person, 0)
    keys = (household, birth_day[safe_person], safe_person, from_day)
    order = grouped_order(*keys)  # memberships are usually written household by household
    order = lex_order(*keys) if order is None else order
    offsets = _csr_offsets(household, len(household_ids))  # every row's household is known
    return dict(member_offsets=offsets, member_person=safe_person[order].astype(np.int32),
                member_role=role[order].astype(np.int8), member_from_month=_months(from_day[order]),
                member_to_month=_months(to_day[order]))


def _versions(table, catalogue, person_ids, household_ids, payee_ids, problems) -> dict:
    right_id = _ints(table, "right_id", 0)
    version = _ints(table, "version", 0)
    from_day = _days(table, "valid_from")
    order = _order(right_id, from_day, version)  # None: the rows are in order already
    rows = len(right_id)
    benefit = _take(_codes(table.column("benefit"), catalogue.benefit_codes, "rights", "benefit", problems), order)
    sorted_right = _take(right_id, order)
    first_rows = np.flatnonzero(np.concatenate([[True], sorted_right[1:] != sorted_right[:-1]])) \
        if rows else np.zeros(0, dtype=np.int64)
    right_ids = sorted_right[first_rows]
    offsets = np.append(first_rows, rows).astype(np.int64)
    ver_right = np.repeat(np.arange(len(right_ids), dtype=np.int32), np.diff(offsets))
    right_benefit = benefit[first_rows].astype(np.int16) if rows else np.zeros(0, np.int16)
    _check_one_benefit(benefit, right_benefit[ver_right], order, problems)
    household_raw = table.column("household_id")
    household = np.where(pc.is_null(household_raw).to_numpy(zero_copy_only=False), -1,
                         index_of(household_ids, _ints(table, "household_id", 0)))
    household = _take(household, order)
    from_day, to_day = _take(from_day, order), _take(_days(table, "valid_to"), order)
    columns = dict(
        right_ids=right_ids, right_benefit=right_benefit, version_offsets=offsets, ver_right=ver_right,
        ver_number=_take(version, order).astype(np.int32),
        ver_person=_take(_index_or_problem(person_ids, _ints(table, "person_id", 0), "rights", "person_id",
                                           "person not in persons", "add the beneficiary to persons", problems), order),
        ver_household=household.astype(np.int32),
        ver_payee=_take(_index_or_problem(payee_ids, _ints(table, "payee_id", 0), "rights", "payee_id",
                                          "payee not in payees", "add the payee to payees", problems), order),
        ver_from_day=from_day, ver_to_day=to_day, ver_from_month=_months(from_day), ver_to_month=_months(to_day),
        ver_decided_day=_take(_days(table, "decided_on"), order),
        ver_income_minor=_take(_ints(table, "income_minor", 0), order),
        ver_grade=_take(_ints(table, "grade", 1), order).astype(np.int16),
        ver_birth_order=_take(_ints(table, "birth_order", 1), order).astype(np.int16),
        ver_amount_minor=_take(_ints(table, "amount_minor", 0), order),
        ver_mo_family=_take(_bools(table, "mo_family"), order),
        ver_single_parent=_take(_bools(table, "single_parent"), order),
        ver_unable_to_work=_take(_bools(table, "unable_to_work"), order),
        ver_consent=_take(_bools(table, "consent_full_recovery"), order),
        ver_applied_day=_take(np.where(pc.is_null(table.column("applied_on")).to_numpy(zero_copy_only=False),
                                       _days(table, "decided_on"), _days(table, "applied_on")), order).astype(np.int32)
        if "applied_on" in table.column_names else _take(_days(table, "decided_on"), order),
        ver_agency_fault=_take(_bools(table, "agency_fault"), order),
        ver_other_minor=_take(_ints(table, "other_payment_minor", 0), order),
        ver_subgroup=_take(_ints(table, "subgroup", 0), order).astype(np.int16))
    columns["ver_person"] = np.maximum(columns["ver_person"], 0).astype(np.int32)
    columns["ver_payee"] = np.maximum(columns["ver_payee"], 0).astype(np.int32)
    _check_formula_inputs(table, catalogue, benefit, columns, order, problems)
    return columns


def _titles(table, person_ids, problems) -> MaintenanceTitles:
    """Maintenance titles by child (CSR over the dense person index), sorted by (child, valid_from); an absent
    table is a register without titles."""
    if table is None or table.num_rows == 0:
        none64, none32 = np.zeros(0, np.int64), np.zeros(0, np.int32)
        return MaintenanceTitles(offsets=untouched_zeros(len(person_ids) + 1, np.int64), title_ids=none64,
                                 debtor=none32, debtor_ids=none64.copy(), monthly_minor=none64.copy(),
                                 from_month=none32.copy(), to_month=none32.copy())
    if table is None:
        table = pa.table({name: pa.array([], pa.int64()) for name in ("child_id", "debtor_id", "title_id")})
    child = _index_or_problem(person_ids, _ints(table, "child_id", 0), "maintenance_titles", "child_id",
                              "person not in persons", "add the child to persons", problems)
    debtor_ids = _ints(table, "debtor_id", 0)
    debtor = _index_or_problem(person_ids, debtor_ids, "maintenance_titles", "debtor_id", "person not in persons",
                               "add the debtor to persons", problems)
    from_day = _days(table, "valid_from")
    order = lex_order(np.maximum(child, 0), from_day)
    child = np.maximum(child, 0)[order]
    offsets = _csr_offsets(child, len(person_ids))
    return MaintenanceTitles(offsets=offsets, title_ids=_ints(table, "title_id", 0)[order],
                             debtor=np.maximum(debtor, 0)[order].astype(np.int32), debtor_ids=debtor_ids[order],
                             monthly_minor=_ints(table, "monthly_minor", -1)[order],
                             from_month=_months(from_day[order]), to_month=_months(_days(table, "valid_to")[order]))


def _facts(tables, household_ids, person_ids, problems) -> dict:
    """housing_costs by household, then wage_bases by person, as one CSR of (from month, to month, amount) rows
    (engine.entitlement.RegisterArrays.fact_offsets); absent tables count as empty."""
    if all(tables.get(name) is None or tables[name].num_rows == 0 for name in ("housing_costs", "wage_bases")):
        return dict(fact_offsets=untouched_zeros(len(household_ids) + 1 + len(person_ids) + 1, np.int64),
                    fact64=np.zeros((0, 3), np.int64))
    parts = []
    for name, key, keys, amount in (("housing_costs", "household_id", household_ids, "cost_minor"),
                                    ("wage_bases", "person_id", person_ids, "base_minor")):
        table = tables.get(name)
        if table is None:
            table = OPTIONAL_TABLES[name].empty_table()
        index = _index_or_problem(keys, _ints(table, key, 0), name, key, f"{key} not in the register",
                                  f"add the {key} to the register or remove the row", problems)
        from_day = _days(table, "valid_from")
        order = lex_order(np.maximum(index, 0), from_day)
        rows = np.column_stack([_months(from_day[order]), _months(_days(table, "valid_to")[order]),
                                _ints(table, amount, 0)[order]]).astype(np.int64).reshape(-1, 3)
        offsets = _csr_offsets(np.maximum(index, 0), len(keys))
        parts.append((offsets, rows))
    (house_offsets, house_rows), (wage_offsets, wage_rows) = parts
    return dict(fact_offsets=np.concatenate([house_offsets, wage_offsets + len(house_rows)]),
                fact64=np.ascontiguousarray(np.concatenate([house_rows, wage_rows])))


# ---- checks the kernels rely on ----------------------------------------------------------------------------

def _check_register_bases(arrays, catalogue, file_rows, problems):
    """A housing subsidy needs housing costs of its household, a wage replacement wage bases of its beneficiary:
    a right without any is refused; a month the rows leave uncovered is due 0 and listed (REASON_NO_BASE)."""
    kinds = [benefit.kind for benefit in benefit_list(catalogue)] + [""]
    if "housing_cost_minus_share" not in kinds and "wage_replacement" not in kinds:
        return
    if not _held(arrays, np.array([kind in ("housing_cost_minus_share", "wage_replacement") for kind in kinds[:-1]])):
        return  # every row of the loop below would be a version of such a benefit: there is none
    ver_benefit = arrays.right_benefit[arrays.ver_right] if len(arrays.ver_right) else np.zeros(0, np.int16)
    counts = np.diff(arrays.fact_offsets)
    housing_rows, wage_rows = counts[:len(arrays.household_ids)], counts[len(arrays.household_ids) + 1:]
    for kind, keys, rows_of_key, table, column, fix in (
            ("housing_cost_minus_share", arrays.ver_household, housing_rows, "housing_costs", "household_id",
             "add the household's monthly housing cost within the norms to housing_costs"),
            ("wage_replacement", arrays.ver_person, wage_rows, "wage_bases", "person_id",
             "add the beneficiary's average monthly earnings to wage_bases")):
        if kind not in kinds:  # compared as benefit indexes, not as strings per version
            continue
        rows = np.flatnonzero(np.array([k == kind for k in kinds])[ver_benefit])
        keys = keys[rows]
        bad = rows[(keys < 0) | (rows_of_key[np.maximum(keys, 0)] == 0)] if len(rows_of_key) else rows
        _report(problems, file_rows[bad], "rights", column, None, f"no {table} row for the right's {column}", fix)


def _check_award_windows(arrays, catalogue, file_rows, problems):
    """A per_member_category benefit with award_months (UA IDP allowance: fixed 6-month awards, the decree bounds
    the period) takes versions of at most that many months, each with an end date."""
    limits = np.array([benefit.info.get("award_months", 0) if benefit.kind == "per_member_category" else 0
                       for benefit in benefit_list(catalogue)] + [0], dtype=np.int64)
    if not limits.any() or not len(arrays.ver_right) or not _held(arrays, limits[:-1] > 0):
        return
    limit = limits[arrays.right_benefit[arrays.ver_right]]
    span = arrays.ver_to_month.astype(np.int64) - arrays.ver_from_month + 1
    bad = np.flatnonzero((limit > 0) & ((arrays.ver_to_day == NO_DAY) | (span > limit)))
    _report(problems, file_rows[bad], "rights", "valid_to", None, "an award longer than the benefit's award_months",
            "end the version (valid_to) at most award_months months after valid_from; a renewal is a new version")


def _check_leave_periods(arrays, catalogue, file_rows, problems):
    """A monthly_rate_times_days right is a period of days (UA maternity leave): every version ends (valid_to), and
    the days of all its versions make one of the lengths of period_days_allowed in force on its first day."""
    leave = np.array([benefit.kind == "monthly_rate_times_days" for benefit in benefit_list(catalogue)] + [False])
    if not leave.any() or not len(arrays.ver_right) or not _held(arrays, leave[:-1]):
        return
    rows = np.flatnonzero(leave[arrays.right_benefit[arrays.ver_right]])
    open_end = arrays.ver_to_day[rows] == NO_DAY
    _report(problems, file_rows[rows[open_end]], "rights", "valid_to", None,
            N_("a period of days (monthly_rate_times_days) without its last day"),
            N_("give the last day of the period in valid_to"))
    unended = np.bincount(arrays.ver_right[rows[open_end]], minlength=arrays.n_rights) > 0
    rows = rows[~open_end]
    days = np.bincount(arrays.ver_right[rows], minlength=arrays.n_rights,
                       weights=arrays.ver_to_day[rows].astype(np.int64) - arrays.ver_from_day[rows] + 1)
    first = np.minimum(arrays.version_offsets[:-1], len(arrays.ver_right) - 1)  # first version: earliest valid_from
    epoch = dt.date(1970, 1, 1)
    for b in np.flatnonzero(leave[:-1]):
        lines = catalogue.benefit(catalogue.benefit_codes[b]).parameters.get("period_days_allowed", ())
        starts = [(valid_from - epoch).days for valid_from, _values in lines] + [int(NO_DAY)]
        for (_valid_from, allowed), start, end in zip(lines, starts, starts[1:]):
            mine = (arrays.right_benefit == b) & ~unended
            mine &= (arrays.ver_from_day[first] >= start) & (arrays.ver_from_day[first] < end)
            bad = np.flatnonzero(mine & ~np.isin(days.astype(np.int64), allowed))
            text = ", ".join(str(n) for n in allowed)
            _report(problems, file_rows[first[bad]], "rights", "valid_to", days[bad].astype(np.int64),
                    N_("the days from valid_from to valid_to (every version of the right) are not a period the "
                       "benefit pays ({allowed})", allowed=text),
                    N_("end the period (valid_to) so that it lasts {allowed} days, counting both ends",
                       allowed=text))


def _check_unpriced(arrays, catalogue, file_rows, problems):
    """A right of a benefit no public source gives an amount for (`unpriced`) is refused whether or not a month of
    it falls due: what it pays would be a guess, and a right that is never due would pass as 0.00."""
    benefits = benefit_list(catalogue)
    unpriced = np.array([bool(benefit.unpriced) for benefit in benefits] + [False])
    if not unpriced.any() or not len(arrays.ver_right) or not _held(arrays, unpriced[:-1]):
        return
    version_benefit = arrays.right_benefit[arrays.ver_right]
    for b in np.flatnonzero(unpriced[:-1]).tolist():
        rows = np.flatnonzero(version_benefit == b)
        code = catalogue.benefit_codes[b]
        _report(problems, file_rows[rows], "rights", "benefit", [code] * len(rows),
                N_("{code} has no amount in the catalogue {name} ({reason})", code=code,
                   name=Path(catalogue.path).name,
                   reason=benefits[b].unpriced),
                N_("add the amount with its source to the catalogue ({code}'s parameters with source and status, "
                   "and remove `unpriced`), or remove the rights of {code} from the register", code=code))


def _held(arrays, wanted: np.ndarray) -> bool:
    """Some right is of a benefit `wanted` marks (bool per benefit, catalogue order): without one, a check of those
    benefits' versions has no row to look at."""
    return bool(wanted[benefits_present(arrays.right_benefit, len(wanted))].any())


def _check_one_benefit(benefit, right_benefit, order, problems):
    bad = np.flatnonzero((benefit != right_benefit) & (benefit >= 0) & (right_benefit >= 0))
    _report(problems, _file_rows(bad, order), "rights", "benefit", None,
            "versions of one right name different benefits",
            "a right keeps its benefit; open a new right_id for another benefit")


def _check_formula_inputs(table, catalogue, benefit, columns, order, problems):
    codes = catalogue.benefit_codes
    max_grade = np.array([grade_count(catalogue.benefit(code)) for code in codes] + [0], dtype=np.int64)
    decided = np.array([catalogue.benefit(code).decided_amount for code in codes] + [False])
    grade = columns["ver_grade"]
    limit = max_grade[benefit]  # benefit -1 (unknown) reads the trailing 0: no grade check
    bad = np.flatnonzero((limit > 0) & ((grade < 1) | (grade > limit)))
    _report(problems, _file_rows(bad, order), "rights", "grade", grade[bad], "grade outside the benefit's table",
            "use a grade from 1 to the number of amounts in the catalogue's amount_by_grade")
    amount_null = _take(pc.is_null(table.column("amount_minor")).to_numpy(zero_copy_only=False), order) \
        if "amount_minor" in table.column_names else np.ones(len(benefit), dtype=bool)
    bad = np.flatnonzero(decided[benefit] & amount_null)
    _report(problems, _file_rows(bad, order), "rights", "amount_minor", None, "the benefit pays a decided amount",
            "give the decided amount in minor units in amount_minor")
    for column in ("ver_income_minor", "ver_amount_minor", "ver_other_minor"):
        bad = np.flatnonzero(columns[column] < 0)
        _report(problems, _file_rows(bad, order), "rights", column[4:], columns[column][bad], "negative amount",
                "amounts are zero or more, in minor units")


def _report(problems, rows, file, column, values, rule, fix):
    for position, row in enumerate(rows[:PROBLEMS_PER_RULE_MAX]):
        value = None if values is None else values[position]
        problems.append(problem(file, int(row) + 1, column, value, rule, fix))
    if len(rows) > PROBLEMS_PER_RULE_MAX:
        problems.append(problem(file, None, column, None,
                                N_("{rule}: {value} more rows like the above",
                                   rule=rule, value=len(rows) - PROBLEMS_PER_RULE_MAX), fix))


# ---- column helpers --------------------------------------------------------------------------------------

def _ints(table, name, fill) -> np.ndarray:
    column = column_of(table, name)
    if column is None or column.null_count == len(column):  # absent or empty: no cast, no fill
        return np.full(table.num_rows, fill, dtype=np.int64)
    return pc.fill_null(column.cast(pa.int64()), fill).to_numpy().astype(np.int64, copy=False)


def _bools(table, name) -> np.ndarray:
    column = column_of(table, name)
    if column is None or column.null_count == len(column):
        return np.zeros(table.num_rows, dtype=np.bool_)
    return np.asarray(pc.fill_null(column, False).to_numpy(zero_copy_only=False), dtype=np.bool_)


def _days(table, name) -> np.ndarray:
    column = column_of(table, name)
    if column is None or column.null_count == len(column):
        return np.full(table.num_rows, NO_DAY, dtype=np.int32)
    return pc.fill_null(column.cast(pa.int32()), int(NO_DAY)).to_numpy().astype(np.int32, copy=False)


def _months(days: np.ndarray) -> np.ndarray:
    """Month index of each day; NO_DAY stays "never" (NO_MONTH)."""
    return months_of_days(np.ascontiguousarray(days, dtype=np.int32))


def _codes(column, names, file, column_name, problems) -> np.ndarray:
    codes = pc.fill_null(pc.index_in(column, value_set=pa.array(list(names), pa.string())), -1)
    codes = codes.to_numpy().astype(np.int64, copy=False)
    bad = np.flatnonzero(codes < 0)
    values = column.take(pa.array(bad[:PROBLEMS_PER_RULE_MAX])).to_pylist() if len(bad) else []
    _report(problems, bad, file, column_name, values, f"unknown {column_name}", f"use one of {', '.join(names)}")
    return codes


def _csr_offsets(keys: np.ndarray, count: int) -> np.ndarray:
    """offsets[k]:offsets[k + 1] are the rows of key k once the rows are sorted by key (keys in 0..count-1):
    np.searchsorted(np.sort(keys), np.arange(count + 1)), by counting."""
    offsets = np.zeros(count + 1, dtype=np.int64)
    np.cumsum(np.bincount(keys, minlength=count), out=offsets[1:])
    return offsets


def _order(*keys) -> np.ndarray | None:
    """lex_order of the keys, None when the rows are in that order already (registers are written sorted)."""
    return None if is_lex_sorted(*keys) else lex_order(*keys)


def _take(values: np.ndarray, order: np.ndarray | None) -> np.ndarray:
    """values[order]; with order None the values themselves, copied when they are Arrow's read-only memory (the
    arrays are the caller's to keep, as a gather's result would be)."""
    if order is not None:
        return values[order]
    return values if values.flags.writeable else values.copy()


def _file_rows(rows: np.ndarray, order: np.ndarray | None) -> np.ndarray:
    """Rows of the file of sorted rows `rows` (order[rows]; order None: the file is sorted)."""
    return rows if order is None else order[rows]


def _unique_ids(ids, file, column, problems) -> np.ndarray:
    if len(ids) > 1 and np.all(ids[1:] > ids[:-1]):  # written in increasing order: distinct and sorted
        return ids if ids.flags.writeable else ids.copy()
    duplicates = repeated_values(ids)
    if len(duplicates):
        problems.append(problem(file, None, column, ", ".join(map(str, duplicates[:10])),
                                N_("duplicate ids"), N_("every id appears once")))
    return sorted_distinct(ids)


def _index_or_problem(sorted_ids, ids, file, column, rule, fix, problems) -> np.ndarray:
    index = index_of(sorted_ids, ids)
    bad = np.flatnonzero(index < 0)
    _report(problems, bad, file, column, ids[bad], rule, fix)
    return index
