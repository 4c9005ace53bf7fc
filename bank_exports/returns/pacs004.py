"""pacs.004 payment returns: every TxInf is a "returned" record (streamed as the complete children of the
message element)."""
from pathlib import Path

from bank_exports.returns.record import (Context, ReturnRecord, child_text, first_child, local_name, message_parts,
                                         reason_of_fast, stripped)


def read_pacs004(path: Path, context: Context):
    for element, _complete in message_parts(path, context.message_element or "PmtRtr"):
        name = local_name(element)
        if name == "GrpHdr":
            context.msg_id = child_text(element, "MsgId")
            context.created = context.date(child_text(element, "CreDtTm"), element)
            context.settlement_date = context.date(child_text(element, "IntrBkSttlmDt"), element)
        elif name == "OrgnlGrpInf":
            context.original_msg_id = child_text(element, "OrgnlMsgId")
        elif name == "TxInf":
            yield _pacs004_transaction(element, context)


def _pacs004_transaction(element, context: Context) -> ReturnRecord:
    """The amount the account got back (RtrdIntrBkSttlmAmt, else RtrdInstdAmt) and the payment's instructed
    amount (RtrdInstdAmt): less than it, the bank's charges (ChrgsInf) were taken off."""
    instructed = context.amount(first_child(element, "{*}RtrdInstdAmt"))
    amount = context.amount(first_child(element, "{*}RtrdIntrBkSttlmAmt"))
    if amount.minor is None:
        amount = instructed
    settled = context.date(stripped(first_child(element, "{*}IntrBkSttlmDt")), element) or context.settlement_date \
        or context.created
    group = first_child(element, "{*}OrgnlGrpInf")
    msg_id = stripped(first_child(group, "{*}OrgnlMsgId")) if group is not None else None
    return context.record(element, "returned", "transaction",
                          end_to_end_id=stripped(first_child(element, "{*}OrgnlEndToEndId")),
                          msg_id=msg_id or context.original_msg_id, reason=reason_of_fast(element), amount=amount,
                          booked=settled, instr_id=stripped(first_child(element, "{*}OrgnlInstrId")),
                          instructed=instructed)
