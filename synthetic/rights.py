"""Rights of a synthetic register, drawn from who lives in each household: one draft per right and role.

A draft is parallel int64 arrays (DRAFT_FIELDS): the beneficiary, the recipient and how they relate, the
facts the formula reads and the dates of the award.
"""
import numpy as np

from synthetic.arrays import month_end_days, month_start_days, months_of_days, weighted_choice
from synthetic.context import ROLES, Context, param_in_force
from synthetic.drafts import DRAFT_FIELDS, GUARDIAN, INSTITUTION, PERSON, draft, ongoing
from synthetic.kind_rights import kind_rights
from synthetic.people import ADULT, CHILD, ELDERLY, People, mother_of


# Ukraine's means test (UA_DSD) reaches far fewer families than its housing subsidy (2.7-2.8 M households,
# research UA #18) and IDP allowance (>1.2 M people, UA #17): a third of the ME/RS rate (assumption: the
# research gives no UA_DSD count).
MEANS_SCALE = {"ua": 0.3}
VETERAN_GRADE_WEIGHTS = np.array([1, 2, 3, 4, 6, 8, 10, 14, 18, 20], dtype=float)

def draw_rights(rng, ctx: Context, ppl: People) -> tuple[dict, np.ndarray]:
    """All rights arising from the chunk's households (unordered drafts) and the household MO flags."""
    today = ctx.end_days
    age = ppl.age_years(today)
    alive_at_start = ppl.death_days < 0
    unable = unable_to_work(ppl, age)
    single = (ppl.adults == 1) & (ppl.children > 0)
    drafts, means_households, means_draft = [], np.zeros(ppl.household_count, dtype=bool), None
    if "means" in ctx.codes:
        means_draft, means_households = _means_rights(rng, ctx, ppl, age, single, unable)
        drafts.append(means_draft)
    if "per_child" in ctx.codes:
        drafts.append(_per_child_rights(rng, ctx, ppl, means_households))
    li_grade = np.zeros(len(ppl.household), dtype=np.int64)
    if "disability" in ctx.codes:
        disability = _disability_rights(rng, ctx, ppl, age)
        li_grade[disability["person"]] = disability["grade"]
        drafts.append(disability)
    if "care" in ctx.codes:
        drafts.append(_care_rights(rng, ctx, ppl, li_grade))
    if "carer" in ctx.codes:
        drafts.append(_carer_rights(rng, ctx, ppl, li_grade))
    if "mother" in ctx.codes:
        drafts.append(_mother_rights(rng, ctx, ppl, age))
    if "veteran" in ctx.codes:
        drafts.extend(_veteran_rights(rng, ctx, ppl, age))
    if "veteran_family" in ctx.codes:
        drafts.append(_veteran_family_rights(rng, ctx, ppl))
    if "foster" in ctx.codes:
        drafts.append(_foster_rights(rng, ctx, ppl, age))
    if "birth" in ctx.codes:
        drafts.append(_birth_rights(rng, ctx, ppl))
    if "funeral" in ctx.codes:
        drafts.append(_funeral_rights(rng, ctx, ppl, alive_at_start, means_draft))
    drafts.extend(kind_rights(rng, ctx, ppl, age))
    merged = {key: np.concatenate([d[key] for d in drafts]) for key in DRAFT_FIELDS}
    role_code = np.array([ctx.code_index(role) if role in ctx.codes else -1 for role in ROLES])
    merged["code"] = np.where(merged["code"] < 0, role_code[merged["role"]], merged["code"])
    return merged, means_households


def unable_to_work(ppl: People, age: np.ndarray) -> np.ndarray:
    """Per household: no member of working age who is able to work."""
    able = (ppl.category == ADULT) & ~ppl.disabled & (age >= 18) & (age < 65)
    count = np.bincount(ppl.household, weights=able, minlength=ppl.household_count)
    return count == 0


def _means_threshold(ctx: Context, ppl: People, age, single, unable) -> np.ndarray:
    """Per household: the monthly amount the means test guarantees (income above it gets nothing)."""
    code = ctx.country.code
    if code == "me":
        base = param_in_force(ctx, "means", "base_by_size")
        return base[np.minimum(ppl.size, len(base)) - 1]
    if code == "rs":
        base = int(param_in_force(ctx, "means", "base")[0])
        members = np.minimum(ppl.size, int(param_in_force(ctx, "means", "max_members")[0]))
        child_count = np.minimum(ppl.children, members - 1)
        scale_bp = (int(param_in_force(ctx, "means", "scale_first_adult_bp")[0])
                    + (members - 1 - child_count) * int(param_in_force(ctx, "means", "scale_further_adult_bp")[0])
                    + child_count * int(param_in_force(ctx, "means", "scale_child_bp")[0]))
        supplement = np.where(unable | single, int(param_in_force(ctx, "means", "supplement_bp")[0]), 0)
        return base * scale_bp * (10_000 + supplement) // 10**8
    def value(name: str) -> int:
        return int(param_in_force(ctx, "means", name)[0])

    guaranteed = np.where(
        (ppl.category == CHILD) & (age < 6),
        value("subsistence_child_under_6") * value("guaranteed_child_bp"),
        np.where(ppl.category == CHILD,
                 value("subsistence_child_6_18") * value("guaranteed_child_bp"),
                 np.where(ppl.disabled | (ppl.category == ELDERLY),
                          value("subsistence_disabled") * value("guaranteed_disabled_bp"),
                          value("subsistence_working_age") * value("guaranteed_working_age_bp")))) // 10_000
    return np.bincount(ppl.household, weights=guaranteed, minlength=ppl.household_count).astype(np.int64)


def _means_rights(rng, ctx, ppl, age, single, unable):
    h = ppl.household_count
    chosen = rng.random(h) < (0.15 + 0.25 * single + 0.10 * unable) * MEANS_SCALE.get(ctx.country.code, 1.0)
    households = np.flatnonzero(chosen)
    threshold = _means_threshold(ctx, ppl, age, single, unable)[households]
    # a third without any income; the rest spread up to 15 % above the threshold, where nothing is due
    income = np.where(rng.random(len(households)) < 0.35, 0,
                      (threshold * rng.uniform(0.0, 1.15, len(households))).astype(np.int64))
    head = ppl.head[households]
    start, end, decided = ongoing(rng, ctx, "means", ppl.formed_days[households], 96)
    return draft("means", head, head, PERSON, income=income, valid_from=start, valid_to=end,
                 decided_on=decided), chosen


def _per_child_rights(rng, ctx, ppl, means_households):
    with_kids = ppl.children > 0
    chosen = np.flatnonzero(with_kids & (rng.random(ppl.household_count) < 0.5 + 0.35 * means_households))
    oldest_kid = ppl.first[chosen] + ppl.size[chosen] - ppl.children[chosen]
    head = ppl.head[chosen]
    fostered = np.bincount(ppl.household, weights=ppl.without_care, minlength=ppl.household_count) > 0
    guardian = fostered[chosen] | (ppl.category[head] == ELDERLY)
    start, end, decided = ongoing(rng, ctx, "per_child", ppl.birth_days[oldest_kid], 120)
    return draft("per_child", head, head, np.where(guardian, GUARDIAN, PERSON), valid_from=start,
                 valid_to=end, decided_on=decided)


def _institution_or(rng, ctx, n, share):
    """Institution index for a share of rights (where the country has institutions), else -1."""
    if len(ctx.institution_ids) == 0:
        return np.full(n, -1)
    return np.where(rng.random(n) < share, rng.integers(0, len(ctx.institution_ids), n), -1)


def _disability_rights(rng, ctx, ppl, age):
    chosen = np.flatnonzero(ppl.disabled & (rng.random(len(age)) < 0.5))
    grade = np.where(rng.random(len(chosen)) < 0.35, 1, 2)
    head = ppl.head[ppl.household[chosen]]
    child = ppl.category[chosen] == CHILD
    institution = _institution_or(rng, ctx, len(chosen), np.where(ppl.category[chosen] == ELDERLY, 0.10, 0.04))
    institution = np.where(child, -1, institution)
    kind = np.where(institution >= 0, INSTITUTION, np.where(child, GUARDIAN, PERSON))
    recipient = np.where(child, head, chosen)
    start, end, decided = ongoing(rng, ctx, "disability", ppl.birth_days[chosen] + 60, 180)
    return draft("disability", chosen, recipient, kind, grade=grade, institution=institution,
                 valid_from=start, valid_to=end, decided_on=decided)


def _care_rights(rng, ctx, ppl, li_grade):
    """Care allowance: every LI grade 1 beneficiary and some frail elderly; often paid to the carer."""
    frail = (ppl.category == ELDERLY) & ~ppl.disabled & (rng.random(len(li_grade)) < 0.05)
    chosen = np.flatnonzero((li_grade == 1) | frail)
    household = ppl.household[chosen]
    head, spouse = ppl.head[household], ppl.spouse[household]
    carer = np.where(head != chosen, head, spouse)
    child = ppl.category[chosen] == CHILD
    by_carer = child | ((carer >= 0) & (rng.random(len(chosen)) < 0.5))
    institution = np.where(by_carer, -1, _institution_or(rng, ctx, len(chosen), 0.05))
    recipient = np.where(by_carer, carer, chosen)
    kind = np.where(institution >= 0, INSTITUTION, np.where(by_carer, GUARDIAN, PERSON))
    start, end, decided = ongoing(rng, ctx, "care", ppl.birth_days[chosen] + 60, 150)
    return draft("care", chosen, recipient, kind, institution=institution, valid_from=start, valid_to=end,
                 decided_on=decided)


def _carer_rights(rng, ctx, ppl, li_grade):
    """Allowance to a parent caring for a child with a disability benefit (the parent is the beneficiary)."""
    cared = (li_grade > 0) & (ppl.category == CHILD)
    households = np.flatnonzero((np.bincount(ppl.household, weights=cared, minlength=ppl.household_count) > 0)
                                & (rng.random(ppl.household_count) < 0.6))
    head = ppl.head[households]
    start, end, decided = ongoing(rng, ctx, "carer", ppl.formed_days[households], 36)
    return draft("carer", head, head, PERSON, valid_from=start, valid_to=end, decided_on=decided)


def _mother_rights(rng, ctx, ppl, age):
    mother = mother_of(ppl)
    ok = (ppl.children > 0) & ppl.female[mother] & (age[mother] < 50)
    households = np.flatnonzero(ok & (rng.random(ppl.household_count) < 0.05))
    chosen = mother[households]
    youngest = ppl.first[households] + ppl.size[households] - 1
    start, end, decided = ongoing(rng, ctx, "mother", ppl.birth_days[youngest], 24)
    return draft("mother", chosen, chosen, PERSON, valid_from=start, valid_to=end, decided_on=decided)


def _veteran_rights(rng, ctx, ppl, age):
    chosen = np.flatnonzero(~ppl.female & (age >= 50) & (ppl.category != CHILD) & (rng.random(len(age)) < 0.035))
    grade = weighted_choice(rng, len(chosen), VETERAN_GRADE_WEIGHTS) + 1
    start, end, decided = ongoing(rng, ctx, "veteran", ppl.birth_days[chosen] + 40 * 365, 300)
    drafts = [draft("veteran", chosen, chosen, PERSON, grade=grade, valid_from=start, valid_to=end,
                    decided_on=decided)]
    if "veteran_care" in ctx.codes:
        cared = (grade <= 3) & (rng.random(len(chosen)) < 0.6)
        drafts.append(draft("veteran_care", chosen[cared], chosen[cared], PERSON, valid_from=start[cared],
                            valid_to=end[cared], decided_on=decided[cared]))
    return drafts


def _veteran_family_rights(rng, ctx, ppl):
    """Family disability benefit: widows of fallen or disabled veterans (a fifth at the increased rate)."""
    chosen = np.flatnonzero((ppl.category == ELDERLY) & ppl.female & (rng.random(len(ppl.household)) < 0.04))
    start, end, decided = ongoing(rng, ctx, "veteran_family", ppl.birth_days[chosen] + 50 * 365, 240)
    grade = np.where(rng.random(len(chosen)) < 0.8, 1, 2)
    return draft("veteran_family", chosen, chosen, PERSON, grade=grade, valid_from=start, valid_to=end,
                 decided_on=decided)


def _foster_rights(rng, ctx, ppl, age):
    """Young adults living alone after growing up without parental care, from their 18th birthday."""
    lone = (ppl.size == 1) & (ppl.adults == 1)
    chosen = ppl.first[lone & (age[ppl.first] <= 25) & (rng.random(ppl.household_count) < 0.5)]
    start, end, decided = ongoing(rng, ctx, "foster", ppl.birth_days[chosen] + 18 * 366, 96)
    return draft("foster", chosen, chosen, PERSON, valid_from=start, valid_to=end, decided_on=decided)


def _birth_rights(rng, ctx, ppl):
    """Birth grants claimed within the claim window (one-off) or still in instalments (lump sum + plan)."""
    benefit = ctx.catalogue.benefit(ctx.codes["birth"])
    window_months = 12 if benefit.kind == "one_off" else 36
    earliest = max(int(month_start_days(ctx.first_month[ctx.codes["birth"]])), ctx.end_days - window_months * 30)
    births = np.flatnonzero((ppl.category == CHILD) & (ppl.birth_days >= earliest)
                            & (rng.random(len(ppl.household)) < 0.8))
    mother = mother_of(ppl)[ppl.household[births]]
    birth_month = months_of_days(ppl.birth_days[births])
    start = month_start_days(birth_month)
    decided = np.minimum(ppl.birth_days[births] + rng.integers(10, 120, len(births)), ctx.end_days)
    end = month_end_days(birth_month) if benefit.kind == "one_off" else -1
    return draft("birth", mother, mother, PERSON, birth_order=ppl.child_rank[births] + 1, valid_from=start,
                 valid_to=end, decided_on=decided)


def _funeral_rights(rng, ctx, ppl, alive, means_draft=None):
    """Funeral grants to the member who paid for the funeral of someone who died in the window. A grant that is a
    multiple of the family's means-tested assistance (UA_POHOV, RULES.md Readings 12) only where the household
    has that assistance in force in the month of death."""
    dead = np.flatnonzero(~alive)
    if ctx.catalogue.benefit(ctx.codes["funeral"]).multiple_of_benefit:
        dead = dead[_assisted_in_month(ppl, means_draft, dead)]
    household = ppl.household[dead]
    head, spouse = ppl.head[household], ppl.spouse[household]
    payer = np.where(head != dead, head, spouse)
    payer_alive = (payer >= 0) & (ppl.death_days[np.maximum(payer, 0)] < 0)
    in_force = months_of_days(ppl.death_days[dead]) >= ctx.first_month[ctx.codes["funeral"]]
    keep = payer_alive & (ppl.category[np.maximum(payer, 0)] != CHILD) & (rng.random(len(dead)) < 0.7) & in_force
    dead, payer = dead[keep], payer[keep]
    month = months_of_days(ppl.death_days[dead])
    decided = np.minimum(ppl.death_days[dead] + rng.integers(3, 40, len(dead)), ctx.end_days)
    amount = -1
    if ctx.codes["funeral"] in ctx.decided_amount:   # e.g. 2 x the family's monthly assistance
        amount = 2 * rng.integers(45, 190, len(dead)) * ctx.euro_minor
    return draft("funeral", payer, payer, PERSON, valid_from=month_start_days(month),
                 valid_to=month_end_days(month), decided_on=decided, amount=amount)


def _assisted_in_month(ppl, means_draft, dead) -> np.ndarray:
    """Per dead person: the household's means-tested right (one per household, its head's) covers the month."""
    if means_draft is None:
        return np.zeros(len(dead), dtype=bool)
    household = ppl.household[dead]
    start, end = np.full(ppl.household_count, -1), np.full(ppl.household_count, -1)
    start[ppl.household[means_draft["person"]]] = means_draft["valid_from"]
    end[ppl.household[means_draft["person"]]] = means_draft["valid_to"]
    month = months_of_days(ppl.death_days[dead])
    covered = (start[household] >= 0) & (start[household] <= month_end_days(month))
    return covered & ((end[household] < 0) | (end[household] >= month_start_days(month)))
