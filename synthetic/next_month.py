"""The synthetic register one month later: `advance_register` reads a register and writes the next month's.
"""
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from engine.months import parse_period
from formats.errors import InputError, problem
from formats.i18n import N_
from formats.register_meta import register_country, write_register_meta
from formats.schemas import REGISTER
from synthetic.arrays import (as_days, conformed_table, date_array, days_of, int_array, month_end_days,
                              month_start_days, months_of_days, period_text, rows_of, seeded_rng, weighted_choice,
                              with_columns)
from synthetic.context import EVENT_ROLES, ROLES, Context, NextIds, make_context
from synthetic.names import COUNTRIES, CountryData
from synthetic.payees import postal_addresses, shared_payees
from synthetic.people import ADULT, CHILD, ELDERLY
from synthetic.facts import FACT_TABLES, SCHEMAS
from synthetic.register import CHUNK_RIGHTS, TABLES, country_key, generate_chunk, parquet_options


# ---- the register one month later -----------------------------------------------------------------------

NEW_RIGHT_SHARE = 0.012       # new decisions per month, as a share of the rights in the register
TERMINATION_SHARE = 0.008     # running rights ended by a decision of the month (some back to 2 months)
RETRO_CHANGE_SHARE = 0.03     # running rights with a new version from a past month (income, grade, MO status)
RENEWAL_SHARE = 0.7           # fixed-term awards that ended last month and are renewed
MONTHLY_DEATH_RATE = {ADULT: 0.0002, ELDERLY: 0.004, CHILD: 0.00002}


def _read_tables(src: Path) -> dict:
    """Every table of the register in src (a fact table without its file is empty)."""
    tables = {}
    for name in TABLES:
        schema = SCHEMAS[name]
        if name in FACT_TABLES and not (src / f"{name}.parquet").is_file():
            tables[name] = schema.empty_table()
            continue
        raw = pq.read_table(src / f"{name}.parquet")
        columns = {f.name: raw[f.name].combine_chunks() for f in schema if f.name in raw.column_names}
        tables[name] = conformed_table(schema, columns) if raw.num_rows else schema.empty_table()
    return tables


def _country_of(tables: dict) -> str:
    codes = pc.unique(tables["rights"]["benefit"]).to_pylist()
    prefixes = {code.split("_")[0].lower() for code in codes}
    if len(prefixes) != 1 or next(iter(prefixes)) not in COUNTRIES:
        raise ValueError(f"cannot tell the country of the register from its benefit codes {sorted(codes)[:5]}")
    return prefixes.pop()


def advance_register(src_dir, out_dir, seed: int, to_period: str | None = None, deaths=(), closed_accounts=(),
                     *, period: str | None = None) -> dict:
    """Write the register of `to_period` (default: the month after the source's) from the one in src_dir.

    New decisions (new rights, ~1.2 %), terminations (~0.8 %: a last version ending in one of the last three
    months), retroactive changes (~3 %: a version from 1-12 months back with a new income, grade or MO status),
    renewals of fixed-term awards that ended last month, the `deaths` given as (person_id, date) plus a few
    random ones (persons.death_date and the end of their household membership), and the payees in
    `closed_accounts` switched to the post: their payee row keeps its payee_id (rights still point to it),
    gets channel "post", loses IBAN and BIC, and gets a postal address where it had none. `period` is an alias
    of `to_period`. Deterministic for the same source and arguments.
    """
    src, out = Path(src_dir), Path(out_dir)
    tables = _read_tables(src)
    country = register_country(src) or _country_of(tables)
    source_index, target_index = _advance_months(tables["rights"], to_period or period)
    payees, institution_ids, enforcer_ids = shared_payees_of(seed, COUNTRIES[country], tables["payees"])
    ctx = make_context(country, target_index, institution_ids, enforcer_ids)
    rng = seeded_rng(seed, 0xAD, country_key(country), target_index)
    tables["persons"], tables["households"], stats = _record_deaths(rng, ctx, tables, deaths)
    tables["rights"], changes = _new_versions(rng, ctx, tables["rights"])
    tables["payees"], switched = _switch_to_post(rng, ctx, payees, closed_accounts)
    new_count = max(1, int(round(NEW_RIGHT_SHARE * len(pc.unique(tables["rights"]["right_id"])))))
    ids = _next_ids(tables)
    fresh = generate_chunk((seed, 0xAD, country_key(country), target_index, 1), ctx, new_count, ids,
                           new_decisions=True)
    rights, files = _write_advanced(out, tables, fresh)
    write_register_meta(out, country, ctx.catalogue.currency, period_text(target_index), seed=int(seed),
                        advanced_from=period_text(source_index))
    first = rights.filter(pc.equal(rights["version"], 1))
    by_benefit = first.group_by("benefit").aggregate([("right_id", "count")])
    return {
        "out_dir": str(out), "advanced_from": str(src), "country": country, "seed": seed,
        "from_period": period_text(source_index), "period": period_text(target_index),
        "rights": first.num_rows, "right_versions": rights.num_rows, "new_rights": new_count,
        **stats, **changes, "payees_switched_to_post": switched,
        "rights_by_benefit": dict(sorted(zip(by_benefit["benefit"].to_pylist(),
                                             by_benefit["right_id_count"].to_pylist()))),
        "files": files,
    }


def _next_ids(tables: dict) -> NextIds:
    """The next free id of every kind after the register's own."""
    keys = {"person": ("persons", "person_id"), "household": ("households", "household_id"),
            "right": ("rights", "right_id"), "payee": ("payees", "payee_id"), "order": ("deductions", "order_id"),
            "title": ("maintenance_titles", "title_id")}
    return NextIds(**{key: int(pc.max(tables[name][column]).as_py() or 0) + 1
                      for key, (name, column) in keys.items() if name in tables})


def _advance_months(rights: pa.Table, to_period: str | None) -> tuple[int, int]:
    """(month of the source's latest decision, month to advance to); the target must be later."""
    source = int(months_of_days(days_of(rights["decided_on"])).max())
    target = source + 1 if to_period is None else parse_period(to_period)
    if target <= source:
        raise InputError([problem("--period", None, "period", to_period,
                                  N_("the register already holds decisions of {value}", value=period_text(source)),
                                  N_("advance it to a later month, e.g. {value}", value=period_text(source + 1)))])
    return source, target


def _write_advanced(out: Path, tables: dict, fresh: dict) -> tuple[pa.Table, list]:
    """Write the advanced tables (rights ordered by right and version; a fact table only where it has rows);
    returns the rights' key columns and the files written."""
    out.mkdir(parents=True, exist_ok=True)
    files = []
    for name in TABLES:
        table = pa.concat_tables([tables[name], fresh.get(name, SCHEMAS[name].empty_table())])
        if name == "rights":
            table = table.sort_by([("right_id", "ascending"), ("version", "ascending")])
        if name in FACT_TABLES and not table.num_rows:
            continue
        pq.write_table(table, out / f"{name}.parquet", row_group_size=CHUNK_RIGHTS * 4, **parquet_options(name))
        files.append(f"{name}.parquet")
    return pq.read_table(out / "rights.parquet", columns=["right_id", "version", "benefit"]), files


def shared_payees_of(seed: int, data: CountryData, payees: pa.Table):
    """Institution and enforcement-officer payees of the register; added when a hand-made one lacks them."""
    names = payees["name"].to_numpy(zero_copy_only=False)
    kinds = payees["kind"].to_numpy(zero_copy_only=False)
    payee_ids = payees["payee_id"].to_numpy()
    institutions = payee_ids[kinds == "institution"]
    enforcers = payee_ids[(kinds == "creditor") & np.isin(names, list(data.enforcers))]
    if len(institutions) and len(enforcers):
        return payees, institutions, enforcers
    first_id = int(pc.max(payees["payee_id"]).as_py() or 0) + 1
    shared, institutions, enforcers = shared_payees(seed, data, first_id)
    return pa.concat_tables([payees, shared]), institutions, enforcers


def _record_deaths(rng, ctx: Context, tables: dict, deaths):
    """persons.death_date for the deaths given and a few random ones in the month; memberships end then."""
    persons, households = tables["persons"], tables["households"]
    death = days_of(persons["death_date"])
    given_ids = np.array([int(person_id) for person_id, _ in deaths], dtype=np.int64)
    given_days = np.array([as_days(day) for _, day in deaths], dtype=np.int64)
    rows = rows_of(given_ids, persons["person_id"])
    if (rows < 0).any():
        raise InputError([problem("deaths", None, "person_id", person_id, N_("death reported for a person not in "
                                                                             "the register"),
                                  N_("report deaths of registered persons only"))
                          for person_id in given_ids[rows < 0][:20]])
    death[rows] = given_days
    age = (ctx.end_days - days_of(persons["birth_date"])) // 365.25
    category = np.where(age < 18, CHILD, np.where(age >= 65, ELDERLY, ADULT))
    rate = np.choose(category, [MONTHLY_DEATH_RATE[ADULT], MONTHLY_DEATH_RATE[ELDERLY], MONTHLY_DEATH_RATE[CHILD]])
    random_dead = (death < 0) & (rng.random(len(death)) < rate)
    death[random_dead] = rng.integers(ctx.start_days, ctx.end_days + 1, int(random_dead.sum()))
    persons = with_columns(persons, REGISTER["persons"], {"death_date": date_array(death, death >= 0)})
    member_row = rows_of(households["person_id"].to_numpy(), persons["person_id"])
    member_death = np.where(member_row >= 0, death[member_row], -1)
    member_to = days_of(households["member_to"])
    member_from = days_of(households["member_from"])
    ends = (member_death >= 0) & ((member_to < 0) | (member_to > member_death)) & (member_death >= member_from)
    member_to = np.where(ends, member_death, member_to)
    households = with_columns(households, REGISTER["households"], {"member_to": date_array(member_to, member_to >= 0)})
    return persons, households, {"deaths_recorded": len(given_ids), "deaths_random": int(random_dead.sum())}


def _new_versions(rng, ctx: Context, rights: pa.Table):
    """Terminations, retroactive changes and renewals as new versions; earlier versions end the day before."""
    rights = rights.sort_by([("right_id", "ascending"), ("version", "ascending")])
    valid_from, valid_to = days_of(rights["valid_from"]), days_of(rights["valid_to"])
    start_month = months_of_days(valid_from)
    code = _codes_of(ctx, rights["benefit"])
    first_month = ctx.per_code(ctx.first_month, 0)[code]
    ends, changes, renewals = _pick_advances(rng, ctx, rights, code, start_month, first_month, valid_to)
    # terminations: the last version is split at the first day of the month the right ends in
    end_month = ctx.period - weighted_choice(rng, len(ends), [0.5, 0.3, 0.2])
    end_from, end_to = month_start_days(end_month), month_end_days(end_month)
    end_to = np.where(valid_to[ends] >= 0, np.minimum(end_to, valid_to[ends]), end_to)
    # retroactive changes: a new version from 1-12 months back, the old one ends the day before
    span = np.minimum(12, ctx.period - np.maximum(first_month[changes], start_month[changes] + 1))
    change_from = month_start_days(ctx.period - 1 - (rng.random(len(changes)) * span).astype(np.int64))
    # renewals: a fresh fixed-term award from this month
    award = ctx.per_code(ctx.award_months, 0)[code[renewals]]
    new_rows = np.concatenate([ends, changes, renewals])
    new = rights.take(pa.array(new_rows))
    new_valid_from = np.concatenate([end_from, change_from, month_start_days(np.full(len(renewals), ctx.period))])
    new_valid_to = np.concatenate([end_to, valid_to[changes], month_end_days(ctx.period + award - 1)])
    old_valid_to = valid_to.copy()
    old_valid_to[ends], old_valid_to[changes] = end_from - 1, change_from - 1
    income, grade, mo_family = _advanced_facts(rng, ctx, new, len(ends), len(changes), code[new_rows])
    decided = ctx.start_days + rng.integers(0, ctx.end_days - ctx.start_days + 1, len(new_rows))
    new = with_columns(new, REGISTER["rights"], {
        "version": int_array(days_of(new["version"]) + 1, pa.int32()),
        "valid_from": date_array(new_valid_from), "valid_to": date_array(new_valid_to, new_valid_to >= 0),
        "decided_on": date_array(decided), "income_minor": income, "grade": grade, "mo_family": mo_family,
        # RULES.md Readings 5 and 11: applied for 0-30 days before the decision; a tenth correct the agency's fault
        "applied_on": date_array(decided - rng.integers(0, 31, len(new_rows))),
        "agency_fault": pa.array(rng.random(len(new_rows)) < 0.1),
    })
    rights = with_columns(rights, REGISTER["rights"], {"valid_to": date_array(old_valid_to, old_valid_to >= 0)})
    stats = {"terminated": len(ends), "retroactive_changes": len(changes), "renewed": len(renewals)}
    return pa.concat_tables([rights, new]), stats


def _codes_of(ctx: Context, benefit) -> np.ndarray:
    """Index into ctx.benefits per row (len(ctx.benefits) for a code the generator does not write)."""
    codes = pa.array(ctx.benefits, pa.string())
    found = pc.fill_null(pc.index_in(benefit, value_set=codes), len(ctx.benefits))
    return found.to_numpy(zero_copy_only=False).astype(np.int64)


def _pick_advances(rng, ctx: Context, rights, code, start_month, first_month, valid_to):
    """Latest versions to terminate, to change retroactively and (fixed-term awards) to renew."""
    role = ctx.role_indexes()[code]
    right_id = rights["right_id"].to_numpy()
    latest = np.flatnonzero(np.r_[right_id[1:] != right_id[:-1], True]) if len(right_id) else np.zeros(0, int)
    event = np.isin(role, [ROLES.index(r) for r in EVENT_ROLES])
    running = (valid_to < 0) | (valid_to >= ctx.start_days)
    pool = rng.permutation(latest[running[latest] & ~event[latest] & (start_month[latest] <= ctx.period - 3)])
    ends = pool[:int(round(TERMINATION_SHARE * len(latest)))]
    changeable = pool[len(ends):]
    has_fact = ((days_of(rights["income_minor"]) >= 0) | (days_of(rights["grade"]) > 0)
                | (role == ROLES.index("per_child")))
    changeable = changeable[has_fact[changeable]
                            & (np.maximum(first_month[changeable], start_month[changeable] + 1) <= ctx.period - 1)]
    changes = changeable[:int(round(RETRO_CHANGE_SHARE * len(latest)))]
    awarded = ctx.per_code(ctx.award_months, 0)[code] > 0
    ended_last_month = latest[(valid_to[latest] == int(month_end_days(ctx.period - 1))) & awarded[latest]]
    renewals = ended_last_month[rng.random(len(ended_last_month)) < RENEWAL_SHARE]
    return np.sort(ends), np.sort(changes), np.sort(renewals)


def _advanced_facts(rng, ctx: Context, new: pa.Table, ends: int, changes: int, code: np.ndarray):
    """Facts of the new versions: terminations keep them; changes move income, grade or MO status;
    renewals re-assess the income."""
    role = ctx.role_indexes()[code]
    n = new.num_rows
    income = days_of(new["income_minor"])
    grade = days_of(new["grade"])
    mo = pc.fill_null(new["mo_family"], False).to_numpy(zero_copy_only=False)
    changed = np.zeros(n, dtype=bool)
    changed[ends:] = True        # changes and renewals
    moved = (income * rng.uniform(0.4, 1.5, n)).astype(np.int64)
    income = np.where(changed & (income >= 0), np.where(rng.random(n) < 0.2, 0, moved), income)
    grades = np.array([_grade_count(ctx, c) for c in ctx.benefits] + [0])[code]
    step = np.where(rng.random(n) < 0.5, -1, 1)
    grade = np.where(changed & (grade > 0), np.clip(grade + step, 1, np.maximum(grades, 1)), grade)
    toggle = changed & (role == ROLES.index("per_child"))
    toggle[ends + changes:] = False
    mo = mo ^ toggle
    return (int_array(income, pa.int64(), income >= 0), int_array(grade, pa.int16(), grade > 0),
            pc.if_else(pc.is_null(new["mo_family"]), pa.scalar(None, pa.bool_()), pa.array(mo)))


def _grade_count(ctx: Context, code: str) -> int:
    benefit = ctx.catalogue.benefit(code)
    if "amount_by_grade" not in benefit.parameters:
        return 0
    return len(benefit.parameters["amount_by_grade"][-1][1])


def _switch_to_post(rng, ctx: Context, payees: pa.Table, closed_accounts) -> tuple[pa.Table, int]:
    """Payees whose account was reported closed: same payee row, channel post, no IBAN/BIC, an address."""
    closed = np.array(sorted({int(p) for p in closed_accounts}), dtype=np.int64)
    rows = rows_of(closed, payees["payee_id"])
    if (rows < 0).any():
        raise InputError([problem("closed_accounts", None, "payee_id", payee_id, N_("closed account reported for a "
                                                                                    "payee not in the register"),
                                  N_("report closed accounts of registered payees only"))
                          for payee_id in closed[rows < 0][:20]])
    switch = np.zeros(payees.num_rows, dtype=bool)
    switch[rows] = True
    mask = pa.array(switch)
    place = weighted_choice(rng, payees.num_rows, [p[4] for p in ctx.country.places])
    fresh = postal_addresses(rng, ctx.country, place, np.zeros(payees.num_rows, dtype=bool))
    no_address = pc.or_kleene(pc.is_null(payees["street"]),
                              pc.or_kleene(pc.is_null(payees["town"]), pc.is_null(payees["postcode"])))
    fill = pc.and_(mask, pc.fill_null(no_address, True))
    columns = {"channel": pc.if_else(mask, pa.scalar("post"), payees["channel"]),
               "iban": pc.if_else(mask, pa.scalar(None, pa.string()), payees["iban"]),
               "bic": pc.if_else(mask, pa.scalar(None, pa.string()), payees["bic"])}
    for name in ("street", "house_number", "postcode", "town", "district", "region"):
        columns[name] = pc.if_else(fill, fresh[name], payees[name])
    return with_columns(payees, REGISTER["payees"], columns), len(closed)
