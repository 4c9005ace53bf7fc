"""The synthetic register: deterministic, valid, shaped like a real one; its advance by one month.

References for the identifiers are written here in plain Python (per value, the way the laws describe them)
and compared with the vectorised generator.
"""
import datetime as dt
import hashlib

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from schwifty import BIC, IBAN

from formats.catalogue import load_catalogue
from formats.errors import InputError
from formats.register import read_register
from synthetic import context, identifiers, next_month
from synthetic import register as synthetic_register
from synthetic.names import COUNTRIES

PERIOD = "2025-11"
TABLE_NAMES = ("persons", "households", "rights", "payees", "deductions")


def read(folder, name) -> pa.Table:
    return pq.read_table(folder / f"{name}.parquet")


def digests(folder) -> dict:
    return {name: hashlib.sha256((folder / f"{name}.parquet").read_bytes()).hexdigest() for name in TABLE_NAMES}


def month_of(column) -> np.ndarray:
    days = pc.cast(column, pa.int32()).to_numpy(zero_copy_only=False)
    return days.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)


@pytest.fixture(scope="module")
def me_register(tmp_path_factory):
    folder = tmp_path_factory.mktemp("me")
    summary = synthetic_register.generate_register(folder, rights=6_000, seed=11, period=PERIOD, country="me")
    return folder, summary


# ---- determinism and validity -----------------------------------------------------------------------------

def test_same_arguments_give_byte_identical_files(tmp_path, me_register):
    folder, _ = me_register
    synthetic_register.generate_register(tmp_path / "again", rights=6_000, seed=11, period=PERIOD, country="me")
    assert digests(tmp_path / "again") == digests(folder)


def test_another_seed_gives_another_register(tmp_path, me_register):
    folder, _ = me_register
    synthetic_register.generate_register(tmp_path / "other", rights=6_000, seed=12, period=PERIOD, country="me")
    assert digests(tmp_path / "other")["rights"] != digests(folder)["rights"]


@pytest.mark.parametrize("country", ["me", "rs", "ua"])
def test_every_country_passes_validation_with_its_own_benefits(tmp_path, country):
    summary = synthetic_register.generate_register(tmp_path, rights=2_500, seed=5, period=PERIOD, country=country)
    catalogue = load_catalogue(country=country)
    register = read_register(tmp_path, catalogue)
    rights = register["rights"]
    assert set(pc.unique(rights["benefit"]).to_pylist()) <= set(catalogue.benefit_codes)
    assert len(pc.unique(rights["right_id"])) == 2_500 == summary["rights"]
    assert len(pc.unique(register["households"]["household_id"])) == summary["households"]
    for benefit in catalogue.benefits:   # benefits whose amount comes with the decision carry it
        amounts = rights.filter(pc.equal(rights["benefit"], benefit.code))["amount_minor"]
        assert (amounts.null_count == 0) if benefit.decided_amount else (amounts.null_count == len(amounts))
    countries = pc.unique(register["payees"]["country"]).to_pylist()
    assert countries == [COUNTRIES[country].iso]


@pytest.mark.parametrize("rights", [1, 7])
def test_tiny_registers_have_exactly_the_rights_asked_for(tmp_path, rights):
    synthetic_register.generate_register(tmp_path, rights=rights, seed=1, period=PERIOD)
    assert len(pc.unique(read(tmp_path, "rights")["right_id"])) == rights
    read_register(tmp_path, load_catalogue())


def test_chunks_become_row_groups_with_unique_ids(tmp_path, monkeypatch):
    monkeypatch.setattr(synthetic_register, "CHUNK_RIGHTS", 400)
    synthetic_register.generate_register(tmp_path, rights=1_000, seed=2, period=PERIOD)
    assert pq.ParquetFile(tmp_path / "rights.parquet").num_row_groups == 3
    register = read_register(tmp_path, load_catalogue())   # would report duplicate or dangling ids
    assert len(pc.unique(register["rights"]["right_id"])) == 1_000


def test_bad_arguments_are_refused(tmp_path):
    with pytest.raises(ValueError, match="rights"):
        synthetic_register.generate_register(tmp_path, rights=0, seed=1, period=PERIOD)
    with pytest.raises(ValueError, match="country"):
        synthetic_register.generate_register(tmp_path, rights=10, seed=1, period=PERIOD, country="xx")
    with pytest.raises(ValueError, match="YYYY-MM"):
        synthetic_register.generate_register(tmp_path, rights=10, seed=1, period="2025-1")


# ---- shape and proportions --------------------------------------------------------------------------------

def test_benefit_mix_puts_child_allowance_and_means_tested_support_first(me_register):
    _, summary = me_register
    counts = summary["rights_by_benefit"]
    ranked = sorted(counts, key=counts.get, reverse=True)
    assert ranked[:2] == ["ME_DD", "ME_MO"]
    priced = {benefit.code for benefit in load_catalogue().benefits if not benefit.unpriced}
    assert set(counts) == priced   # every benefit with an amount appears at this size (an unpriced one never)
    assert counts["ME_LI"] > counts["ME_BOR_LI"] > counts["ME_SAHRANA"]


def test_about_eighty_percent_of_payees_are_paid_by_bank(me_register):
    folder, _ = me_register
    payees = read(folder, "payees")
    bank = pc.sum(pc.equal(payees["channel"], "bank")).as_py() / payees.num_rows
    assert 0.72 <= bank <= 0.88
    kinds = set(pc.unique(payees["kind"]).to_pylist())
    assert kinds == {"person", "guardian", "institution", "creditor"}


def test_about_five_percent_of_rights_have_a_retroactive_decision_in_the_period(me_register):
    folder, _ = me_register
    rights = read(folder, "rights")
    period = 2025 * 12 + 10 - 1970 * 12
    decided, start = month_of(rights["decided_on"]), month_of(rights["valid_from"])
    retro = (decided == period) & (start < period) & (start >= period - 12)
    share = len(np.unique(rights["right_id"].to_numpy()[retro])) / 6_000
    assert 0.04 <= share <= 0.08
    assert pc.max(rights["version"]).as_py() == 2                    # changes are new versions
    assert (start[rights["version"].to_numpy() == 2] >= period - 12).all()


def test_about_three_percent_of_rights_carry_deduction_orders_of_every_kind(me_register):
    folder, _ = me_register
    deductions = read(folder, "deductions")
    share = len(pc.unique(deductions["right_id"])) / 6_000
    assert 0.025 <= share <= 0.035
    assert set(pc.unique(deductions["kind"]).to_pylist()) == {"alimony", "damages", "overpayment", "enforcement"}
    payees = read(folder, "payees")
    creditors = deductions.filter(pc.is_valid(deductions["creditor_payee_id"]))["creditor_payee_id"]
    kinds = payees.filter(pc.is_in(payees["payee_id"], value_set=creditors))["kind"]
    assert set(kinds.to_pylist()) == {"creditor"}


def test_households_have_a_real_age_structure(me_register):
    folder, _ = me_register
    persons, members = read(folder, "persons"), read(folder, "households")
    joined = members.join(persons, "person_id")
    end = dt.date(2025, 11, 30)
    age = np.array([(end - born).days // 365.25 for born in joined["birth_date"].to_pylist()])
    role = np.array(joined["role"].to_pylist())
    assert (age[role == "child"] <= 17).all() and (age[role == "child"] >= 0).all()
    assert (age[role != "child"] >= 18).all()
    assert 0.05 <= (age >= 65).mean() <= 0.35 and 0.2 <= (role == "child").mean() <= 0.5
    heads = members.filter(pc.equal(members["role"], "head"))
    assert len(pc.unique(heads["household_id"])) == len(pc.unique(members["household_id"])) == heads.num_rows


def test_child_allowance_households_have_children(me_register):
    folder, _ = me_register
    rights, members = read(folder, "rights"), read(folder, "households")
    dd = pc.unique(rights.filter(pc.equal(rights["benefit"], "ME_DD"))["household_id"])
    with_children = pc.unique(members.filter(pc.equal(members["role"], "child"))["household_id"])
    assert pc.all(pc.is_in(dd, value_set=with_children)).as_py()


def test_means_tested_incomes_vary_and_some_exceed_the_threshold(me_register):
    folder, _ = me_register
    rights, members = read(folder, "rights"), read(folder, "households")
    mo = rights.filter(pc.equal(rights["benefit"], "ME_MO"))
    sizes = members.group_by("household_id").aggregate([("person_id", "count")])
    size = dict(zip(sizes["household_id"].to_pylist(), sizes["person_id_count"].to_pylist()))
    base = load_catalogue().benefit("ME_MO").value_on("base_by_size", dt.date(2025, 11, 1))
    threshold = np.array([base[min(size[h], 5) - 1] for h in mo["household_id"].to_pylist()])
    income = mo["income_minor"].to_numpy()
    assert 0.03 <= (income > threshold).mean() <= 0.2
    assert 0.2 <= (income == 0).mean() <= 0.5
    assert len(np.unique(income)) > len(income) // 2


def test_graded_and_birth_facts_are_in_range(me_register):
    folder, _ = me_register
    rights = read(folder, "rights")

    def column(code, name):
        return rights.filter(pc.equal(rights["benefit"], code))[name].to_pylist()

    assert set(column("ME_LI", "grade")) == {1, 2}
    assert set(column("ME_BOR_LI", "grade")) <= set(range(1, 11)) and len(set(column("ME_BOR_LI", "grade"))) > 4
    assert min(column("ME_NOVOROD", "birth_order")) == 1 and max(column("ME_NOVOROD", "birth_order")) >= 2
    assert column("ME_DD", "grade") == [None] * len(column("ME_DD", "grade"))
    for flag in ("mo_family", "single_parent", "unable_to_work", "consent_full_recovery"):
        assert 0 < pc.sum(rights[flag]).as_py() < rights.num_rows


def test_a_few_deaths_in_the_last_three_months(me_register):
    folder, summary = me_register
    persons = read(folder, "persons")
    died = persons.filter(pc.is_valid(persons["death_date"]))["death_date"].to_pylist()
    assert 0 < len(died) < persons.num_rows * 0.01 and len(died) == summary["deaths"]
    assert min(died) >= dt.date(2025, 9, 1) and max(died) <= dt.date(2025, 11, 30)
    rights = read(folder, "rights")
    assert pc.sum(pc.equal(rights["benefit"], "ME_SAHRANA")).as_py() > 0


def test_names_in_latin_with_diacritics_and_in_cyrillic(me_register, tmp_path):
    folder, summary = me_register
    persons = read(folder, "persons")
    names = " ".join(persons["family_name"].to_pylist() + persons["given_name"].to_pylist())
    assert set("čćšžđś") <= set(names.lower())       # Montenegrin Latin has ś and ź as well
    assert summary["persons_in_cyrillic"] > 0
    synthetic_register.generate_register(tmp_path, rights=300, seed=3, period=PERIOD, country="ua")
    persons = read(tmp_path, "persons")
    assert pc.all(pc.match_substring_regex(persons["given_name"], "^[\u0400-\u04FF' -]+$")).as_py()
    assert persons["patronymic"].null_count == 0


def test_postal_payees_have_structured_addresses_of_the_country(me_register):
    folder, _ = me_register
    payees = read(folder, "payees")
    post = payees.filter(pc.equal(payees["channel"], "post"))
    for column in ("street", "house_number", "postcode", "town", "district", "region"):
        assert post[column].null_count == 0
    towns = {place[0] for place in COUNTRIES["me"].places}
    latin = set(post["town"].to_pylist()) & towns
    assert latin and pc.all(pc.match_substring_regex(post["postcode"], r"^8\d{4}$")).as_py()


# ---- identifiers --------------------------------------------------------------------------------------------

def iban_reference(country: str, bank: str, account: str) -> str:
    """IBAN per ISO 13616 with the ME/RS national check digits (ISO 7064 mod 97-10), one value at a time."""
    national = "" if country == "UA" else f"{98 - int(bank + account) * 100 % 97:02d}"
    bban = bank + account + national
    numeric = "".join(str(int(c, 36)) for c in bban + country + "00")
    return f"{country}{98 - int(numeric) % 97:02d}{bban}"


@pytest.mark.parametrize("code", ["me", "rs", "ua"])
def test_vectorised_ibans_match_the_reference_and_schwifty(code):
    country = COUNTRIES[code]
    rng = np.random.default_rng(4)
    bank_index = rng.integers(0, len(country.banks), 300)
    account = rng.integers(0, 10**13, 300)
    made = identifiers.ibans(country, bank_index, account).to_pylist()
    width = 13 if code != "ua" else 19
    for iban, bank, number in zip(made, bank_index, account):
        assert iban == iban_reference(country.iso, country.banks[bank][0], f"{number:0{width}d}")
        IBAN(iban, validate_bban=True)


@pytest.mark.parametrize("code", ["me", "rs", "ua"])
def test_bank_payees_have_valid_ibans_and_bics_of_their_bank(tmp_path, code):
    synthetic_register.generate_register(tmp_path, rights=800, seed=9, period=PERIOD, country=code)
    bank = read(tmp_path, "payees").filter(pc.equal(read(tmp_path, "payees")["channel"], "bank"))
    assert bank["iban"].null_count == 0
    for iban_text, bic_text in zip(bank["iban"].to_pylist(), bank["bic"].to_pylist()):
        iban = IBAN(iban_text, validate_bban=True)
        assert iban.country_code == COUNTRIES[code].iso
        if bic_text is not None:
            BIC(bic_text)
            if iban.bic is not None:
                assert str(iban.bic)[:8] == bic_text[:8]


def jmbg_reference(number: str) -> bool:
    digits = [int(c) for c in number]
    total = sum(w * d for w, d in zip((7, 6, 5, 4, 3, 2, 7, 6, 5, 4, 3, 2), digits))
    check = 11 - total % 11
    return len(number) == 13 and check != 10 and digits[12] == (0 if check == 11 else check)


def test_personal_numbers_carry_birth_date_sex_and_check_digit(me_register, tmp_path):
    folder, _ = me_register
    persons = read(folder, "persons").slice(0, 2_000)
    for number, born in zip(persons["tax_id"].to_pylist(), persons["birth_date"].to_pylist()):
        assert jmbg_reference(number), number
        assert number[:7] == f"{born.day:02d}{born.month:02d}{born.year % 1000:03d}"
    synthetic_register.generate_register(tmp_path, rights=300, seed=3, period=PERIOD, country="ua")
    persons = read(tmp_path, "persons")
    weights = (-1, 5, 7, 9, 4, 6, 10, 5, 7)
    for number, born in zip(persons["tax_id"].to_pylist(), persons["birth_date"].to_pylist()):
        assert int(number[:5]) == (born - dt.date(1899, 12, 31)).days
        assert int(number[9]) == sum(w * int(d) for w, d in zip(weights, number)) % 11 % 10


# ---- guardians, institutions, carers ------------------------------------------------------------------------

def test_some_rights_are_paid_to_guardians_institutions_and_carers(me_register):
    folder, _ = me_register
    rights, payees = read(folder, "rights"), read(folder, "payees")
    joined = rights.join(payees.select(["payee_id", "kind"]), "payee_id")
    by_kind = joined.group_by("kind").aggregate([("right_id", "count_distinct")])
    counts = dict(zip(by_kind["kind"].to_pylist(), by_kind["right_id_count_distinct"].to_pylist()))
    assert counts.get("guardian", 0) > 0 and counts.get("institution", 0) > 0
    care = joined.filter(pc.equal(joined["benefit"], "ME_DNJP"))
    assert pc.sum(pc.equal(care["kind"], "guardian")).as_py() > 0    # care allowance paid to the carer


# ---- advance ------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def advanced(me_register, tmp_path_factory):
    folder, _ = me_register
    persons, payees = read(folder, "persons"), read(folder, "payees")
    alive = persons.filter(pc.is_null(persons["death_date"]))["person_id"].to_pylist()
    bank = payees.filter(pc.equal(payees["channel"], "bank"))
    closed = bank.filter(pc.equal(bank["kind"], "person"))["payee_id"].to_pylist()[:3]
    deaths = [(alive[10], dt.date(2025, 12, 4)), (alive[20], "2025-11-28")]
    out = tmp_path_factory.mktemp("advanced")
    summary = next_month.advance_register(folder, out, seed=4, to_period="2025-12", deaths=deaths,
                                          closed_accounts=closed)
    return folder, out, summary, deaths, closed


def test_advance_passes_validation_and_is_deterministic(advanced, tmp_path):
    folder, out, summary, deaths, closed = advanced
    read_register(out, load_catalogue())
    next_month.advance_register(folder, tmp_path, seed=4, to_period="2025-12", deaths=deaths,
                                closed_accounts=closed)
    assert digests(tmp_path) == digests(out)
    assert summary["period"] == "2025-12" and summary["from_period"] == PERIOD


def test_advance_adds_new_rights_terminations_and_retroactive_versions(advanced):
    folder, out, summary, _, _ = advanced
    before, after = read(folder, "rights"), read(out, "rights")
    period = 2025 * 12 + 11 - 1970 * 12
    new_ids = pc.filter(after["right_id"], pc.greater(after["right_id"], pc.max(before["right_id"])))
    assert len(pc.unique(new_ids)) == summary["new_rights"] > 0
    decided_now = after.filter(pa.array(month_of(after["decided_on"]) == period))
    old_rights = decided_now.filter(pc.less_equal(decided_now["right_id"], pc.max(before["right_id"])))
    assert pc.min(old_rights["version"]).as_py() >= 2                 # changes to old rights are new versions
    retro = old_rights.filter(pa.array(month_of(old_rights["valid_from"]) < period))
    assert retro.num_rows >= summary["retroactive_changes"] > 0
    assert (month_of(retro["valid_from"]) >= period - 12).all()
    ended = old_rights.filter(pc.is_valid(old_rights["valid_to"]))
    assert ended.num_rows >= summary["terminated"] > 0
    changed_versions = summary["terminated"] + summary["retroactive_changes"] + summary["renewed"]
    assert old_rights.num_rows == changed_versions
    assert summary["rights"] == len(pc.unique(after["right_id"]))


def test_advance_records_the_deaths_given_and_a_few_more(advanced):
    _, out, summary, deaths, _ = advanced
    persons = read(out, "persons")
    recorded = dict(zip(persons["person_id"].to_pylist(), persons["death_date"].to_pylist()))
    assert recorded[deaths[0][0]] == dt.date(2025, 12, 4)
    assert recorded[deaths[1][0]] == dt.date(2025, 11, 28)
    assert summary["deaths_recorded"] == 2 and summary["deaths_random"] >= 0
    members = read(out, "households")
    ended = members.filter(pc.equal(members["person_id"], deaths[0][0]))["member_to"].to_pylist()
    assert ended == [dt.date(2025, 12, 4)]


def test_advance_switches_closed_accounts_to_the_post(advanced):
    _, out, summary, _, closed = advanced
    payees = read(out, "payees")
    switched = payees.filter(pc.is_in(payees["payee_id"], value_set=pa.array(closed)))
    assert switched["channel"].to_pylist() == ["post"] * 3 and switched["iban"].null_count == 3
    assert switched["street"].null_count == 0 and summary["payees_switched_to_post"] == 3


def test_advance_refuses_unknown_persons_and_past_months(me_register, tmp_path):
    folder, _ = me_register
    with pytest.raises(InputError, match="not in the register"):
        next_month.advance_register(folder, tmp_path, seed=1, deaths=[(10**12, "2025-12-01")])
    with pytest.raises(InputError, match="not in the register"):
        next_month.advance_register(folder, tmp_path, seed=1, closed_accounts=[10**12])
    with pytest.raises(InputError, match="later month"):
        next_month.advance_register(folder, tmp_path, seed=1, to_period=PERIOD)


def test_advance_adds_institutions_and_enforcers_a_hand_made_register_lacks(me_register):
    folder, _ = me_register
    payees = read(folder, "payees")
    people = payees.filter(pc.is_in(payees["kind"], value_set=pa.array(["person", "guardian"])))
    completed, institutions, enforcers = next_month.shared_payees_of(1, COUNTRIES["me"], people)
    assert len(institutions) == len(COUNTRIES["me"].institutions) and len(enforcers) > 0
    assert institutions.min() > pc.max(people["payee_id"]).as_py()
    assert completed.num_rows == people.num_rows + len(institutions) + len(enforcers)
    assert next_month.shared_payees_of(1, COUNTRIES["me"], payees)[0].num_rows == payees.num_rows


@pytest.mark.parametrize("country", ["rs", "ua"])
def test_advance_passes_validation_in_every_country(tmp_path, country):
    synthetic_register.generate_register(tmp_path / "src", rights=1_200, seed=8, period=PERIOD, country=country)
    summary = next_month.advance_register(tmp_path / "src", tmp_path / "next", seed=8, to_period="2026-01")
    read_register(tmp_path / "next", load_catalogue(country=country))
    assert summary["period"] == "2026-01" and summary["new_rights"] > 0


def test_advance_of_fixed_term_awards_renews_those_that_ended(tmp_path):
    synthetic_register.generate_register(tmp_path / "ua", rights=1_500, seed=6, period=PERIOD, country="ua")
    summary = next_month.advance_register(tmp_path / "ua", tmp_path / "next", seed=6)
    assert summary["period"] == "2025-12" and summary["renewed"] > 0
    register = read_register(tmp_path / "next", load_catalogue(country="ua"))
    rights = register["rights"]
    renewed = rights.filter(pc.equal(rights["valid_from"], pa.scalar(dt.date(2025, 12, 1))))
    assert dt.date(2026, 5, 31) in renewed["valid_to"].to_pylist()     # a new six-month award


def test_some_children_are_twins(me_register):
    folder, _ = me_register
    members = read(folder, "households").join(read(folder, "persons"), "person_id")
    children = members.filter(pc.equal(members["role"], "child")).sort_by([("household_id", "ascending"),
                                                                           ("birth_date", "ascending")])
    household = children["household_id"].to_numpy()
    born = pc.cast(children["birth_date"], pa.int32()).to_numpy()
    twins = (household[1:] == household[:-1]) & (born[1:] == born[:-1])
    assert 0 < twins.sum() < 0.05 * len(born)


def test_serbian_latin_transliterates_letter_for_letter_including_digraphs():
    from synthetic.names import latin_to_cyrillic

    assert latin_to_cyrillic("Njegoš Ljiljana Džodić Đorđe Ćetković") == "Његош Љиљана Џодић Ђорђе Ћетковић"
    assert latin_to_cyrillic("NJEGOŠ LJUBIŠA") == "ЊЕГОШ ЉУБИША"
    assert latin_to_cyrillic("Śćepan Źana") == "Сћепан Зана"
    assert latin_to_cyrillic("Śćepan Źana", montenegrin=True) == "С\u0301ћепан З\u0301ана"   # С́ З́


# ---- first dates: no right before its benefit's values are in force ----------------------------------------

def first_months(country: str) -> dict:
    firsts = context.benefit_first_months(load_catalogue(country=country))
    return {code: np.datetime64(f"{1970 + m // 12:04d}-{m % 12 + 1:02d}", "M").astype(np.int64)
            for code, m in firsts.items()}


@pytest.mark.parametrize("country, period", [("rs", "2025-01"), ("ua", "2025-01"), ("rs", "2024-06"),
                                             ("me", "2025-01")])
def test_no_right_starts_before_its_benefits_first_date(tmp_path, country, period):
    synthetic_register.generate_register(tmp_path, rights=2_000, seed=4, period=period, country=country)
    rights = read(tmp_path, "rights")
    starts, codes = month_of(rights["valid_from"]), rights["benefit"].to_pylist()
    firsts = first_months(country)
    early = [(code, start) for code, start in zip(codes, starts) if start < firsts[code]]
    assert early == []
    in_force = {code for code, first in firsts.items() if first <= month_of(pa.array([dt.date.fromisoformat(
        period + "-01")]))[0]}
    assert set(codes) <= in_force   # RS_DD (values from 2025-01) has no rights in a 2024-06 register
    if (country, period) == ("rs", "2024-06"):
        assert "RS_DD" not in codes and "RS_NSP" in codes


def test_first_months_of_the_bundled_catalogues():
    """The first month of each benefit (a subset of codes: catalogues grow), and never for every unpriced one."""
    month = lambda text: (int(text[:4]) - 1970) * 12 + int(text[5:]) - 1
    rs_catalogue, ua_catalogue = load_catalogue(country="rs"), load_catalogue(country="ua")
    rs, ua = context.benefit_first_months(rs_catalogue), context.benefit_first_months(ua_catalogue)
    never = context.NEVER_MONTH   # an unpriced benefit (no amount in any source) is never calculated
    expected_rs = {"RS_NSP": month("2024-04"), "RS_DD": month("2025-01"), "RS_RODITELJSKI": month("2024-01"),
                   "RS_UVECANI_DODATAK": month("2023-10")}
    assert {code: rs[code] for code in expected_rs} == expected_rs
    # UA_POHOV has no parameters of its own (2 x the family's UA_DSD): it waits for UA_DSD, not for the
    # first-grader package of 2026
    expected_ua = {"UA_DSD": month("2025-01"), "UA_NARODZH": month("2025-01"), "UA_POHOV": month("2025-01"),
                   "UA_INV_DYTYNSTVA": month("2025-01"), "UA_PAKUNOK_SHKOLYARA": month("2026-01"),
                   "UA_TYMCH": month("2025-01"), "UA_VPO": month("2025-02"), "UA_SUBS": month("2026-01"),
                   "UA_DOGLYAD_1": month("2026-01"), "UA_ODYN": month("2025-01"), "UA_PRYIOMNI": month("2026-01")}
    assert {code: ua[code] for code in expected_ua} == expected_ua
    for catalogue, firsts in ((rs_catalogue, rs), (ua_catalogue, ua)):
        assert {b.code for b in catalogue.benefits if b.unpriced} == {c for c, m in firsts.items() if m == never}


def test_a_period_before_every_benefits_values_is_refused_with_the_first_month(tmp_path):
    with pytest.raises(InputError) as caught:
        synthetic_register.generate_register(tmp_path, rights=100, seed=1, period="2024-12", country="ua")
    problem = caught.value.problems[0]
    assert problem.value == "2024-12" and "2025-01" in problem.rule and "2025-01" in problem.fix
