"""The active language of what a person reads (formats.i18n), re-exported so cli need not import formats."""
from formats.i18n import (LANGUAGES, N_, Message, _, asked_language, babel_locale, canonical, date_text,
                          language, ngettext, note_country, number, reset, set_language, tr)

__all__ = ["LANGUAGES", "Message", "N_", "_", "asked_language", "babel_locale", "canonical", "date_text", "language",
           "ngettext", "note_country", "number", "reset", "set_language", "tr"]
