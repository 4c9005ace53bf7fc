"""Synthetic national register: a realistic, deterministic snapshot of persons, households, rights, payees
and deduction orders for Montenegro, Serbia or Ukraine.

Households are drawn with a real age structure (adults, children 0-17, elderly), rights follow from who lives
in them (child allowance where there are children, disability benefits for disabled members, means-tested
support with incomes around the threshold, veterans' benefits for older men, birth and funeral grants for
recent births and deaths), and payees, IBANs and addresses follow from the rights. Everything is vectorised
numpy over one chunk of rights at a time (CHUNK_RIGHTS), each chunk written as one Parquet row group, so ten
million rights run in bounded memory. The same arguments give byte-identical files: every random draw comes
from a generator seeded by (seed, country, period, chunk).

synthetic/next_month.py reads such a register and writes the register of the next month.
"""
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from engine.months import parse_period
from formats.register_meta import write_register_meta
from formats.schemas import REGISTER
from synthetic.arrays import (conformed_table, date_array, int_array, months_of_days, period_text, pick_strings,
                              seeded_rng)
from synthetic.context import Context, NextIds, make_context
from synthetic.facts import FACT_TABLES, SCHEMAS, earliest_valid_from, fact_tables
from synthetic.names import COUNTRIES
from synthetic.payees import deduction_orders, person_payees, shared_payees
from synthetic.people import CHILD, People, draw_people, name_people
from synthetic.rights import draw_rights, unable_to_work
from synthetic.versions import Versions, as_new_decisions, draw_versions


CHUNK_RIGHTS = 250_000        # rights per chunk / Parquet row group: bounds memory for national sizes
RIGHTS_MAX = 50_000_000       # ids stay far inside int64; a larger national register is partitioned
PARQUET_COMPRESSION = "snappy"   # zstd files are 40 % smaller but take twice as long to write
# persons, households, rights, payees, deductions, then the fact tables a chunk writes only where it has rows
TABLES = (*REGISTER, *FACT_TABLES)
# Dictionary encoding pays only for columns with few distinct values; unique ids, IBANs and tax ids skip it.
DICTIONARY_COLUMNS = frozenset({"family_name", "given_name", "patronymic", "municipality", "role", "benefit",
                                "channel", "kind", "bic", "street", "postcode", "town", "district", "region",
                                "country"})


# Rights per household, roughly: sizes the household draw of a chunk (a short draw is redrawn larger).
RIGHTS_PER_HOUSEHOLD = {"me": 0.8, "rs": 0.55, "ua": 0.45}

# ---- one chunk ------------------------------------------------------------------------------------------

def generate_chunk(seed_keys: tuple, ctx: Context, rights: int, ids: NextIds, new_decisions=False) -> dict:
    """Tables of `rights` rights with their households, persons, payees and deduction orders; advances ids.

    new_decisions: every right is a decision of the period (the new rights of an advanced register).
    """
    assert rights > 0
    households = int(rights / RIGHTS_PER_HOUSEHOLD[ctx.country.code] * 1.15) + 8
    for attempt in range(20):
        rng = seeded_rng(*seed_keys, attempt)
        ppl = draw_people(rng, ctx, households)
        drafts, means_households = draw_rights(rng, ctx, ppl)
        if len(drafts["person"]) >= rights:
            break
        households = int(households * 1.5) + 16
    else:  # pragma: no cover - twenty redraws each 50 % larger cannot all be short
        raise AssertionError("household draw never produced enough rights")
    person_household = ppl.household[drafts["person"]]
    order = np.lexsort((drafts["role"], drafts["person"], person_household))[:rights]
    drafts = {key: value[order] for key, value in drafts.items()}
    keep = np.bincount(person_household[order], minlength=ppl.household_count) > 0
    ppl, person_map = _keep_households(ppl, keep)
    drafts["person"], drafts["recipient"] = person_map[drafts["person"]], person_map[drafts["recipient"]]
    name_people(rng, ctx, ppl)
    if new_decisions:
        as_new_decisions(rng, ctx, drafts)
    rows = draw_versions(rng, ctx, drafts, new_decisions)
    payees, payee_of_right = person_payees(rng, ctx, ppl, drafts, ids)
    deductions, creditors = deduction_orders(rng, ctx, ppl, drafts, rows, ids, len(payees["payee_id"]))
    tables = {
        "persons": _persons_table(rng, ctx, ppl, ids),
        "households": _households_table(ppl, ids),
        "rights": _rights_table(rng, ctx, ppl, drafts, rows, payee_of_right, means_households, ids),
        "payees": pa.concat_tables([conformed_table(REGISTER["payees"], payees), creditors]),
        "deductions": deductions,
    }
    first_from = earliest_valid_from(len(drafts["role"]), rows.draft, rows.valid_from)
    tables.update(fact_tables(rng, ctx, ppl, drafts, first_from, ids))
    ids.person += len(ppl.household)
    ids.household += ppl.household_count
    ids.right += rights
    ids.payee += tables["payees"].num_rows
    ids.order += deductions.num_rows
    ids.title += tables["maintenance_titles"].num_rows if "maintenance_titles" in tables else 0
    return tables


def _keep_households(ppl: People, keep: np.ndarray) -> tuple[People, np.ndarray]:
    """Only the households in `keep` (a register holds the households of its beneficiaries), renumbered.

    Returns the smaller People and the map old person index -> new person index (-1 for dropped persons).
    """
    keep_person = keep[ppl.household]
    person_map = np.cumsum(keep_person) - 1
    household_map = np.cumsum(keep) - 1
    fields = {}
    for name, value in vars(ppl).items():
        if value is None:
            continue
        if name == "household_count":
            fields[name] = int(keep.sum())
        elif name == "first":
            fields[name] = person_map[value[keep]]
        elif name == "household":
            fields[name] = household_map[value[keep_person]]
        elif len(value) == ppl.household_count:
            fields[name] = value[keep]
        else:
            fields[name] = value[keep_person]
    return People(**fields), np.where(keep_person, person_map, -1)


# ---- tables ---------------------------------------------------------------------------------------------

def _persons_table(rng, ctx: Context, ppl: People, ids: NextIds) -> pa.Table:
    municipality = [p[0] for p in ctx.country.places]
    alive = ppl.death_days < 0
    return conformed_table(REGISTER["persons"], {
        "person_id": pa.array(ids.person + np.arange(len(ppl.household))),
        "birth_date": date_array(ppl.birth_days),
        "death_date": date_array(ppl.death_days, ~alive),
        "family_name": ppl.family_name, "given_name": ppl.given, "patronymic": ppl.patronymic,
        "tax_id": ppl.tax_id,
        "municipality": pick_strings(municipality, ppl.place[ppl.household]),
        "disabled": pa.array(ppl.disabled), "without_parental_care": pa.array(ppl.without_care),
    })


def _households_table(ppl: People, ids: NextIds) -> pa.Table:
    position = np.arange(len(ppl.household)) - ppl.first[ppl.household]
    role = np.where(position == 0, 0, np.where(ppl.category == CHILD, 2, 1))
    dead = ppl.death_days >= 0
    return conformed_table(REGISTER["households"], {
        "household_id": pa.array(ids.household + ppl.household),
        "person_id": pa.array(ids.person + np.arange(len(ppl.household))),
        "role": pick_strings(("head", "adult", "child"), role),
        "member_from": date_array(np.maximum(ppl.formed_days[ppl.household], ppl.birth_days)),
        "member_to": date_array(ppl.death_days, dead),
    })


def _rights_table(rng, ctx, ppl, drafts, rows: Versions, payee_of_right, means_households, ids) -> pa.Table:
    draft = rows.draft
    person = drafts["person"][draft]
    household = ppl.household[person]
    age = ppl.age_years(ctx.end_days)
    single = ((ppl.adults == 1) & (ppl.children > 0))[household]
    unable = unable_to_work(ppl, age)[household]
    toggled = np.zeros(len(drafts["role"]), dtype=bool)
    toggled[draft[rows.toggle_mo]] = True
    mo_family = means_households[household] ^ (toggled[draft] & (rows.version == 1))
    consent = (rng.random(len(drafts["role"])) < 0.05)[draft]
    amount, other_payment, subgroup = (drafts[name][draft] for name in ("amount", "other_payment", "subgroup"))
    return conformed_table(REGISTER["rights"], {
        "right_id": pa.array(ids.right + draft),
        "version": int_array(rows.version, pa.int32()),
        "benefit": pick_strings(ctx.benefits, drafts["code"][draft]),
        "person_id": pa.array(ids.person + person),
        "household_id": pa.array(ids.household + household, mask=drafts["alone"][draft] == 1),
        "payee_id": pa.array(payee_of_right[draft]),
        "valid_from": date_array(rows.valid_from),
        "valid_to": date_array(rows.valid_to, rows.valid_to >= 0),
        "decided_on": date_array(rows.decided_on),
        "income_minor": int_array(rows.income, pa.int64(), rows.income >= 0),
        "grade": int_array(rows.grade, pa.int16(), rows.grade > 0),
        "birth_order": int_array(drafts["birth_order"][draft], pa.int16(), drafts["birth_order"][draft] > 0),
        "mo_family": pa.array(mo_family), "single_parent": pa.array(single), "unable_to_work": pa.array(unable),
        "consent_full_recovery": pa.array(consent),
        "amount_minor": int_array(amount, pa.int64(), amount >= 0),
        "other_payment_minor": int_array(other_payment, pa.int64(), other_payment >= 0),
        "subgroup": int_array(subgroup, pa.int16(), subgroup > 0),
        # RULES.md Readings 5 and 11: the application precedes its decision by 0-30 days; a few decisions of
        # the period correct the agency's own fault
        "applied_on": date_array(rows.decided_on - rng.integers(0, 31, len(draft))),
        "agency_fault": pa.array((rows.decided_on >= ctx.start_days) & (rng.random(len(draft)) < 0.1)),
    })


# ---- the register ---------------------------------------------------------------------------------------

def parquet_options(name: str) -> dict:
    dictionary = [column for column in SCHEMAS[name].names if column in DICTIONARY_COLUMNS]
    return {"compression": PARQUET_COMPRESSION, "use_dictionary": dictionary}


class _Writers:
    """One Parquet writer per table; each chunk becomes one row group, so memory stays per chunk."""

    def __init__(self, out_dir: Path):
        self.out_dir, self.writers, self.rows = out_dir, {}, dict.fromkeys(TABLES, 0)

    def write(self, name: str, table: pa.Table) -> None:
        if name not in self.writers:
            if name in FACT_TABLES and not table.num_rows:
                return   # a fact table is written only where the register has such facts
            self.writers[name] = pq.ParquetWriter(self.out_dir / f"{name}.parquet", SCHEMAS[name],
                                                  **parquet_options(name))
        if table.num_rows:
            self.writers[name].write_table(table, row_group_size=table.num_rows)
        self.rows[name] += table.num_rows

    def close(self) -> None:
        for name in REGISTER:   # an empty table is still written, with its schema
            if name not in self.writers:
                self.write(name, REGISTER[name].empty_table())
        for writer in self.writers.values():
            writer.close()



def _check_arguments(rights: int, country: str) -> None:
    if country not in COUNTRIES:
        raise ValueError(f"country must be one of {', '.join(COUNTRIES)}, got {country!r}")
    if not 1 <= int(rights) <= RIGHTS_MAX:
        raise ValueError(f"rights must be between 1 and {RIGHTS_MAX:,}, got {rights}")


def generate_register(out_dir, rights: int, seed: int, period: str, country: str = "me") -> dict:
    """Write persons, households, rights, payees and deductions (.parquet) of a synthetic register to out_dir.

    `rights` rights (each with one or two versions) as they stand at the end of `period` (YYYY-MM). The same
    arguments give byte-identical files. Returns a summary (counts per table, per benefit, per channel ...).
    """
    _check_arguments(rights, country)
    period_index = parse_period(period)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    data = COUNTRIES[country]
    shared, institution_ids, enforcer_ids = shared_payees(seed, data, 1)
    ctx = make_context(country, period_index, institution_ids, enforcer_ids)
    ids = NextIds(payee=1 + shared.num_rows)
    writers, stats = _Writers(out), _Stats()
    writers.write("payees", shared)
    stats.add({"payees": shared})
    try:
        for chunk, start in enumerate(range(0, int(rights), CHUNK_RIGHTS)):
            size = min(CHUNK_RIGHTS, int(rights) - start)
            tables = generate_chunk((seed, country_key(country), period_index, chunk), ctx, size, ids)
            for name in TABLES:
                writers.write(name, tables[name])
            stats.add(tables)
    finally:
        writers.close()
    write_register_meta(out, country, ctx.catalogue.currency, period_text(period_index), seed=int(seed))
    summary = stats.summary(out, country, period, seed, writers.rows, ctx)
    summary["households"] = ids.household - 1
    return summary


def country_key(country: str) -> int:
    return ord(country[0]) * 256 + ord(country[1])


class _Stats:
    """Running totals for the summary, gathered chunk by chunk (the tables themselves are not kept)."""

    def __init__(self):
        self.benefits, self.channels, self.kinds = {}, {}, {}
        self.retro = self.deaths = self.versions = self.cyrillic = 0

    @staticmethod
    def _count(target: dict, column) -> None:
        counts = pc.value_counts(column)
        for value, count in zip(counts.field("values").to_pylist(), counts.field("counts").to_pylist()):
            target[value] = target.get(value, 0) + count

    def add(self, tables: dict) -> None:
        if "rights" in tables:
            rights = tables["rights"]
            first = pc.equal(rights["version"], 1)
            self._count(self.benefits, rights["benefit"].filter(first))
            self.retro += _retro_rights(rights, rights["decided_on"])
            self.versions += rights.num_rows
        if "persons" in tables:
            self.deaths += tables["persons"].num_rows - tables["persons"]["death_date"].null_count
            self.cyrillic += pc.sum(pc.match_substring_regex(tables["persons"]["given_name"],
                                                             "[\u0400-\u04FF]")).as_py() or 0
        if "payees" in tables:
            self._count(self.channels, tables["payees"]["channel"])
            self._count(self.kinds, tables["payees"]["kind"])
        if "deductions" in tables:
            self._count(self.kinds.setdefault("_orders", {}), tables["deductions"]["kind"])

    def summary(self, out, country, period, seed, rows, ctx) -> dict:
        orders = self.kinds.pop("_orders", {})
        return {
            "out_dir": str(out), "country": country, "period": period, "seed": seed,
            "currency": ctx.catalogue.currency,
            "rights": sum(self.benefits.values()), "right_versions": self.versions,
            "persons": rows["persons"], "household_members": rows["households"],
            "payees": rows["payees"], "deductions": rows["deductions"],
            "rights_by_benefit": dict(sorted(self.benefits.items())),
            "payees_by_channel": dict(sorted(self.channels.items())),
            "payees_by_kind": dict(sorted(self.kinds.items())),
            "deductions_by_kind": dict(sorted(orders.items())),
            "retroactive_rights": self.retro, "deaths": self.deaths, "persons_in_cyrillic": self.cyrillic,
            **{name: rows[name] for name in FACT_TABLES if rows[name]},
            "files": [f"{name}.parquet" for name in TABLES if name in REGISTER or rows[name]],
        }


def _retro_rights(rights: pa.Table, decided_on) -> int:
    """Rights with a version decided in its period's month whose valid_from lies in an earlier month."""
    decided = pc.cast(decided_on, pa.int32()).to_numpy(zero_copy_only=False)
    start = pc.cast(rights["valid_from"], pa.int32()).to_numpy(zero_copy_only=False)
    latest_month = months_of_days(decided).max() if len(decided) else 0
    retro = (months_of_days(decided) == latest_month) & (months_of_days(start) < latest_month)
    return len(np.unique(rights["right_id"].to_numpy()[retro]))
