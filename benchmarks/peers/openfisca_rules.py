"""The three means-tested rules (Montenegro MO, Serbia NSP, Ukraine DSD) written the way an OpenFisca user would
write them: vectorised numpy formulas over dated YAML parameters (openfisca_params/, copied from
shared/peers), on the country template's household and person entities. Adapted from shared/peers/
bench_openfisca.py so that they compute the same rule as isplata's catalogues and engine (RULES.md and the
semantics in engine/entitlement.py's docstring): a member counts from the month of birth; an age limit of N
years holds through the month of the N-th birthday (ages in months, not the template's age at the 1st);
NSP rounds base x scale half-up, counts the oldest 6 members and pays work-able households at most 9 months a
calendar year; DSD puts disabled adults, and members from the month of their 60th birthday (Readings 2), in the
lost-capacity category. OpenFisca stores every float variable as float32; the comparison shows what that does to
the totals. Needs the optional `bench` extra (openfisca-core, openfisca-country-template).
"""
import os

import numpy as np
from openfisca_core.parameters import ParameterNode
from openfisca_core.periods import ETERNITY, MONTH, period as make_period
from openfisca_core.simulations import SimulationBuilder
from openfisca_core.variables import Variable
from openfisca_country_template import CountryTaxBenefitSystem
from openfisca_country_template.entities import Household, Person

PARAMETERS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "openfisca_params")
BENEFITS = ("me_mo", "rs_nsp", "ua_dsd")
NSP_MONTHS_PER_YEAR = 9


class hh_income(Variable):  # average monthly household income used by the means test, EUR
    value_type = float
    entity = Household
    definition_period = MONTH


class hh_income_rsd(Variable):
    value_type = float
    entity = Household
    definition_period = MONTH


class hh_income_uah(Variable):
    value_type = float
    entity = Household
    definition_period = MONTH


class unable_to_work(Variable):
    value_type = bool
    entity = Household
    definition_period = ETERNITY


class disabled(Variable):
    value_type = bool
    entity = Person
    definition_period = ETERNITY


class months_since_birth(Variable):
    value_type = int
    entity = Person
    definition_period = MONTH
    label = "Months from the birth month to this month (negative before birth)"

    def formula(person, period, _parameters):
        birth_month = person("birth", period).astype("datetime64[M]").astype(np.int64)
        return (period.start.year - 1970) * 12 + period.start.month - 1 - birth_month


def _member_groups(household, period):
    """Per member: born, within the child (18) and young-child (6) limits, in months."""
    since = household.members("months_since_birth", period)
    born = since >= 0
    return born, born & (since <= 12 * 18), born & (since <= 12 * 6)


class me_mo(Variable):
    value_type = float
    entity = Household
    definition_period = MONTH
    label = "Montenegro materijalno obezbjeđenje"

    def formula_2024_01(household, period, parameters):
        born, _child, _young = _member_groups(household, period)
        size = household.sum(born)
        base = parameters(period).me_mo.base.calc(np.minimum(size, 5))
        return np.maximum(base - household("hh_income", period), 0)


class rs_nsp_full(Variable):
    value_type = float
    entity = Household
    definition_period = MONTH
    label = "Serbia NSP before the months-per-year limit"

    def formula(household, period, parameters):
        p = parameters(period).rs_nsp
        born, child, _young = _member_groups(household, period)
        children = household.sum(child)
        adults = household.sum(born & ~child)
        adults_c = np.minimum(adults, p.scale.max_members)          # adults first, then children, 6 at most
        children_c = np.minimum(children, p.scale.max_members - adults_c)
        units = (p.scale.first_adult * (adults_c > 0) + p.scale.other_adult * np.maximum(adults_c - 1, 0)
                 + p.scale.child * children_c)
        units = units * (1 + p.scale.increase_unable_to_work * household("unable_to_work", period))
        full = np.floor(p.base * units + 0.5)                       # half-up to the dinar, as RULES.md says
        return np.maximum(full - household("hh_income_rsd", period), 0)


class rs_nsp(Variable):
    value_type = float
    entity = Household
    definition_period = MONTH
    label = "Serbia novčana socijalna pomoć"

    def formula(household, period, parameters):
        amount = household("rs_nsp_full", period)
        paid_before = np.zeros(amount.shape, np.int64)
        for earlier in range(1, period.start.month):  # the months of this calendar year before this one
            paid_before += household("rs_nsp_full", period.offset(-earlier)) > 0
        allowed = household("unable_to_work", period) | (paid_before < NSP_MONTHS_PER_YEAR)
        return np.where(allowed, amount, 0)


class ua_dsd(Variable):
    value_type = float
    entity = Household
    definition_period = MONTH
    label = "Ukraine державна соціальна допомога малозабезпеченим сім'ям"

    def formula(household, period, parameters):
        p = parameters(period).ua_dsd
        born, child, young = _member_groups(household, period)
        # lost working capacity: disabled, or from the month of the 60th birthday (RULES.md Readings 2, the
        # catalogue's lost_capacity_age_years)
        lost = household.members("disabled", period) | (household.members("months_since_birth", period) >= 12 * 60)
        pm_member = np.select([~born, young, child, lost], [0, p.pm_child_under_6, p.pm_child_6_18,
                                                            p.pm_lost_capacity], p.pm_working_age)
        gm_member = np.select([child, lost], [pm_member * p.rate_child, pm_member * p.rate_lost_capacity],
                              pm_member * p.rate_working_age)
        pm_family = household.sum(pm_member)
        gm_family = household.sum(gm_member)
        amount = np.maximum(gm_family - household("hh_income_uah", period), 0)
        return np.round(np.minimum(amount, pm_family), 2)


def build_tax_benefit_system() -> CountryTaxBenefitSystem:
    tbs = CountryTaxBenefitSystem()
    extra = ParameterNode("", directory_path=PARAMETERS_DIR)
    for name, child in extra.children.items():
        tbs.parameters.add_child(name, child)
    tbs.add_variables(hh_income, hh_income_rsd, hh_income_uah, unable_to_work, disabled, months_since_birth,
                      me_mo, rs_nsp_full, rs_nsp, ua_dsd)
    return tbs


def build_simulation(tbs, households, months: list[str]):
    """A fresh simulation with every input set: incomes given in currency units, as an OpenFisca user would."""
    builder = SimulationBuilder()
    builder.create_entities(tbs)
    builder.declare_person_entity("person", np.arange(households.persons))
    entity = builder.declare_entity("household", np.arange(households.households))
    birth = households.birth_days.astype("datetime64[D]")
    role = np.where(households.person_position == 0, 0, 1)  # head is 'adult', the rest are flattened to 'child'
    builder.join_with_persons(entity, households.person_household, role)
    sim = builder.build(tbs)
    sim.set_input("birth", "eternity", birth)
    sim.set_input("disabled", "eternity", households.disabled)
    sim.set_input("unable_to_work", "eternity", households.unable_to_work)
    for month in months:
        sim.set_input("hh_income", month, households.income_eur_minor / 100)
        sim.set_input("hh_income_rsd", month, households.income_rsd_minor.astype(np.float64))
        sim.set_input("hh_income_uah", month, households.income_uah_minor / 100)
    return sim


def compute(tbs, households, months: list[str]) -> dict[str, np.ndarray]:
    """Every benefit for every month from a fresh simulation: {benefit: float32 [month, household]}."""
    sim = build_simulation(tbs, households, months)
    return {name: np.stack([sim.calculate(name, make_period(m)) for m in months]) for name in BENEFITS}
