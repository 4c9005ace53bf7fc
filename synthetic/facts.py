"""The register's fact tables beside the rights, filled consistently with the rights of a chunk: the housing costs
of the households that hold a housing subsidy, the wage bases of the parents on leave pay, and the maintenance
titles of the children who receive a maintenance advance.

A title's debtor is a grown-up of another household of the register; about half of them are themselves the
recipient of a right of their own, so the advance paid for the child is recovered from the debtor's benefit.
Each table is made only where the register schema has it (formats.schemas: REGISTER or OPTIONAL_TABLES).
"""
import numpy as np
import pyarrow as pa

from formats import schemas
from synthetic.arrays import conformed_table, date_array, int_array, month_start_days, months_of_days
from synthetic.context import ROLES, Context, NextIds
from synthetic.drafts import PERSON
from synthetic.people import CHILD, People

SCHEMAS = {**schemas.REGISTER, **schemas.OPTIONAL_TABLES}
FACT_TABLES = tuple(name for name in ("housing_costs", "wage_bases", "maintenance_titles") if name in SCHEMAS)
DEBTOR_PAYEE_SHARE = 0.5        # titles whose debtor receives a right of his own (recovery happens)
TITLE_AMOUNT_SHARE = 0.7        # titles that set the monthly maintenance (the others leave it empty)
TITLE_BACK_MONTHS_MAX = 6       # a title is in force from up to six months before the first advance


def fact_tables(rng, ctx: Context, ppl: People, drafts: dict, first_from: np.ndarray, ids: NextIds) -> dict:
    """{table: rows} for the chunk's rights; `first_from` is each draft's earliest valid_from (days)."""
    made = {}
    role = drafts["role"]
    if "housing_costs" in FACT_TABLES:
        made["housing_costs"] = _housing_costs(rng, ctx, ppl, drafts, first_from, role == ROLES.index("housing"), ids)
    if "wage_bases" in FACT_TABLES:
        made["wage_bases"] = _wage_bases(rng, ctx, drafts, first_from, role == ROLES.index("leave"), ids)
    if "maintenance_titles" in FACT_TABLES:
        made["maintenance_titles"] = _titles(rng, ctx, ppl, drafts, first_from,
                                             role == ROLES.index("maintenance"), ids)
    return made


def earliest_valid_from(n_drafts: int, version_draft: np.ndarray, version_from: np.ndarray) -> np.ndarray:
    """Per draft: the earliest valid_from of its versions."""
    first = np.full(n_drafts, np.iinfo(np.int64).max)
    np.minimum.at(first, version_draft, version_from)
    return first


def _month_start(days: np.ndarray) -> np.ndarray:
    return month_start_days(months_of_days(days))


def _housing_costs(rng, ctx, ppl, drafts, first_from, mine, ids) -> pa.Table:
    """Monthly cost of housing and utility services within the social norms, one open row per household:
    a fixed part and a part per member (30-120 and 5-20 'euro worth')."""
    rows = np.flatnonzero(mine)
    household = ppl.household[drafts["person"][rows]]
    n = len(rows)
    fixed = rng.uniform(30, 120, n) * ctx.euro_minor
    per_member = rng.uniform(5, 20, n) * ctx.euro_minor * ppl.size[household]
    cost = (np.round((fixed + per_member) / 100) * 100).astype(np.int64)
    return conformed_table(SCHEMAS["housing_costs"], {
        "household_id": pa.array(ids.household + household, pa.int64()),
        "valid_from": date_array(_month_start(first_from[rows])),
        "valid_to": date_array(np.zeros(n, np.int64), np.zeros(n, bool)),
        "cost_minor": int_array(cost, pa.int64()),
    })


def _wage_bases(rng, ctx, drafts, first_from, mine, ids) -> pa.Table:
    """Average monthly earnings of the leave-pay parent over the law's reference window (450-1,800 'euro
    worth'), in force from the first month of the leave."""
    rows = np.flatnonzero(mine)
    n = len(rows)
    base = (np.round(rng.uniform(450, 1_800, n) * ctx.euro_minor / 100) * 100).astype(np.int64)
    return conformed_table(SCHEMAS["wage_bases"], {
        "person_id": pa.array(ids.person + drafts["person"][rows], pa.int64()),
        "valid_from": date_array(_month_start(first_from[rows])),
        "valid_to": date_array(np.zeros(n, np.int64), np.zeros(n, bool)),
        "base_minor": int_array(base, pa.int64()),
    })


def _titles(rng, ctx, ppl, drafts, first_from, mine, ids) -> pa.Table:
    """One maintenance title per child with an advance: in force from before the first advance (never before
    the child's birth month), open-ended, its debtor a grown-up of another household."""
    rows = np.flatnonzero(mine)
    n = len(rows)
    child = drafts["person"][rows]
    back = rng.integers(0, TITLE_BACK_MONTHS_MAX + 1, n)
    start = np.maximum(month_start_days(months_of_days(first_from[rows]) - back),
                       _month_start(ppl.birth_days[child]))
    amount = (rng.uniform(50, 200, n) * ctx.euro_minor).astype(np.int64) // 100 * 100
    debtor = _debtors(rng, ppl, drafts, child)
    return conformed_table(SCHEMAS["maintenance_titles"], {
        "title_id": pa.array(ids.title + np.arange(n), pa.int64()),
        "child_id": pa.array(ids.person + child, pa.int64()),
        "debtor_id": pa.array(ids.person + debtor, pa.int64()),
        "monthly_minor": int_array(amount, pa.int64(), rng.random(n) < TITLE_AMOUNT_SHARE),
        "valid_from": date_array(start),
        "valid_to": date_array(np.zeros(n, np.int64), np.zeros(n, bool)),
    })


def _debtors(rng, ppl, drafts, child: np.ndarray) -> np.ndarray:
    """A debtor per child: a grown-up outside the child's household, half of them (where there are any)
    recipients of a right of their own; a chunk of one household takes any other grown-up."""
    grown = np.flatnonzero(ppl.category != CHILD)
    own_right = np.unique(drafts["recipient"][drafts["recipient_kind"] == PERSON])
    own_right = own_right[ppl.category[own_right] != CHILD]
    pick_payee = (rng.random(len(child)) < DEBTOR_PAYEE_SHARE) & (len(own_right) > 0)
    pool_payee = own_right[rng.integers(0, max(len(own_right), 1), len(child))] if len(own_right) else child
    pool_any = grown[rng.integers(0, max(len(grown), 1), len(child))] if len(grown) else child
    debtor = np.where(pick_payee, pool_payee, pool_any)
    same = ppl.household[debtor] == ppl.household[child]
    for _ in range(8):   # redraw a debtor who lives with the child
        if not same.any() or len(grown) == 0:
            break
        debtor[same] = grown[rng.integers(0, len(grown), int(same.sum()))]
        same = ppl.household[debtor] == ppl.household[child]
    return debtor
