"""pain.002 status reports: the complete children of the message element are streamed (and the complete
TxInfAndSts of a growing status block; pain.002.001.02 has them beside the group's status, its message element
named <pain.002.001.02> and its reasons StsRsn). A reject (RJCT) of a payment, a block or the whole message is a
"rejected" record (a whole-message or whole-block one has no EndToEndId: expand_records turns it into one record
per payment); any other status said (Verification of Payee RVNM/RVMC/RCVC, PDNG, ACSP, ACSC, PART...) is a
"status" record carrying its code: nothing said is dropped."""
from pathlib import Path

from bank_exports.returns.record import (Amount, Context, child, child_text, first_child, local_name, message_parts,
                                         reason_of, reason_of_fast, stripped)


def read_pain002(path: Path, context: Context):
    for element, complete in message_parts(path, context.message_element or "CstmrPmtStsRpt", nested="TxInfAndSts"):
        name = local_name(element)
        if name == "GrpHdr" and complete:
            context.msg_id = child_text(element, "MsgId")
            context.created = context.date(child_text(element, "CreDtTm"), element)
        elif name in ("OrgnlGrpInfAndSts", "OrgnlPmtInfAndSts"):
            yield from _pain002_transactions(element, context, complete)
            if complete:
                yield from _pain002_status(element, name, context)
        elif name == "TxInfAndSts" and complete:  # pain.002.001.02: the transactions beside the group's status
            record = _pain002_transaction(element, context, None)
            if record is not None:
                yield record


def _pain002_status(element, name: str, context: Context):
    """The record of a whole-message or whole-block status (and the original MsgId the block records use): a
    reject (RJCT), or any other status said of the whole (ACCP, PART, RVMC...) as a "status" record."""
    if name == "OrgnlGrpInfAndSts":
        context.original_msg_id = child_text(element, "OrgnlMsgId")
        status = child_text(element, "GrpSts")
        if status == "RJCT":
            total = context.amount(child(element, "OrgnlCtrlSum")).minor
            yield context.record(element, "rejected", "message", msg_id=context.original_msg_id,
                                 reason=reason_of(element), amount=Amount(total, None), booked=context.created,
                                 status=status)
        elif status:
            yield context.record(element, "status", "message", msg_id=context.original_msg_id,
                                 reason=reason_of(element), booked=context.created, status=status)
        return
    status = child_text(element, "PmtInfSts")
    if status:
        yield context.record(element, "rejected" if status == "RJCT" else "status", "payment_information",
                             msg_id=context.original_msg_id, pmt_inf_id=child_text(element, "OrgnlPmtInfId"),
                             reason=reason_of(element), booked=context.created, status=status)


def _pain002_transactions(block, context: Context, complete: bool):
    """Records of the block's complete TxInfAndSts, which are then removed: "rejected" for RJCT, "status" for any
    other status (Verification of Payee RVNM/RVMC/RCVC, PDNG, ACSP, ACSC...): nothing said is dropped."""
    last = None if complete or not len(block) else block[-1]
    block_id, done = child_text(block, "OrgnlPmtInfId"), []
    for element in block.iterchildren("{*}TxInfAndSts"):
        if element is last:
            break
        done.append(element)
        record = _pain002_transaction(element, context, block_id)
        if record is not None:
            yield record
    for element in done:
        block.remove(element)


def _pain002_transaction(element, context: Context, block_id: str | None):
    """The record of one TxInfAndSts (None when it says no status: its block's status stands for it); the block
    is its OrgnlPmtInfAndSts's, else its own OrgnlPmtInfId (pain.002.001.02)."""
    status = stripped(first_child(element, "{*}TxSts"))
    if status is None:
        return None
    pmt_inf_id = block_id or stripped(first_child(element, "{*}OrgnlPmtInfId"))
    amount = first_child(element, "{*}OrgnlTxRef")
    amount = first_child(amount, "{*}Amt") if amount is not None else None
    amount = first_child(amount, "{*}InstdAmt") if amount is not None else None
    return context.record(element, "rejected" if status == "RJCT" else "status", "transaction",
                          end_to_end_id=stripped(first_child(element, "{*}OrgnlEndToEndId")),
                          msg_id=context.original_msg_id, pmt_inf_id=pmt_inf_id or None,
                          reason=reason_of_fast(element), amount=context.amount(amount), booked=context.created,
                          instr_id=stripped(first_child(element, "{*}OrgnlInstrId")), status=status)
