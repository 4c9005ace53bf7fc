"""The engine equals the plain-Python reference on generated registers of all three countries, over two months.

For each country a register is generated for 2025-11 and advanced to 2025-12 (`generate --advance`: new rights,
terminations, deaths and retroactive changes). On both, every right's due in every month of a window of 14 months
is computed by the engine and by tests/engine/reference_entitlement.py and must agree to the minor unit
(a month without rules in force included); then the differences of December (due now minus what November's
register made due, as a ledger would have recognised it) are classified by the engine (engine.arrears) and by
hand here, and must agree on every right, month and component (due, arrears, overpayment). Last, December's
payroll itself (payroll.compute, with the windows window_starts chooses) must pay every difference the reference
finds against a ledger holding November's dues, line by line (written_off where the decision records the agency's
fault). A generated Ukrainian register also checks Reading 12's burial grants.
Periods: 2025-11 and 2025-12, months every catalogue covers (Serbia's child allowance from 2025-07).
"""
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from engine import arrears
from engine.entitlement import compute_due
from engine.months import parse_period
from formats.catalogue import load_catalogue
from formats.convert import register_arrays
from formats.register import read_register
from synthetic.next_month import advance_register
from synthetic.register import generate_register
from reference_entitlement import Reference

FIRST, SECOND = "2025-11", "2025-12"
WINDOW_MONTHS = 14
RIGHTS = 160


def rows(folder, name):
    return pq.read_table(folder / f"{name}.parquet").to_pylist()


def reference_of(folder, catalogue) -> Reference:
    """The plain-Python reference over the register in `folder`, with its housing costs, wage bases and
    maintenance titles (the fact tables the generator writes where it has such rights)."""
    facts = {name: rows(folder, name) for name in ("housing_costs", "wage_bases", "maintenance_titles")
             if (folder / f"{name}.parquet").is_file()}
    facts["titles"] = facts.pop("maintenance_titles", [])
    return Reference(rows(folder, "persons"), rows(folder, "households"), rows(folder, "rights"), catalogue, **facts)


def both(folder, catalogue, period: int) -> tuple[dict, dict]:
    """({(right_id, month): (due, missing)} by the engine, the same by the reference) over the window."""
    start = period - WINDOW_MONTHS + 1
    arrays = register_arrays(read_register(folder, catalogue), catalogue)
    cells = compute_due(arrays, catalogue.compile_window(start, period), period, start)
    reference = reference_of(folder, catalogue)
    engine = {(int(arrays.right_ids[r]), int(m)): (int(d), bool(x))
              for r, m, d, x in zip(cells.right_index, cells.month, cells.due_minor, cells.rule_missing)}
    expected = {}
    for right_id in sorted(reference.rights):
        for month, amount in reference.window(right_id, start, period).items():
            expected[(right_id, month)] = (amount, reference.due(right_id, month, period) is None)
    return engine, expected


def components(now: dict, before: dict, period: int) -> dict:
    """{(right, month): (component, amount)} of due - recognised, classified as RULES.md and DESIGN.md say."""
    out = {}
    for (right, month), (due, _missing) in now.items():
        difference = due - before.get((right, month), (0, False))[0]
        if difference:
            name = "overpayment" if difference < 0 else "due" if month == period else "arrears"
            out[(right, month)] = (name, difference)
    return out


@pytest.mark.parametrize("country", ["me", "rs", "ua"])
def test_engine_equals_reference_on_two_generated_months(tmp_path, country):
    catalogue = load_catalogue(country=country)
    first, second = tmp_path / "first", tmp_path / "second"
    generate_register(first, RIGHTS, 7, FIRST, country=country)
    advance_register(first, second, 7, SECOND)
    p1, p2 = parse_period(FIRST), parse_period(SECOND)
    engine1, reference1 = both(first, catalogue, p1)
    assert engine1 == reference1
    engine2, reference2 = both(second, catalogue, p2)
    assert engine2 == reference2
    # December's differences against what November's register made due (months November's window holds)
    recognised = {key: value for key, value in engine1.items() if key[1] >= p2 - WINDOW_MONTHS + 1}
    start = p2 - WINDOW_MONTHS + 1
    arrays = register_arrays(read_register(second, catalogue), catalogue)
    cells = compute_due(arrays, catalogue.compile_window(start, p2), p2, start)
    index = {int(right_id): i for i, right_id in enumerate(arrays.right_ids)}
    known = [(index[r], m, d) for (r, m), (d, _x) in recognised.items() if r in index]
    diffs = arrears.differences(cells, p2, np.array([k[0] for k in known], np.int64),
                                np.array([k[1] for k in known], np.int64), np.array([k[2] for k in known], np.int64))
    got = {(int(arrays.right_ids[r]), int(m)): (arrears.COMPONENT_NAMES[c], int(a))
           for r, m, c, a in zip(diffs.right_index, diffs.month, diffs.component, diffs.amount_minor)}
    want = components({k: v for k, v in reference2.items() if k[0] in index}, recognised, p2)
    assert got == want
    assert any(name == "arrears" for name, _ in want.values()) or country != "me"  # retroactive changes exist


def test_generated_burial_grants_are_twice_the_family_assistance(tmp_path):
    """Readings 12 on a generated Ukrainian register: UA_POHOV rights exist only for households with a UA_DSD
    right in force in the month of death, and each is due 2 x that household's UA_DSD of the month (reference)."""
    catalogue, period = load_catalogue(country="ua"), parse_period(FIRST)
    generate_register(tmp_path, 2000, 7, FIRST, country="ua")
    rights = rows(tmp_path, "rights")
    burials = sorted({r["right_id"] for r in rights if r["benefit"] == "UA_POHOV"})
    assert burials, "the register should hold burial grants"
    start = period - WINDOW_MONTHS + 1
    arrays = register_arrays(read_register(tmp_path, catalogue), catalogue)
    cells = compute_due(arrays, catalogue.compile_window(start, period), period, start)
    reference = Reference(rows(tmp_path, "persons"), rows(tmp_path, "households"), rights, catalogue)
    assisted = {(r["household_id"], r["right_id"]) for r in rights if r["benefit"] == "UA_DSD"}
    paid = 0
    for right_id in burials:
        r = int(np.searchsorted(arrays.right_ids, right_id))
        household = next(v["household_id"] for v in rights if v["right_id"] == right_id)
        assert any(h == household for h, _ in assisted)
        for cell in range(cells.offsets[r], cells.offsets[r + 1]):
            month, due = int(cells.month[cell]), int(cells.due_minor[cell])
            assert due == (reference.due(right_id, month, period) or 0), (right_id, month)
            paid += due
    assert paid > 0


@pytest.mark.parametrize("country", ["me", "rs", "ua"])
def test_the_payroll_of_the_second_month_pays_every_difference_the_reference_finds(tmp_path, country):
    """payroll.compute for December on the advanced register, with the ledger holding what November's register
    made due (by the reference) for two years: every line due / arrears / overpayment / written_off equals the
    reference's difference for that right and month, so the windows reach every month a decision changed."""
    import pyarrow as pa

    from payroll.compute import Inputs, compute
    from payroll.ledger_state import LedgerState

    catalogue = load_catalogue(country=country)
    first, second = tmp_path / "first", tmp_path / "second"
    generate_register(first, RIGHTS, 5, FIRST, country=country)
    advance_register(first, second, 5, SECOND)
    p1, p2 = parse_period(FIRST), parse_period(SECOND)
    start = p2 - 24
    before = reference_of(first, catalogue)
    recognised = [(right_id, month, amount) for right_id in sorted(before.rights)
                  for month, amount in before.window(right_id, start, p1).items() if amount]
    ints = lambda values: np.array(list(values), np.int64)
    z = ints([])
    state = LedgerState(0, ints(r for r, _, _ in recognised), ints(m for _, m, _ in recognised),
                        ints(a for _, _, a in recognised), z, z, z, z, z, z, z, z, z, z, start)
    holds = pa.table({"kind": pa.array([], pa.string()), "right_id": pa.array([], pa.int64()),
                      "payee_id": pa.array([], pa.int64()), "iban": pa.array([], pa.string())})
    lines = compute("P", Inputs(read_register(second, catalogue), catalogue, p2, state, holds)).lines.to_pylist()
    got = {(row["right_id"], (row["month"].year - 1970) * 12 + row["month"].month - 1): (row["component"],
                                                                                            row["amount_minor"])
           for row in lines if row["component"] in ("due", "arrears", "overpayment", "written_off")}
    after_rows = rows(second, "rights")
    after = reference_of(second, catalogue)
    latest = {}
    for version in sorted(after_rows, key=lambda v: v["decided_on"]):
        latest[version["right_id"]] = bool(version.get("agency_fault"))
    paid = {(r, m): a for r, m, a in recognised}
    want = {}
    for right_id in sorted(after.rights):
        for month, amount in after.window(right_id, start, p2).items():
            difference = amount - paid.get((right_id, month), 0)
            if difference > 0:
                want[(right_id, month)] = ("due" if month == p2 else "arrears", difference)
            elif difference < 0:
                want[(right_id, month)] = ("written_off" if latest[right_id] else "overpayment", difference)
    assert got == want
    kinds = {name for name, _ in want.values()}
    assert {"due", "arrears"} <= kinds, kinds  # retroactive decisions and new rights are there to be found


@pytest.mark.parametrize("country", ["me", "ua"])
def test_cells_do_not_depend_on_chunks_or_threads(tmp_path, country, monkeypatch):
    """due_kernel splits the rights into chunks run on a pool of threads: many small chunks on every thread give
    the very cells of one chunk on one thread."""
    import numba

    from engine import entitlement
    catalogue = load_catalogue(country=country)
    generate_register(tmp_path, 300, 11, FIRST, country=country)
    period = parse_period(FIRST)
    start = period - WINDOW_MONTHS + 1
    arrays = register_arrays(read_register(tmp_path, catalogue), catalogue)
    compiled = catalogue.compile_window(start, period)
    monkeypatch.setattr(entitlement, "CHUNK_RIGHTS", 10**9)
    one = compute_due(arrays, compiled, period, start)
    monkeypatch.setattr(entitlement, "CHUNK_RIGHTS", 7)
    monkeypatch.setattr(entitlement, "CHUNKS_PER_THREAD", 64)
    many = compute_due(arrays, compiled, period, start)
    assert numba.get_num_threads() >= 1 and len(one.due_minor) > 1000
    for field in one._fields:
        assert np.array_equal(getattr(one, field), getattr(many, field)), field


def test_chunks_count_on_cache_lines_of_their_own(tmp_path, monkeypatch):
    """Each chunk's counts scratch (rewritten for every right of a household formula) is 64 bytes or more away from
    any other chunk's: two chunks running at once on two threads never write one cache line."""
    from engine import entitlement
    catalogue = load_catalogue(country="rs")
    generate_register(tmp_path, 300, 11, FIRST, country="rs")
    period = parse_period(FIRST)
    arrays = register_arrays(read_register(tmp_path, catalogue), catalogue)
    compiled = catalogue.compile_window(period, period)
    compute_due(arrays, compiled, period, period)  # the chunk kernel loaded before the spy stands in for it
    monkeypatch.setattr(entitlement, "CHUNK_RIGHTS", 7)
    monkeypatch.setattr(entitlement, "CHUNKS_PER_THREAD", 64)
    counts, kernel = [], entitlement.chunk_due_kernel
    monkeypatch.setattr(entitlement, "chunk_due_kernel", lambda *args: counts.append(args[2]) or kernel(*args))
    compute_due(arrays, compiled, period, period)
    assert len(counts) > 10 and all(c.shape == (entitlement.COUNTS_SLOTS,) for c in counts)
    spans = sorted((c.__array_interface__["data"][0], c.__array_interface__["data"][0] + c.nbytes) for c in counts)
    assert all(begin - end >= 64 for (_, end), (begin, _) in zip(spans, spans[1:]))


@pytest.mark.parametrize("country", ["me", "rs", "ua"])
def test_one_pass_households_equal_the_month_by_month_loop(tmp_path, country, monkeypatch):
    """The rights _household_right serves (one version, a household, a household formula) get the very cells of the
    month-by-month loop every other right runs through: over a window of 40 months (indexations, the days policy's
    first and last months, the months-per-year limit from January, deaths, age limits) and as decided 60 days
    before the period's end."""
    from engine import entitlement
    catalogue = load_catalogue(country=country)
    generate_register(tmp_path, 400, 5, SECOND, country=country)
    period = parse_period(SECOND)
    start = period - 40
    arrays = register_arrays(read_register(tmp_path, catalogue), catalogue)
    compiled = catalogue.compile(*entitlement.compiled_range(start, period, catalogue.first_month()))
    kinds = {cat_kind for cat_kind in compiled.kind[np.asarray(arrays.right_benefit, np.int64)]}
    assert kinds & {entitlement.cat.KIND_HOUSEHOLD_TABLE, entitlement.cat.KIND_EQUIVALENCE,
                    entitlement.cat.KIND_CATEGORY_SUM}, kinds  # the register has rights the one pass serves
    decided_by = entitlement.month_first_day(period + 1) - 61
    for want in one_pass_and_monthly_equal(arrays, compiled, period, start, decided_by, monkeypatch):
        assert want.due_minor.sum() > 0


def one_pass_and_monthly_equal(arrays, compiled, period, start, decided_by, monkeypatch) -> list:
    """compute_due with the one pass over a household's months and with the month-by-month loop, as of the period
    and as decided on `decided_by`: every output field equal; returns the loop's cells."""
    from engine import entitlement

    one_pass = [compute_due(arrays, compiled, period, start),
                compute_due(arrays, compiled, period, start, decided_by_day=decided_by)]
    monkeypatch.setattr(entitlement, "ONE_PASS_HOUSEHOLDS", False)
    monthly = [compute_due(arrays, compiled, period, start),
               compute_due(arrays, compiled, period, start, decided_by_day=decided_by)]
    for got, want in zip(one_pass, monthly):
        for field in want._fields:
            assert np.array_equal(getattr(got, field), getattr(want, field)), field
    return monthly


@pytest.mark.parametrize("country", ["me", "rs", "ua"])
def test_one_pass_households_equal_the_month_by_month_loop_for_scattered_windows(tmp_path, country, monkeypatch):
    """_household_right's blocks of months (one calendar year, no first, last or death month of the days policy, the
    months-per-year limit counted from January) give the month-by-month loop's cells for windows that start in any
    month of three years, each right its own, also as decided 45 days before the period's end."""
    from engine import entitlement
    catalogue = load_catalogue(country=country)
    generate_register(tmp_path, 1500, 23, SECOND, country=country)
    period = parse_period(SECOND)
    persons = pq.read_table(tmp_path / "persons.parquet")  # every 9th person dies on a day of the three years
    rng = np.random.default_rng(11)
    died = np.where(np.arange(persons.num_rows) % 9 == 4,
                    entitlement.month_first_day(period - 36) + rng.integers(0, 36 * 30, persons.num_rows), -1)
    birth = persons.column("birth_date").cast("int32").to_numpy()
    died = np.where(died > birth, died, -1)
    persons = persons.set_column(persons.schema.get_field_index("death_date"), "death_date",
                                 pa.array(np.where(died >= 0, died, 0).astype(np.int32), pa.int32(),
                                          mask=died < 0).cast(pa.date32()))
    pq.write_table(persons, tmp_path / "persons.parquet")
    arrays = register_arrays(read_register(tmp_path, catalogue), catalogue)
    assert ((arrays.person_death_day != entitlement.NO_DAY).sum() > 100)
    starts = (period - np.random.default_rng(7).integers(0, 37, arrays.n_rights)).astype(np.int32)
    compiled = catalogue.compile(*entitlement.compiled_range(starts, period, catalogue.first_month()))
    decided_by = entitlement.month_first_day(period + 1) - 46
    for want in one_pass_and_monthly_equal(arrays, compiled, period, starts, decided_by, monkeypatch):
        assert (want.due_minor > 0).sum() > 1000


def test_the_household_tables_count_of_members_is_the_member_counts_number(tmp_path):
    """_count_present, the number of members the household table reads, equals _member_counts' number in every month
    of 40 on generated households where every 7th person dies and every 5th membership ends within those months, and
    the number holds through the last month it names (the one pass pays that month without counting again)."""
    from engine import entitlement as e
    catalogue = load_catalogue(country="me")
    generate_register(tmp_path, 300, 5, SECOND, country="me")
    period = parse_period(SECOND)
    arrays = register_arrays(read_register(tmp_path, catalogue), catalogue)
    person32, member32 = arrays.packed.person32.copy(), arrays.packed.member32.copy()
    rng = np.random.default_rng(3)
    dies = np.arange(len(person32)) % 7 == 3
    person32[dies, e.P_DEATH_MONTH] = np.maximum(person32[dies, e.P_BIRTH_MONTH],
                                                 period - rng.integers(0, 40, dies.sum()))
    ends = np.arange(len(member32)) % 5 == 1
    member32[ends, e.M_TO_MONTH] = np.maximum(member32[ends, e.M_FROM_MONTH], period - rng.integers(0, 40, ends.sum()))
    member_offsets = np.ascontiguousarray(arrays.member_offsets)
    counts = np.zeros(e.COUNTS_SLOTS, dtype=np.int64)
    changed = 0
    for h in range(len(arrays.household_ids)):
        numbers = []
        for m in range(period - 40, period + 1):
            counts[e._C_HOUSEHOLD] = -1
            numbers.append(e._member_counts(h, 0, m, 18, 6, 0, member32, member_offsets, person32, counts))
        for i, m in enumerate(range(period - 40, period + 1)):
            members, last = e._count_present(h, m, member32, member_offsets, person32)
            assert members == numbers[i], (h, m)
            assert last >= m and all(n == members for n in numbers[i:last - (period - 40) + 1]), (h, m, last)
        changed += len(set(numbers)) > 1
    assert changed > 30  # households whose number of members changes within the months
