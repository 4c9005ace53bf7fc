"""Business days of the paying country: the requested execution date of a payment file must be one.

Weekends and public holidays come from the maintained `holidays` package (per country: ME, RS, UA, ...). A
nominal payment day that falls on a weekend or holiday moves to the previous business day by default, so the
money arrives no later than the catalogue promises. (Ukraine has suspended its public holidays under martial law
since 2022; the package reflects it, so only weekends move a Ukrainian date.)
"""
from datetime import date, timedelta
from functools import lru_cache

import holidays

DAYS_SEARCHED_MAX = 31


@lru_cache(maxsize=64)
def _public_holidays(country: str, year: int) -> frozenset:
    try:
        return frozenset(holidays.country_holidays(country, years=year))
    except NotImplementedError:  # a country the package does not know: weekends only
        return frozenset()


def is_business_day(day: date, country: str) -> bool:
    return day.weekday() < 5 and day not in _public_holidays(country.upper(), day.year)


def business_day(day: date, country: str, later: bool = False) -> date:
    """day itself when it is a business day of the country, else the previous one (the next one with later)."""
    step = timedelta(days=1 if later else -1)
    for _ in range(DAYS_SEARCHED_MAX):
        if is_business_day(day, country):
            return day
        day += step
    raise ValueError(f"no business day of {country} within {DAYS_SEARCHED_MAX} days of {day}")
