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
from synthetic.arrays import month_end_days, month_start_days, period_text
from synthetic.names import COUNTRIES, CountryData


# Minor units of a typical "one euro's worth" in each currency: scales fines, alimony and debts.
EURO_WORTH_MINOR = {"me": 100, "rs": 117, "ua": 4_800}

# Roles: how a right arises from a household. Each country maps the roles it has to its benefit codes.
ROLES = ("means", "per_child", "disability", "care", "carer", "mother", "veteran", "veteran_care",
         "veteran_family", "foster", "birth", "funeral")
ROLE_CODES = {
    "me": {"means": "ME_MO", "per_child": "ME_DD", "disability": "ME_LI", "care": "ME_DNJP", "carer": "ME_NJEG",
           "mother": "ME_MAT", "veteran": "ME_BOR_LI", "veteran_care": "ME_BOR_NJEGA",
           "veteran_family": "ME_BOR_PORODICNA", "foster": "ME_MO_FOSTER", "birth": "ME_NOVOROD",
           "funeral": "ME_SAHRANA"},
    "rs": {"means": "RS_NSP", "per_child": "RS_DD", "birth": "RS_RODITELJSKI"},
    "ua": {"means": "UA_DSD", "birth": "UA_NARODZH", "funeral": "UA_POHOV"},
}
# Roles whose later versions change a fact the formula reads (income, grade, flags): retroactive changes.
FACT_ROLES = ("means", "per_child", "disability", "veteran", "veteran_family")
EVENT_ROLES = ("birth", "funeral")             # valid_from fixed by the event, never moved

# ---- context --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Context:
    """Everything a chunk needs besides its random generator: country data, period, catalogue facts."""

    country: CountryData
    catalogue: object
    period: int                   # month index of the register's period
    codes: dict                   # role -> benefit code present in the catalogue
    first_month: dict             # role -> earliest month with all parameters in force
    protected_roles: frozenset
    award_months: dict            # role -> months of a fixed-term award (UA_DSD: 6)
    institution_ids: np.ndarray   # payee ids of care institutions (shared by all chunks)
    enforcer_ids: np.ndarray      # payee ids of enforcement officers
    decided_amount_roles: frozenset
    post_allowed: dict            # role -> the benefit may be paid through the post

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
    without parameters of its own (an amount computed from another benefit's, such as UA_POHOV) waits for every
    other benefit of the catalogue."""
    own = {}
    for benefit in catalogue.benefits:
        dates = [dated[0][0] for dated in benefit.parameters.values()]
        if dates:
            own[benefit.code] = max((d.year - 1970) * 12 + d.month - 1 for d in dates)
    latest = max(own.values(), default=0)
    return {code: own.get(code, latest) for code in catalogue.benefit_codes}


def check_period_covered(catalogue, period: int) -> None:
    """A register of a month before every benefit of the catalogue has its values is refused (nothing to draw)."""
    first = min(benefit_first_months(catalogue).values())
    if period < first:
        raise InputError([problem("--period", None, "period", period_text(period),
                                  f"the {catalogue.country.upper()} catalogue has no benefit with values in force "
                                  f"before {period_text(first)} ({Path(catalogue.path).name})",
                                  f"generate for {period_text(first)} or later, or add the catalogue's values "
                                  "for earlier months with their source")])


def make_context(country_code: str, period: int, institution_ids, enforcer_ids) -> Context:
    country = COUNTRIES[country_code]
    catalogue = load_catalogue(country=country_code)
    check_period_covered(catalogue, period)
    firsts = benefit_first_months(catalogue)
    # a benefit whose values start after the period has no rights yet; no right starts before its first month
    codes = {role: code for role, code in ROLE_CODES[country_code].items()
             if code in catalogue.benefit_codes and firsts[code] <= period}
    first_month, award_months, protected, decided = {}, {}, set(), set()
    for role, code in codes.items():
        benefit = catalogue.benefit(code)
        first_month[role] = firsts[code]
        if benefit.info.get("award_months"):
            award_months[role] = int(benefit.info["award_months"])
        if benefit.protected:
            protected.add(role)
        if benefit.decided_amount:
            decided.add(role)
    post_allowed = {role: catalogue.benefit(code).post_allowed for role, code in codes.items()}
    return Context(country, catalogue, period, codes, first_month, frozenset(protected), award_months,
                   np.asarray(institution_ids, dtype=np.int64), np.asarray(enforcer_ids, dtype=np.int64),
                   frozenset(decided), post_allowed)


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
