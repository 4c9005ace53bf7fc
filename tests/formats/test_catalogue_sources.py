"""Sources as data: every dated value names its source and status, bases re-price what is derived from them,
and a benefit without an amount (research status N) is accepted as unpriced and never calculated."""
import datetime as dt

import pytest

from engine.months import month_index
from formats.catalogue import STATUSES, catalogue_path, load_catalogue
from formats.errors import InputError

D = dt.date
ODLUKA = ("https://me.propisi.net/odluka-o-uskladjivanju-visine-osnova-za-ostvarivanje-prava-na-materijalno-"
          "obezbjedjenje-i-visine-materijalnih-davanja-iz-socijalne-i-djecje-zastite/")


def month(year, month_number):
    return month_index(year, month_number)


def copy_with(tmp_path, country, *replacements, name="changed.toml"):
    text = catalogue_path(country).read_text(encoding="utf-8")
    for old, new in replacements:   # in order, first match only: a later one may match what an earlier one wrote
        assert old in text, old
        text = text.replace(old, new, 1)
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def refused(tmp_path, country, old, new):
    with pytest.raises(InputError) as info:
        load_catalogue(copy_with(tmp_path, country, (old, new)))
    return info.value.problems


# ---- provenance of the bundled catalogues ---------------------------------------------------------------

def test_every_dated_value_of_every_catalogue_has_a_status_and_a_known_source():
    for country in ("me", "rs", "ua"):
        catalogue = load_catalogue(country=country)
        assert catalogue.sources["rules_md"].ref == "shared/RULES.md"
        for benefit in catalogue.benefits:
            for name, lines in benefit.parameters.items():
                provenance = benefit.provenance[name]
                assert len(provenance) == len(lines), (benefit.code, name)
                for (valid_from, _values), found in zip(lines, provenance):
                    assert found.valid_from == valid_from and found.status in STATUSES
                    assert found.source in catalogue.sources or found.status == "assumption"
                    assert found.reason or found.status not in ("assumption", "derived"), (benefit.code, name)


def test_provenance_of_a_value_by_month():
    me = load_catalogue()
    ref, title, status, reason = me.provenance("ME_MO", "base_by_size", month(2024, 3))
    assert (ref, status, reason) == (ODLUKA, "confirmed", "") and "10/2024" in title
    assert me.provenance("ME_MO", "base_by_size", D(2024, 7, 15))[:3] == (
        "shared/RULES.md", "isplata reference rules", "reported")
    assert me.provenance("ME_NJEG", "amount", month(2024, 6)) is None          # not yet in force
    rs = load_catalogue(country="rs")
    ua = load_catalogue(country="ua")
    assert ua.provenance("UA_DSD", "guaranteed_child_bp", month(2026, 3))[2:] == (
        "assumption", ua.benefit("UA_DSD").provenance["guaranteed_child_bp"][1].reason)
    assert rs.benefit("RS_DD").parameters.get("max_children") is None  # RULES.md gives no limit: none invented
    assert rs.provenance("RS_DD", "child_amount_single_parent", month(2025, 1))[2] == "derived"


def test_research_disagreements_are_noted():
    me, rs = load_catalogue(), load_catalogue(country="rs")
    assert "five children" in me.benefit("ME_DD").note and "160.45" in me.benefit("ME_MO").note
    assert "900" in me.benefit("ME_NOVOROD").note and "2024-01-01" in rs.benefit("RS_RODITELJSKI").note
    assert "removed" in me.benefit("ME_DD").provenance["max_children"][0].note


# ---- refusals --------------------------------------------------------------------------------------------

DNJP = '{ valid_from = 2024-07-01, value = "89.16", source = "rules_md", status = "reported" }'


@pytest.mark.parametrize("new, column, rule", [
    ('{ valid_from = 2024-07-01, value = "89.16" }', ".status", "needs a status"),
    ('{ valid_from = 2024-07-01, value = "89.16", status = "reported" }', ".source", "needs its source"),
    ('{ valid_from = 2024-07-01, value = "89.16", source = "nowhere", status = "reported" }', ".source",
     "names no entry of [sources]"),
    ('{ valid_from = 2024-07-01, value = "89.16", source = "rules_md", status = "rumour" }', ".status",
     "needs a status"),
    ('{ valid_from = 2024-07-01, value = "89.16", status = "assumption" }', ".reason", "needs its reason"),
    ('{ valid_from = 2024-07-01, value = "89.16", source = "rules_md", status = "derived" }', ".reason",
     "needs its reason"),
    ('{ valid_from = 2024-07-01, value = "89.16", source = "rules_md", status = "reported", url = "x" }',
     "[2]", "valid_from and value, with source and status"),
])
def test_a_value_without_source_or_status_is_refused(tmp_path, new, column, rule):
    problems = refused(tmp_path, "me", DNJP, new)
    assert all(p.column.startswith("benefit ME_DNJP.parameters.amount[2]") for p in problems), problems
    found = next(p for p in problems if rule in p.rule)
    assert found.column.startswith("benefit ME_DNJP.parameters.amount") and found.column.endswith(column)
    assert rule in found.rule and found.fix and found.file.endswith("changed.toml")


def test_an_assumption_needs_no_source_but_a_reason(tmp_path):
    path = copy_with(tmp_path, "me", (DNJP, '{ valid_from = 2024-07-01, value = "89.16", status = "assumption", '
                                            'reason = "chosen for the test" }'))
    found = load_catalogue(path).provenance("ME_DNJP", "amount", month(2024, 8))
    assert found == ("", "", "assumption", "chosen for the test")


def test_a_source_needs_a_ref(tmp_path):
    problems = refused(tmp_path, "me", 'rules_md = { ref = "shared/RULES.md", title = "isplata reference rules" }',
                       'rules_md = { title = "isplata reference rules" }')
    assert (problems[0].column, problems[0].rule) == ("sources.rules_md.ref", "missing 'ref'")


@pytest.mark.parametrize("old, new, rule", [
    ('base = "ua_pm_lost_capacity"', 'base = "ua_pm_moon"', "names no entry of [bases]"),
    ('base = "ua_pm_lost_capacity", percent_bp = 10000', 'base = "ua_pm_lost_capacity"', "a derived line has"),
    ('base = "ua_pm_lost_capacity", percent_bp = 10000', 'base = "ua_pm_lost_capacity", percent_bp = -1',
     "integer 0..100000"),
    ('{ valid_from = 2025-01-01, value = "2361.00", source = "rules_md", status = "reported" },\n', "",
     "the base has no value in force in 2025-01"),
    ('ua_pm_per_person = [', 'ua_pm_Per = [', "lower-case"),
])
def test_bad_derived_lines_and_bases_are_refused(tmp_path, old, new, rule):
    problems = refused(tmp_path, "ua", old, new)
    assert any(rule in p.rule for p in problems), problems


# ---- bases and derived amounts ---------------------------------------------------------------------------

def derived_parameters(catalogue, base):
    """(benefit, parameter) of every parameter with a line derived from `base`."""
    return sorted((benefit.code, name) for benefit in catalogue.benefits
                  for name, lines in benefit.provenance.items() if any(p.base == base for p in lines))


def test_ukraine_subsistence_minima_are_bases_and_dsd_follows_them():
    ua = load_catalogue(country="ua")
    assert [(d, minor) for d, minor, _p in ua.bases["ua_pm_lost_capacity"]] == [
        (D(2025, 1, 1), 236100), (D(2026, 1, 1), 259500)]
    assert set(ua.bases) >= {"ua_pm_working_age", "ua_pm_child_under_6", "ua_pm_child_6_18",
                             "ua_pm_lost_capacity", "ua_pm_per_person"}
    dsd = ua.benefit("UA_DSD")
    for name, base in (("subsistence_working_age", "ua_pm_working_age"),
                       ("subsistence_child_under_6", "ua_pm_child_under_6"),
                       ("subsistence_child_6_18", "ua_pm_child_6_18"), ("subsistence_disabled", "ua_pm_lost_capacity")):
        assert [(d, values[0]) for d, values in dsd.parameters[name]] == [
            (d, minor) for d, minor, _p in ua.bases[base]]
        assert {p.base for p in dsd.provenance[name]} == {base}
    ref, _title, status, reason = ua.provenance("UA_DSD", "subsistence_disabled", month(2026, 2))
    assert status == "derived" and "2595.00 from 2026-01" in reason and "for-ua.com" in reason
    assert ref == "shared/RULES.md"


def test_changing_one_base_reprices_every_benefit_derived_from_it(tmp_path):
    ua = load_catalogue(country="ua")
    path = copy_with(tmp_path, "ua", ('{ valid_from = 2026-01-01, value = "2595.00"',
                                      '{ valid_from = 2026-01-01, value = "2600.00"'),
                     ('value = "2600.00", source = "budget_2026_pm", status = "reported" },\n]',
                      'value = "2600.00", source = "budget_2026_pm", status = "reported" },\n'
                      '  { valid_from = 2026-07-01, value = "2700.00", source = "rules_md", status = "reported" },\n]'))
    changed = load_catalogue(path)
    derived = derived_parameters(ua, "ua_pm_lost_capacity")
    assert ("UA_DSD", "subsistence_disabled") in derived
    for code, name in derived:
        provenance = {p.valid_from: p.percent_bp for p in ua.benefit(code).provenance[name]}
        percent = provenance[D(2026, 1, 1)]
        before, after = ua.benefit(code), changed.benefit(code)
        assert before.value_on(name, D(2025, 12, 1)) == after.value_on(name, D(2025, 12, 1))
        assert after.value_on(name, D(2026, 1, 1)) == tuple((260000 * p + 5000) // 10000 for p in percent)
        # a new month of the base is a new value of every parameter derived from it
        assert after.value_on(name, D(2026, 7, 1)) == tuple((270000 * p + 5000) // 10000 for p in percent)
        assert after.provenance_on(name, D(2026, 7, 1)).valid_from == D(2026, 7, 1)
    untouched = [(b.code, n) for b in ua.benefits for n in b.parameters if (b.code, n) not in derived]
    for code, name in untouched:
        assert ua.benefit(code).parameters[name] == changed.benefit(code).parameters[name]


def test_a_derived_line_rounds_half_up_and_stops_at_the_next_line(tmp_path):
    old = ('subsistence_disabled = [   # lost working capacity\n'
           '  { valid_from = 2025-01-01, base = "ua_pm_lost_capacity", percent_bp = 10000,')
    new = ('subsistence_disabled = [   # lost working capacity\n  { valid_from = 2024-12-01, value = "1.00", '
           'status = "assumption", reason = "test" },\n'
           '  { valid_from = 2025-01-01, base = "ua_pm_lost_capacity", percent_bp = 3333,')
    close = ('reason = "100 % of the lost-capacity ПМ (RULES.md UA_DSD)" },\n]')
    typed = close[:-1] + '  { valid_from = 2025-06-01, value = "5.00", status = "assumption", reason = "test" },\n]'
    path = copy_with(tmp_path, "ua", (old, new), (close, typed))
    dsd = load_catalogue(path).benefit("UA_DSD")
    # 2,361.00 x 33.33 % = 786.9213 -> 786.92; the typed line of 2025-06 ends the derived span, so the
    # 2026 base change adds no derived line after it
    assert dsd.parameters["subsistence_disabled"] == (
        (D(2024, 12, 1), (100,)), (D(2025, 1, 1), (78692,)), (D(2025, 6, 1), (500,)))
    assert (236100 * 3333 + 5000) // 10000 == 78692
    assert [p.status for p in dsd.provenance["subsistence_disabled"]] == ["assumption", "derived", "assumption"]


# ---- benefits without an amount (research status N) ------------------------------------------------------

UNPRICED = '''
[[benefits]]
code = "ME_TEST_N"
name = "Bez iznosa"
kind = "graded_flat"
unpriced = "research status N: no amount found in public sources"
'''


def test_an_unpriced_benefit_is_accepted_and_never_in_force(tmp_path):
    text = catalogue_path("me").read_text(encoding="utf-8")
    path = tmp_path / "unpriced.toml"
    path.write_text(text + UNPRICED, encoding="utf-8")
    catalogue = load_catalogue(path)
    benefit = catalogue.benefit("ME_TEST_N")
    assert benefit.unpriced.startswith("research status N") and benefit.parameters == {}
    assert catalogue.first_month() == load_catalogue().first_month()
    compiled = catalogue.compile(month(2024, 1), month(2026, 12))
    assert not compiled.defined[compiled.benefit_index("ME_TEST_N")].any()
    assert compiled.defined[compiled.benefit_index("ME_DNJP")].all()
    # incomplete parameters are kept (shown by rules show) but the benefit is still never in force
    partial = UNPRICED + ('[benefits.parameters]\namount_by_grade = [ { valid_from = 2024-01-01, value = ["1.00"], '
                          'status = "assumption", reason = "test" } ]\n')
    path.write_text(text + partial, encoding="utf-8")
    compiled = load_catalogue(path).compile(month(2024, 1), month(2024, 12))
    assert not compiled.defined[compiled.benefit_index("ME_TEST_N")].any()
    # without `unpriced` the same benefit is refused for its missing parameter
    path.write_text(text + UNPRICED.replace('unpriced = "research status N: no amount found in public sources"\n', ""),
                    encoding="utf-8")
    with pytest.raises(InputError, match="missing parameter 'amount_by_grade'"):
        load_catalogue(path)
