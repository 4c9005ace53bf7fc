"""The gettext catalogues' upkeep: extract every message of the source tree with Babel and bring the .pot and
each language's .po up to date (new messages added untranslated, gone ones marked obsolete, translations kept).

    python -m formats.i18n_catalogues          # after wrapping new messages; then translate the empty msgstr

tests/formats/test_i18n.py fails while any message is missing or untranslated in a catalogue.
"""
import re
import sys
from pathlib import Path

from formats.i18n import BABEL_LOCALES, DOMAIN, LOCALE_DIR, TRANSLATED, po_path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("formats", "ledgers", "bank_exports", "synthetic", "payroll", "cli")  # engine prints nothing a person reads
KEYWORDS = {"_": None, "N_": None, "ngettext": (1, 2)}
POT_FILE = LOCALE_DIR / f"{DOMAIN}.pot"
PLACEHOLDER = re.compile(r"(?<!\{)\{([A-Za-z_][A-Za-z0-9_]*)[^{}]*\}(?!\})")


def extract_messages(root: Path = ROOT):
    """Every wrapped message of the source tree as a Babel Catalog (msgid -> locations)."""
    from babel.messages.catalog import Catalog
    from babel.messages.extract import extract_from_dir

    catalog = Catalog(project="isplata", domain=DOMAIN, charset="utf-8")
    for package in PACKAGES:
        found = extract_from_dir(root / package, method_map=[("**.py", "python")], keywords=KEYWORDS,
                                 comment_tags=(), strip_comment_tags=True)
        for filename, lineno, message, _comments, context in found:
            catalog.add(message, None, [(f"{package}/{filename}", lineno)], context=context)
    return catalog


def placeholders(text: str) -> set[str]:
    """The named {placeholders} of a message."""
    return set(PLACEHOLDER.findall(text or ""))


def read_po(lang: str):
    from babel.messages.pofile import read_po as read

    with open(po_path(lang), "rb") as source:
        return read(source, locale=None, domain=DOMAIN)


def write_po(catalog, path: Path) -> None:
    from babel.messages.pofile import write_po as write

    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as target:
        write(target, catalog, width=116, sort_output=True, omit_header=False, include_lineno=False)


def update_catalogues() -> dict[str, int]:
    """Write the .pot and update every .po from it; {language: messages still untranslated}."""
    from babel.messages.catalog import Catalog

    template = extract_messages()
    write_po(template, POT_FILE)
    untranslated = {}
    for lang in TRANSLATED:
        path = po_path(lang)
        catalog = read_po(lang) if path.is_file() else Catalog(locale=BABEL_LOCALES[lang], project="isplata",
                                                               domain=DOMAIN, charset="utf-8")
        catalog.update(template, no_fuzzy_matching=True)
        catalog.obsolete.clear()
        write_po(catalog, path)
        untranslated[lang] = sum(1 for message in catalog if message.id and not _translated(message))
    return untranslated


def _translated(message) -> bool:
    strings = message.string if isinstance(message.string, (tuple, list)) else (message.string,)
    return all(strings)


if __name__ == "__main__":
    for language, missing in update_catalogues().items():
        print(f"{language}: {missing} untranslated")
    sys.exit(0)
