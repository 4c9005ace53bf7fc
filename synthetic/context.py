"""What every chunk of a synthetic register shares: the country, the period, the catalogue's facts per role.

A role is how a right arises from a household (means test, child allowance, disability ...); each country
maps the roles it has to the benefit codes of its catalogue (ROLE_CODES).
"""
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engine.months import month_first_date
from formats.catalogue import load_catalogue
from formats.errors import InputError, problem
from formats.i18n import N_
from synthetic.arrays import month_end_days, month_start_days, period_text
from synthetic.names import COUNTRIES, CountryData


# Minor units of a typical "one euro's worth" in each currency: scales fines, alimony and debts.
EURO_WORTH_MINOR = {"me": 100, "rs": 117, "ua": 4_800}

# Roles of the benefits ROLE_CODES does not name, by formula kind (synthetic/kind_rights.py): any priced benefit
# of a catalogue is drawn, a flat benefit for children (age limit up to 18) as a child's right.
KIND_ROLES = {
    "flat": "person_flat", "graded_flat": "person_flat", "per_child": "children",
    "household_table_minus_income": "household_means", "equivalence_scale_minus_income": "household_means",
    "category_sum_minus_income_capped": "household_means", "lump_sum_instalments": "birth_event",
    "one_off": "birth_event", "per_member_category": "displaced", "housing_cost_minus_share": "housing",
    "wage_replacement": "leave", "top_up_to_ceiling": "attendance",
    "per_child_reference_minus_income": "single_parent", "maintenance_advance": "maintenance",
}
# kinds added after the roles' order was fixed: their roles come last in ROLES
LATER_KIND_ROLES = {"monthly_rate_times_days": "maternity"}
# Roles: how a right arises from a household. Each country maps the roles it has to its benefit codes; the roles
# of KIND_ROLES follow (a right's role index orders its household's rights, so roles are only ever appended).
ROLES = ("means", "per_child", "disability", "care", "carer", "mother", "veteran", "veteran_care",
         "veteran_family", "foster", "birth", "funeral",
         *dict.fromkeys(KIND_ROLES.values()), "child_flat", "childhood_disability", "first_grader",
         "foster_family", *LATER_KIND_ROLES.values())
KIND_ROLES.update(LATER_KIND_ROLES)
ROLE_CODES = {
    "me": {"means": "ME_MO", "per_child": "ME_DD", "disability": "ME_LI", "care": "ME_DNJP", "carer": "ME_NJEG",
           "mother": "ME_MAT", "veteran": "ME_BOR_LI", "veteran_care": "ME_BOR_NJEGA",
           "veteran_family": "ME_BOR_PORODICNA", "foster": "ME_MO_FOSTER", "birth": "ME_NOVOROD",
           "funeral": "ME_SAHRANA"},
    "rs": {"means": "RS_NSP", "per_child": "RS_DD", "birth": "RS_RODITELJSKI"},
    "ua": {"means": "UA_DSD", "birth": "UA_NARODZH", "funeral": "UA_POHOV",
           "childhood_disability": "UA_INV_DYTYNSTVA", "first_grader": "UA_PAKUNOK_SHKOLYARA",
           "foster_family": "UA_PRYIOMNI"},
}
# Roles whose later versions change a fact the formula reads (income, grade, flags): retroactive changes.
FACT_ROLES = ("means", "per_child", "disability", "veteran", "veteran_family", "household_means", "housing",
              "single_parent", "maintenance", "foster_family")
# valid_from fixed by the event, never moved (a maternity leave's valid_to too: its length is the law's)
EVENT_ROLES = ("birth", "funeral", "birth_event", "first_grader", "maternity")

# ---- context --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Context:
    """Everything a chunk needs besides its random generator: country data, period, catalogue facts.

    `benefits` lists every benefit code the generator writes (a draft's "code" indexes it): the codes of the
    country's roles, then each other priced benefit of the catalogue, drawn by a generic role of its kind. The
    catalogue facts (first month, award term, protection, decided amount, post) are kept per benefit code.
    """

    country: CountryData
    catalogue: object
    period: int                   # month index of the register's period
    codes: dict                   # role -> benefit code present in the catalogue
    benefits: tuple               # every code written; drafts["code"] is an index into it
    role_of: dict                 # benefit code -> role
    first_month: dict             # benefit code -> earliest month with all parameters in force
    award_months: dict            # benefit code -> months of a fixed-term award (UA_DSD: 6)
    protected: frozenset          # benefit codes protected from deductions
    decided_amount: frozenset     # benefit codes whose amount comes with the decision
    post_allowed: dict            # benefit code -> the benefit may be paid through the post
    institution_ids: np.ndarray   # payee ids of care institutions (shared by all chunks)
    enforcer_ids: np.ndarray      # payee ids of enforcement officers

    def code_index(self, role: str) -> int:
        return self.benefits.index(self.codes[role])

    def per_code(self, values: dict, default) -> np.ndarray:
        """values[code] for each benefit index, and `default` at one more index (rows of an unknown code)."""
        return np.array([values.get(code, default) for code in self.benefits] + [default])

    def role_indexes(self) -> np.ndarray:
        """Role index for each benefit index, and len(ROLES) at one more index (an unknown code)."""
        return np.array([ROLES.index(self.role_of[code]) for code in self.benefits] + [len(ROLES)], dtype=np.int64)

    @property
    def start_days(self) -> int:
        return int(month_start_days(self.period))

    @property
    def end_days(self) -> int:
        return int(month_end_days(self.period))

    @property
    def euro_minor(self) -> int:
        return EURO_WORTH_MINOR[self.country.code]


def benefit_first_months(catalogue) -> dict:
    """Benefit code -> first month it can be calculated: the month all its parameters are in force. A benefit
    without parameters of its own waits for the benefit it is a multiple of (UA_POHOV: UA_DSD), else for every
    other benefit of the catalogue; an unpriced benefit (no amount in any source) never can (NEVER_MONTH)."""
    own = {}
    for benefit in catalogue.benefits:
        dates = [dated[0][0] for dated in benefit.parameters.values()]
        if dates and not benefit.unpriced:
            own[benefit.code] = max((d.year - 1970) * 12 + d.month - 1 for d in dates)
    latest = max(own.values(), default=0)
    firsts = {}
    for benefit in catalogue.benefits:
        if benefit.unpriced:
            firsts[benefit.code] = NEVER_MONTH
        else:
            firsts[benefit.code] = own.get(benefit.code, own.get(benefit.multiple_of_benefit, latest))
    return firsts


NEVER_MONTH = 2**31 - 1


def check_period_covered(catalogue, period: int) -> None:
    """A register of a month before every benefit of the catalogue has its values is refused (nothing to draw)."""
    first = min(benefit_first_months(catalogue).values())
    if period < first:
        raise InputError([problem("--period", None, "period", period_text(period),
                                  N_("the {country} catalogue has no benefit with values in force before {first} "
                                     "({name})", country=catalogue.country.upper(), first=period_text(first),
                                     name=Path(catalogue.path).name),
                                  N_("generate for {first} or later, or add the catalogue's values for earlier "
                                     "months with their source", first=period_text(first)))])


def make_context(country_code: str, period: int, institution_ids, enforcer_ids) -> Context:
    country = COUNTRIES[country_code]
    catalogue = load_catalogue(country=country_code)
    check_period_covered(catalogue, period)
    firsts = benefit_first_months(catalogue)
    # a benefit whose values start after the period has no rights yet; no right starts before its first month;
    # a benefit without an amount (unpriced) has no rights at all: calculating them is refused
    drawn = [benefit.code for benefit in catalogue.benefits
             if firsts[benefit.code] <= period and not benefit.unpriced]
    codes = {role: code for role, code in ROLE_CODES[country_code].items() if code in drawn}
    generic = {code: generic_role(catalogue.benefit(code)) for code in drawn if code not in codes.values()}
    role_of = {**{code: role for role, code in codes.items()}, **{c: r for c, r in generic.items() if r}}
    benefits = tuple(code for code in (*codes.values(), *generic) if code in role_of)
    chosen = [catalogue.benefit(code) for code in benefits]
    return Context(country, catalogue, period, codes, benefits, role_of,
                   first_month={b.code: firsts[b.code] for b in chosen},
                   award_months={b.code: int(b.info["award_months"]) for b in chosen if b.info.get("award_months")},
                   protected=frozenset(b.code for b in chosen if b.protected),
                   decided_amount=frozenset(b.code for b in chosen if b.decided_amount),
                   post_allowed={b.code: b.post_allowed for b in chosen},
                   institution_ids=np.asarray(institution_ids, dtype=np.int64),
                   enforcer_ids=np.asarray(enforcer_ids, dtype=np.int64))


def generic_role(benefit) -> str | None:
    """The role a benefit without one in ROLE_CODES is drawn by (None: a kind the generator cannot draw)."""
    role = KIND_ROLES.get(benefit.kind)
    if role == "person_flat" and 0 < benefit.age_max_years <= 18:
        return "child_flat"
    if role == "person_flat" and "supplement_by_subgroup" in benefit.parameters:
        return "childhood_disability"   # graded by disability group, with a care supplement by subgroup
    return role


def code_param(ctx: Context, code: str, name: str) -> np.ndarray | None:
    """A parameter of benefit `code` in force in the period (its first value if the period is earlier); None
    where the benefit has no such parameter."""
    benefit = ctx.catalogue.benefit(code)
    if name not in benefit.parameters:
        return None
    values = benefit.value_on(name, month_first_date(ctx.period))
    if values is None:
        values = benefit.parameters[name][0][1]
    return np.asarray(values, dtype=np.int64)


def param_in_force(ctx: Context, role: str, name: str) -> np.ndarray:
    """A parameter of the role's benefit in force in the period (its first value if the period is earlier)."""
    benefit = ctx.catalogue.benefit(ctx.codes[role])
    values = benefit.value_on(name, month_first_date(ctx.period))
    if values is None:
        values = benefit.parameters[name][0][1]
    return np.asarray(values, dtype=np.int64)


@dataclass
class NextIds:
    """The next free id of every kind; chunks take consecutive ranges, so ids are dense and ordered."""

    person: int = 1
    household: int = 1
    right: int = 1
    payee: int = 1
    order: int = 1
    title: int = 1
