"""Bad input as values: every problem carries file, row, column, value, rule and fix; all are reported together."""
from dataclasses import dataclass

from formats.i18n import _, ngettext, tr


@dataclass(frozen=True)
class Problem:
    file: str
    row: int | None  # 1-based data row (header excluded); None for a whole-file or whole-column problem
    column: str | None
    value: str | None
    rule: str
    fix: str

    def render(self) -> str:
        """The problem in the active language: the file, column and value stay as they are (data); the rule and
        the fix are translated when they were made with formats.i18n.N_."""
        where = self.file
        if self.row is not None:
            where += _(", row {row}", row=self.row)
        if self.column is not None:
            where += _(", column {column}", column=self.column)
        value = "" if self.value is None else _(", value {value}", value=repr(self.value))
        return _("{where}{value}: {rule}. Fix: {fix}", where=where, value=value, rule=tr(self.rule), fix=tr(self.fix))


class UserError(Exception):
    """Any refusal caused by the user's input or request (not a bug): the CLI prints it and exits 2."""

    exit_code = 2


class InputError(UserError):
    """Raised with every problem found; the CLI prints them and exits 2. Nothing has been written."""

    def __init__(self, problems: list[Problem]):
        assert problems, "InputError needs at least one problem"
        self.problems = list(problems)
        super().__init__(self.render(limit=20))

    def render(self, limit: int | None = None) -> str:
        shown = self.problems if limit is None else self.problems[:limit]
        lines = [ngettext("{n} problem(s) in the input:", "{n} problem(s) in the input:", len(self.problems))]
        lines += ["  " + problem.render() for problem in shown]
        if limit is not None and len(self.problems) > limit:
            lines.append("  " + _("... and {count} more", count=len(self.problems) - limit))
        return "\n".join(lines)


def problem(file, row, column, value, rule, fix) -> Problem:
    return Problem(str(file), row, column, None if value is None else str(value), rule, fix)
