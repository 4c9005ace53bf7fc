"""Requested execution dates are business days of the paying country (weekends and public holidays)."""
from datetime import date

import pytest

from bank_exports.calendar import business_day, is_business_day


@pytest.mark.parametrize("country, day, expected", [
    ("RS", date(2026, 1, 7), date(2026, 1, 6)),     # Orthodox Christmas (a Wednesday)
    ("RS", date(2026, 2, 16), date(2026, 2, 13)),   # Statehood Day (Mon, Tue) -> the Friday before
    ("ME", date(2026, 5, 1), date(2026, 4, 30)),    # Labour Day (Friday)
    ("ME", date(2026, 5, 3), date(2026, 4, 30)),    # Sunday after Labour Day's two days
    ("UA", date(2026, 1, 7), date(2026, 1, 7)),     # no public holidays under martial law: a Wednesday works
    ("UA", date(2026, 6, 6), date(2026, 6, 5)),     # Saturday -> Friday
    ("ME", date(2026, 6, 15), date(2026, 6, 15)),   # a plain Monday stays
])
def test_a_payment_day_moves_to_the_previous_business_day(country, day, expected):
    assert business_day(day, country) == expected and is_business_day(expected, country)


def test_later_moves_forward():
    assert business_day(date(2026, 1, 1), "RS", later=True) == date(2026, 1, 5)  # 1-2 Jan holidays, weekend
