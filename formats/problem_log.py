"""Collects input problems found by vectorised checks, listing at most a fixed number per file and rule.

Checks find bad rows as index arrays; only the rows that will be reported are turned into Problem objects,
so a file with a million bad cells costs a million-element mask, not a million Python objects.
"""
import datetime as dt

import numpy as np
import pyarrow as pa

from formats.errors import Problem
from formats.i18n import N_

PROBLEMS_PER_RULE_MAX = 1000


def format_value(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


class ProblemLog:
    """Problems in the order found; per (file, rule) the first `cap_per_rule` are listed, the rest counted."""

    def __init__(self, cap_per_rule: int = PROBLEMS_PER_RULE_MAX):
        assert cap_per_rule >= 1
        self.cap_per_rule = cap_per_rule
        self._listed: list[Problem] = []
        self._counts: dict[tuple[str, str], int] = {}
        self._columns: dict[tuple[str, str], str | None] = {}
        self._fixes: dict[tuple[str, str], str] = {}

    def __bool__(self) -> bool:
        return bool(self._counts)

    def add(self, file, row, column, value, rule, fix) -> None:
        """One problem; `row` is the 1-based data row or None."""
        if self._room(file, rule, column, fix, 1):
            self._listed.append(Problem(str(file), row, column, format_value(value), rule, fix))

    def add_rows(self, file, rows: np.ndarray, column, values, rule, fix) -> None:
        """Problems for 0-based `rows` of a table; `values` is the full column (Arrow or numpy) or None."""
        rows = np.asarray(rows, dtype=np.int64)
        if len(rows) == 0:
            return
        listed = rows[: self._room(file, rule, column, fix, len(rows))]
        self._append_rows(file, listed, column, _cells(values, listed), rule, fix)

    def add_first_rows(self, file, rows: np.ndarray, count: int, column, cells: list, rule, fix) -> None:
        """add_rows for `count` rows of which only the first are given, with their values (`cells`): every row
        when there are fewer than cap_per_rule, else at least cap_per_rule (as many as the log can list)."""
        assert count >= len(rows) == len(cells) and (len(rows) == count or len(rows) >= self.cap_per_rule)
        if count == 0:
            return
        listed = rows[: self._room(file, rule, column, fix, count)]
        self._append_rows(file, listed, column, cells[:len(listed)], rule, fix)

    def _append_rows(self, file, listed: np.ndarray, column, cells: list, rule, fix) -> None:
        for row, cell in zip(listed.tolist(), cells):
            self._listed.append(Problem(str(file), row + 1, column, format_value(cell), rule, fix))

    def _room(self, file, rule, column, fix, wanted: int) -> int:
        key = (str(file), rule)
        seen = self._counts.get(key, 0)
        self._counts[key] = seen + wanted
        self._columns.setdefault(key, column)
        self._fixes.setdefault(key, fix)
        return max(0, min(wanted, self.cap_per_rule - seen))

    def problems(self) -> list[Problem]:
        """Listed problems, then one line per (file, rule) that had more than the cap."""
        overflow = [
            Problem(file, None, self._columns[key], None,
                    N_("{rule} ({count} more row(s) not listed)", rule=rule, count=count - self.cap_per_rule),
                    self._fixes[key])
            for key, count in self._counts.items() if count > self.cap_per_rule
            for file, rule in [key]
        ]
        return self._listed + overflow

    def count(self) -> int:
        return sum(self._counts.values())


def _cells(values, rows: np.ndarray) -> list:
    if values is None:
        return [None] * len(rows)
    if isinstance(values, (pa.Array, pa.ChunkedArray)):
        return values.take(pa.array(rows)).to_pylist()
    return np.asarray(values)[rows].tolist()


class ProblemRecorder:
    """Takes the calls a ProblemLog takes and keeps them, to hand them to one later (`replay`) in a fixed order:
    checks run side by side on threads each record their problems, and the log is given them one check after
    another, so what it lists, in which order and which rows a rule's cap keeps, is as if the checks had run in
    turn. Of the rows a check finds, the recorder keeps the count and the first `cap_per_rule` with their values
    (no log can list more), not the rows nor the column: a register with millions of bad cells held as many
    row numbers until the replay, beside every table."""

    def __init__(self, cap_per_rule: int = PROBLEMS_PER_RULE_MAX):
        assert cap_per_rule >= 1
        self.cap_per_rule = cap_per_rule
        self._calls: list[tuple[str, tuple]] = []

    def add(self, file, row, column, value, rule, fix) -> None:
        self._calls.append(("add", (file, row, column, value, rule, fix)))

    def add_rows(self, file, rows: np.ndarray, column, values, rule, fix) -> None:
        rows = np.asarray(rows, dtype=np.int64)
        if len(rows):  # ProblemLog.add_rows adds nothing for no rows
            first = rows[:self.cap_per_rule].copy()
            self._calls.append(("add_first_rows", (file, first, len(rows), column, _cells(values, first), rule, fix)))

    def replay(self, log: ProblemLog) -> None:
        assert log.cap_per_rule <= self.cap_per_rule, "the log would list rows the recorder did not keep"
        for method, arguments in self._calls:
            getattr(log, method)(*arguments)
