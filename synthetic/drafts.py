"""Drafts of rights: parallel int64 arrays (DRAFT_FIELDS) that name the beneficiary, the recipient and how
they relate, the benefit (an index into Context.benefits), the facts its formula reads and the dates of the
award; and the dates of an ongoing award (`ongoing`)."""
import numpy as np

from synthetic.arrays import month_end_days, month_start_days, months_of_days
from synthetic.context import ROLES, Context

PERSON, GUARDIAN, INSTITUTION = 0, 1, 2      # how the recipient of a right relates to its beneficiary
DRAFT_FIELDS = ("role", "person", "recipient", "recipient_kind", "institution", "grade", "birth_order",
                "income", "valid_from", "valid_to", "decided_on", "amount", "code", "other_payment", "subgroup",
                "alone")


def draft(role: str, person, recipient, recipient_kind, *, grade=0, birth_order=0, income=-1,
          valid_from, valid_to=-1, decided_on, institution=-1, amount=-1, code=-1, other_payment=-1,
          subgroup=-1, alone=0) -> dict:
    """A draft of len(person) rights; `code` (index into Context.benefits) defaults to the role's benefit.
    -1 is "none" for the optional facts (income, amount, other_payment, subgroup); `alone` 1: the right names
    no household (a personal right of a household-reading kind, such as the IDP allowance per person)."""
    n = len(person)
    values = dict(role=ROLES.index(role), person=person, recipient=recipient, recipient_kind=recipient_kind,
                  institution=institution, grade=grade, birth_order=birth_order, income=income,
                  valid_from=valid_from, valid_to=valid_to, decided_on=decided_on, amount=amount, code=code,
                  other_payment=other_payment, subgroup=subgroup, alone=alone)
    return {key: np.broadcast_to(np.asarray(value, dtype=np.int64), (n,)).copy() for key, value in values.items()}


def ongoing(rng, ctx: Context, role: str, earliest_days: np.ndarray, back_months_max: int, code: str = ""):
    """valid_from spread over past years (never before `earliest_days`), decided soon after; award end if any.
    The benefit is the role's, or `code` for a role several benefits share."""
    n = len(earliest_days)
    code = code or ctx.codes[role]
    earliest_days = np.maximum(earliest_days, month_start_days(ctx.first_month[code]))   # catalogue's first date
    months = ctx.period - (rng.random(n) ** 1.2 * (back_months_max + 1)).astype(np.int64)
    months = np.minimum(np.maximum(months, months_of_days(earliest_days)), ctx.period)
    award = ctx.award_months.get(code)
    if award:   # fixed-term awards: the current award started within its term and ends after it
        months = np.maximum(months, ctx.period - rng.integers(0, award, n))
    valid_from = month_start_days(months)
    # decided within weeks, but before the period unless the right starts in it: retroactive decisions of
    # the period are made deliberately (Versions), at the share the register should have
    decided = valid_from + rng.integers(5, 75, n)
    decided = np.where(months < ctx.period, np.minimum(decided, ctx.start_days - 1), np.minimum(decided, ctx.end_days))
    valid_to = month_end_days(months + award - 1) if award else np.full(n, -1)
    return valid_from, valid_to, decided
