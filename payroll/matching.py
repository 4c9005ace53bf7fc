"""Which payment a bank's record is about, and whether it is isplata's at all.

Matching order (issue 13): the EndToEndId; else the InstrId (isplata writes InstrId = EndToEndId on every
transaction, so a bank that drops the EndToEndId but keeps the InstrId is still matched); else the original
MsgId + PmtInfId + amount (the one payment of that block with that amount; several with the same amount stay an
exception). `NOTPROVIDED` (and the other placeholders banks write) is no reference.

A camt.053 / camt.054 lists every movement of the account: an entry none of whose references is an isplata id
(bank charges, incoming credits, other transfers) is "not ours": counted and listed, never an exception. A
pain.002 or pacs.004 answers a payment message, and a postal return list answers the postal list, so their
records are always taken as ours (an unmatched one is an exception).

Amounts: readers give minor units of the record's currency at its ISO 4217 exponent; the ledger may keep a
currency in a larger unit (RSD in whole dinars), so an amount is rescaled to the payroll's exponent. A record
with an amount in another currency than the payment's, or with an amount and no currency, never reverses a
payment: it is an exception.
"""
import pyarrow.compute as pc

from bank_exports.returns import POSTAL_KIND
from formats.amounts import exponent_of, rescale
from payroll.ids import payroll_of_ref

NO_REFERENCE = frozenset({"NOTPROVIDED", "NOTAVAILABLE", "NONREF", "NONE", "N/A"})
ANSWERS = ("pain.002", "pacs.004", POSTAL_KIND)  # messages that only ever answer our own files
NOT_OURS_COLUMNS = ("source_file", "line", "kind", "booking_date", "amount_minor", "currency", "end_to_end_id",
                    "instr_id", "msg_id", "pmt_inf_id", "reason_code", "reason_text")


def usable(value: str | None) -> str | None:
    """The reference, or None when it is absent or a placeholder such as NOTPROVIDED."""
    if value is None:
        return None
    value = value.strip()
    return None if not value or value.upper() in NO_REFERENCE else value


def is_ours(record) -> bool:
    """An answer to our files, or a statement entry naming an isplata payment, message or block."""
    if record.source_message.startswith(ANSWERS):
        return True
    for reference in (record.original_end_to_end_id, record.original_instr_id, record.original_pmt_inf_id,
                      record.original_msg_id):
        reference = usable(reference)
        if reference is not None and payroll_of_ref(reference) is not None:
            return True
    return False


def with_reference(record):
    """The record with its EndToEndId the payment it names: a placeholder is dropped, and an InstrId that is an
    isplata reference stands in for a missing EndToEndId."""
    e2e = usable(record.original_end_to_end_id)
    if e2e is None or payroll_of_ref(e2e) is None:
        instr = usable(record.original_instr_id)
        if instr is not None and payroll_of_ref(instr) is not None:
            e2e = instr
    msg_id, pmt_inf_id = usable(record.original_msg_id), usable(record.original_pmt_inf_id)
    if (e2e, msg_id, pmt_inf_id) == (record.original_end_to_end_id, record.original_msg_id,
                                     record.original_pmt_inf_id):
        return record
    return record._replace(original_end_to_end_id=e2e, original_msg_id=msg_id, original_pmt_inf_id=pmt_inf_id)


def not_ours_row(record) -> dict:
    return {"source_file": record.source_file, "line": record.line, "kind": record.kind,
            "booking_date": record.booking_date.isoformat() if record.booking_date else None,
            "amount_minor": record.amount_minor, "currency": record.currency,
            "end_to_end_id": record.original_end_to_end_id, "instr_id": record.original_instr_id,
            "msg_id": record.original_msg_id, "pmt_inf_id": record.original_pmt_inf_id,
            "reason_code": record.reason_code, "reason_text": record.reason_text}


def in_ledger_units(record, currency: str, exponent: int):
    """(record with its amount in the payroll's minor units, None) or (record, why it cannot be matched)."""
    if record.amount_minor is None:
        return record, None
    if record.currency is None:
        return record, f"an amount without a currency never reverses a payment (the payment was in {currency})"
    if record.currency != currency:
        return record, f"the amount is in {record.currency}, the payment was in {currency}: never reversed"
    amount = rescale(record.amount_minor, exponent_of(record.currency), exponent)
    if amount is None:
        return record, f"the amount is not a whole number of the ledger's {currency} unit"
    instructed = record.instructed_minor  # in the record's currency (the readers keep it only then)
    instructed = None if instructed is None else rescale(instructed, exponent_of(record.currency), exponent)
    return record._replace(amount_minor=amount, instructed_minor=instructed), None


def by_block_and_amount(record, assignments):
    """The record with the EndToEndId of the one payment of its original block (PmtInfId, else MsgId) that has
    its amount; (record, problem) when there is none or more than one."""
    if record.amount_minor is None or not (record.original_pmt_inf_id or record.original_msg_id):
        return record, "no usable reference (EndToEndId, InstrId, or MsgId + PmtInfId + amount)"
    chosen = assignments
    for column, key in (("pmt_inf_id", record.original_pmt_inf_id), ("msg_id", record.original_msg_id)):
        if key is not None:
            chosen = chosen.filter(pc.equal(chosen[column], key))
    chosen = chosen.filter(pc.equal(chosen["amount_minor"], record.amount_minor))
    if chosen.num_rows != 1:
        return record, (f"{chosen.num_rows} payments of block {record.original_pmt_inf_id or record.original_msg_id}"
                        f" have the amount {record.amount_minor}: no single match without an EndToEndId")
    return record._replace(original_end_to_end_id=chosen["end_to_end_id"][0].as_py()), None
