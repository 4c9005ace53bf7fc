"""The language a person reads: gettext catalogues of every message, and Babel's numbers, money and dates.

Five languages: English (the msgids), Montenegrin (Latin, ijekavian), Serbian Cyrillic and Latin (ekavian) and
Ukrainian. The active language is `--lang` (set_language), else ISPLATA_LANG, else the language of the
catalogue's country (note_country: me -> me, rs -> sr-Cyrl, ua -> uk), else English.

Three ways to wrap a message, all with named placeholders ({file}, {row}) so a translation may reorder them (any
name: the text is positional-only), and all formatted AFTER translation:
- `_(text, **values)`: the text in the active language now (CLI tables, titles, progress, confirmations);
- `ngettext(singular, plural, n, **values)`: the same with the plural form of the language for n;
- `N_(text, **values)`: a `Message`, a str whose value is the English text (so --json output, logs and
  Parquet never change with the language) that `tr()` shows in the active language when a person reads it
  (Problem rules and fixes, refusals raised below the command line).

Catalogues are formats/locale/<lang>/LC_MESSAGES/isplata.po; the .mo files are compiled at build time (setup.py)
and, when a .po is newer than its .mo or there is none (an editable install), compiled on first use into a cache
folder (ISPLATA_CACHE, else XDG_CACHE_HOME/isplata, else ~/.cache/isplata) with Babel's mofile writer.
"""
import gettext
import hashlib
import os
from decimal import Decimal
from functools import lru_cache
from pathlib import Path

DOMAIN = "isplata"
LOCALE_DIR = Path(__file__).resolve().parent / "locale"
ENGLISH = "en"
LANGUAGES = ("en", "me", "sr-Cyrl", "sr-Latn", "uk")
TRANSLATED = LANGUAGES[1:]
COUNTRY_LANGUAGES = {"me": "me", "rs": "sr-Cyrl", "ua": "uk"}
# Babel has no Montenegrin of its own: CLDR's Serbian Latin of Montenegro writes numbers, money and dates as
# Montenegro does
BABEL_LOCALES = {"en": "en", "me": "sr_Latn_ME", "sr-Cyrl": "sr_Cyrl_RS", "sr-Latn": "sr_Latn_RS", "uk": "uk_UA"}
ALIASES = {"cnr": "me", "sr": "sr-Cyrl", "sr_cyrl": "sr-Cyrl", "sr@latin": "sr-Latn", "sr_latn": "sr-Latn",
           "ua": "uk", "uk_ua": "uk", "en_us": "en", "en_gb": "en"}
ENV = "ISPLATA_LANG"

_state = {"explicit": None, "country": None}


def canonical(lang: str | None) -> str | None:
    """'uk', 'sr-cyrl', 'SR_Latn', 'cnr' ... as one of LANGUAGES; None for none; ValueError naming the choices."""
    if lang is None or not str(lang).strip():
        return None
    text = str(lang).strip()
    by_lower = {name.lower(): name for name in LANGUAGES}
    key = text.lower().replace("-", "_")
    found = by_lower.get(text.lower()) or by_lower.get(key.replace("_", "-")) or ALIASES.get(key)
    if found is None:
        raise ValueError(f"unknown language {text!r}: use one of {', '.join(LANGUAGES)}")
    return found


def set_language(lang: str | None) -> None:
    """The language asked for (`--lang`); None: ISPLATA_LANG, else the catalogue's country language."""
    _state["explicit"] = canonical(lang)


def note_country(country: str | None) -> None:
    """The country of the catalogue in use: its language is the default when none is asked for."""
    _state["country"] = (country or "").lower() or None


def reset() -> None:
    """Forget the language and country of an earlier command (one process may run several: tests)."""
    _state["explicit"] = _state["country"] = None


def asked_language() -> str | None:
    """The language asked for by --lang or ISPLATA_LANG (None when neither)."""
    return _state["explicit"] or canonical(os.environ.get(ENV))


def language(country: str | None = None) -> str:
    """The active language: --lang, ISPLATA_LANG, the language of `country` (else of the noted country), English."""
    asked = asked_language()
    if asked:
        return asked
    return COUNTRY_LANGUAGES.get((country or _state["country"] or "").lower(), ENGLISH)


def babel_locale(country: str | None = None) -> str:
    """Babel's locale of the active language (for numbers, money and dates)."""
    return BABEL_LOCALES[language(country)]


def po_path(lang: str) -> Path:
    return LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


def _cache_dir() -> Path:
    base = os.environ.get("ISPLATA_CACHE") or os.environ.get("XDG_CACHE_HOME")
    return Path(base) / "isplata" if base else Path.home() / ".cache" / "isplata"


def compile_po(po_file: Path, mo_file: Path) -> None:
    """Compile one .po into a .mo with Babel (the build hook and the first-use cache both use it)."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    with open(po_file, "rb") as source:
        catalog = read_po(source)
    mo_file.parent.mkdir(parents=True, exist_ok=True)
    partial = mo_file.with_suffix(f".{os.getpid()}.tmp")
    with open(partial, "wb") as target:
        write_mo(target, catalog)
    os.replace(partial, mo_file)


def mo_path(lang: str) -> Path:
    """The compiled catalogue: the one built beside the .po when it is current, else one compiled now into the
    cache (named by the .po's SHA-256, so an edited .po is never read through an old .mo)."""
    po_file = po_path(lang)
    built = po_file.with_suffix(".mo")
    if built.is_file() and (not po_file.is_file() or built.stat().st_mtime >= po_file.stat().st_mtime):
        return built
    digest = hashlib.sha256(po_file.read_bytes()).hexdigest()[:16]
    cached = _cache_dir() / "locale" / f"{lang}-{digest}.mo"
    if not cached.is_file():
        compile_po(po_file, cached)
    return cached


@lru_cache(maxsize=None)
def translations(lang: str) -> gettext.NullTranslations:
    if lang == ENGLISH or not po_path(lang).is_file():
        return gettext.NullTranslations()
    with open(mo_path(lang), "rb") as source:
        return gettext.GNUTranslations(source)


def _format(text: str, values: dict) -> str:
    return text.format(**values) if values else text


def _(text: str, /, **values) -> str:
    """`text` in the active language, its {placeholders} filled after translation."""
    return _format(translations(language()).gettext(text), values)


def ngettext(singular: str, plural: str, n: int, /, **values) -> str:
    """The plural form of the active language for n ({n} is filled with the number as the locale writes it)."""
    values.setdefault("n", number(n))
    return _format(translations(language()).ngettext(singular, plural, n), values)


class Message(str):
    """A message kept in English (its str value: JSON, logs, files) that `tr` shows in the active language."""

    def __new__(cls, msgid: str, values: dict | None = None):
        message = super().__new__(cls, _format(msgid, values or {}))
        message.msgid, message.values = msgid, dict(values or {})
        return message

    def __getnewargs__(self):
        return self.msgid, self.values

    def translated(self) -> str:
        values = {key: tr(value) for key, value in self.values.items()}
        return _format(translations(language()).gettext(self.msgid), values)


def in_language(lang: str | None, text: str, /, **values) -> str:
    """`text` in a given language (not the active one): files whose words must not follow --lang."""
    lang = canonical(lang) or ENGLISH
    return _format(translations(lang).gettext(text), values)


def join(parts, separator: str = ", ") -> Message:
    """Messages joined into one (English as data) whose parts are each shown in the active language."""
    parts = list(parts)
    return Message(separator.join("{part%d}" % i for i in range(len(parts))),
                   {f"part{i}": part for i, part in enumerate(parts)})


def N_(text: str, /, **values) -> Message:
    """Mark `text` for translation at display time; its value stays English."""
    return Message(text, values)


def tr(text) -> str:
    """Show a message in the active language: a Message by its msgid, a plain string when the catalogue has it
    (a constant wrapped elsewhere), anything else as it is."""
    if isinstance(text, Message):
        return text.translated()
    if isinstance(text, str) and text:
        return translations(language()).gettext(text)
    return text


def number(value, decimals: int | None = None) -> str:
    """An integer or Decimal as the active locale writes it ('1.998.117', '1 998 117', '1,998,117')."""
    from babel.numbers import format_decimal

    if decimals is not None:
        pattern = "#,##0" + ("." + "0" * decimals if decimals else "")
        return format_decimal(Decimal(value), format=pattern, locale=babel_locale())
    return format_decimal(value, locale=babel_locale())


def date_text(value, form: str = "medium") -> str:
    """A date as the active locale writes it."""
    from babel.dates import format_date

    return format_date(value, format=form, locale=babel_locale())
