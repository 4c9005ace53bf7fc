"""The shared record type of the return readers (ReturnRecord, with the Amount and Reason they read), the
reading context of one file and the small XML helpers every reader uses; expand_records turns a whole-message or
whole-block reject into one record per payment."""
from datetime import date
from functools import partial
from pathlib import Path
from typing import NamedTuple

import pyarrow as pa
import pyarrow.compute as pc

from bank_exports.safexml import pull
from formats.amounts import exponent_of as currency_exponent, parse_amount
from formats.errors import InputError, Problem

KINDS = ("rejected", "returned", "settled", "status", "other")
# rejected / returned / settled: what happened to a payment; status: a pain.002 status that is not a rejection
# (Verification of Payee RVNM/RVMC, PDNG, ACSC...), recorded as said; other: a statement entry that is neither a
# return nor a settlement (bank charges, incoming credits, other transfers): reconcile lists it as not ours
# unless it names an isplata payment.
SCOPES = ("transaction", "payment_information", "message")
TEXT_SEPARATOR = "; "


class ReturnRecord(NamedTuple):
    """One thing a bank or the post said about a payment, a payment block or a whole message."""
    kind: str                         # rejected | returned | settled
    scope: str                        # transaction | payment_information | message
    original_end_to_end_id: str | None
    original_msg_id: str | None
    original_pmt_inf_id: str | None
    reason_code: str | None
    reason_text: str | None
    amount_minor: int | None
    currency: str | None
    booking_date: date | None
    source_msg_id: str | None         # MsgId of the report / statement itself
    source_file: str
    line: int | None                  # line of the record's element (or CSV data row)
    source_message: str               # e.g. camt.054.001.04, pain.002.001.03.ch.02, postal-return
    original_instr_id: str | None = None  # the InstrId isplata wrote on the payment (OrgnlInstrId, Refs/InstrId)
    status: str | None = None         # the status code said (pain.002 TxSts, e.g. RVNM, ACSC): kind "status"
    header_sender: str | None = None  # an enveloped message's Business Application Header: AppHdr/Fr
    header_msg_id: str | None = None  # AppHdr/BizMsgIdr
    header_created: str | None = None  # AppHdr/CreDt, as written
    instructed_minor: int | None = None  # the payment's instructed amount as the bank states it (pacs.004
    # RtrdInstdAmt, camt AmtDtls/InstdAmt) when it is in the record's currency: a return for less (amount_minor)
    # had the bank's charges taken off
    bank_ref: str | None = None  # the account servicer's reference of the movement (camt AcctSvcrRef): the same
    # debit told by two files (camt.054, then camt.053) carries the same one


RECORD_FIELDS = ReturnRecord._fields


class Amount(NamedTuple):
    """An amount element read: minor units at the currency's exponent (None, None when absent)."""
    minor: int | None
    currency: str | None


class Reason(NamedTuple):
    """A reason said: the first code (Cd or Prtry) and every additional text joined."""
    code: str | None
    text: str | None


NO_AMOUNT = Amount(None, None)
NO_REASON = Reason(None, None)
new_amount = partial(tuple.__new__, Amount)  # without NamedTuple's Python-level __new__ (once per record)
new_reason = partial(tuple.__new__, Reason)
LOCAL_NAMES: dict[str, str] = {}


class Context:
    """What the reader knows about the file so far (header values, the current original message)."""

    def __init__(self, path: Path, message: str, exponent):
        self.path = path
        self.file_name = path.name
        self.message = message
        self.exponent = exponent
        self._exponents: dict[str | None, int] = {}
        self.msg_id: str | None = None
        self.created: date | None = None
        self.settlement_date: date | None = None
        self.original_msg_id: str | None = None
        self.header: tuple = (None, None, None)  # AppHdr: sender, BizMsgIdr, CreDt
        self.message_element: str | None = None  # local name of the message element (CstmrPmtStsRpt...)

    def record(self, element, kind: str, scope: str, end_to_end_id=None, msg_id=None, pmt_inf_id=None,
               reason: Reason = NO_REASON, amount: Amount = NO_AMOUNT, booked=None, instr_id=None,
               status=None, instructed: Amount = NO_AMOUNT) -> ReturnRecord:
        sender, header_msg_id, header_created = self.header
        same = instructed.currency == amount.currency or amount.currency is None
        return ReturnRecord(kind, scope, end_to_end_id, msg_id, pmt_inf_id, reason.code, reason.text, amount.minor,
                            amount.currency, booked, self.msg_id, self.file_name, element.sourceline, self.message,
                            instr_id, status, sender, header_msg_id, header_created,
                            instructed.minor if same else None)

    def exponent_of(self, currency: str | None) -> int:
        """The exponent the amounts in this currency are read with: the one given for it (a single number for
        every currency, or a dict), else ISO 4217's."""
        exponent = self._exponents.get(currency)
        if exponent is None:
            if isinstance(self.exponent, int):
                exponent = self.exponent
            else:
                given = self.exponent.get(currency) if isinstance(self.exponent, dict) else None
                exponent = currency_exponent(currency) if given is None else given
            self._exponents[currency] = exponent
        return exponent

    def amount(self, element) -> Amount:
        """(minor units, currency) of an amount element; None, None when absent; an element that is there but
        holds no ISO 20022 amount (empty, '-5', '1e9', other digits, too long) is refused with its line."""
        if element is None:
            return NO_AMOUNT
        currency = (element.get("Ccy") or "").strip() or None
        return new_amount((self.amount_text(element.text, currency, element.sourceline, local_name(element)),
                           currency))

    def amount_text(self, text: str, currency: str | None, line: int | None, name: str) -> int:
        """An amount as text (an element's, or camt's rows read earlier) in minor units of `currency`; refused
        with its line."""
        try:
            return parse_amount(text, self.exponent_of(currency))
        except ValueError as exc:
            raise InputError([Problem(str(self.path), line, name, text, f"not an amount in {currency}: {exc}",
                                      "ask the bank for a corrected file")]) from None

    def date(self, text: str | None, element) -> date | None:
        if not text:
            return None
        try:
            return date.fromisoformat(text.strip()[:10])
        except ValueError:
            raise InputError([Problem(str(self.path), element.sourceline, local_name(element), text,
                                      "not an ISO date", "ask the bank for a corrected file")]) from None


def local_name(element) -> str:
    tag = element.tag
    if not isinstance(tag, str):
        return "?"
    name = LOCAL_NAMES.get(tag)
    if name is None:
        name = LOCAL_NAMES[tag] = tag[tag.rfind("}") + 1:]
    return name


def child(element, name: str):
    """First child with that local name (a loop over a few children beats ElementPath per call)."""
    if element is not None:
        for child in element:
            if local_name(child) == name:
                return child
    return None


def find_path(element, *names: str):
    for name in names:
        element = child(element, name)
    return element


def children_named(element, name: str) -> list:
    return [child for child in element if local_name(child) == name] if element is not None else []


def child_text(element, *names: str) -> str | None:
    found = find_path(element, *names)
    text = found.text if found is not None else None
    return text.strip() or None if text is not None else None


def reason_of(element) -> Reason:
    """(code, text) of StsRsnInf / RtrInf / RtrRsnInf children of element: first code, all texts joined."""
    code, texts = None, []
    for info in element:
        if local_name(info) not in ("StsRsnInf", "RtrInf", "RtrRsnInf"):
            continue
        code = code or child_text(info, "Rsn", "Cd") or child_text(info, "Rsn", "Prtry") \
            or child_text(info, "StsRsn", "Cd") or child_text(info, "StsRsn", "Prtry")  # StsRsn: pain.002.001.02
        texts += [node.text.strip() for node in children_named(info, "AddtlInf") if node.text and node.text.strip()]
    return new_reason((code, TEXT_SEPARATOR.join(texts) or None))


def normalized_text(element) -> str:
    """normalize-space() of the element: its text, or all the text below it (one leaf child: its text)."""
    count = len(element)
    if count == 0:
        text = element.text
    else:
        child = element[0]
        if count == 1 and not len(child) and not (element.text or "").strip() and not (child.tail or "").strip():
            text = child.text
        else:
            text = "".join(element.itertext())
    return " ".join(text.split()) if text else ""


def message_parts(path: Path, message_name: str, nested: str | None = None):
    """Yield (element, complete) for the children of the message element, in document order: each once complete
    (then removed from the tree), and, after each chunk of input, the last child while it is still growing if its
    children named `nested` are to be read early (the caller removes those it has read). Memory stays flat on a
    file of any size, and the parser reports a single event (the message's start)."""
    message = None
    for event, element, _name in pull(path, (message_name,), events=("start",)):
        if event == "start":
            message = element if message is None else message
            continue
        if message is None:
            continue
        children = list(message)  # few: complete children are removed as they are read
        complete = children if event == "eof" else children[:-1]
        for child in complete:
            yield child, True
        if complete:
            del message[:len(complete)]
        if event == "chunk" and children and nested is not None:
            yield children[-1], False


def first_child(element, tag: str):
    """First child with this tag (namespace-wildcard tags like '{*}Rsn' match by local name)."""
    for child in element.iterchildren(tag):
        return child
    return None


def stripped(element) -> str | None:
    text = element.text if element is not None else None
    return (text.strip() or None) if text is not None else None


def reason_of_fast(element) -> Reason:
    """reason_of of a transaction: the same (first code, all texts joined), children matched in C."""
    code, texts = None, []
    for info in element.iterchildren("{*}StsRsnInf", "{*}RtrInf", "{*}RtrRsnInf"):
        if code is None:
            reason = first_child(info, "{*}Rsn")
            reason = first_child(info, "{*}StsRsn") if reason is None else reason  # pain.002.001.02
            if reason is not None:
                code = stripped(first_child(reason, "{*}Cd")) or stripped(first_child(reason, "{*}Prtry"))
        for node in info.iterchildren("{*}AddtlInf"):
            text = stripped(node)
            if text:
                texts.append(text)
    return new_reason((code, TEXT_SEPARATOR.join(texts) or None))


def expand_records(records: list[ReturnRecord], assignments: pa.Table) -> list[ReturnRecord]:
    """Message- and block-level records -> one transaction record per payment of that MsgId / PmtInfId.

    assignments: end_to_end_id, msg_id, pmt_inf_id, amount_minor (as pain001.write_pain001 returns them).
    A payment with its own transaction record of the same kind keeps that one (its reason is more precise).
    """
    direct = {(r.kind, r.original_end_to_end_id) for r in records if r.scope == "transaction"}
    expanded = [r for r in records if r.scope == "transaction"]
    for record in records:
        if record.scope == "transaction":
            continue
        column, key = (("pmt_inf_id", record.original_pmt_inf_id) if record.scope == "payment_information"
                       else ("msg_id", record.original_msg_id))
        if key is None:
            continue
        chosen = assignments.filter(pc.equal(assignments[column], key))
        for e2e, msg_id, pmt_inf_id, amount in zip(*(chosen[name].to_pylist() for name in
                                                     ("end_to_end_id", "msg_id", "pmt_inf_id", "amount_minor"))):
            if (record.kind, e2e) in direct:
                continue
            direct.add((record.kind, e2e))
            expanded.append(record._replace(scope="transaction", original_end_to_end_id=e2e,
                                    original_msg_id=msg_id, original_pmt_inf_id=pmt_inf_id, amount_minor=amount))
    return expanded
