"""Text that goes into payment files: transliteration to the file's character set, schema length cuts, XML escaping.

Everything here works on whole pyarrow string arrays at once (one C-level `str.translate` over the joined column,
pyarrow compute for trimming, cutting and escaping), because names and addresses of 100,000 payees must be cleaned
in a fraction of a second. The default character set is the SEPA basic Latin set
(a-z A-Z 0-9 / - ? : ( ) . , ' + space); Cyrillic (Serbian/Montenegrin, Ukrainian, Russian) and Latin letters with
diacritics (č ć š ž đ, Montenegrin ś ź, ...) are transliterated to it. "unicode" keeps the text as it is and only
removes what XML 1.0 cannot carry.
"""
import re
import unicodedata

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from bank_exports.checks import flat

CHARSETS = ("sepa", "unicode")
TRANSLITERATIONS = ("sr", "me", "uk", "ru")
# Each country's own rules: Serbian Cyrillic -> Serbian Latin -> ASCII; Montenegrin (Serbian plus С́ З́ / Ś Ź) ->
# ASCII; Ukrainian by the national standard of 2010.
COUNTRY_TRANSLITERATION = {"rs": "sr", "me": "me", "ua": "uk"}

# ICAO 9303 (passports) for Russian; the base that the other two override.
_RU = {
    "А": "A", "Б": "B", "В": "V", "Г": "G", "Д": "D", "Е": "E", "Ё": "E", "Ж": "Zh", "З": "Z", "И": "I",
    "Й": "I", "К": "K", "Л": "L", "М": "M", "Н": "N", "О": "O", "П": "P", "Р": "R", "С": "S", "Т": "T",
    "У": "U", "Ф": "F", "Х": "Kh", "Ц": "Ts", "Ч": "Ch", "Ш": "Sh", "Щ": "Shch", "Ъ": "Ie", "Ы": "Y",
    "Ь": "", "Э": "E", "Ю": "Iu", "Я": "Ia",
}
# Ukrainian national transliteration (Cabinet of Ministers resolution 55, 2010), word-initial forms.
_UK = {
    "Г": "H", "Ґ": "G", "Є": "Ye", "И": "Y", "І": "I", "Ї": "Yi", "Й": "Y", "Ю": "Yu", "Я": "Ya",
    "Ж": "Zh", "Х": "Kh", "Ц": "Ts", "Ч": "Ch", "Ш": "Sh", "Щ": "Shch", "Ь": "",
}
# Serbian / Montenegrin Cyrillic to Gajica, then to basic Latin (č -> c, đ -> dj), as banks in the region do.
_SR = {
    "Ђ": "Dj", "Ж": "Z", "Ј": "J", "Љ": "Lj", "Њ": "Nj", "Ћ": "C", "Х": "H", "Ц": "C", "Ч": "C", "Џ": "Dz",
    "Ш": "S",
}
_LATIN = {  # letters that NFKD does not decompose, and punctuation with a basic-Latin equivalent
    "Đ": "Dj", "đ": "dj", "ß": "ss", "Æ": "AE", "æ": "ae", "Ø": "O", "ø": "o", "Ł": "L", "ł": "l",
    "Œ": "OE", "œ": "oe", "Þ": "TH", "þ": "th", "ı": "i", "&": "+", "’": "'", "‘": "'", "ʼ": "'", "`": "'",
    "´": "'", "“": "", "”": "", "„": "", "«": "", "»": "", '"': "", "–": "-", "—": "-", "_": "-",
    "№": "No",
}
# Montenegrin Latin's own letters (the Cyrillic С́ З́ are a letter and a combining acute, which NFKD drops)
_ME = {"Ś": "S", "Ź": "Z"}
_PROFILES = {
    "ru": [_RU, {k: v for k, v in _UK.items() if k in "ҐЄІЇ"}, {k: v for k, v in _SR.items() if k in "ЂЈЉЊЋЏ"}],
    "uk": [_RU, _UK, {k: v for k, v in _SR.items() if k in "ЂЈЉЊЋЏ"}],
    "sr": [_RU, {k: v for k, v in _UK.items() if k in "ҐЄІЇ"}, _SR],
    "me": [_RU, {k: v for k, v in _UK.items() if k in "ҐЄІЇ"}, _SR, _ME],
}
# Ukrainian: Є Ї Й Ю Я are written ie i i iu ia inside a word (Yuliia, Hryhorii), ye yi y yu ya at its start.
_UK_INSIDE = {"є": "ie", "ї": "i", "й": "i", "ю": "iu", "я": "ia", "Є": "IE", "Ї": "I", "Й": "I", "Ю": "IU",
              "Я": "IA"}
_UK_INSIDE_RE = re.compile(r"(?<=[^\W\d_])[єїйюяЄЇЙЮЯ]")
# Ukrainian: "зг" is written "zgh" (Zghurskyi), to tell it from "ж" (zh); the apostrophe is not written
# (Znamianka), so the letter after it counts as inside the word.
_UK_ZGH_RE = re.compile(r"(?<=[Зз])[Гг]")
_UK_APOSTROPHE_RE = re.compile(r"(?<=[\u0400-\u04FF])['’ʼ`´](?=[\u0400-\u04FF])")
# a word written in capitals keeps its digraphs in capitals (ШЕВЧУК -> SHEVCHUK, ЉУБИША -> LJUBISA)
_CAPITAL_WORD_RE = re.compile(r"(?<![^\W\d_])[\u0400-\u042F\u0490]{2,}(?![^\W\d_])")
_SEPARATOR = "\x1f"  # unit separator: removed from the data first, so it can join and split the column
_NOT_SEPA = re.compile(r"[^A-Za-z0-9/\-?:().,'+ \x1f]")
_COMBINING = re.compile(r"[\u0300-\u036f]")
_XML_FORBIDDEN = r"[\x00-\x1f\x7f\x{FFFE}\x{FFFF}]"  # RE2: C0 controls (tab/newline too: they become spaces)


def _translation_table(profile: str) -> dict[int, str]:
    merged: dict[str, str] = {}
    for part in _PROFILES[profile]:
        merged.update(part)
    table = {ord(k): v for k, v in merged.items()}
    table.update({ord(k.lower()): v.lower() for k, v in merged.items()})
    table.update({ord(k): v for k, v in _LATIN.items()})
    return table


_TABLES = {profile: _translation_table(profile) for profile in TRANSLITERATIONS}


def to_sepa_latin(values: list[str], profile: str = "sr") -> list[str]:
    """Transliterate a list of strings (without control characters) to the SEPA basic Latin set in one pass."""
    assert profile in _TABLES, profile
    joined = _SEPARATOR.join(values)
    assert joined.count(_SEPARATOR) == max(len(values) - 1, 0), "separator found inside the data"
    if profile == "uk":   # first, so that a word in capitals with an apostrophe stays one word
        joined = _UK_APOSTROPHE_RE.sub("", joined)
    joined = _CAPITAL_WORD_RE.sub(lambda match: _latin_of(match.group(0).lower(), profile).upper(), joined)
    text = unicodedata.normalize("NFKD", _latin_of(joined, profile))
    text = _NOT_SEPA.sub(" ", _COMBINING.sub("", text))
    return text.split(_SEPARATOR) if values else []


def _latin_of(text: str, profile: str) -> str:
    """The profile's letter rules (Ukrainian's depend on the neighbouring letters) and its table."""
    if profile == "uk":
        text = _UK_APOSTROPHE_RE.sub("", text)
        text = _UK_ZGH_RE.sub(lambda match: "gh" if match.group(0) == "г" else "Gh", text)
        text = _UK_INSIDE_RE.sub(lambda match: _UK_INSIDE[match.group(0)], text)
    return text.translate(_TABLES[profile])


def transliteration_of(country: str) -> str:
    """The transliteration profile of a country's payment files (its own national rules)."""
    return COUNTRY_TRANSLITERATION[country.lower()]


def clean_text(column, max_chars: int, charset: str = "sepa", profile: str = "sr") -> pa.Array:
    """Nullable strings -> transliterated, whitespace-collapsed, cut to max_chars, XML-escaped; empty -> null.

    Works on the distinct values only (towns, streets and given names repeat a lot), then maps them back; a
    dictionary column of strings (remittance texts) is cleaned through its own dictionary.
    """
    assert charset in CHARSETS, charset
    assert max_chars > 0
    dictionary, indices = distinct_values(column if is_text_dictionary(column) else pc.cast(column, pa.string()))
    cleaned = _clean_distinct(dictionary, max_chars, charset, profile)
    return pc.take(cleaned, indices)


def is_text_dictionary(column) -> bool:
    """Whether a column is a dictionary of strings (clean_text then reads its dictionary and indices)."""
    return pa.types.is_dictionary(column.type) and pa.types.is_string(column.type.value_type)


def distinct_values(column) -> tuple[pa.Array, pa.Array]:
    """(values, index of each row's value) of a string column, or of a dictionary column as it is. A column in
    chunks (Parquet's row groups) is encoded chunk by chunk against the one dictionary Arrow's hash kernel builds
    over them all, so only the indices are joined, not the strings (a national payroll's names and addresses are
    hundreds of MB each)."""
    if is_text_dictionary(column):  # (its values may repeat: each is cleaned, the rows take theirs)
        encoded = flat(column)
        if encoded.dictionary.null_count == 0:
            return encoded.dictionary, encoded.indices
        column = pc.cast(encoded, pa.string())  # (a null among its values: encoded as strings are)
    encoded = pc.dictionary_encode(column)
    if isinstance(encoded, pa.ChunkedArray) and encoded.num_chunks > 1:
        first = encoded.chunk(0).dictionary
        if all(chunk.dictionary.equals(first) for chunk in encoded.chunks[1:]):
            return first, pa.concat_arrays([chunk.indices for chunk in encoded.chunks])
        encoded = pc.dictionary_encode(flat(column))  # (chunks with dictionaries of their own: joined first)
    encoded = flat(encoded)
    return encoded.dictionary, encoded.indices


def _clean_distinct(values: pa.Array, max_chars: int, charset: str, profile: str) -> pa.Array:
    values = pc.replace_substring_regex(values, _XML_FORBIDDEN, " ")
    if charset == "sepa":
        plain = values.to_pylist()
        joined = _SEPARATOR.join(plain)
        if not joined.isascii() or _NOT_SEPA.search(joined):
            values = pa.array(to_sepa_latin(plain, profile), pa.string())
    else:
        values = pc.utf8_normalize(values, "NFC")
    values = pc.utf8_trim_whitespace(pc.replace_substring_regex(values, r"\s{2,}", " "))
    values = cut_at_words(values, max_chars)
    values = pc.if_else(pc.equal(pc.utf8_length(values), 0), pa.scalar(None, pa.string()), values)
    return escape_xml(values)


def cut_at_word(text: str, max_chars: int) -> str:
    """text if it fits, else cut at the last space within max_chars (a word is never split); one word longer
    than the limit is cut between characters, never between a letter and its combining marks. Cut before XML
    escaping, so an entity is never split either (limits count characters, not their escaped form)."""
    if len(text) <= max_chars:
        return text
    space = text.rfind(" ", 0, max_chars + 1)
    if space > 0:
        return text[:space].rstrip()
    end = max_chars
    while end > 0 and unicodedata.combining(text[end]):
        end -= 1
    return text[:end]


def cut_at_words(values: pa.Array, max_chars: int) -> pa.Array:
    """Column-wise cut_at_word (the few values over the limit are cut one by one)."""
    too_long = pc.fill_null(pc.greater(pc.utf8_length(values), max_chars), False)
    if not pc.any(too_long).as_py():
        return values
    cut = [None if text is None else cut_at_word(text, max_chars) for text in values.to_pylist()]
    return pa.array(cut, pa.string())


def escape_xml(column: pa.Array) -> pa.Array:
    """Escape the three characters that element text cannot hold (after cutting: limits count characters)."""
    column = pc.replace_substring(column, "&", "&amp;")
    column = pc.replace_substring(column, "<", "&lt;")
    return pc.replace_substring(column, ">", "&gt;")


def escape_xml_str(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def clean_one(text: str, max_chars: int, charset: str = "sepa", profile: str = "sr") -> str:
    """The same cleaning for a single header value (debtor name, ...); '' when nothing representable is left."""
    value = clean_text(pa.array([text], pa.string()), max_chars, charset, profile)[0].as_py()
    return value or ""


# a letter or digit every transliteration profile keeps (Latin with its accented forms, Cyrillic): a name holding
# one is never empty in the files, and only names without one are cleaned to find out
_KEPT_CHARACTER = r"[0-9A-Za-z\x{00C0}-\x{024F}\x{0400}-\x{045F}]"


def empty_when_cleaned(column, max_chars: int, charset: str = "sepa", profile: str = "sr") -> np.ndarray:
    """Per row: the text is there but clean_text would leave nothing of it (Greek or Chinese only, emoji, marks):
    the payment files could not carry it. Nulls and blank texts are not (they have rules of their own)."""
    column = pa.chunked_array([column]) if isinstance(column, pa.Array) else column
    parts = []
    for chunk in column.chunks:
        if pa.types.is_dictionary(chunk.type):
            values = np.append(empty_when_cleaned(chunk.dictionary, max_chars, charset, profile), False)
            parts.append(values[pc.fill_null(chunk.indices, len(values) - 1).to_numpy(zero_copy_only=False)])
            continue
        chunk = pc.cast(chunk, pa.string())
        blank = pc.equal(pc.utf8_length(pc.utf8_trim_whitespace(chunk)), 0)  # the blank cell's own rule
        doubtful = np.flatnonzero(pc.fill_null(pc.invert(pc.or_(pc.match_substring_regex(chunk, _KEPT_CHARACTER),
                                                                blank)), False).to_numpy(zero_copy_only=False))
        empty = np.zeros(len(chunk), bool)
        if doubtful.size:
            cleaned = clean_text(chunk.take(pa.array(doubtful)), max_chars, charset, profile)
            empty[doubtful] = pc.is_null(cleaned).to_numpy(zero_copy_only=False)
        parts.append(empty)
    return np.concatenate(parts) if parts else np.zeros(0, bool)
