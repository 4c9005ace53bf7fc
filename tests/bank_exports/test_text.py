"""Transliteration to the SEPA basic Latin set, cuts to schema lengths and XML escaping, column-wise."""
import re

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bank_exports.text import clean_one, clean_text, escape_xml_str

SEPA = re.compile(r"^[A-Za-z0-9/\-?:().,'+ ]*$")


@pytest.mark.parametrize("profile, text, expected", [
    ("sr", "Ђорђе Јовановић", "Djordje Jovanovic"),
    ("sr", "Љубица Његош Џаковић Шћекић Жарко Чубрило Ћирко Хаџић", "Ljubica Njegos Dzakovic Scekic Zarko Cubrilo "
     "Cirko Hadzic"),
    ("sr", "Đorđe Šćekić Žarko Čabarkapa Ćazim", "Djordje Scekic Zarko Cabarkapa Cazim"),
    ("sr", "Śćepan Źarić, Ś Ź", "Scepan Zaric, S Z"),
    ("sr", "Сʹ З́ејнеп С́ећо", "S Zejnep Seco"),          # Montenegrin С́ З́ (letter + combining acute)
    ("uk", "Щербина Юлія Євгенівна Їжакова Ґудзь", "Shcherbyna Yuliia Yevhenivna Yizhakova Gudz"),
    ("uk", "Григорій Жук Хоменко Цар Чорновол Шевченко", "Hryhorii Zhuk Khomenko Tsar Chornovol Shevchenko"),
    ("uk", "Яковенко Юрій Єрмак Їжак Йосип", "Yakovenko Yurii Yermak Yizhak Yosyp"),
    ("ru", "Щукин Эрнест Ыых Ёлкин Объедков", "Shchukin Ernest Yykh Elkin Obieedkov"),
    ("sr", "Müller & Søn — Łódź «Œuvre» ß", "Muller + Son - Lodz OEuvre ss"),
    ("sr", "  tab\tnew\nline  ", "tab new line"),
])
def test_transliteration(profile, text, expected):
    assert clean_one(text, 140, "sepa", profile) == expected


# Ukrainian: the examples published with Cabinet of Ministers resolution No. 55 of 27 January 2010
UKRAINIAN_STANDARD = [
    ("Шевчук", "Shevchuk"), ("Клименко", "Klymenko"), ("Григорій", "Hryhorii"), ("Згурський", "Zghurskyi"),
    ("Алушта", "Alushta"), ("Андрій", "Andrii"), ("Борщагівка", "Borshchahivka"), ("Вінниця", "Vinnytsia"),
    ("Гадяч", "Hadiach"), ("Згорани", "Zghorany"), ("Ґалаґан", "Galagan"), ("Донецьк", "Donetsk"),
    ("Рівне", "Rivne"), ("Євгенія", "Yevheniia"), ("Єнакієве", "Yenakiieve"), ("Житомир", "Zhytomyr"),
    ("Закарпаття", "Zakarpattia"), ("Медвин", "Medvyn"), ("Іршава", "Irshava"), ("Їжакевич", "Yizhakevych"),
    ("Кадиївка", "Kadyivka"), ("Йосипівка", "Yosypivka"), ("Стрий", "Stryi"), ("Олексій", "Oleksii"),
    ("Хмельницький", "Khmelnytskyi"), ("Миколаїв", "Mykolaiv"), ("Короп'є", "Koropie"), ("Ярошенко", "Yaroshenko"),
    ("Знам'янка", "Znamianka"), ("Тетяна", "Tetiana"), ("Шевченко", "Shevchenko"), ("Щербухи", "Shcherbukhy"),
    ("Гоща", "Hoshcha"), ("Юрій", "Yurii"), ("Корюківка", "Koriukivka"), ("Феодосія", "Feodosiia"),
    ("Розгон", "Rozghon"), ("Ізмаїл", "Izmail"), ("Русь", "Rus"), ("Ковальчук", "Kovalchuk"),
]


@pytest.mark.parametrize("text, expected", UKRAINIAN_STANDARD)
def test_ukrainian_by_the_national_standard_of_2010(text, expected):
    assert clean_one(text, 140, "sepa", "uk") == expected


@pytest.mark.parametrize("profile, text, expected", [
    ("uk", "ЗГУРСЬКИЙ ШЕВЧЕНКО ЗНАМ'ЯНКА", "ZGHURSKYI SHEVCHENKO ZNAMIANKA"),   # capitals keep their digraphs
    ("uk", "Мар’яна Мар\u02bcяна O'Brien", "Mariana Mariana O'Brien"),   # apostrophes dropped between Cyrillic only
    ("sr", "ЉУБИША ЏАКОВИЋ Љубиша", "LJUBISA DZAKOVIC Ljubisa"),
    ("me", "Śćepan Źarić ŚĆEPAN С\u0301ећо З\u0301ејнеп", "Scepan Zaric SCEPAN Seco Zejnep"),
    ("me", "Đurđa Njegoš Ljaljević Čelebić Džaferović", "Djurdja Njegos Ljaljevic Celebic Dzaferovic"),
])
def test_each_countrys_own_rules(profile, text, expected):
    assert clean_one(text, 140, "sepa", profile) == expected


def test_each_country_has_its_own_transliteration():
    from bank_exports.text import transliteration_of

    assert [transliteration_of(c) for c in ("me", "rs", "ua", "UA")] == ["me", "sr", "uk", "uk"]
    assert clean_one("Згурський Григорій", 140, "sepa", transliteration_of("ua")) == "Zghurskyi Hryhorii"
    assert clean_one("Згурський Григорій", 140, "sepa", transliteration_of("rs")) != "Zghurskyi Hryhorii"


def test_nulls_empties_and_unwritable_become_null():
    cleaned = clean_text(pa.array([None, "", "   ", "日本", "Ana"]), 35)
    assert cleaned.to_pylist() == [None, None, None, None, "Ana"]


def test_cut_counts_characters_then_trims_and_escapes():
    assert clean_one("Ana Marija Petrović", 11) == "Ana Marija"
    assert clean_one("a<b>&c", 35, "unicode") == "a&lt;b&gt;&amp;c"
    assert clean_one("Ђурђевић Đ", 8, "unicode") == "Ђурђевић"
    assert clean_one("x\x00y\x1bz", 35, "unicode") == "x y z"
    assert escape_xml_str("<&>") == "&lt;&amp;&gt;"


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.none(), st.text(max_size=60)), max_size=12), st.integers(1, 40),
       st.sampled_from(["sr", "me", "uk", "ru"]))
def test_sepa_output_is_always_in_the_set_and_within_limits(values, max_chars, profile):
    cleaned = clean_text(pa.array(values, pa.string()), max_chars, "sepa", profile).to_pylist()
    assert len(cleaned) == len(values)
    for before, after in zip(values, cleaned):
        assert after is None or (SEPA.match(after) and 1 <= len(after) <= max_chars and after == after.strip())
        if before is None:
            assert after is None


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(max_size=40), max_size=8), st.integers(1, 40))
def test_unicode_output_unescapes_to_at_most_max_chars(values, max_chars):
    for after in clean_text(pa.array(values, pa.string()), max_chars, "unicode").to_pylist():
        if after is not None:
            assert not re.search(r"[\x00-\x1f<>]|&(?!amp;|lt;|gt;)", after)
            plain = after.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
            assert 1 <= len(plain) <= max_chars


def test_cuts_fall_at_a_word_boundary_and_never_inside_a_character_sequence():
    from bank_exports.text import cut_at_word
    assert cut_at_word("Ana Marija Kovač", 12) == "Ana Marija"
    assert cut_at_word("Ana Marija", 10) == "Ana Marija"
    decomposed = "Cac\u0301ak"  # 'ć' as c + combining acute: never cut between the two
    assert cut_at_word(decomposed, 3) == "Ca"
    assert clean_text(pa.array(["Milica Vujošević & sin d.o.o."]), 22, "unicode").to_pylist() == [
        "Milica Vujošević &amp; sin"]  # cut before escaping: the entity is whole


def test_a_dictionary_column_is_cleaned_as_its_decoded_strings():
    """Remittance texts come as a dictionary (a few distinct texts for every payment): cleaned through it, each
    row gets what the decoded column gets."""
    texts = pa.array(["Dječiji dodatak za 05/2026", "  a  <b> & c ", "", None, "Материјално обезбјеђење"])
    indices = pa.array([0, 1, 1, 4, None, 2, 3, 0], pa.int32())
    column = pa.DictionaryArray.from_arrays(indices, texts)
    decoded = column.cast(pa.string())
    for profile in ("me", "uk"):
        expected = clean_text(decoded, 12, "sepa", profile).to_pylist()
        assert clean_text(column, 12, "sepa", profile).to_pylist() == expected


def test_a_dictionary_without_nulls_is_cleaned_through_its_entries():
    """The path of production's remittance column: a dictionary without a null entry (unused and repeated entries,
    null indices), also chunked with a different dictionary per chunk; each row gets what its decoded text gets."""
    first = pa.DictionaryArray.from_arrays(pa.array([2, 0, None, 2, 0], pa.int32()),
                                           pa.array(["  a  <b> & c ", "unused", "Dječiji dodatak za 05/2026"]))
    second = pa.DictionaryArray.from_arrays(pa.array([1, 1, 0], pa.int32()),
                                            pa.array(["Материјално обезбјеђење", "  a  <b> & c "]))
    for column in (first, pa.chunked_array([first, second])):
        decoded = column.cast(pa.string())
        for profile in ("me", "uk"):
            expected = clean_text(decoded, 12, "sepa", profile).to_pylist()
            assert clean_text(column, 12, "sepa", profile).to_pylist() == expected
