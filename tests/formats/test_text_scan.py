"""The one-pass string kernels (formats.text_scan) equal the plain-Python rules and the registry regexes they
replace, row by row."""
import random
import re

import numpy as np
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st
from schwifty import IBAN, registry

from formats.bank_ids import ELECTRONIC_IBAN
from formats.text_scan import bban_classes, bban_mismatch, iban_form_and_check_digits

CHARS = st.sampled_from(list("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZaz -Žж\x00"))


def reference(value: str | None) -> bool:
    """Electronic form, ISO 7064 mod 97-10 remainder 1 and check digits 02..98, in plain Python."""
    if value is None or not re.fullmatch(ELECTRONIC_IBAN, value):
        return False
    moved = value[4:] + value[:4]
    number = int("".join(str(int(char, 36)) for char in moved))
    return number % 97 == 1 and 2 <= int(value[2:4]) <= 98


@st.composite
def candidates(draw):
    if draw(st.booleans()):
        return draw(st.none() | st.text(alphabet=CHARS, max_size=40))
    value = str(IBAN.random(draw(st.sampled_from(["ME", "RS", "UA", "DE", "GB", "MT"])),
                            random=random.Random(draw(st.integers(0, 2**32)))))
    at = draw(st.integers(0, len(value) - 1))
    return value[:at] + draw(CHARS) + value[at + 1:] if draw(st.booleans()) else value


@settings(max_examples=300, deadline=None)
@given(st.lists(candidates(), max_size=30), st.integers(0, 4), st.booleans())
def test_iban_kernel_equals_the_plain_rule(values, cut, large):
    column = pa.array(values, pa.large_string() if large else pa.string())
    for array in (column, column.slice(min(cut, len(values)))):
        assert iban_form_and_check_digits(array).tolist() == [reference(value) for value in array.to_pylist()]


def test_known_values():
    values = ["ME25510000000000006345", "ME25510000000000006346", "ME00510000000000006345", "", None,
              "me25510000000000006345", "DE89370400440532013000", "GB82WEST12345698765432", "ME25 5100"]
    assert iban_form_and_check_digits(pa.array(values)).tolist() == [True, False, False, False, False, False, True,
                                                                      True, False]


SPEC_COUNTRIES = ("ME", "RS", "UA", "DE", "GB", "FR", "IT", "NL", "CH", "BA", "MK", "AL", "MT", "BR", "QA", "NO")


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(SPEC_COUNTRIES), st.lists(st.text(alphabet=st.sampled_from(list("0123456789ABZaz ")),
                                                         min_size=0, max_size=34), max_size=20), st.integers(0, 2**32))
def test_bban_positions_equal_the_registry_regex(country, tails, seed):
    spec = registry.get_iban_spec(country)
    classes = bban_classes(spec.bban_spec, spec.regex.pattern, spec.iban_length)
    assert classes is not None
    values = [str(IBAN.random(country, random=random.Random(seed)))] + [country + "00" + tail for tail in tails]
    rows = np.arange(len(values))
    expected = [len(v) != spec.iban_length or not spec.regex.fullmatch(v[4:]) for v in values]
    assert bban_mismatch(pa.array(values), rows, classes).tolist() == expected
    assert not expected[0]


def test_specs_of_other_shapes_are_left_to_the_regex():
    assert bban_classes("3!n13n", r"^\d{3}\d{1,13}$", 20) is None       # a part of variable length
    assert bban_classes("3!n13!n", r"^\d{3}[0-4]{13}$", 20) is None     # a registry regex of its own
    assert bban_classes("3!n13!n", r"^\d{3}\d{13}$", 21) is None        # length disagrees with the parts
    assert bban_classes("3!n13!n", r"^\d{3}\d{13}$", 20).tolist() == [0] * 16
