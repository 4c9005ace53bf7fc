"""payroll.simulate: the cost of a rule change. Totals equal the engine's dues summed right by right (a generated
register, both catalogues computed in full by the engine as the oracle); a hand-made +10 % on one benefit and a
changed means-test table on a hand-made register give differences and gain/lose/stop counts worked out by hand;
a catalogue of another country or currency is refused; no database is created or opened."""
import collections
from pathlib import Path

import numpy as np
import pytest

from engine import entitlement
from engine.months import format_period, parse_period
from formats import convert
from formats.catalogue import catalogue_path, load_catalogue
from formats.errors import InputError
from formats.register import read_register
from payroll import simulate as sim
from synthetic.register import generate_register

ME_RULES = catalogue_path("me").read_text(encoding="utf-8")
DNJP_2024_07 = '{ valid_from = 2024-07-01, value = "89.16", source = "rules_md", status = "reported" },'
MO_2024_07 = ('{ valid_from = 2024-07-01, value = ["89.84", "107.89", "129.52", "152.88", "170.82"], '
              'source = "rules_md", status = "reported" },')
DNJP_2025_01 = '\n  { valid_from = 2025-01-01, value = "98.08", status = "assumption", reason = "what if" },'


def new_rules(tmp_path: Path, *replacements: tuple[str, str], name: str = "new.toml") -> Path:
    """Montenegro's catalogue with dated lines added (each replacement must hit exactly once)."""
    text = ME_RULES
    for old, new in replacements:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def dnjp_plus_10_percent(tmp_path: Path) -> Path:
    # 89.16 x 1.10 = 98.076 -> 98.08 EUR from January 2025
    return new_rules(tmp_path, (DNJP_2024_07, DNJP_2024_07 + DNJP_2025_01))


def means_test_change(tmp_path: Path) -> Path:
    """ME_DNJP +10 %; ME_MO's table: one person 89.84 -> 79.84, two persons 107.89 -> 120.00, from 2025-01."""
    changed = ('{ valid_from = 2025-01-01, value = ["79.84", "120.00", "129.52", "152.88", "170.82"], '
               'status = "assumption", reason = "what if" },')
    return new_rules(tmp_path, (DNJP_2024_07, DNJP_2024_07 + DNJP_2025_01),
                     (MO_2024_07, MO_2024_07 + "\n  " + changed))


# ---- a tiny hand-made register ---------------------------------------------------------------------------------

TINY = {
    "persons": """\
person_id,birth_date,death_date,family_name,given_name,municipality,disabled,without_parental_care
1,1980-02-01,,Marković,Ana,Podgorica,false,false
3,1970-05-05,,Petrović,Jovan,Nikšić,false,false
4,1960-03-03,,Kovačević,Ana,Bar,true,false
5,1975-04-04,,Vuković,Marko,Bar,false,false
6,1978-06-06,,Vuković,Maja,Bar,false,false
7,1985-07-07,,Đukanović,Milica,Podgorica,false,false
8,2015-06-01,,Đukanović,Luka,Podgorica,false,false
9,1955-09-09,,Radović,Petar,Bar,true,false
""",
    "households": """\
household_id,person_id,role,member_from,member_to
20,1,head,2020-01-01,
21,3,head,2020-01-01,
22,5,head,2020-01-01,
22,6,adult,2020-01-01,
23,7,head,2015-01-01,
23,8,child,2015-06-01,
""",
    "rights": """\
right_id,version,benefit,person_id,household_id,payee_id,valid_from,valid_to,decided_on,income_minor
200,1,ME_DNJP,4,,1002,2024-01-01,,2023-12-20,
201,1,ME_MO,1,20,1000,2024-01-01,,2023-12-20,0
202,1,ME_MO,3,21,1000,2024-01-01,,2023-12-20,8000
203,1,ME_MO,5,22,1000,2024-01-01,,2023-12-20,11000
204,1,ME_DD,7,23,1000,2024-01-01,,2023-12-20,
205,1,ME_DNJP,9,,1002,2024-01-01,2025-01-31,2023-12-20,
""",
    "payees": """\
payee_id,channel,kind,name,iban,bic,street,house_number,postcode,town,district,region,country,tax_id,phone
1000,bank,person,Milica Đukanović,ME25510000000000006345,CKBCMEPG,,,,,,,ME,,
1002,bank,guardian,Ana Kovačević,ME25530000000123456763,,,,,,,,ME,,
""",
    "deductions": """\
order_id,right_id,kind,priority,fixed_minor,percent_bp,outstanding_minor,creditor_payee_id,valid_from,valid_to
""",
}


def tiny_register(folder: Path, edit: tuple[str, str] = ("", "")) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in TINY.items():
        (folder / f"{name}.csv").write_text(text.replace(*edit), encoding="utf-8")
    return folder


def row(rows: list[dict], **match) -> dict:
    found = [r for r in rows if all(r[k] == v for k, v in match.items())]
    assert len(found) == 1, (match, found)
    return found[0]


def test_plus_ten_percent_on_one_benefit_costs_the_difference_to_the_cent(tmp_path):
    result = sim.simulate(tiny_register(tmp_path / "reg"), "2025-01", dnjp_plus_10_percent(tmp_path), months=3)
    # right 200 is due 3 months, right 205 only January (valid_to 2025-01-31): 4 months x (98.08 - 89.16)
    dnjp = row(result["by_benefit"], benefit="ME_DNJP")
    assert (dnjp["base_minor"], dnjp["new_minor"], dnjp["diff_minor"]) == (4 * 8916, 4 * 9808, 4 * 892)
    assert (dnjp["rights"], dnjp["gain"], dnjp["lose"], dnjp["stop"]) == (2, 2, 0, 0)
    for other in result["by_benefit"]:
        if other["benefit"] != "ME_DNJP":
            assert other["diff_minor"] == 0 and other["gain"] == other["lose"] == other["stop"] == 0, other
    assert result["totals"]["diff_minor"] == 4 * 892
    january, march = row(result["by_month_benefit"], month="2025-01", benefit="ME_DNJP"), \
        row(result["by_month_benefit"], month="2025-03", benefit="ME_DNJP")
    assert (january["diff_minor"], january["rights"], march["diff_minor"], march["rights"]) == (2 * 892, 2, 892, 1)
    assert (result["period"], result["last_period"], result["months"], result["currency"]) == \
        ("2025-01", "2025-03", 3, "EUR")


def test_gain_lose_stop_and_start_on_a_hand_made_register(tmp_path):
    result = sim.simulate(tiny_register(tmp_path / "reg"), "2025-01", means_test_change(tmp_path), months=3)
    # ME_MO: 201 one person, no income 89.84 -> 79.84 (lose); 202 one person, income 80.00: 9.84 -> 0 (stop);
    # 203 two persons, income 110.00: 0 (107.89 - 110.00 < 0) -> 10.00 (start, a gain)
    for month in ("2025-01", "2025-02", "2025-03"):
        mo = row(result["by_month_benefit"], month=month, benefit="ME_MO")
        assert (mo["base_minor"], mo["new_minor"]) == (8984 + 984, 7984 + 1000), mo
        assert (mo["rights"], mo["gain"], mo["start"], mo["lose"], mo["stop"]) == (3, 1, 1, 1, 1), mo
        dd = row(result["by_month_benefit"], month=month, benefit="ME_DD")
        assert (dd["base_minor"], dd["diff_minor"], dd["rights"], dd["gain"] + dd["lose"] + dd["stop"]) == \
            (3000, 0, 1, 0)
    totals = result["totals"]
    assert (totals["base_minor"], totals["new_minor"], totals["diff_minor"]) == (74568, 75184, 616)
    assert (totals["rights"], totals["gain"], totals["start"], totals["lose"], totals["stop"]) == (6, 3, 1, 1, 1)
    places = {r["municipality"]: r for r in result["by_municipality"]}
    assert set(places) == {"Bar", "Nikšić", "Podgorica"}
    assert (places["Bar"]["base_minor"], places["Bar"]["new_minor"], places["Bar"]["gain"]) == (35664, 42232, 3)
    assert (places["Podgorica"]["diff_minor"], places["Podgorica"]["lose"], places["Podgorica"]["rights"]) == \
        (-3000, 1, 2)
    assert (places["Nikšić"]["base_minor"], places["Nikšić"]["new_minor"], places["Nikšić"]["stop"]) == (2952, 0, 1)


def test_states_classify_every_pair():
    base = np.array([0, 5, 5, 0, 5, 5, 0])
    new = np.array([0, 5, 7, 3, 2, 0, 0])
    assert sim.states(base, new).tolist() == [sim.S_NONE, sim.S_SAME, sim.S_GAIN, sim.S_START, sim.S_LOSE,
                                               sim.S_STOP, sim.S_NONE]


# ---- consistency with the engine on a generated register -------------------------------------------------------

def engine_sums(folder: Path, catalogue, first: int, last: int):
    """Reference: the engine's due of every right and month under one catalogue, summed in Python per (month,
    benefit), per right, and overall."""
    register = read_register(folder, catalogue)
    arrays = convert.register_arrays(register, catalogue)
    cells = entitlement.compute_due(arrays, catalogue.compile_window(first, last), last, first)
    per_month_benefit, per_right = collections.Counter(), collections.Counter()
    for r, month, due in zip(cells.right_index.tolist(), cells.month.tolist(), cells.due_minor.tolist()):
        code = catalogue.benefit_codes[arrays.right_benefit[r]]
        per_month_benefit[(format_period(month), code)] += due
        per_right[int(arrays.right_ids[r])] += due
    return per_month_benefit, per_right


def test_totals_equal_the_engines_dues_summed_right_by_right(tmp_path):
    folder = tmp_path / "reg"
    generate_register(folder, 1500, 7, "2025-01")
    rules = means_test_change(tmp_path)
    result = sim.simulate(folder, "2025-01", rules, months=4)
    first = parse_period("2025-01")
    base_cells, base_rights = engine_sums(folder, load_catalogue(), first, first + 3)
    new_cells, new_rights = engine_sums(folder, load_catalogue(rules), first, first + 3)
    for r in result["by_month_benefit"]:
        key = (r["month"], r["benefit"])
        assert (r["base_minor"], r["new_minor"]) == (base_cells[key], new_cells[key]), key
    assert result["totals"]["base_minor"] == sum(base_rights.values()) > 0
    assert result["totals"]["new_minor"] == sum(new_rights.values())
    assert result["totals"]["diff_minor"] != 0
    changes = [new_rights[right] - base_rights[right] for right in base_rights]
    assert result["totals"]["gain"] == sum(change > 0 for change in changes)
    assert result["totals"]["lose"] + result["totals"]["stop"] == sum(change < 0 for change in changes)
    assert result["totals"]["stop"] == sum(base_rights[r] > 0 and new_rights[r] == 0 for r in base_rights)
    for key in ("base_minor", "new_minor", "rights", "gain", "lose", "stop"):
        assert sum(r[key] for r in result["by_municipality"]) == result["totals"][key], key
        assert sum(r[key] for r in result["by_benefit"]) == result["totals"][key], key


def test_same_catalogue_costs_nothing(tmp_path):
    folder = tmp_path / "reg"
    generate_register(folder, 300, 3, "2025-01")
    result = sim.simulate(folder, "2025-01", catalogue_path("me"), months=2)
    assert result["totals"]["base_minor"] == result["totals"]["new_minor"] > 0
    assert result["totals"]["gain"] == result["totals"]["lose"] == result["totals"]["stop"] == 0


# ---- refusals --------------------------------------------------------------------------------------------------

def test_a_catalogue_of_another_country_is_refused(tmp_path):
    folder = tiny_register(tmp_path / "reg")
    with pytest.raises(InputError) as caught:
        sim.simulate(folder, "2025-01", catalogue_path("rs"), months=3, country="me")
    rendered = caught.value.render()
    assert "country" in rendered and "'rs'" in rendered and "one country and currency" in rendered
    with pytest.raises(InputError) as caught:
        sim.simulate(folder, "2025-01", catalogue_path("rs"), base_rules=catalogue_path("me"))
    assert "currency" in caught.value.render() and "'RSD'" in caught.value.render()


def test_a_benefit_of_the_register_missing_from_the_new_catalogue_is_refused(tmp_path):
    start = ME_RULES.index('[[benefits]]\ncode = "ME_DNJP"')
    end = ME_RULES.index("[[benefits]]", start + 1)
    rules = tmp_path / "without_dnjp.toml"
    rules.write_text(ME_RULES[:start] + ME_RULES[end:], encoding="utf-8")
    with pytest.raises(InputError) as caught:
        sim.simulate(tiny_register(tmp_path / "reg"), "2025-01", rules, months=3)
    assert "ME_DNJP" in caught.value.render() and "pays 0" in caught.value.render()


@pytest.mark.parametrize("period, months, column", [("2025-13", 12, "period"), ("2025-01", 0, "months"),
                                                    ("2025-01", sim.MONTHS_MAX + 1, "months")])
def test_bad_period_or_months_are_refused(tmp_path, period, months, column):
    with pytest.raises(InputError) as caught:
        sim.simulate(tiny_register(tmp_path / "reg"), period, catalogue_path("me"), months=months)
    assert caught.value.problems[0].column == column


def test_months_before_the_new_catalogue_has_rules_are_refused(tmp_path):
    # right 200 due from 2023-06, before any rule of the catalogue (2024-01)
    folder = tiny_register(tmp_path / "reg", ("200,1,ME_DNJP,4,,1002,2024-01-01", "200,1,ME_DNJP,4,,1002,2023-06-01"))
    with pytest.raises(InputError) as caught:
        sim.simulate(folder, "2023-11", dnjp_plus_10_percent(tmp_path), months=3)
    assert "no rule of the catalogue" in caught.value.render() and "ME_DNJP" in caught.value.render()
    assert sim.simulate(folder, "2024-01", dnjp_plus_10_percent(tmp_path), months=3)["totals"]["diff_minor"] == 0


def test_no_database_is_created_or_opened(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    before = set(tmp_path.rglob("*"))
    sim.simulate(tiny_register(tmp_path / "reg"), "2025-01", dnjp_plus_10_percent(tmp_path), months=3)
    created = set(tmp_path.rglob("*")) - before
    assert not [p for p in created if p.suffix in (".db", ".sqlite", ".sqlite3") or "journal" in p.name]
    assert not list(tmp_path.glob("*.db"))


def test_a_new_catalogue_in_another_benefit_order_costs_the_same(tmp_path):
    """The new catalogue lists ME_DNJP last: the register is converted again for its order, and the unchanged
    benefits are still matched by code."""
    text = dnjp_plus_10_percent(tmp_path).read_text(encoding="utf-8")
    start = text.index('[[benefits]]\ncode = "ME_DNJP"')
    end = text.index("[[benefits]]", start + 1)
    moved = tmp_path / "moved.toml"
    moved.write_text(text[:start] + text[end:] + "\n" + text[start:end], encoding="utf-8")
    assert load_catalogue(moved).benefit_codes[-1] == "ME_DNJP"
    folder = tiny_register(tmp_path / "reg")
    result = sim.simulate(folder, "2025-01", moved, months=3)
    assert result == {**sim.simulate(folder, "2025-01", dnjp_plus_10_percent(tmp_path), months=3),
                      "new_rules": result["new_rules"]}
    assert result["totals"]["diff_minor"] == 4 * 892


def test_several_catalogues_costed_against_one_baseline_equal_their_simulations(tmp_path):
    folder = tiny_register(tmp_path / "reg")
    baseline = sim.prepare(folder, load_catalogue(), parse_period("2025-01"), 3)
    for rules in (dnjp_plus_10_percent(tmp_path), means_test_change(tmp_path), catalogue_path("me")):
        assert sim.cost(baseline, load_catalogue(rules)) == sim.simulate(folder, "2025-01", rules, months=3)
    with pytest.raises(InputError):
        sim.cost(baseline, load_catalogue(catalogue_path("rs")))


# ---- rights computed again see the rights they read ------------------------------------------------------------

@pytest.mark.parametrize("country,changed,rights", [
    ("me", ('child_amount = [ { valid_from = 2024-01-01, value = "30.00", ',
            'child_amount = [ { valid_from = 2024-01-01, value = "33.00", '), 4000),  # ME_DD: special rate via ME_LI
    ("ua", ('{ valid_from = 2026-01-01, value = 6000, status', '{ valid_from = 2026-01-01, value = 7000, status'),
     20000),  # UA_DSD's guaranteed minimum: UA_POHOV (5 rights at this size) is a multiple of UA_DSD's due
])
def test_recomputed_rights_equal_the_engine_over_every_right(tmp_path, country, changed, rights):
    """new_dues computes only the changed benefits' rights (with the rights their formulas read): equal, right by
    right and month by month, to the engine run over the whole register under the new catalogue."""
    text = catalogue_path(country).read_text(encoding="utf-8")
    assert text.count(changed[0]) == 1
    rules = tmp_path / "new.toml"
    rules.write_text(text.replace(*changed), encoding="utf-8")
    folder = tmp_path / "reg"
    generate_register(folder, rights, 11, "2026-05", country=country)
    base, new = sim.load_pair(rules)
    first = parse_period("2026-01")
    baseline = sim.prepare(folder, base, first, 12)
    new_row, due = sim.new_dues(baseline, baseline.arrays, new)
    _, new_compiled = sim.compiled_pair(base, new, first, first + 11)
    full = sim.due_matrix(baseline.arrays, new_compiled, new, first, first + 11)
    merged = np.where((new_row >= 0)[:, None], due[np.maximum(new_row, 0)], baseline.due)
    assert np.array_equal(merged, full) and (merged != baseline.due).any()
