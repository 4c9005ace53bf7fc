"""The error types the command line turns into messages and exit codes (re-exported so cli need not import formats)."""
from formats.errors import InputError, Problem, UserError


class Refused(UserError):
    """A request the cycle refuses (maker-checker, stale draft, unknown payroll ...): message says what to do."""


__all__ = ["InputError", "Problem", "Refused", "UserError"]
