"""A deliberately plain reference for the entitlement kernels: one loop per right and month, dates as dates.

Written from shared/RULES.md and the semantics listed in engine/entitlement.py's docstring, with Python ints
and datetime only (no numpy, no engine code). Tests compare the engine to it cell by cell.

Inputs are lists of dicts with the register's column names (dates as datetime.date, None for null) and a
formats.catalogue.Catalogue.
"""
import calendar
import datetime as dt


def month_of(day: dt.date) -> int:
    return (day.year - 1970) * 12 + day.month - 1


def first_day(month: int) -> dt.date:
    return dt.date(1970 + month // 12, month % 12 + 1, 1)


def last_day(month: int) -> dt.date:
    start = first_day(month)
    return start.replace(day=calendar.monthrange(start.year, start.month)[1])


def half_up(numerator: int, denominator: int) -> int:
    quotient, remainder = divmod(numerator, denominator)
    return quotient + (1 if 2 * remainder >= denominator else 0)


def reached(birth: dt.date, years: int, month: int) -> bool:
    """True once `month` is after the month of the birthday number `years`."""
    return month > month_of(birth) + 12 * years


NO_BASE = "no base"  # the register lacks the housing cost or wage base a formula reads: due 0 (listed)


class Reference:
    def __init__(self, persons, memberships, versions, catalogue, housing_costs=(), wage_bases=(), titles=()):
        self.persons = {p["person_id"]: p for p in persons}
        self.titles = sorted(titles, key=lambda t: (t["child_id"], t["valid_from"]))  # maintenance titles
        self.memberships = memberships
        self.catalogue = catalogue
        self.housing_costs, self.wage_bases = list(housing_costs), list(wage_bases)
        self.rights = {}
        began = {}  # (right, application day) -> the earliest valid_from of that award's versions
        for version in versions:
            key = (version["right_id"], version.get("applied_on") or version["decided_on"])
            began[key] = min(began.get(key, version["valid_from"]), version["valid_from"])
        for version in versions:
            key = (version["right_id"], version.get("applied_on") or version["decided_on"])
            self.rights.setdefault(version["right_id"], []).append(self.award_ended(version, began[key]))

    def award_ended(self, version, began):
        """RULES.md UA_DSD "awarded from the month of application for 6 months, renewed": a version of a benefit
        with award_months (other than per_member_category, whose longer versions are refused) is in force for at
        most that many months from the month its award began (`began`: the versions with one application day are
        one award)."""
        benefit = self.catalogue.benefit(version["benefit"])
        award = benefit.info.get("award_months", 0) if benefit.kind != "per_member_category" else 0
        if not award:
            return version
        end = last_day(month_of(began) + award - 1)
        if version.get("valid_to") is not None and version["valid_to"] <= end:
            return version
        return dict(version, valid_to=end)

    # ---- parameters --------------------------------------------------------------------------------------

    def param(self, benefit, name, month, index=1):
        values = benefit.value_on(name, first_day(month))
        if values is None:
            return None
        return values[min(index, len(values)) - 1]

    def defined(self, benefit, month):
        names = () if benefit.decided_amount else _REQUIRED[benefit.kind]
        return all(benefit.value_on(name, first_day(month)) is not None for name in names)

    # ---- household -----------------------------------------------------------------------------------------

    def members(self, household_id, beneficiary, month):
        """(person, role) present in the month, oldest first; the beneficiary alone without a household."""
        if household_id is None:
            return [(self.persons[beneficiary], "head")]
        present = {}
        for row in self.memberships:
            if row["household_id"] != household_id:
                continue
            person = self.persons[row["person_id"]]
            ends = row.get("member_to") or dt.date.max
            alive = person.get("death_date") is None or month_of(person["death_date"]) >= month
            if (row["member_from"] <= last_day(month) and ends >= first_day(month)
                    and month_of(person["birth_date"]) <= month and alive):
                present.setdefault(person["person_id"], (person, row["role"]))
        return sorted(present.values(), key=lambda pr: (pr[0]["birth_date"], pr[0]["person_id"]))

    # ---- formulas ------------------------------------------------------------------------------------------

    def full_amount(self, benefit, version, month):
        kind = benefit.kind
        members = self.members(version["household_id"], version["person_id"], month)
        income = version.get("income_minor") or 0
        if kind == "flat":
            amount = self.param(benefit, "amount", month)
            multiplier = self.param(benefit, "disabled_multiplier_bp", month) or 0
            if multiplier and self.persons[version["person_id"]].get("disabled"):
                return half_up(amount * multiplier, 10_000)
            return amount
        if kind == "graded_flat":
            limit = self.param(benefit, "age_max_by_grade", month, version.get("grade") or 1) \
                if benefit.parameters.get("age_max_by_grade") else 0
            if limit and reached(self.persons[version["person_id"]]["birth_date"], limit, month):
                return 0  # the grade's age limit: through the month of that birthday
            amount = self.param(benefit, "amount_by_grade", month, version.get("grade") or 1)
            subgroup = version.get("subgroup") or 0
            if subgroup and benefit.parameters.get("supplement_by_subgroup"):
                amount += self.param(benefit, "supplement_by_subgroup", month, subgroup) or 0
            return amount
        if kind in ISSUE_17_KINDS:
            return self.issue_17(benefit, version, month, members, income)
        if kind == "household_table_minus_income":
            return max(0, self.param(benefit, "base_by_size", month, max(1, len(members))) - income)
        if kind == "per_child":
            return self.per_child(benefit, version, month)
        if kind == "equivalence_scale_minus_income":
            return self.equivalence(benefit, version, month, members, income)
        if kind == "maintenance_advance":
            return self.advance(benefit, version, month, members, income)
        return self.category_sum(benefit, month, members, income)

    # ---- issue 17 -------------------------------------------------------------------------------------------

    def issue_17(self, benefit, version, month, members, income):
        kind = benefit.kind
        if kind == "top_up_to_ceiling":
            return max(0, self.param(benefit, "ceiling_amount", month) - (version.get("other_payment_minor") or 0))
        if kind == "wage_replacement":
            base = self.fact(self.wage_bases, "person_id", version["person_id"], "base_minor", month)
            if base is None:
                return NO_BASE
            amount = half_up(base * self.param(benefit, "replacement_bp", month), 10_000)
            amount = max(amount, self.param(benefit, "floor_amount", month) or 0)
            ceiling = self.param(benefit, "ceiling_amount", month) or 0
            return min(amount, ceiling) if ceiling else amount
        if kind == "per_member_category":
            return sum(self.param(benefit, "child_or_disabled_amount", month)
                       if self.is_child(benefit, person, month) or person.get("disabled")
                       else self.param(benefit, "adult_amount", month) for person, _role in members)
        if not members:
            return 0
        if kind == "housing_cost_minus_share":
            cost = None if version["household_id"] is None else self.fact(
                self.housing_costs, "household_id", version["household_id"], "cost_minor", month)
            if cost is None:
                return NO_BASE
            share_bp = half_up(income * self.param(benefit, "share_coefficient_bp", month),
                               2 * len(members) * self.param(benefit, "subsistence_per_person", month))
            return max(0, cost - half_up(income * share_bp, 10_000))
        return self.child_reference(benefit, month, members, income)

    def is_child(self, benefit, person, month):
        return not reached(person["birth_date"], benefit.child_age_limit_years, month)

    def child_reference(self, benefit, month, members, income):
        """Per child: max(reference of the age band - income / n, reference x floor, 0), summed, rounded once."""
        n, floor_bp = len(members), self.param(benefit, "floor_bp", month) or 0
        numerator = 0
        children = [person for person, _role in members if self.is_child(benefit, person, month)]
        for order, person in enumerate(children, start=1):  # oldest first
            young = not reached(person["birth_date"], benefit.young_child_age_limit_years, month)
            reference = self.param(benefit, "subsistence_child_under_6" if young else "subsistence_child_6_18", month)
            multiplier = self.param(benefit, "multiplier_by_order_bp", month, order) or 10_000
            # the same as (reference x multiplier - income / n) x n x 10_000, in integers
            numerator += max(reference * multiplier * n - income * 10_000, reference * floor_bp * n, 0)
        return half_up(numerator, n * 10_000)

    def fact(self, rows, key, key_value, column, month):
        """The amount of the row of that key in force in the month (latest valid_from), None without one."""
        found = None
        for row in sorted((r for r in rows if r[key] == key_value), key=lambda r: r["valid_from"]):
            if row["valid_from"] <= last_day(month) and (row.get("valid_to") or dt.date.max) >= first_day(month):
                found = row[column]
        return found

    def advance(self, benefit, version, month, members, income):
        """The child's age band picks the reference (- per-capita income, at least the floor, where means-tested);
        due only while a title for the child is in force, and at most the title's monthly amount."""
        title = next((t for t in self.titles if t["child_id"] == version["person_id"]
                      and month_of(t["valid_from"]) <= month
                      and (t.get("valid_to") is None or month <= month_of(t["valid_to"]))), None)
        if title is None:
            return 0
        day, birth = first_day(month), self.persons[version["person_id"]]["birth_date"]
        band = sum(1 for years in benefit.value_on("advance_band_limits_years", day) or () if reached(birth, years, month))
        references = benefit.value_on("advance_reference_by_band", day)
        amount = references[min(band, len(references) - 1)]
        floor_bp = (benefit.value_on("advance_floor_bp", day) or (0,))[0]
        if floor_bp:
            floor = half_up(amount * floor_bp, 10_000)
            n = max(1, len(members))  # the reference less the per-capita income, rounded once
            amount = min(amount, max(half_up(amount * n - income, n), floor))
        return amount if title.get("monthly_minor") is None else min(amount, title["monthly_minor"])

    def per_child(self, benefit, version, month):
        if version["household_id"] is None:
            return 0
        # Readings 1: a child by birth date alone, whatever the role label
        children = [person for person, _role in self.members(version["household_id"], version["person_id"], month)
                    if not reached(person["birth_date"], benefit.child_age_limit_years, month)]
        cap = self.param(benefit, "max_children", month) or 0
        rate = self.param(benefit, "child_amount", month)
        if version.get("mo_family"):
            rate = max(rate, self.param(benefit, "child_amount_mo_family", month) or rate)
        if version.get("single_parent"):
            rate = max(rate, self.param(benefit, "child_amount_single_parent", month) or rate)
        special = self.param(benefit, "child_amount_special", month) or rate
        total, counted = 0, []
        for child in children:
            is_twin = benefit.twins_excepted and counted and counted[-1]["birth_date"] == child["birth_date"]
            if cap and len(counted) >= cap and not is_twin:
                continue
            counted.append(child)
            receiving = benefit.special_rate_benefit and self.holds(child["person_id"], benefit.special_rate_benefit,
                                                                    month)
            total += max(rate, special) if (child.get("without_parental_care") or receiving) else rate
        return total

    def holds(self, person_id, code, month):
        """Readings 6: the person holds a right of benefit `code` with a version (decided by the period's end)
        touching the month."""
        return any(v["benefit"] == code and v["person_id"] == person_id and v["decided_on"] <= self.limit_day
                   and v["valid_from"] <= last_day(month) and (v.get("valid_to") or dt.date.max) >= first_day(month)
                   for versions in self.rights.values() for v in versions)

    def equivalence(self, benefit, version, month, members, income):
        cap = self.param(benefit, "max_members", month) or 0
        counted = members[:cap] if cap else members
        scale = 0
        for position, (person, _role) in enumerate(counted):
            if position == 0:
                scale += self.param(benefit, "scale_first_adult_bp", month)
            elif not reached(person["birth_date"], benefit.child_age_limit_years, month):
                scale += self.param(benefit, "scale_child_bp", month)
            else:
                scale += self.param(benefit, "scale_further_adult_bp", month)
        supplement = 0
        if version.get("unable_to_work") or version.get("single_parent"):
            supplement = self.param(benefit, "supplement_bp", month) or 0
        base = self.param(benefit, "base", month)
        return max(0, half_up(base * scale * (10_000 + supplement), 100_000_000) - income)

    def category_sum(self, benefit, month, members, income):
        guaranteed_numerator, cap = 0, 0
        for person, _role in members:
            birth = person["birth_date"]
            if not reached(birth, benefit.young_child_age_limit_years, month):
                sub, share = self.param(benefit, "subsistence_child_under_6", month), "guaranteed_child_bp"
            elif not reached(birth, benefit.child_age_limit_years, month):
                sub, share = self.param(benefit, "subsistence_child_6_18", month), "guaranteed_child_bp"
            elif person.get("disabled") or (benefit.lost_capacity_age_years
                                            and month >= month_of(birth) + 12 * benefit.lost_capacity_age_years):
                sub, share = self.param(benefit, "subsistence_disabled", month), "guaranteed_disabled_bp"
            else:
                sub, share = self.param(benefit, "subsistence_working_age", month), "guaranteed_working_age_bp"
            guaranteed_numerator += sub * self.param(benefit, share, month)
            cap += sub
        return min(max(0, half_up(guaranteed_numerator, 10_000) - income), cap)

    def scheduled(self, benefit, version, month, anchor):
        order = max(1, version.get("birth_order") or 1)
        if benefit.kind == "one_off" and month != anchor:
            return 0
        applied = version.get("applied_on") or version["decided_on"]
        born = month_of(self.persons[version["person_id"]]["birth_date"])
        # Readings 5, from the birth: the beneficiary's own where the beneficiary is the newborn (under 12 years
        # old in the right's first month), else the right's first month (a grant to a parent: valid_from is the birth)
        birth = born if anchor - 12 * 12 < born <= anchor else anchor
        if benefit.claim_within_months and month_of(applied) > birth + benefit.claim_within_months:
            return 0  # a claim out of time
        if benefit.multiple_of_benefit:
            family = self.family_due(benefit.multiple_of_benefit, version["household_id"], anchor)
            return half_up(family * benefit.multiple_bp, 10_000)
        if benefit.decided_amount:
            return version.get("amount_minor") or 0
        if not self.defined(benefit, anchor):
            return None
        if benefit.kind == "one_off":
            name = "amount_by_order_mo_family" if version.get("mo_family") else "amount_by_order"
            if benefit.value_on(name, first_day(anchor)) is None:
                name = "amount_by_order"
            return self.param(benefit, name, anchor, order)
        if month == anchor:
            return self.param(benefit, "lump_sum_by_order", anchor, order)
        count = self.param(benefit, "instalment_count_by_order", anchor, order)
        total = self.param(benefit, "instalment_total_by_order", anchor, order)
        k = month - anchor
        if count == 0 or k > count:
            return 0
        return total - (total // count) * (count - 1) if k == count else total // count

    def rate_times_days(self, benefit, versions, month):
        """Once, in the month the leave starts: the monthly rate in force then / days_per_month, rounded to the
        minor unit, x the days of the decided versions (each from valid_from to valid_to, both included)."""
        anchor = min(month_of(v["valid_from"]) for v in versions)
        if month != anchor:
            return 0
        if not self.defined(benefit, anchor):
            return None
        days = sum((v["valid_to"] - v["valid_from"]).days + 1 for v in versions if v.get("valid_to") is not None)
        daily = half_up(self.param(benefit, "monthly_rate", anchor), self.param(benefit, "days_per_month", anchor))
        return daily * days

    # ---- one right, one month ------------------------------------------------------------------------------

    def family_due(self, code, household_id, month):
        """Readings 12: the due of the household's rights of benefit `code` in the month (0 without one)."""
        if household_id is None:
            return 0
        total = 0
        for right_id, versions in self.rights.items():
            if any(v["benefit"] == code and v["household_id"] == household_id and v["decided_on"] <= self.limit_day
                   and month_of(v["valid_from"]) <= month <= month_of(v.get("valid_to") or dt.date.max)
                   for v in versions):
                total += self.due(right_id, month, self.period) or 0
        return total

    def due(self, right_id, month, period):
        """Amount due for the month, or None when the benefit has no parameter in force (the engine's 0)."""
        self.period, self.limit_day = period, last_day(period)
        limit_day = last_day(period)
        versions = [v for v in self.rights[right_id] if v["decided_on"] <= limit_day]
        touching = [v for v in versions
                    if v["valid_from"] <= last_day(month) and (v.get("valid_to") or dt.date.max) >= first_day(month)]
        if not touching:
            return 0
        winner = max(touching, key=lambda v: (v["valid_from"], v["version"]))
        benefit = self.catalogue.benefit(winner["benefit"])
        person = self.persons[winner["person_id"]]
        death = person.get("death_date")
        if benefit.stops_on_death and death is not None and month > month_of(death):
            return 0
        birth = person["birth_date"]
        if benefit.age_min_years and month < month_of(birth) + 12 * benefit.age_min_years:
            return 0
        if benefit.age_max_years and reached(birth, benefit.age_max_years, month):
            return 0
        if benefit.kind in ("lump_sum_instalments", "one_off"):
            anchor = min(month_of(v["valid_from"]) for v in versions)
            return self.scheduled(benefit, winner, month, anchor)  # its applied_on decides the claim window
        if benefit.kind == "monthly_rate_times_days":
            return self.rate_times_days(benefit, versions, month)
        if not self.defined(benefit, month):
            return None
        if benefit.proration == "whole_months":
            amount = self.full_amount(benefit, winner, month)
            return 0 if amount is NO_BASE else amount
        last_paid = last_day(month)
        if benefit.stops_on_death and death is not None:
            last_paid = min(last_paid, death)
        numerator = 0
        for version in touching:
            start = max(version["valid_from"], first_day(month))
            end = min(version["valid_to"] or dt.date.max, last_paid)
            days = (end - start).days + 1
            if days > 0:
                amount = self.full_amount(benefit, version, month)
                if amount is NO_BASE:
                    return 0
                numerator += amount * days
        return half_up(numerator, last_day(month).day)

    def window(self, right_id, start, period):
        """{month: due} for start..period, applying the months-per-year limit from January."""
        benefit = self.catalogue.benefit(self.rights[right_id][0]["benefit"])
        result, paid = {}, {}
        begin = start - start % 12 if benefit.kind == "equivalence_scale_minus_income" else start
        for month in range(begin, period + 1):
            amount = self.due(right_id, month, period) or 0
            if benefit.kind == "equivalence_scale_minus_income" and amount > 0:
                amount = self.year_limit(benefit, right_id, month, period, amount, paid)
            if month >= start:
                result[month] = amount
        return result

    def year_limit(self, benefit, right_id, month, period, amount, paid):
        year = month // 12
        limit = self.param(benefit, "max_months_per_year", month) or 0
        limit_day = last_day(period)
        touching = [v for v in self.rights[right_id] if v["decided_on"] <= limit_day
                    and v["valid_from"] <= last_day(month) and (v.get("valid_to") or dt.date.max) >= first_day(month)]
        winner = max(touching, key=lambda v: (v["valid_from"], v["version"]))
        if limit and not winner.get("unable_to_work") and paid.get(year, 0) >= limit:
            return 0
        paid[year] = paid.get(year, 0) + 1
        return amount


ISSUE_17_KINDS = ("per_member_category", "housing_cost_minus_share", "wage_replacement", "top_up_to_ceiling",
                  "per_child_reference_minus_income")

_REQUIRED = {
    "flat": ("amount",),
    "graded_flat": ("amount_by_grade",),
    "per_child": ("child_amount",),
    "household_table_minus_income": ("base_by_size",),
    "equivalence_scale_minus_income": ("base", "scale_first_adult_bp", "scale_further_adult_bp", "scale_child_bp"),
    "category_sum_minus_income_capped": ("subsistence_working_age", "subsistence_child_under_6",
                                         "subsistence_child_6_18", "subsistence_disabled",
                                         "guaranteed_working_age_bp", "guaranteed_child_bp",
                                         "guaranteed_disabled_bp"),
    "lump_sum_instalments": ("lump_sum_by_order", "instalment_total_by_order", "instalment_count_by_order"),
    "one_off": ("amount_by_order",),
    "per_member_category": ("adult_amount", "child_or_disabled_amount"),
    "housing_cost_minus_share": ("share_coefficient_bp", "subsistence_per_person"),
    "wage_replacement": ("replacement_bp",),
    "top_up_to_ceiling": ("ceiling_amount",),
    "per_child_reference_minus_income": ("subsistence_child_under_6", "subsistence_child_6_18"),
    "maintenance_advance": ("advance_reference_by_band",),
    "monthly_rate_times_days": ("monthly_rate", "days_per_month", "period_days_allowed"),
}
