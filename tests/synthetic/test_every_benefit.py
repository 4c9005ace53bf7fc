"""Every priced benefit of each country's catalogue appears in a generated register, the register passes
validation, and the fact tables beside the rights (housing costs, wage bases, maintenance titles) hold exactly
the facts those rights need; a maintenance advance paid in one month is recovered from its debtor the next."""
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from formats.catalogue import load_catalogue
from payroll import cycle, session, store
from payroll.register import validate_register
from synthetic.context import benefit_first_months
from synthetic.facts import FACT_TABLES
from synthetic.next_month import advance_register
from synthetic.register import generate_register

PERIOD = "2026-02"


def month_index(text: str) -> int:
    return (int(text[:4]) - 1970) * 12 + int(text[5:]) - 1


def read(folder, name):
    return pq.read_table(folder / f"{name}.parquet")


@pytest.fixture(scope="module")
def registers(tmp_path_factory):
    made = {}
    for country in ("me", "rs", "ua"):
        folder = tmp_path_factory.mktemp(f"register-{country}")
        made[country] = (folder, generate_register(folder, rights=12_000, seed=5, period=PERIOD, country=country))
    return made


@pytest.mark.parametrize("country", ["me", "rs", "ua"])
def test_every_priced_benefit_in_force_appears_and_the_register_is_valid(registers, country):
    folder, summary = registers[country]
    catalogue = load_catalogue(country=country)
    firsts = benefit_first_months(catalogue)
    priced = {b.code for b in catalogue.benefits if not b.unpriced and firsts[b.code] <= month_index(PERIOD)}
    assert set(summary["rights_by_benefit"]) == priced
    checked = validate_register(folder, country=country)
    assert checked["rights"] == summary["rights"]
    assert set(checked["files"]) == {name for name in summary["files"]}


def test_ukraine_pays_housing_subsidies_and_idp_allowances_most(registers):
    """Research UA #18 (2.7-2.8 M subsidy households) and #17 (>1.2 M IDPs, each a right of his own): the two
    most common Ukrainian benefits of a generated register, the subsidy first."""
    counts = registers["ua"][1]["rights_by_benefit"]
    assert sorted(counts, key=counts.get, reverse=True)[:2] == ["UA_SUBS", "UA_VPO"]
    assert 0.3 < counts["UA_VPO"] / counts["UA_SUBS"] < 0.9


def test_an_idp_allowance_is_a_personal_right_of_every_member_of_a_displaced_household(registers):
    folder, _ = registers["ua"]
    rights = read(folder, "rights")
    idp = rights.filter(pc.equal(rights["benefit"], "UA_VPO"))
    assert idp["household_id"].null_count == idp.num_rows > 0   # per_member_category pays the beneficiary alone
    members = read(folder, "households")
    home = dict(zip(members["person_id"].to_pylist(), members["household_id"].to_pylist()))
    displaced = {home[person] for person in idp["person_id"].to_pylist()}
    living = read(folder, "persons").filter(pc.is_null(read(folder, "persons")["death_date"]))
    alive = set(living["person_id"].to_pylist())
    everyone = {person for person, household in home.items() if household in displaced and person in alive}
    assert set(idp["person_id"].to_pylist()) == everyone


def test_ukraine_writes_maintenance_titles_for_exactly_the_children_with_an_advance(registers):
    folder, summary = registers["ua"]
    rights, titles = read(folder, "rights"), read(folder, "maintenance_titles")
    households = read(folder, "households")
    advances = rights.filter(pc.equal(rights["benefit"], "UA_TYMCH"))
    children = set(advances["person_id"].to_pylist())
    assert summary["maintenance_titles"] == titles.num_rows == len(children) > 0
    assert set(titles["child_id"].to_pylist()) == children
    home = dict(zip(households["person_id"].to_pylist(), households["household_id"].to_pylist()))
    debtors = titles["debtor_id"].to_pylist()
    assert all(debtor != child for debtor, child in zip(debtors, titles["child_id"].to_pylist()))
    assert all(home[debtor] != home[child] for debtor, child in zip(debtors, titles["child_id"].to_pylist()))
    # the title is in force from the first advance on (or earlier), so every advance is due
    start = dict(zip(titles["child_id"].to_pylist(), titles["valid_from"].to_pylist()))
    first_advance = zip(advances["person_id"].to_pylist(), advances["valid_from"].to_pylist())
    assert all(start[child] <= first for child, first in first_advance)
    assert titles["valid_to"].null_count == titles.num_rows
    # at least half the debtors (DEBTOR_PAYEE_SHARE, and others by chance) receive a right of their own, from which
    # the advance is recovered
    payees = read(folder, "payees")
    tax_of_payee = dict(zip(payees["payee_id"].to_pylist(), payees["tax_id"].to_pylist()))
    persons = read(folder, "persons")
    tax_of_person = dict(zip(persons["person_id"].to_pylist(), persons["tax_id"].to_pylist()))
    paid = {tax_of_payee[payee] for payee in rights["payee_id"].to_pylist() if tax_of_payee.get(payee)}
    with_own_right = sum(tax_of_person[debtor] in paid for debtor in debtors)
    assert with_own_right >= 0.4 * len(debtors)


def test_no_fact_table_is_written_where_the_register_has_no_such_facts(registers):
    folder, summary = registers["me"]
    for name in FACT_TABLES:
        assert (folder / f"{name}.parquet").is_file() == (name in summary), name


@pytest.mark.parametrize("table, benefit_kind, key", [("housing_costs", "housing_cost_minus_share", "household_id"),
                                                      ("wage_bases", "wage_replacement", "person_id")])
def test_housing_costs_and_wage_bases_follow_their_rights(registers, table, benefit_kind, key):
    if table not in FACT_TABLES:
        pytest.skip(f"formats.schemas has no {table} table on this branch")
    for country, (folder, summary) in registers.items():
        codes = [b.code for b in load_catalogue(country=country).benefits if b.kind == benefit_kind]
        rights = read(folder, "rights")
        mine = rights.filter(pc.is_in(rights["benefit"], value_set=pa.array(codes, pa.string())))
        if not mine.num_rows:
            assert not (folder / f"{table}.parquet").is_file()
            continue
        facts = read(folder, table)
        assert set(facts[key].to_pylist()) == set(mine[key].to_pylist())
        start = {}
        for owner, day in zip(facts[key].to_pylist(), facts["valid_from"].to_pylist()):
            start[owner] = min(day, start.get(owner, day))
        assert all(start[owner] <= day for owner, day in zip(mine[key].to_pylist(), mine["valid_from"].to_pylist()))


def test_an_advance_is_recovered_from_a_debtor_who_is_paid_a_benefit(tmp_path):
    db = f"sqlite:///{tmp_path / 'ledger.db'}"
    cycle.open_db(db, create=True).close()
    generate_register(tmp_path / "jan", 6_000, 7, "2025-01", country="ua")
    january = cycle.calculate(db, tmp_path / "jan", "2025-01", "ana", store_dir=tmp_path / "store")["payroll"]
    cycle.approve(db, january, "marko")
    advance_register(tmp_path / "jan", tmp_path / "feb", seed=7)
    february = cycle.calculate(db, tmp_path / "feb", "2025-02", "ana", store_dir=tmp_path / "store")["payroll"]
    components = {}
    for line in store.read_lines(session.payroll_record(db, february)).to_pylist():
        components[line["component"]] = components.get(line["component"], 0) + line["amount_minor"]
    first = store.read_lines(session.payroll_record(db, january)).to_pylist()
    assert sum(line["amount_minor"] for line in first if line["benefit"] == "UA_TYMCH") > 0
    assert components.get("advance_recovery", 0) < 0


NEW_KINDS = frozenset({"per_member_category", "housing_cost_minus_share", "wage_replacement", "top_up_to_ceiling",
                       "per_child_reference_minus_income", "maintenance_advance"})


@pytest.mark.parametrize("country", ["me", "rs", "ua"])
def test_the_benefits_of_the_new_kinds_are_paid_from_the_generated_facts(tmp_path, country):
    """A payroll of 2026-01 (every issue-17 benefit in force) pays each benefit of a new kind something: the
    housing costs, titles, other payments and incomes the generator writes make real amounts, not zeros."""
    db = f"sqlite:///{tmp_path / 'ledger.db'}"
    cycle.open_db(db, create=True).close()
    summary = generate_register(tmp_path / "reg", 4_000, 11, "2026-01", country=country)
    payroll = cycle.calculate(db, tmp_path / "reg", "2026-01", "ana", store_dir=tmp_path / "store")["payroll"]
    paid = {}
    for line in store.read_lines(session.payroll_record(db, payroll)).to_pylist():
        if line["component"] in ("due", "arrears"):
            paid[line["benefit"]] = paid.get(line["benefit"], 0) + line["amount_minor"]
    catalogue = load_catalogue(country=country)
    new = [code for code in summary["rights_by_benefit"] if catalogue.benefit(code).kind in NEW_KINDS]
    assert all(paid.get(code, 0) > 0 for code in new), {code: paid.get(code, 0) for code in new}
    assert len(new) >= {"me": 0, "rs": 1, "ua": 4}[country]


LEAVE_PAY = '''
[[benefits]]
code = "RS_TEST_ZARADE"
name = "Naknada zarade za vreme porodiljskog odsustva (test)"
kind = "wage_replacement"
protected = true
[benefits.parameters]
replacement_bp = [ { valid_from = 2024-01-01, value = 10000, status = "assumption", reason = "a test benefit" } ]
'''


def test_leave_pay_gets_a_wage_base_for_every_parent_on_leave(tmp_path, monkeypatch):
    """No bundled catalogue prices a wage_replacement benefit yet: a copy of serbia.toml with one shows that the
    generator draws it (mothers of a child born in the last year) and writes each one's wage base."""
    import synthetic.context
    from formats.catalogue import catalogue_path
    from formats.convert import register_arrays
    from formats.register import read_register

    path = tmp_path / "serbia.toml"
    path.write_text(catalogue_path("rs").read_text(encoding="utf-8") + LEAVE_PAY, encoding="utf-8")
    catalogue = load_catalogue(path)
    monkeypatch.setattr(synthetic.context, "load_catalogue", lambda country: catalogue)
    summary = generate_register(tmp_path / "reg", 6_000, 4, "2025-11", country="rs")
    assert summary["rights_by_benefit"]["RS_TEST_ZARADE"] == summary["wage_bases"] > 0
    rights, bases = read(tmp_path / "reg", "rights"), read(tmp_path / "reg", "wage_bases")
    leave = rights.filter(pc.equal(rights["benefit"], "RS_TEST_ZARADE"))
    assert sorted(bases["person_id"].to_pylist()) == sorted(set(leave["person_id"].to_pylist()))
    assert all(base > 0 for base in bases["base_minor"].to_pylist())
    arrays = register_arrays(read_register(tmp_path / "reg", catalogue), catalogue)   # valid, converted
    assert arrays.fact64 is not None and len(arrays.fact64) == bases.num_rows


def test_isplata_generate_counts_the_titles_it_wrote(tmp_path):
    """The register summary of `generate` (payroll.register.generate) counts the maintenance titles file."""
    from payroll.register import generate

    made = generate(tmp_path / "reg", 3_000, 2, "2026-02", country="ua")
    assert made["maintenance_titles"] == read(tmp_path / "reg", "maintenance_titles").num_rows > 0
