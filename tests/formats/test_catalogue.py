"""The bundled catalogues hold every figure of shared/RULES.md with its date; bad catalogues are refused clearly."""
import datetime as dt

import pytest

from engine.deductions import DeductionCaps
from formats.catalogue import catalogue_path, load_catalogue
from formats.errors import InputError

D = dt.date


def values(catalogue, code, name, day):
    return catalogue.benefit(code).value_on(name, day)


# (country, benefit, parameter, day, values in minor units) straight from RULES.md
RULES_FIGURES = [
    ("me", "ME_MO", "base_by_size", D(2024, 1, 1), (8791, 10557, 12673, 14959, 16714)),
    ("me", "ME_MO", "base_by_size", D(2024, 7, 1), (8984, 10789, 12952, 15288, 17082)),
    ("me", "ME_MO_FOSTER", "amount", D(2024, 1, 1), (16714,)),
    ("me", "ME_MO_FOSTER", "amount", D(2024, 7, 1), (17082,)),
    ("me", "ME_DD", "child_amount", D(2024, 1, 1), (3000,)),
    ("me", "ME_DD", "child_amount_mo_family", D(2024, 1, 1), (4400,)),
    ("me", "ME_DD", "child_amount_special", D(2024, 1, 1), (6000,)),
    ("me", "ME_DD", "max_children", D(2024, 1, 1), (5,)),
    ("me", "ME_LI", "amount_by_grade", D(2024, 6, 1), (29736, 18830)),
    ("me", "ME_LI", "amount_by_grade", D(2024, 7, 1), (30390, 19244)),
    ("me", "ME_DNJP", "amount", D(2024, 6, 1), (8724,)),
    ("me", "ME_DNJP", "amount", D(2024, 7, 1), (8916,)),
    ("me", "ME_NJEG", "amount", D(2024, 7, 1), (26331,)),
    ("me", "ME_MAT", "amount", D(2024, 7, 1), (10782,)),
    ("me", "ME_NOVOROD", "amount_by_order", D(2024, 7, 1), (100000, 150000, 200000, 250000)),
    ("me", "ME_NOVOROD", "amount_by_order_mo_family", D(2024, 7, 1), (110000, 150000, 200000, 250000)),
    ("me", "ME_SAHRANA", "amount_by_order", D(2024, 1, 1), (43630,)),
    ("me", "ME_SAHRANA", "amount_by_order", D(2024, 7, 1), (44590,)),
    ("me", "ME_BOR_LI", "amount_by_grade", D(2024, 1, 1),
     (79681, 58166, 43823, 32670, 23108, 14343, 10358, 6473, 5576, 4782)),
    ("me", "ME_BOR_NJEGA", "amount", D(2024, 1, 1), (39842,)),
    ("me", "ME_BOR_PORODICNA", "amount_by_grade", D(2024, 1, 1), (7976, 27889)),
    ("rs", "RS_NSP", "base", D(2024, 4, 1), (11674,)),
    ("rs", "RS_NSP", "base", D(2025, 3, 1), (11674,)),
    ("rs", "RS_NSP", "base", D(2025, 4, 1), (12181,)),
    ("rs", "RS_NSP", "base", D(2025, 10, 1), (12266,)),
    ("rs", "RS_NSP", "scale_first_adult_bp", D(2025, 10, 1), (10000,)),
    ("rs", "RS_NSP", "scale_further_adult_bp", D(2025, 10, 1), (5000,)),
    ("rs", "RS_NSP", "scale_child_bp", D(2025, 10, 1), (3000,)),
    ("rs", "RS_NSP", "max_members", D(2025, 10, 1), (6,)),
    ("rs", "RS_NSP", "supplement_bp", D(2025, 10, 1), (2000,)),
    ("rs", "RS_NSP", "max_months_per_year", D(2025, 10, 1), (9,)),
    ("rs", "RS_DD", "child_amount", D(2025, 7, 1), (4411,)),
    ("rs", "RS_DD", "child_amount_single_parent", D(2025, 7, 1), (5734,)),
    ("rs", "RS_RODITELJSKI", "lump_sum_by_order", D(2025, 1, 1), (500000, 135000, 0, 0)),   # 1st: research
    ("rs", "RS_RODITELJSKI", "instalment_total_by_order", D(2025, 1, 1), (0, 600000, 2280000, 3180000)),
    ("rs", "RS_RODITELJSKI", "instalment_count_by_order", D(2025, 1, 1), (0, 24, 120, 120)),
    ("ua", "UA_DSD", "subsistence_working_age", D(2025, 1, 1), (302800,)),
    ("ua", "UA_DSD", "subsistence_child_under_6", D(2025, 1, 1), (256300,)),
    ("ua", "UA_DSD", "subsistence_child_6_18", D(2025, 1, 1), (319600,)),
    ("ua", "UA_DSD", "subsistence_disabled", D(2025, 1, 1), (236100,)),
    ("ua", "UA_DSD", "guaranteed_working_age_bp", D(2025, 1, 1), (6000,)),
    ("ua", "UA_DSD", "guaranteed_child_bp", D(2025, 1, 1), (14500,)),
    ("ua", "UA_DSD", "guaranteed_disabled_bp", D(2025, 1, 1), (10000,)),
    ("ua", "UA_NARODZH", "lump_sum_by_order", D(2025, 12, 1), (1032000,)),
    ("ua", "UA_NARODZH", "instalment_total_by_order", D(2025, 12, 1), (3096000,)),
    ("ua", "UA_NARODZH", "instalment_count_by_order", D(2025, 12, 1), (36,)),
    ("ua", "UA_NARODZH", "lump_sum_by_order", D(2026, 1, 1), (5000000,)),
    ("ua", "UA_NARODZH", "instalment_count_by_order", D(2026, 1, 1), (0,)),
]


# (country, benefit, parameter, day, values) from shared/research/benefits-catalogue.md (C, R or D with a source)
RESEARCH_FIGURES = [
    ("rs", "RS_DD", "child_amount", D(2025, 1, 1), (4299,)),                     # R, research RS #13
    ("rs", "RS_DD", "child_amount", D(2025, 6, 1), (4299,)),
    ("rs", "RS_DD", "child_amount_single_parent", D(2025, 1, 1), (5589,)),       # D: 4,299 x 1.3 half-up
    ("rs", "RS_RODITELJSKI", "lump_sum_by_order", D(2024, 1, 1), (500000, 135000, 0, 0)),   # R, RS #9-#11
    ("rs", "RS_RODITELJSKI", "instalment_total_by_order", D(2024, 1, 1), (0, 600000, 2280000, 3180000)),
    ("ua", "UA_DSD", "subsistence_working_age", D(2025, 12, 1), (302800,)),
    ("ua", "UA_DSD", "subsistence_working_age", D(2026, 1, 1), (332800,)),     # R, research UA ПМ 2026
    ("ua", "UA_DSD", "subsistence_child_under_6", D(2026, 1, 1), (281700,)),
    ("ua", "UA_DSD", "subsistence_child_6_18", D(2026, 1, 1), (351200,)),
    ("ua", "UA_DSD", "subsistence_disabled", D(2026, 1, 1), (259500,)),
]


@pytest.mark.parametrize("country, code, name, day, expected", RULES_FIGURES + RESEARCH_FIGURES)
def test_every_rules_figure_is_present_with_its_date(country, code, name, day, expected):
    assert values(load_catalogue(country=country), code, name, day) == expected


def test_indexed_values_are_absent_before_their_first_date():
    me = load_catalogue()
    assert values(me, "ME_NJEG", "amount", D(2024, 6, 1)) is None
    rs, ua = load_catalogue(country="rs"), load_catalogue(country="ua")
    assert values(rs, "RS_DD", "child_amount", D(2024, 12, 1)) is None
    assert values(rs, "RS_NSP", "base", D(2024, 3, 1)) is None
    assert values(rs, "RS_RODITELJSKI", "lump_sum_by_order", D(2023, 12, 1)) is None
    assert values(ua, "UA_DSD", "subsistence_working_age", D(2024, 12, 1)) is None


def test_catalogue_settings_per_country():
    me, rs, ua = (load_catalogue(country=c) for c in ("me", "rs", "ua"))
    assert (me.country, me.currency, me.minor_exponent, me.payment.execution_day) == ("me", "EUR", 2, 15)
    assert (rs.country, rs.currency, rs.minor_exponent, rs.payment.execution_day) == ("rs", "RSD", 0, 20)
    assert (ua.country, ua.currency, ua.minor_exponent, ua.payment.execution_day) == ("ua", "UAH", 2, 5)
    assert me.payment.debtor_iban.startswith("ME") and rs.payment.debtor_iban.startswith("RS")
    assert ua.payment.debtor_iban.startswith("UA") and me.payment.postal_delivery_method == "MLCD"
    assert me.path == str(catalogue_path()) and len(me.sha256) == 64
    assert rs.benefit("RS_NSP").proration == "days" and me.benefit("ME_MO").proration == "whole_months"
    assert me.benefit("ME_DD").protected and not me.benefit("ME_MO").protected
    assert me.benefit("ME_DD").child_age_limit_years == 18 and me.benefit("ME_DD").twins_excepted
    assert not me.benefit("ME_SAHRANA").stops_on_death and not ua.benefit("UA_POHOV").decided_amount
    pohov = ua.benefit("UA_POHOV")
    assert (pohov.multiple_of_benefit, pohov.multiple_bp) == ("UA_DSD", 20000)  # Readings 12
    assert me.benefit("ME_DD").special_rate_benefit == "ME_LI" and ua.benefit("UA_DSD").lost_capacity_age_years == 60
    assert me.benefit("ME_MO").minimum_payable_minor == 100 and me.benefit("ME_MO").below_minimum == "drop"
    assert ua.benefit("UA_DSD").info["award_months"] == 6
    assert me.benefit("ME_NOVOROD").info["claim_within_months"] == 12


def test_deduction_caps_per_country():
    """The catalogue builds the engine's one caps type (engine.deductions.DeductionCaps) and keeps each kind's rule."""
    me, ua = load_catalogue(), load_catalogue(country="ua")
    caps, kinds = me.deductions.caps, me.deductions.kinds
    assert isinstance(caps, DeductionCaps)
    assert (caps.total_bp, caps.total_with_alimony_bp) == (5000, 7000)
    assert (caps.recovery_bp, caps.recovery_consent_bp) == (2000, 10000)
    assert [kinds[k].priority for k in ("alimony", "damages", "overpayment", "enforcement")] == [1, 2, 3, 4]
    assert (caps.alimony_bp, caps.enforcement_bp) == (kinds["alimony"].cap_bp, kinds["enforcement"].cap_bp)
    assert caps.alimony_bp == 5000 and caps.enforcement_bp == 2000
    assert kinds["alimony"].forwarded and not kinds["overpayment"].forwarded
    # Readings 10: social assistance is not a wage, so Ukraine's alimony is capped at 50 % too; the total rises
    # to 70 % only with an alimony order for a minor
    ua_caps = ua.deductions.caps
    assert (ua_caps.alimony_bp, ua_caps.support_bp, ua_caps.total_with_alimony_bp) == (5000, 5000, 7000)


def test_compiled_catalogue_follows_indexation():
    me = load_catalogue()
    june, july = 2024 * 12 - 1970 * 12 + 5, 2024 * 12 - 1970 * 12 + 6
    compiled = me.compile(june, july)
    from engine.catalogue import PARAM_OFFSET
    b, slot = compiled.benefit_index("ME_MO"), PARAM_OFFSET["base_by_size"]
    assert compiled.params[b, 0, slot:slot + 5].tolist() == [8791, 10557, 12673, 14959, 16714]
    assert compiled.params[b, 1, slot:slot + 6].tolist() == [8984, 10789, 12952, 15288, 17082, 17082]
    assert compiled.param_len[b, slot] == 5
    assert not compiled.defined[compiled.benefit_index("ME_NJEG"), 0]
    assert compiled.defined[compiled.benefit_index("ME_NJEG"), 1]


# ---- refusals --------------------------------------------------------------------------------------------

def bad_catalogue(tmp_path, old, new):
    text = catalogue_path().read_text(encoding="utf-8")
    assert old in text, old
    path = tmp_path / "bad.toml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(InputError) as info:
        load_catalogue(path)
    return info.value.render()


@pytest.mark.parametrize("old, new, message", [
    ('kind = "household_table_minus_income"', 'kind = "magic"', "unknown formula kind"),
    ('{ valid_from = 2024-07-01, value = ["89.84"', '{ valid_from = 2023-07-01, value = ["89.84"',
     "parameter dates out of order"),
    ('currency = "EUR"\n', "", "missing 'currency'"),
    ("rounding_unit_minor = 1 ", "", "missing 'rounding_unit_minor'"),
    ('value = "398.42"', 'value = "-398.42"', "negative amount"),
    ('value = "398.42"', 'value = "398.425"', "more than 2 decimals"),
    ('value = "398.42"', "value = 398.42", "decimal text"),
    ("twins_excepted = true", "twins_excepted = true\ncolour = 1", "unknown key"),
    ("[benefits.parameters]\namount = [ { valid_from = 2024-07-01, value = \"263.31\"",
     "[benefits.parameters]\nwrong = [ { valid_from = 2024-07-01, value = \"263.31\"", "unknown parameter"),
    ("{ valid_from = 2024-07-01, value = \"263.31\"", "{ valid_from = 2024-07-15, value = \"263.31\"",
     "first of a month"),
    ('debtor_iban = "ME25907000000000045322"', 'debtor_iban = "ME25907000000000045323"', "invalid IBAN"),
    ("execution_day = 15", "execution_day = 31", "execution_day"),
    ("cap_bp = 2000\ncap_with_consent_bp", "cap_bp = 20000\ncap_with_consent_bp", "basis points"),
    ('below_minimum = "drop"', 'below_minimum = "later"', "below-minimum"),
    ('proration = "days"', 'proration = "hours"', "unknown proration"),
    ('kind = "one_off"\nprotected = true', 'kind = "one_off"\nproration = "days"', "not prorated by days"),
    ('minor_exponent = 2 ', 'minor_exponent = 0 ', "EUR amounts have 2 digits"),
    ('code = "ME_MO_FOSTER"', 'code = "ME_MO"', "benefit code used twice"),
    ('special_rate_benefit = "ME_LI"', 'special_rate_benefit = "ME_XX"', "names no benefit of this catalogue"),
    ('twins_excepted = true', 'twins_excepted = true\nmultiple_of_benefit = "ME_MO"', "is a one_off with"),
    ('code = "ME_MO"\n', 'code = "ME_MO"\nlost_capacity_age_years = 200\n', "whole number 0..150"),
    ('rounding = "half_up"', 'rounding = "half_up"\narrears_limit_months = -1', "arrears_limit_months"),
])
def test_bad_catalogue_is_refused_with_a_clear_message(tmp_path, old, new, message):
    rendered = bad_catalogue(tmp_path, old, new)
    assert message in rendered, rendered
    assert "Fix:" in rendered


def test_every_problem_is_reported_at_once(tmp_path):
    text = catalogue_path().read_text(encoding="utf-8")
    text = text.replace('kind = "flat"', 'kind = "nope"', 1).replace('value = "398.42"', 'value = "-1"')
    path = tmp_path / "two.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as info:
        load_catalogue(path)
    rules = " ".join(p.rule for p in info.value.problems)
    assert "unknown formula kind" in rules and "negative amount" in rules


def test_unreadable_or_invalid_toml_and_unknown_country(tmp_path):
    with pytest.raises(InputError, match="cannot read"):
        load_catalogue(tmp_path / "missing.toml")
    broken = tmp_path / "broken.toml"
    broken.write_text("country = \n", encoding="utf-8")
    with pytest.raises(InputError, match="not valid TOML"):
        load_catalogue(broken)
    with pytest.raises(InputError, match="unknown country"):
        load_catalogue(country="xx")
    with pytest.raises(InputError, match="not 'rs'"):
        load_catalogue(catalogue_path("me"), country="rs")
