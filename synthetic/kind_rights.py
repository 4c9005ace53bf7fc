"""Rights of the benefits that have no role of their own in ROLE_CODES, drawn by their formula kind.

Each priced benefit of the catalogue that the country's roles do not name (Context.role_of maps it to a role of
KIND_ROLES) gets its own draw here, so a benefit added to a catalogue appears in generated registers without
touching the generator. How many rights each draw makes is RATES below: the share of households (or of the
persons who qualify) that hold the benefit, with its source where one exists.
"""
import numpy as np

from synthetic.arrays import month_end_days, month_start_days, months_of_days, weighted_choice
from synthetic.context import Context, code_param
from synthetic.drafts import GUARDIAN, PERSON, draft, ongoing
from synthetic.people import ADULT, CHILD, People, mother_of

# Share of the chunk's households (h) or of the qualifying persons (p) that hold a benefit of the role, per
# country ("*" for any). Sources: shared/research/benefits-catalogue.md. Ukraine has about 14 M households
# (33 M people at 2.4 a household: an assumption); the housing subsidy reaches 2.7-2.8 M of them (research UA
# #18: 20 %), the IDP allowance more than 1.2 M people (UA #17: about 0.5 M households at 2.4 people, 3.5 %,
# each member a right of his own), so the two are the most common Ukrainian benefits (UA_DSD is scaled down to
# match, synthetic/rights.py MEANS_SCALE). Every other rate is an assumption sized to the benefit's reach (the
# research gives no count), stated beside it.
RATES = {
    "housing": {"*": 0.20},            # h: UA #18, 2.7-2.8 M of ~14 M households
    "displaced": {"*": 0.035},         # h (each member a right): UA #17, >1.2 M IDPs, ~0.44 x the subsidy
    "single_parent": {"*": 0.30},      # h with one adult and children: assumption (means-tested, many qualify)
    # p: children of single parents whose other parent does not pay: ME's Alimony Fund paid 144 children in
    # August 2024 (research ME #19) of ~84,000 payments a month (DESIGN.md), so a small share: assumption
    "maintenance": {"*": 0.01},
    "leave": {"*": 0.60},              # p: mothers of a child under one who were employed: assumption
    "attendance": {"*": 0.15},         # p: disabled persons needing another's care: assumption
    "person_flat": {"*": 0.02},        # p: persons in the benefit's age range: assumption
    "child_flat": {"*": 0.80},         # p: children in the benefit's age range (UA childcare to 1: universal)
    "children": {"*": 0.10},           # h with children: assumption
    "household_means": {"*": 0.04},    # h: assumption
    "birth_event": {"*": 0.50},        # p: births in the claim window: assumption
    "childhood_disability": {"*": 0.15},   # p: disabled persons, disabled from childhood: assumption
    "first_grader": {"*": 0.10},       # p: six-year-olds whose parent claimed in the last three months: assumption
    "foster_family": {"*": 0.50},      # h holding a child without parental care: assumption
    # p: women aged 18-44 whose leave started in the last year: births are about 2.4 % of them a year (Ukraine,
    # ~180,000 births, an assumption), the uninsured fewer; sized up so that a small register holds some
    "maternity": {"*": 0.01},
}
# UA disability from childhood (research UA #12): grade 1-3 = group I-III of an adult, the last grade a child;
# groups of adults weighted as an assumption (the research gives no counts)
GROUP_WEIGHTS = (0.15, 0.45, 0.40)
OTHER_PAYMENT_SHARE = 0.5              # attendance top-up: beneficiaries who also get another institution's allowance
SUBGROUP_A_SHARE = 0.4                 # first-group disability: subgroup A (the higher care supplement)
# maternity leave of the uninsured (research UA #2): the catalogue's lengths (126, 140, 180 days), the normal one
# most often (an assumption)
LEAVE_LENGTH_WEIGHTS = (0.80, 0.15, 0.05)


def rate(ctx: Context, role: str) -> float:
    shares = RATES[role]
    return shares.get(ctx.country.code, shares["*"])


def kind_rights(rng, ctx: Context, ppl: People, age) -> list:
    """Drafts of every benefit drawn by its kind, in the order of Context.benefits."""
    drafts = []
    for index, code in enumerate(ctx.benefits):
        role = ctx.role_of[code]
        if role in DRAWS:
            drafts.append(DRAWS[role](rng, ctx, ppl, age, code, index))
    return drafts


def _chosen(rng, mask: np.ndarray, share: float) -> np.ndarray:
    return np.flatnonzero(mask & (rng.random(len(mask)) < share))


def _household_right(rng, ctx, ppl, role, households, code, index, income=-1, back_months=60):
    head = ppl.head[households]
    start, end, decided = ongoing(rng, ctx, role, ppl.formed_days[households], back_months, code=code)
    return draft(role, head, head, PERSON, income=income, valid_from=start, valid_to=end, decided_on=decided,
                 code=index)


def _per_capita_income(rng, ctx, ppl, households, low: float, high: float) -> np.ndarray:
    """Household income as members x a per-capita income of low..high 'euro worth' x 100 (a third have none)."""
    per_capita = rng.uniform(low, high, len(households)) * 100 * ctx.euro_minor
    income = (per_capita * ppl.size[households]).astype(np.int64)
    return np.where(rng.random(len(households)) < 0.3, 0, income)


def _housing(rng, ctx, ppl, age, code, index):
    """Housing subsidy: a household right; the income is what the mandatory share is taken from."""
    households = _chosen(rng, np.ones(ppl.household_count, dtype=bool), rate(ctx, "housing"))
    income = _per_capita_income(rng, ctx, ppl, households, 0.3, 1.5)
    return _household_right(rng, ctx, ppl, "housing", households, code, index, income)


def _displaced(rng, ctx, ppl, age, code, index):
    """IDP allowance: each living member of a displaced household has a right of his own (research UA #17 counts
    recipients), without a household, so per_member_category pays the beneficiary's category alone; a child's
    is paid to the head."""
    households = _chosen(rng, np.ones(ppl.household_count, dtype=bool), rate(ctx, "displaced"))
    displaced = np.zeros(ppl.household_count, dtype=bool)
    displaced[households] = True
    members = np.flatnonzero(displaced[ppl.household] & (ppl.death_days < 0))
    head = ppl.head[ppl.household[members]]
    child = ppl.category[members] == CHILD
    start, end, decided = ongoing(rng, ctx, "displaced", ppl.formed_days[ppl.household[members]], 30, code=code)
    return draft("displaced", members, np.where(child, head, members), np.where(child, GUARDIAN, PERSON),
                 valid_from=start, valid_to=end, decided_on=decided, code=index, alone=1)


def _single_parent(rng, ctx, ppl, age, code, index):
    """Single-parent allowance per child: the ПМ of each child's age band less the family's per-capita income."""
    single = (ppl.adults == 1) & (ppl.children > 0)
    households = _chosen(rng, single, rate(ctx, "single_parent"))
    income = _per_capita_income(rng, ctx, ppl, households, 0.1, 0.8)
    return _household_right(rng, ctx, ppl, "single_parent", households, code, index, income)


def _maintenance(rng, ctx, ppl, age, code, index):
    """Advance of child maintenance: the child's right, paid to the parent it lives with (the head); the title
    and its debtor are written with the register (synthetic/facts.py)."""
    single = ((ppl.adults == 1) & (ppl.children > 0))[ppl.household]
    children = _chosen(rng, single & (ppl.category == CHILD) & (age < 18), rate(ctx, "maintenance"))
    head = ppl.head[ppl.household[children]]
    income = _per_capita_income(rng, ctx, ppl, ppl.household[children], 0.1, 0.8)
    start, end, decided = ongoing(rng, ctx, "maintenance", ppl.birth_days[children] + 60, 36, code=code)
    return draft("maintenance", children, head, GUARDIAN, income=income, valid_from=start, valid_to=end,
                 decided_on=decided, code=index)


def _leave(rng, ctx, ppl, age, code, index):
    """Leave pay: mothers of a child born in the last year; the wage base is written with the register."""
    babies = np.flatnonzero((ppl.category == CHILD) & (ppl.birth_days >= ctx.end_days - 365))
    mother = mother_of(ppl)[ppl.household[babies]]
    working = ppl.female[mother] & (ppl.category[mother] == ADULT) & (rng.random(len(babies)) < rate(ctx, "leave"))
    babies, mother = babies[working], np.unique(mother[working])
    births = ppl.birth_days[babies]
    first = np.full(len(ppl.household), np.iinfo(np.int64).max)
    np.minimum.at(first, mother_of(ppl)[ppl.household[babies]], births)
    start, end, decided = ongoing(rng, ctx, "leave", first[mother], 11, code=code)
    end = np.where(end >= 0, end, month_end_days(months_of_days(start) + 11))   # a year of leave at most
    return draft("leave", mother, mother, PERSON, valid_from=start, valid_to=end, decided_on=decided, code=index)


def _attendance(rng, ctx, ppl, age, code, index):
    """Top-up to a ceiling: disabled persons; about half also get another institution's allowance, below the
    ceiling, recorded on the right (other_payment_minor); the top-up pays the difference."""
    chosen = _chosen(rng, ppl.disabled, rate(ctx, "attendance"))
    ceiling = _ceiling(ctx, code)
    other = np.where(rng.random(len(chosen)) < OTHER_PAYMENT_SHARE,
                     (ceiling * rng.uniform(0.3, 0.95, len(chosen))).astype(np.int64), -1)
    child = ppl.category[chosen] == CHILD
    recipient = np.where(child, ppl.head[ppl.household[chosen]], chosen)
    start, end, decided = ongoing(rng, ctx, "attendance", ppl.birth_days[chosen] + 60, 120, code=code)
    return draft("attendance", chosen, recipient, np.where(child, GUARDIAN, PERSON), amount=-1, income=-1,
                 valid_from=start, valid_to=end, decided_on=decided, code=index, other_payment=other)


def _ceiling(ctx, code) -> int:
    """The benefit's first money parameter in force (the ceiling of a top-up), else 300 'euro worth'."""
    benefit = ctx.catalogue.benefit(code)
    for name in sorted(benefit.parameters, key=lambda name: ("ceiling" not in name, name)):
        values = code_param(ctx, code, name)
        if values is not None and len(values) and values[0] > 0:
            return int(values[0])
    return 300 * ctx.euro_minor


def _person_flat(rng, ctx, ppl, age, code, index, role="person_flat"):
    """A flat or graded benefit of a person in the benefit's age range (a child's paid to the head)."""
    benefit = ctx.catalogue.benefit(code)
    upper = benefit.age_max_years or 200   # an age limit runs through the month of that birthday: under it
    in_range = (age >= benefit.age_min_years) & (age < upper) & (ppl.death_days < 0)
    if role == "person_flat":
        in_range &= ppl.category != CHILD
    chosen = _chosen(rng, in_range, rate(ctx, role))
    grades = code_param(ctx, code, "amount_by_grade")
    grade = rng.integers(1, len(grades) + 1, len(chosen)) if grades is not None else 0
    child = ppl.category[chosen] == CHILD
    recipient = np.where(child, mother_of(ppl)[ppl.household[chosen]], chosen)
    start, end, decided = ongoing(rng, ctx, role, ppl.birth_days[chosen] + 31, 60, code=code)
    first_group = np.asarray(grade) == 1
    subgroup = np.where(first_group, np.where(rng.random(len(chosen)) < SUBGROUP_A_SHARE, 1, 2), -1)
    return draft(role, chosen, recipient, np.where(child, GUARDIAN, PERSON), grade=grade, valid_from=start,
                 valid_to=end, decided_on=decided, code=index, subgroup=subgroup)


def _child_flat(rng, ctx, ppl, age, code, index):
    return _person_flat(rng, ctx, ppl, age, code, index, role="child_flat")


def _children(rng, ctx, ppl, age, code, index):
    """A per-child benefit of a household with children, paid to its head."""
    households = _chosen(rng, ppl.children > 0, rate(ctx, "children"))
    return _household_right(rng, ctx, ppl, "children", households, code, index)


def _household_means(rng, ctx, ppl, age, code, index):
    """A means-tested household benefit: the head's right, with the household income it tests."""
    households = _chosen(rng, np.ones(ppl.household_count, dtype=bool), rate(ctx, "household_means"))
    income = _per_capita_income(rng, ctx, ppl, households, 0.1, 1.5)
    return _household_right(rng, ctx, ppl, "household_means", households, code, index, income)


def _birth_event(rng, ctx, ppl, age, code, index):
    """A one-off or instalment grant on a birth in its claim window, to the mother, with the birth order."""
    benefit = ctx.catalogue.benefit(code)
    window_months = 12 if benefit.kind == "one_off" else 36
    earliest = max(int(month_start_days(ctx.first_month[code])), ctx.end_days - window_months * 30)
    births = _chosen(rng, (ppl.category == CHILD) & (ppl.birth_days >= earliest), rate(ctx, "birth_event"))
    mother = mother_of(ppl)[ppl.household[births]]
    month = months_of_days(ppl.birth_days[births])
    decided = np.minimum(ppl.birth_days[births] + rng.integers(10, 120, len(births)), ctx.end_days)
    end = month_end_days(month) if benefit.kind == "one_off" else -1
    return draft("birth_event", mother, mother, PERSON, birth_order=ppl.child_rank[births] + 1,
                 valid_from=month_start_days(month), valid_to=end, decided_on=decided, code=index)


def _childhood_disability(rng, ctx, ppl, age, code, index):
    """Disability from childhood by group (adults: grades 1-3, a child: the last grade), group I with its care
    subgroup (A or B); a child's is paid to the mother."""
    chosen = _chosen(rng, ppl.disabled & (ppl.death_days < 0), rate(ctx, "childhood_disability"))
    grades = code_param(ctx, code, "amount_by_grade")
    child = ppl.category[chosen] == CHILD
    adult_grade = 1 + np.searchsorted(np.cumsum(GROUP_WEIGHTS), rng.random(len(chosen)) * sum(GROUP_WEIGHTS))
    grade = np.where(child, len(grades), np.minimum(adult_grade, len(grades) - 1))
    subgroup = np.where(grade == 1, np.where(rng.random(len(chosen)) < SUBGROUP_A_SHARE, 1, 2), -1)
    recipient = np.where(child, mother_of(ppl)[ppl.household[chosen]], chosen)
    start, end, decided = ongoing(rng, ctx, "childhood_disability", ppl.birth_days[chosen] + 31, 120, code=code)
    return draft("childhood_disability", chosen, recipient, np.where(child, GUARDIAN, PERSON), grade=grade,
                 subgroup=subgroup, valid_from=start, valid_to=end, decided_on=decided, code=index)


def _first_grader(rng, ctx, ppl, age, code, index):
    """A one-off for a six-year-old starting school, claimed in the last three months, paid to the mother."""
    chosen = _chosen(rng, (ppl.category == CHILD) & (age == 6), rate(ctx, "first_grader"))
    month = np.maximum(ctx.period - rng.integers(0, 3, len(chosen)), ctx.first_month[code])
    mother = mother_of(ppl)[ppl.household[chosen]]
    decided = np.minimum(month_start_days(month) + rng.integers(3, 40, len(chosen)), ctx.end_days)
    return draft("first_grader", mother, mother, PERSON, birth_order=1, valid_from=month_start_days(month),
                 valid_to=month_end_days(month), decided_on=decided, code=index)


def _foster_family(rng, ctx, ppl, age, code, index):
    """Foster family allowance: a household right of a placement, a household that holds a child without
    parental care; the children's own income (rarely any) is the right's income."""
    fostering = np.bincount(ppl.household, weights=ppl.without_care, minlength=ppl.household_count) > 0
    households = _chosen(rng, fostering, rate(ctx, "foster_family"))
    income = np.where(rng.random(len(households)) < 0.9, 0, _per_capita_income(rng, ctx, ppl, households, 0.1, 0.3))
    return _household_right(rng, ctx, ppl, "foster_family", households, code, index, income)


def _maternity(rng, ctx, ppl, age, code, index):
    """A period of days (monthly_rate_times_days): living women aged 18-44 whose maternity leave started in the last
    year, never before the benefit's first date (the child may not be born yet: the leave starts before the birth),
    one right each of a length the catalogue allows, decided within weeks of its start."""
    women = _chosen(rng, ppl.female & (ppl.category == ADULT) & (age >= 18) & (age < 45) & (ppl.death_days < 0),
                    rate(ctx, "maternity"))
    earliest = max(int(month_start_days(ctx.first_month[code])), ctx.end_days - 364)
    start = earliest + (rng.random(len(women)) * (ctx.end_days - earliest + 1)).astype(np.int64)
    lengths = code_param(ctx, code, "period_days_allowed")
    days = lengths[np.minimum(weighted_choice(rng, len(women), LEAVE_LENGTH_WEIGHTS), len(lengths) - 1)]
    decided = np.minimum(start + rng.integers(5, 60, len(women)), ctx.end_days)
    return draft("maternity", women, women, PERSON, valid_from=start, valid_to=start + days - 1,
                 decided_on=decided, code=index)


DRAWS = {"housing": _housing, "displaced": _displaced, "single_parent": _single_parent,
         "maintenance": _maintenance, "leave": _leave, "attendance": _attendance, "person_flat": _person_flat,
         "child_flat": _child_flat, "children": _children, "household_means": _household_means,
         "birth_event": _birth_event, "childhood_disability": _childhood_disability,
         "first_grader": _first_grader, "foster_family": _foster_family, "maternity": _maternity}
