"""Languages: every message of the source tree is in every catalogue and translated with the same placeholders;
the active language comes from --lang, ISPLATA_LANG, then the catalogue's country; numbers and money are written
by Babel in the active language's locale; catalogues compile at build and, when no .mo is current, on first use."""
import copy
import gettext
import importlib.util
import json
import pickle
import shutil
from pathlib import Path

import pytest

from formats import i18n, labels
from formats.errors import InputError, Problem
from formats.i18n import N_, _
from formats.i18n_catalogues import extract_messages, placeholders, read_po

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def catalogue_messages():
    return [message for message in extract_messages() if message.id]


def test_the_source_tree_has_hundreds_of_wrapped_messages(catalogue_messages):
    ids = {message.id if isinstance(message.id, str) else message.id[0] for message in catalogue_messages}
    assert len(ids) > 500
    assert {"rights per benefit", "{where}{value}: {rule}. Fix: {fix}", "unknown {what}", "Signatures",
            "payment reference", "posting to the ledger"} <= ids


@pytest.mark.parametrize("lang", i18n.TRANSLATED)
def test_every_message_is_in_every_catalogue_translated_with_the_same_placeholders(lang, catalogue_messages):
    catalogue = read_po(lang)
    missing, untranslated, placeholders_differ = [], [], []
    for message in catalogue_messages:
        key = message.id if isinstance(message.id, str) else message.id[0]
        found = catalogue.get(key)
        if found is None:
            missing.append(key)
            continue
        strings = found.string if isinstance(found.string, (tuple, list)) else (found.string,)
        if not all(strings):
            untranslated.append(key)
        elif any(placeholders(text) != placeholders(key) for text in strings):
            placeholders_differ.append((key, strings))
    assert missing == [], f"{lang}: run `python -m formats.i18n_catalogues` and translate"
    assert untranslated == [], f"{lang}: translate these in {i18n.po_path(lang)}"
    assert placeholders_differ == []


def test_placeholders_are_named_fields_not_escaped_braces():
    assert placeholders("add {name} = [ {{ valid_from = ... }} ]") == {"name"}
    assert placeholders("{rule} ({count} more row(s) not listed)") == {"rule", "count"}


def test_language_from_lang_then_environment_then_country_then_english(monkeypatch):
    monkeypatch.delenv(i18n.ENV, raising=False)
    i18n.reset()
    assert i18n.language() == "en"
    i18n.note_country("UA")
    assert i18n.language() == "uk" and i18n.babel_locale() == "uk_UA"
    monkeypatch.setenv(i18n.ENV, "sr-latn")
    assert i18n.language() == "sr-Latn"
    i18n.set_language("me")
    assert i18n.language() == "me" and i18n.babel_locale() == "sr_Latn_ME"
    assert i18n.language("rs") == "me"  # what was asked for wins over any country
    monkeypatch.delenv(i18n.ENV)
    i18n.set_language(None)
    assert i18n.language("rs") == "sr-Cyrl"


def test_language_names_and_aliases():
    assert [i18n.canonical(name) for name in ("UK", "sr_Cyrl", "SR-LATN", "cnr", "sr@latin", " en ")] == [
        "uk", "sr-Cyrl", "sr-Latn", "me", "sr-Latn", "en"]
    assert i18n.canonical("") is None
    with pytest.raises(ValueError, match="unknown language 'de'"):
        i18n.canonical("de")


@pytest.mark.parametrize("lang, expected", [
    ("uk", "допомога"), ("sr-Cyrl", "давање"), ("sr-Latn", "davanje"), ("me", "davanje"), ("en", "benefit")])
def test_a_message_in_each_language(lang, expected):
    i18n.set_language(lang)
    assert _("benefit") == expected


def test_montenegrin_is_ijekavian_and_serbian_ekavian():
    i18n.set_language("me")
    month, previous = _("month"), _("Change against the previous month")
    i18n.set_language("sr-Latn")
    assert (month, _("month")) == ("mjesec", "mesec")
    assert "mjesec" in previous and "mesec" in _("Change against the previous month")
    i18n.set_language("sr-Cyrl")
    assert _("month") == "месец"


def test_placeholders_are_filled_after_translation_so_a_language_may_reorder_them():
    i18n.set_language("uk")
    assert _("{lines} lines of {payroll} written to {file} ({format})", lines="3", payroll="UA-1", file="f",
             format="csv") == "рядків: 3 з UA-1 записано у f (csv)"


def test_plural_forms_of_each_language():
    i18n.set_language("uk")
    forms = [i18n.ngettext("{n} problem(s) in the input:", "{n} problem(s) in the input:", n) for n in (1, 3, 5)]
    assert forms == ["1 проблема у вхідних даних:", "3 проблеми у вхідних даних:", "5 проблем у вхідних даних:"]
    i18n.set_language("en")
    assert i18n.ngettext("{n} problem(s) in the input:", "{n} problem(s) in the input:", 1200) == \
        "1,200 problem(s) in the input:"


def test_a_message_stays_english_as_data_and_is_translated_when_shown():
    i18n.set_language("uk")
    message = N_("unknown {what}", what=N_("benefit code"))
    assert message == "unknown benefit code" and json.dumps(message) == '"unknown benefit code"'
    assert i18n.tr(message) == "невідоме значення: код допомоги"
    for copied in (copy.deepcopy(message), pickle.loads(pickle.dumps(message))):
        assert copied == message and i18n.tr(copied) == i18n.tr(message)


def test_a_problem_is_rendered_in_the_active_language_and_its_data_stays_english():
    problem = Problem("rights.csv", 2, "benefit", "XX", N_("unknown {what}", what=N_("benefit code")),
                      N_("use one of: {shown}", shown="ME_DD"))
    i18n.set_language("sr-Cyrl")
    text = InputError([problem]).render()
    assert text == ("1 проблем у улазним подацима:\n  rights.csv, ред 2, колона benefit, вредност 'XX': "
                    "непознато: код давања. Исправка: употребите једно од: ME_DD")
    from dataclasses import asdict
    assert json.dumps(asdict(problem), ensure_ascii=False) == json.dumps(
        {"file": "rights.csv", "row": 2, "column": "benefit", "value": "XX", "rule": "unknown benefit code",
         "fix": "use one of: ME_DD"})


@pytest.mark.parametrize("lang, amount, exponent, currency, expected", [
    ("me", 199811738, 2, "EUR", "1.998.117,38\u00a0€"),
    ("uk", 199811738, 2, "UAH", "1\u00a0998\u00a0117,38\u00a0₴"),
    ("sr-Cyrl", 1998117, 0, "RSD", "1.998.117\u00a0RSD"),
    ("sr-Latn", 1998117, 0, "RSD", "1.998.117\u00a0RSD"),
    ("en", 199811738, 2, "EUR", "€1,998,117.38")])
def test_money_and_numbers_in_the_active_languages_locale(lang, amount, exponent, currency, expected):
    i18n.set_language(lang)
    assert labels.money_label(amount, exponent, currency, labels.display_locale("me")) == expected
    assert labels.locale_of("ME") == "sr_Latn_ME"  # the country's own locale (recorded in data) never moves


def test_numbers_and_dates_through_babel():
    import datetime as dt

    i18n.set_language("uk")
    assert i18n.number(1998117) == "1\u00a0998\u00a0117" and i18n.number(2.5, 2) == "2,50"
    assert "2025" in i18n.date_text(dt.date(2025, 1, 31)) and "січ" in i18n.date_text(dt.date(2025, 1, 31))
    i18n.set_language("me")
    assert i18n.number(1998117) == "1.998.117"


def test_a_file_language_does_not_follow_the_active_one():
    i18n.set_language("en")
    assert i18n.in_language("uk", "surname") == "прізвище" and i18n.in_language(None, "surname") == "surname"


def test_catalogues_compile_on_first_use_into_the_cache_when_no_current_mo_is_shipped(tmp_path, monkeypatch):
    locale_dir = tmp_path / "locale"
    shutil.copytree(i18n.LOCALE_DIR / "uk", locale_dir / "uk", ignore=shutil.ignore_patterns("*.mo"))
    monkeypatch.setattr(i18n, "LOCALE_DIR", locale_dir)
    monkeypatch.setenv("ISPLATA_CACHE", str(tmp_path / "cache"))
    i18n.translations.cache_clear()
    try:
        compiled = i18n.mo_path("uk")
        assert compiled.parent == tmp_path / "cache" / "isplata" / "locale" and compiled.suffix == ".mo"
        i18n.set_language("uk")
        assert _("benefit") == "допомога"
        (locale_dir / "uk" / "LC_MESSAGES" / "isplata.po").write_text(
            i18n.po_path("uk").read_text(encoding="utf-8").replace('msgstr "допомога"', 'msgstr "виплата"'),
            encoding="utf-8")
        assert i18n.mo_path("uk") != compiled  # an edited .po is never read through the old .mo
    finally:
        i18n.translations.cache_clear()


def test_the_build_hook_compiles_every_catalogue(tmp_path, monkeypatch):
    spec = importlib.util.spec_from_file_location("isplata_setup", ROOT / "setup.py")
    setup_module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(setup_module)  # not __main__: defines the hook without running setup()
    monkeypatch.chdir(ROOT)
    setup_module.compile_catalogues(tmp_path)
    for lang in i18n.TRANSLATED:
        with open(tmp_path / "formats" / "locale" / lang / "LC_MESSAGES" / "isplata.mo", "rb") as compiled:
            assert gettext.GNUTranslations(compiled).gettext("Signatures") != "Signatures"
