"""Codes a person reads, with their names; amounts in the currency as each country's locale writes them."""
from hypothesis import given, strategies as st

from formats import labels
from formats.catalogue import load_catalogue


def test_amounts_in_each_countrys_locale_with_the_catalogues_decimals():
    assert labels.money_label(199811738, 2, "EUR", "sr_Latn_ME") == "1.998.117,38\u00a0€"
    assert labels.money_label(1998117, 0, "RSD", "sr_Cyrl_RS") == "1.998.117\u00a0RSD"
    assert labels.money_label(-199811738, 2, "UAH", "uk_UA") == "-1\u00a0998\u00a0117,38\u00a0₴"
    assert labels.money_label(5, 2, None, "en") == "0.05"
    assert labels.locale_of("ME") == "sr_Latn_ME" and labels.locale_of("xx") == "en"


@given(st.integers(min_value=-(2**63), max_value=2**63 - 1), st.sampled_from([0, 2, 3]))
def test_money_label_is_exact_to_the_minor_unit(amount_minor, exponent):
    text = labels.money_label(amount_minor, exponent, None, "en").replace(",", "")
    whole, _, fraction = text.lstrip("-").partition(".")
    assert len(fraction) == exponent
    back = int(whole + fraction) * (-1 if text.startswith("-") else 1)
    assert back == amount_minor


def test_reasons_components_channels_and_benefits_by_name():
    assert labels.reason_label("MD07") == "MD07 — recipient deceased"
    assert labels.reason_label("ac04") == "ac04 — account closed"
    assert labels.reason_label("ZZ99").endswith("code not in the ISO list")
    assert labels.reason_label(None) == "no reason given"
    for code in ("AC01", "AC04", "AC06", "AM04", "AM05", "MD07", "MS02", "MS03", "RC01", "CUST", "RVNM", "RVMC"):
        assert code in labels.REASONS
    assert labels.channel_label("post") == "postal delivery" and labels.component_label("due") == "due this month"
    names = labels.benefit_names(load_catalogue(country="ua"))
    assert labels.benefit_label("UA_DSD", names) == "Державна соціальна допомога малозабезпеченим сім'ям (UA_DSD)"
    assert labels.benefit_label("UNKNOWN", names) == "UNKNOWN"
    assert labels.benefit_names_at("/nonexistent/catalogue.toml") == {}
