"""Month and day arithmetic on integers: days since 1970-01-01 and months since 1970-01 (month index)."""
import datetime as dt

EPOCH = dt.date(1970, 1, 1)


def date_to_days(day: dt.date) -> int:
    return (day - EPOCH).days


def days_to_date(days: int) -> dt.date:
    return EPOCH + dt.timedelta(days=int(days))


def month_index(year: int, month: int) -> int:
    return (year - 1970) * 12 + (month - 1)


def parse_period(text: str) -> int:
    """'2025-03' -> month index; raises ValueError for anything else."""
    year_text, _, month_text = text.partition("-")
    if len(year_text) != 4 or len(month_text) != 2 or not (year_text + month_text).isdigit():
        raise ValueError(f"period must look like YYYY-MM, got {text!r}")
    year, month = int(year_text), int(month_text)
    if not 1 <= month <= 12:
        raise ValueError(f"month out of range in {text!r}")
    return month_index(year, month)


def format_period(index: int) -> str:
    year, month0 = divmod(int(index), 12)
    return f"{1970 + year:04d}-{month0 + 1:02d}"


def month_first_date(index: int) -> dt.date:
    year, month0 = divmod(int(index), 12)
    return dt.date(1970 + year, month0 + 1, 1)


def month_of_days(days: int) -> int:
    day = days_to_date(days)
    return month_index(day.year, day.month)
