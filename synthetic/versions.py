"""Versions of synthetic rights: retroactive decisions of the period, awards that ended, new decisions.
"""
from dataclasses import dataclass

import numpy as np

from synthetic.arrays import month_end_days, month_start_days, months_of_days
from synthetic.context import EVENT_ROLES, FACT_ROLES, ROLES, Context


RETRO_SHARE = 0.05            # rights with a version decided in the period and valid from 1-12 months back

CLOSED_SHARE = 0.03           # rights whose award ended in the past

def as_new_decisions(rng, ctx: Context, drafts: dict) -> None:
    """Rewrite dates so that every right is decided in the period, valid from its month or up to 2 back."""
    n = len(drafts["role"])
    event = np.isin(drafts["role"], [ROLES.index(r) for r in EVENT_ROLES])
    months = np.maximum(ctx.period - rng.integers(0, 3, n), months_of_days(drafts["valid_from"]))
    months = np.minimum(months, ctx.period)
    drafts["valid_from"] = np.where(event, drafts["valid_from"], month_start_days(months))
    award = ctx.per_code(ctx.award_months, 0)[drafts["code"]]
    drafts["valid_to"] = np.where(event, drafts["valid_to"],
                                  np.where(award > 0, month_end_days(months + award - 1), -1))
    drafts["decided_on"] = ctx.start_days + rng.integers(0, ctx.end_days - ctx.start_days + 1, n)


@dataclass
class Versions:
    """Row layout of the rights table: row -> draft index, version, dates and changed facts."""

    draft: np.ndarray
    version: np.ndarray
    valid_from: np.ndarray
    valid_to: np.ndarray       # -1 = open-ended
    decided_on: np.ndarray
    income: np.ndarray
    grade: np.ndarray
    toggle_mo: np.ndarray      # the later version records a changed MO status of the household
    retro: np.ndarray          # per draft: has a retroactive decision in the period


def draw_versions(rng, ctx: Context, drafts: dict, new_decisions: bool) -> Versions:
    """Versions per right: ~5 % retroactive decisions of the period, ~3 % awards that ended in the past."""
    n = len(drafts["role"])
    valid_from, valid_to = drafts["valid_from"].copy(), drafts["valid_to"].copy()
    decided, income, grade = drafts["decided_on"].copy(), drafts["income"].copy(), drafts["grade"].copy()
    retro = np.zeros(n, dtype=bool)
    extra = np.zeros(0, dtype=np.int64)
    extra_from = extra_decided = extra_income = extra_grade = extra
    toggle = np.zeros(0, dtype=bool)
    if not new_decisions:
        start_month = months_of_days(valid_from)
        first_month = ctx.per_code(ctx.first_month, 0)[drafts["code"]]
        eligible = (~np.isin(drafts["role"], [ROLES.index(r) for r in EVENT_ROLES])
                    & (start_month <= ctx.period - 2) & (decided < ctx.start_days)
                    & (np.maximum(first_month, start_month + 1) <= ctx.period - 1))
        candidates = np.flatnonzero(eligible)
        chosen = np.sort(rng.permutation(candidates)[:int(round(RETRO_SHARE * n))])
        span = np.minimum(12, ctx.period - np.maximum(first_month[chosen], start_month[chosen] + 1))
        back = 1 + (rng.random(len(chosen)) * span).astype(np.int64)
        new_start = month_start_days(ctx.period - back)
        new_decided = ctx.start_days + rng.integers(0, ctx.end_days - ctx.start_days + 1, len(chosen))
        fact_role = np.isin(drafts["role"][chosen], [ROLES.index(r) for r in FACT_ROLES])
        award_role = ctx.per_code(ctx.award_months, 0)[drafts["code"][chosen]] > 0
        change = fact_role & ((rng.random(len(chosen)) < 0.75) | award_role)
        late = chosen[~change]       # first decided only now, valid from months back: arrears
        valid_from[late], decided[late] = new_start[~change], new_decided[~change]
        extra = chosen[change]       # a new version from a past month: income, grade or MO status changed
        valid_to[extra] = new_start[change] - 1
        extra_from, extra_decided = new_start[change], new_decided[change]
        extra_income, extra_grade = _changed_facts(rng, drafts, extra)
        toggle = drafts["role"][extra] == ROLES.index("per_child")
        retro[chosen] = True
        _close_some(rng, ctx, drafts, valid_from, valid_to, eligible & ~retro)
    draft = np.concatenate([np.arange(n), extra])
    order = np.lexsort((np.r_[np.ones(n), np.full(len(extra), 2)], draft))
    return Versions(
        draft=draft[order],
        version=np.r_[np.ones(n, dtype=np.int64), np.full(len(extra), 2)][order],
        valid_from=np.r_[valid_from, extra_from][order],
        valid_to=np.r_[valid_to, drafts["valid_to"][extra]][order],
        decided_on=np.r_[decided, extra_decided][order],
        income=np.r_[income, extra_income][order],
        grade=np.r_[grade, extra_grade][order],
        toggle_mo=np.r_[np.zeros(n, dtype=bool), toggle][order],
        retro=retro)


def _changed_facts(rng, drafts: dict, rows: np.ndarray):
    """Income and grade of a later version: incomes move (or drop to zero), grades move by one."""
    income, grade = drafts["income"][rows].copy(), drafts["grade"][rows].copy()
    means = income >= 0
    moved = (income * rng.uniform(0.4, 1.5, len(rows))).astype(np.int64)
    income = np.where(means, np.where(rng.random(len(rows)) < 0.2, 0, moved), -1)
    role = drafts["role"][rows]
    two_grades = np.isin(role, [ROLES.index("disability"), ROLES.index("veteran_family")])
    veteran = role == ROLES.index("veteran")
    step = np.where(rng.random(len(rows)) < 0.5, -1, 1)
    grade = np.where(two_grades, 3 - grade, np.where(veteran, np.clip(grade + step, 1, 10), grade))
    return income, grade


def _close_some(rng, ctx: Context, drafts, valid_from, valid_to, eligible) -> None:
    """Some awards ended 1-24 months ago (the right stays in the register with its end date)."""
    candidates = np.flatnonzero(eligible & (valid_to < 0))
    chosen = rng.permutation(candidates)[:int(round(CLOSED_SHARE * len(valid_from)))]
    start_month = months_of_days(valid_from[chosen])
    back = 1 + (rng.random(len(chosen)) * np.minimum(24, ctx.period - start_month)).astype(np.int64)
    valid_to[chosen] = month_end_days(ctx.period - back)
