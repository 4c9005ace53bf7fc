"""An officer stops money before it leaves: cancel a draft payroll, or place a hold on a right or a payee.

Both are appended, never edits: a cancellation is a chained `cancelled` event of the payroll (a cancelled draft
is never approved or exported; only a draft can be cancelled), a hold is a chained row of payroll_holds that the
next calculation honours (the right, or every right paid to the payee, is left unpaid and carried, as with
reconciliation's MD07 holds) until a second officer releases it (`isplata hold release`, maker-checker). Each
function opens the database, writes in one transaction that takes the write lock, and returns a JSON-ready dict.
"""
from formats.i18n import N_
from payroll import session, store
from payroll.errors import InputError, Problem, Refused


def required_text(value: str, option: str) -> str:
    text = (value or "").strip()
    if not text:
        raise InputError([Problem(option, None, None, value, N_("a reason is required (it is recorded)"),
                                  N_("say why, e.g. {option} \"register office reports a change of payee\"",
                                     option=option))])
    return text


def cancel(db_url: str, identifier: str, by: str, reason: str) -> dict:
    """Cancel a draft (also a superseded one): a `cancelled` event with who and why."""
    officer = session.require_name(by)
    why = required_text(reason, "--reason")
    ledger = session.open_db(db_url)
    try:
        with ledger.writing() as conn:
            store.get_payroll(conn, identifier)  # Refused if unknown
            status = session.status_of(ledger, identifier, conn)["status"]
            if status not in ("draft", "superseded"):
                raise Refused(f"{identifier} is {status}: only a draft can be cancelled"
                              + ("" if status == "cancelled" else "; an approved payroll is corrected by the next "
                                 "calculation, and a payment is stopped with `isplata hold place`"))
            event_id = ledger.append_event("cancelled", identifier, {"by": officer, "reason": why}, conn)
    finally:
        ledger.close()
    return {"payroll": identifier, "status": "cancelled", "cancelled_by": officer, "reason": why,
            "event_id": event_id}


def place_hold(db_url: str, by: str, reason: str, right_id: int | None = None, payee_id: int | None = None) -> dict:
    """Hold one right or every payment to one payee from the next calculation on; returns the hold."""
    officer = session.require_name(by)
    why = required_text(reason, "--reason")
    ledger = session.open_db(db_url)
    try:
        with ledger.writing() as conn:
            hold = store.place_hold(conn, officer, why, right_id=right_id, payee_id=payee_id)
            ledger.append_event("hold_placed", f"hold:{hold['hold_id']}", {"hold": hold, "by": officer,
                                                                            "reason": why}, conn)
    finally:
        ledger.close()
    return {**hold, "released": False}
