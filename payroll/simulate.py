"""What a rule change would cost: every right of a register computed under today's catalogue and under a new one,
month by month, summed per month and benefit and per municipality, without touching any ledger.

The question before an indexation is "what will the next N months cost under the new catalogue", so the months
are the period and the N - 1 after it (default 12, a budget year), with the register's rights as they stand: the
recorded versions with their end dates, deaths and age limits, no new decisions. The figures are what is due
(engine.entitlement.compute_due), the cost of the rules: no ledger, so no arrears of earlier months, deductions,
carried amounts under the minimum or holds. Today's catalogue is the bundled one of the new catalogue's country
(or of --country), or --base-rules; both must be of one country and currency.

The engine runs once per catalogue over all the months; a benefit whose compiled rules are the same in both
catalogues is due the same under both, so only the rights of the changed benefits are computed a second time.
`prepare` does today's side once (register, arrays, today's dues) and `cost` prices one new catalogue against
it, so a process that tries several variants of a reform pays the register and today's rules once.
Counts: a right gains when its due rises (`start` when it was due nothing), loses when it falls but stays above
0, stops when it is due something today and nothing under the new rules. Per month and benefit the counts
compare that month's dues; per municipality, per benefit and in the totals they compare each right's sum over
the months. A right's municipality is its beneficiary's (the version in force in the first month).
"""
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from engine import catalogue as engine_catalogue
from engine import entitlement
from engine.months import format_period, parse_period
from formats import convert, labels
from formats.catalogue import load_catalogue
from formats.errors import InputError, Problem
from formats.keys import index_of
from formats.register import read_register, table_pool
from formats.i18n import N_
from payroll.compute import missing_rules, right_versions, rights_subset
from payroll.simulate_sums import cost_sums

MONTHS_DEFAULT = 12
# Register columns a simulation never reads (no ledger, no payment): those the conversion does not read
UNREAD = convert.NOT_CONVERTED
MONTHS_MAX = 120
COUNT_KEYS = ("rights", "gain", "lose", "stop", "start")
# state of a right (or cell) under the two catalogues, the columns of the count tables
S_NONE, S_SAME, S_GAIN, S_START, S_LOSE, S_STOP = range(6)
STATES = 6


@dataclass(frozen=True)
class Baseline:
    """Today's side of a simulation, computed once (prepare): costing several new catalogues against it in one
    process reads the register and runs the engine under today's rules only once."""
    base: object                  # today's formats.catalogue.Catalogue
    first: int                    # month indexes of the first and last month costed
    last: int
    register: dict | None         # the register's tables, kept only when a new catalogue may need them
    arrays: object                # engine.entitlement.RegisterArrays for today's catalogue
    municipality: np.ndarray      # code per right (places)
    places: list
    due: np.ndarray               # int64[rights, months] under today's catalogue


def simulate(data, period_text: str, rules, months: int = MONTHS_DEFAULT, base_rules=None,
             country: str | None = None) -> dict:
    """The cost of the catalogue `rules` against today's over `months` months from `period_text` (JSON-ready)."""
    first = parse_first_month(period_text, months)
    base, new = load_pair(rules, base_rules, country)
    return cost(prepare(data, base, first, months, keep_register=register_shape(base) != register_shape(new)), new)


def prepare(data, base, first: int, months: int, keep_register: bool = True) -> Baseline:
    """Read and check the register, and compute every right's due under today's catalogue `base`."""
    register = read_register(Path(data), base, drop=UNREAD, dictionaries={"persons": ("municipality",)})
    arrays = convert.register_arrays(register, base)
    municipality, places = right_municipalities(register["persons"], arrays, first)
    if not keep_register:
        release(register)  # the engine reads the arrays only: at 10 M rights the tables are gigabytes
    last = first + months - 1
    due = due_matrix(arrays, base.compile_window(first, last), base, first, last)
    return Baseline(base, first, last, register if keep_register else None, arrays, municipality, places, due)


def cost(baseline: Baseline, new) -> dict:
    """The cost of the catalogue `new` against the baseline's (JSON-ready)."""
    base, first, last = baseline.base, baseline.first, baseline.last
    check_pair(base, new)
    new_arrays = arrays_for(baseline.register, baseline.arrays, base, new)
    affected = affected_rights(baseline, new)
    if new_arrays is baseline.arrays and not affected[1][new_arrays.right_benefit].all():
        # the rights computed again are packed on their own, so today's packing is not needed: when the caller
        # keeps no baseline (simulate), its memory goes back before the engine runs (10 M rights: 1.6 GB)
        baseline = replace(baseline, arrays=new_arrays._replace(packed=None))
        new_arrays = baseline.arrays
    new_row, new_due = new_dues(baseline, new_arrays, new, affected)
    codes, places = base.benefit_codes, baseline.places
    sums = cost_sums(baseline.due, new_row, new_due, baseline.arrays.right_benefit, len(codes),
                     baseline.municipality, len(places), STATE_TABLE)
    del new_row, new_due
    return {
        "period": format_period(first), "last_period": format_period(last), "months": last - first + 1,
        "country": new.country, "currency": new.currency, "minor_exponent": new.minor_exponent,
        "base_rules": {"path": str(base.path), "sha256": base.sha256},
        "new_rules": {"path": str(new.path), "sha256": new.sha256},
        "names": {"locale": labels.locale_of(new.country),
                  "benefits": {**labels.benefit_names(base), **labels.benefit_names(new)}},
        "by_month_benefit": month_benefit_rows(sums, codes, first),
        "by_benefit": group_rows(sums.benefit_sums, sums.benefit_counts, codes, "benefit"),
        "by_municipality": group_rows(sums.place_sums, sums.place_counts, places, "municipality"),
        "totals": totals_row(sums),
    }


# ---- inputs ---------------------------------------------------------------------------------------------------

def parse_first_month(period_text: str, months: int) -> int:
    problems = []
    try:
        first = parse_period(str(period_text))
    except ValueError as exc:
        first = 0
        problems.append(Problem("--period", None, "period", period_text, str(exc), N_("write the month as YYYY-MM")))
    if not 1 <= int(months) <= MONTHS_MAX:
        problems.append(Problem("--months", None, "months", months, N_("must be 1 .. {months_max}",
                                                                       months_max=MONTHS_MAX),
                                N_("give the number of months from --period on, e.g. --months 12 for a budget year")))
    if problems:
        raise InputError(problems)
    return first


def load_pair(rules, base_rules=None, country: str | None = None):
    """(today's catalogue, the new one): --base-rules, else the bundled catalogue of --country or of the new
    catalogue's country. Refused unless both are of one country, currency and minor unit."""
    new = load_catalogue(rules)
    base = load_catalogue(base_rules, country) if base_rules is not None \
        else load_catalogue(country=country or new.country)
    check_pair(base, new)
    return base, new


def check_pair(base, new) -> None:
    problems = []
    for key in ("country", "currency", "minor_exponent"):
        if getattr(base, key) != getattr(new, key):
            problems.append(Problem(
                str(new.path), None, key, getattr(new, key),
                N_("the new catalogue's {key} is {new}, today's catalogue {name} has {today}: a rule change is "
                   "costed within one country and currency", key=key, new=repr(getattr(new, key)),
                   name=Path(base.path).name, today=repr(getattr(base, key))),
                N_("compare with today's catalogue of the same country (--base-rules FILE or --country)")))
    if problems:
        raise InputError(problems)


def register_shape(catalogue) -> tuple:
    """What of a catalogue the register's conversion and checks read: benefit order, formula kinds, decided
    amounts and the length of each graded table."""
    return tuple((b.code, b.kind, b.decided_amount, tuple(len(v) for _, v in b.parameters.get("amount_by_grade", ())))
                 for b in catalogue.benefits)


def arrays_for(register, base_arrays, base, new):
    """The register's arrays for the new catalogue: today's when the catalogue reads the register alike, else
    converted (and checked) again. A benefit the register uses must stay in the new catalogue."""
    used = {base.benefit_codes[b] for b in np.unique(base_arrays.right_benefit).tolist()}
    dropped = sorted(used - set(new.benefit_codes))
    if dropped:
        raise InputError([Problem(
            str(new.path), None, "benefits", code,
            N_("the register has rights of {code}, which the new catalogue does not define", code=code),
            N_("keep {code} in the new catalogue; to cost its end, add a dated value that pays 0", code=code))
            for code in dropped])
    if register_shape(base) == register_shape(new):
        return base_arrays
    assert register is not None, "prepare(keep_register=True) for a catalogue that reads the register otherwise"
    return convert.register_arrays(register, new)


def release(register) -> None:
    """Drop the register's tables and hand their memory back to the system."""
    register.clear()
    for pool in (pa.default_memory_pool(), table_pool()):
        pool.release_unused()


# ---- the engine -----------------------------------------------------------------------------------------------

def compiled_pair(base, new, first: int, last: int):
    """Both catalogues compiled over the same months: from January of the first month's year (months-per-year
    limit) or the earlier first dated value (lump sums read their anchor month's rules) to the last month."""
    start = min(first - first % 12, base.first_month(), new.first_month())
    return base.compile(start, last), new.compile(start, last)


def changed_benefits(base_compiled, new_compiled) -> np.ndarray:
    """Per benefit of the new catalogue: its compiled rules differ from today's (or it is new). The kernels
    read a right's rules only at its own benefit index, so an unchanged benefit is due the same under both."""
    changed = np.ones(len(new_compiled.codes), bool)
    for b_new, code in enumerate(new_compiled.codes):
        if code not in base_compiled.codes:
            continue
        b = base_compiled.codes.index(code)
        changed[b_new] = not all(np.array_equal(getattr(base_compiled, name)[b], getattr(new_compiled, name)[b_new])
                                 for name in ("kind", "prorate_days", "settings", "params", "param_len", "defined"))
    return changed


def due_matrix(arrays, compiled, catalogue, first: int, last: int) -> np.ndarray:
    """int64[rights, months]: due per right and month; a due month before the catalogue has rules is refused."""
    cells = entitlement.compute_due(arrays, compiled, last, first)
    missing_rules(arrays, cells, catalogue)
    return cells.due_minor.reshape(arrays.n_rights, last - first + 1)


def affected_benefits(base_compiled, new_compiled) -> tuple[np.ndarray, np.ndarray]:
    """(changed, needed) per benefit of the new catalogue. Changed: its own rules changed, or it is a multiple of
    a changed benefit (multiple_of_benefit reads that benefit's due). Needed: changed, or a benefit whose rights a
    needed benefit's formula reads (special_rate_benefit: holding such a right; multiple_of_benefit: its due), so
    the rights computed again see every right they depend on."""
    changed = changed_benefits(base_compiled, new_compiled)
    special = new_compiled.settings[:, engine_catalogue.SET_SPECIAL_BENEFIT].astype(np.int64) - 1
    multiple = new_compiled.settings[:, engine_catalogue.SET_MULTIPLE_OF].astype(np.int64) - 1
    for _ in range(len(changed)):  # chains of multiples: each pass settles one more link
        changed = changed | ((multiple >= 0) & changed[np.maximum(multiple, 0)])
    needed = changed.copy()
    for _ in range(len(needed)):
        for source in (special, multiple):
            needed[source[needed & (source >= 0)]] = True
    return changed, needed


def affected_rights(baseline: Baseline, new) -> tuple:
    """(the new catalogue compiled for the baseline's months, changed and needed per benefit: affected_benefits)."""
    base_compiled, new_compiled = compiled_pair(baseline.base, new, baseline.first, baseline.last)
    return new_compiled, *affected_benefits(base_compiled, new_compiled)


def new_dues(baseline: Baseline, new_arrays, new, affected=None) -> tuple[np.ndarray, np.ndarray]:
    """The dues under the new catalogue: (row per right in the matrix, -1 for a right due as today; int64[rows,
    months]). Only the rights of changed benefits are due otherwise; they are computed again together with the
    rights they read (affected_benefits), and today's matrix is never copied. `affected`: affected_rights."""
    first, last = baseline.first, baseline.last
    new_compiled, changed, needed = affected or affected_rights(baseline, new)
    benefit = new_arrays.right_benefit
    if changed[benefit].all():
        return np.arange(new_arrays.n_rights), due_matrix(new_arrays, new_compiled, new, first, last)
    rights = np.flatnonzero(needed[benefit])
    row_of = np.full(new_arrays.n_rights, -1, np.int64)
    if rights.shape[0] == 0:
        return row_of, np.zeros((0, last - first + 1), np.int64)
    due = due_matrix(rights_subset(new_arrays, rights), new_compiled, new, first, last)
    recomputed = changed[benefit[rights]]
    row_of[rights[recomputed]] = np.flatnonzero(recomputed)
    return row_of, due


# ---- sums and counts ------------------------------------------------------------------------------------------

def _state_table() -> np.ndarray:
    """S_* by (sign of new - base) + 1, base > 0, new > 0 (see states)."""
    table = np.full((3, 2, 2), S_SAME, np.int8)
    table[1, 0, 0] = S_NONE
    table[2, 1, 1], table[2, 0, 1] = S_GAIN, S_START
    table[0, 1, 1], table[0, 1, 0] = S_LOSE, S_STOP
    return table.reshape(-1)


STATE_TABLE = _state_table()


def states(base_minor: np.ndarray, new_minor: np.ndarray) -> np.ndarray:
    """S_* per element (int8): nothing due under either, unchanged, gain, start (gain from 0), lose (still
    above 0), stop (to 0). Dues are never negative, so the sign of the change and two tests say it all."""
    key = (np.sign(new_minor - base_minor) + 1) * 4
    key += (base_minor > 0) * 2
    key += new_minor > 0
    return STATE_TABLE[key]


def count_fields(counts: np.ndarray) -> dict:
    """The counts of one row: rights concerned (due something under either), gain (start included), lose,
    stop, start."""
    return {"rights": int(counts[S_SAME:].sum()), "gain": int(counts[S_GAIN] + counts[S_START]),
            "lose": int(counts[S_LOSE]), "stop": int(counts[S_STOP]), "start": int(counts[S_START])}


def amount_fields(base_minor: int, new_minor: int) -> dict:
    return {"base_minor": int(base_minor), "new_minor": int(new_minor), "diff_minor": int(new_minor - base_minor)}


def group_rows(sums: np.ndarray, counts: np.ndarray, names, key: str) -> list[dict]:
    """One row per name that has rights: sums over the months (int64[2, names]) and counts of rights by the state
    of their sums (int64[names, STATES]), in the order of the names."""
    present = np.flatnonzero(counts.sum(axis=1)).tolist()
    return [{key: str(names[i]), **amount_fields(sums[0, i], sums[1, i]), **count_fields(counts[i])}
            for i in sorted(present, key=lambda i: str(names[i]))]


def totals_row(sums) -> dict:
    """Sums over every right and month; counts of rights by their sums over the months."""
    return {**amount_fields(sums.benefit_sums[0].sum(), sums.benefit_sums[1].sum()),
            **count_fields(sums.benefit_counts.sum(axis=0))}


def month_benefit_rows(sums, codes, first: int) -> list[dict]:
    """One row per month and benefit with rights in the register, month by month."""
    present = np.flatnonzero(sums.benefit_counts.sum(axis=1)).tolist()
    return [{"month": format_period(first + j), "benefit": codes[b],
             **amount_fields(sums.month_sums[0, j, b], sums.month_sums[1, j, b]),
             **count_fields(sums.month_counts[j, b])} for j in range(sums.month_sums.shape[1]) for b in present]


def right_municipalities(persons, arrays, first: int) -> tuple[np.ndarray, list]:
    """(code per right, municipality names): the beneficiary's municipality in the version of the first month."""
    codes, names = municipality_codes(persons.column("municipality"))
    person_code = np.zeros(arrays.person_ids.shape[0], np.intp)
    rows_dense = index_of(arrays.person_ids, np.asarray(persons.column("person_id").to_numpy(), np.int64))
    person_code[rows_dense] = codes
    person = arrays.ver_person[right_versions(arrays, first)]
    return person_code[person], names


def municipality_codes(column: pa.ChunkedArray) -> tuple[np.ndarray, list]:
    """(code per row, distinct names) of a text column, or of one read as Parquet dictionaries (one dictionary for
    every chunk, without decoding a row); an empty cell (none once checked) counts as the name ""."""
    if not pa.types.is_dictionary(column.type):
        encoded = pc.fill_null(column, "").combine_chunks().dictionary_encode()
        return np.asarray(encoded.indices.to_numpy(zero_copy_only=False), np.intp), encoded.dictionary.to_pylist()
    unified = column.unify_dictionaries()
    names = unified.chunk(0).dictionary.to_pylist() if unified.num_chunks else []
    empty = names.index("") if "" in names else len(names)
    codes = [np.asarray(pc.fill_null(chunk.indices.cast(pa.int64()), empty), np.intp) for chunk in unified.chunks]
    codes = np.concatenate(codes) if codes else np.zeros(0, np.intp)
    return codes, names + [""] if empty == len(names) and (codes == empty).any() else names
