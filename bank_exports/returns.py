"""Readers of what banks and the post send back: pain.002, camt.054, camt.053, pacs.004 (any version, matched by
local element names) and the postal return CSV. Each yields ReturnRecords: which payment (EndToEndId, or the
original MsgId / PmtInfId of a whole-file or whole-block status), what happened (rejected, returned, settled),
why (reason code and text), how much, when, and where in which file it was said.

A group-level RJCT (pain.002 GrpSts, e.g. AM10 control sum) rejects every payment of the referenced message: the
record has scope "message" and no EndToEndId, and `expand_records` turns it into one record per payment given
the export's assignments. A camt DBIT entry that names our MsgId / PmtInfId is the batch debit that settles the
file. RvslInd is ignored: banks set it inconsistently on returns. XML is read with safexml (no DTD, no entities,
no network, streaming). camt files, which can hold hundreds of thousands of entries, are fed to a pull parser in
64 KB chunks that reports only where a notification / statement starts; after each chunk the complete entries
are walked (only the few elements the reader needs, tags compared with the file's own namespace) into plain row
tuples and removed from the tree: memory stays flat, and `read_returns_table` turns the rows into an Arrow table
without a Python object per record. (An XSLT that printed the fields as text was slower: libxslt evaluates its
templates more slowly than this walk.) pain.002 and pacs.004 are streamed the same way, as the complete children
of their message element (and the complete TxInfAndSts of a growing status block).
"""
from datetime import date
from functools import lru_cache, partial
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv
from lxml import etree

from bank_exports.safexml import pull, refusal, root_of
from formats.amounts import exponent_of as currency_exponent, parse_amount, parse_amounts
from formats.errors import InputError, Problem

KINDS = ("rejected", "returned", "settled", "status", "other")
# rejected / returned / settled: what happened to a payment; status: a pain.002 status that is not a rejection
# (Verification of Payee RVNM/RVMC, PDNG, ACSC...), recorded as said; other: a statement entry that is neither a
# return nor a settlement (bank charges, incoming credits, other transfers): reconcile lists it as not ours
# unless it names an isplata payment.
SCOPES = ("transaction", "payment_information", "message")
MESSAGES = {"CstmrPmtStsRpt": "pain.002", "BkToCstmrDbtCdtNtfctn": "camt.054", "BkToCstmrStmt": "camt.053",
            "BkToCstmrAcctRpt": "camt.052", "PmtRtr": "pacs.004"}
CAMT = ("camt.054", "camt.053", "camt.052")  # entries of an account, read alike (an intraday camt.052 entry
# that is not booked yet is left for the statement)
POSTAL_KIND = "postal-return"
POSTAL_STATUS = {"paid": "settled", "delivered": "settled", "settled": "settled", "returned": "returned",
                 "undelivered": "returned", "unclaimed": "returned", "refused": "returned", "rejected": "rejected"}
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


RECORD_FIELDS = ReturnRecord._fields
_LOCAL_NAMES: dict[str, str] = {}


class _Context:
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

    def record(self, element, kind: str, scope: str, end_to_end_id=None, msg_id=None, pmt_inf_id=None,
               reason=(None, None), amount=(None, None), booked=None, instr_id=None, status=None) -> ReturnRecord:
        return ReturnRecord(kind, scope, end_to_end_id, msg_id, pmt_inf_id, reason[0], reason[1], amount[0],
                            amount[1], booked, self.msg_id, self.file_name, element.sourceline, self.message,
                            instr_id, status, *self.header)

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

    def amount(self, element) -> tuple[int | None, str | None]:
        """(minor units, currency) of an amount element; None, None when absent; an element that is there but
        holds no ISO 20022 amount (empty, '-5', '1e9', other digits, too long) is refused with its line."""
        if element is None:
            return None, None
        currency = (element.get("Ccy") or "").strip() or None
        try:
            return parse_amount(element.text, self.exponent_of(currency)), currency
        except ValueError as exc:
            raise InputError([Problem(str(self.path), element.sourceline, _local(element), element.text,
                                      f"not an amount in {currency}: {exc}", "ask the bank for a corrected file")])

    def date(self, text: str | None, element) -> date | None:
        if not text:
            return None
        try:
            return date.fromisoformat(text.strip()[:10])
        except ValueError:
            raise InputError([Problem(str(self.path), element.sourceline, _local(element), text,
                                      "not an ISO date", "ask the bank for a corrected file")]) from None


def _local(element) -> str:
    tag = element.tag
    if not isinstance(tag, str):
        return "?"
    name = _LOCAL_NAMES.get(tag)
    if name is None:
        name = _LOCAL_NAMES[tag] = tag[tag.rfind("}") + 1:]
    return name


def _child(element, name: str):
    """First child with that local name (a loop over a few children beats ElementPath per call)."""
    if element is not None:
        for child in element:
            if _local(child) == name:
                return child
    return None


def _find(element, *names: str):
    for name in names:
        element = _child(element, name)
    return element


def _children(element, name: str) -> list:
    return [child for child in element if _local(child) == name] if element is not None else []


def _text(element, *names: str) -> str | None:
    found = _find(element, *names)
    text = found.text if found is not None else None
    return text.strip() or None if text is not None else None


def _reason(element) -> tuple[str | None, str | None]:
    """(code, text) of StsRsnInf / RtrInf / RtrRsnInf children of element: first code, all texts joined."""
    code, texts = None, []
    for info in element:
        if _local(info) not in ("StsRsnInf", "RtrInf", "RtrRsnInf"):
            continue
        code = code or _text(info, "Rsn", "Cd") or _text(info, "Rsn", "Prtry")
        texts += [node.text.strip() for node in _children(info, "AddtlInf") if node.text and node.text.strip()]
    return code, TEXT_SEPARATOR.join(texts) or None


# ---- camt.053 / camt.054 ----------------------------------------------------------------------------------------

_CAMT_CONTAINERS = ("Ntfctn", "Stmt", "Rpt")


class _Rows:
    """Records gathered as plain tuples of the fields that vary within a file, amounts still as text (converted
    column-wise at the end); no Python object per record until records are asked for, and a table is built by
    transposing the tuples."""
    NAMES = ("kind", "scope", "original_end_to_end_id", "original_msg_id", "original_pmt_inf_id", "reason_code",
             "reason_text", "amount_minor", "currency", "booking_date", "line", "original_instr_id")

    def __init__(self):
        self.rows = []
        self.amounts = []

    def __len__(self) -> int:
        return len(self.rows)

    def records(self, context: _Context):
        constants = (context.msg_id, context.file_name)
        header = (None, *context.header)  # no status on a statement's record
        make = partial(tuple.__new__, ReturnRecord)
        for row, amount in zip(self.rows, self.amounts):
            yield make(row[:7] + (amount,) + row[8:10] + constants + (row[10], context.message, row[11]) + header)

    def table(self, context: _Context) -> pa.Table:
        count = len(self.rows)
        transposed = list(zip(*self.rows)) if count else [()] * len(self.NAMES)
        columns = {name: list(values) for name, values in zip(self.NAMES, transposed)}
        columns.update(amount_minor=self.amounts, source_msg_id=[context.msg_id] * count,
                       source_file=[context.file_name] * count, source_message=[context.message] * count,
                       status=[None] * count, header_sender=[context.header[0]] * count,
                       header_msg_id=[context.header[1]] * count, header_created=[context.header[2]] * count)
        return _table(columns)


@lru_cache(maxsize=16)
def _camt_walker(namespace: str):
    """The function that reads one entry into a record row, with the tags of the file's namespace bound as local
    constants (the entry walk is the reader's inner loop: no attribute lookups in it)."""
    def tag(name: str) -> str:
        return f"{{{namespace}}}{name}" if namespace else name

    NTRY_DTLS, TX_DTLS, BTCH, AMT, CDT_DBT, STS, BOOKG, VAL, BK_TX_CD = map(tag, (
        "NtryDtls", "TxDtls", "Btch", "Amt", "CdtDbtInd", "Sts", "BookgDt", "ValDt", "BkTxCd"))
    REFS, E2E, MSG, PMT_INF, AMT_DTLS, INSTD, TX_AMT, RTR, RSN, ADDTL, SUB_FMLY, INSTR = map(tag, (
        "Refs", "EndToEndId", "MsgId", "PmtInfId", "AmtDtls", "InstdAmt", "TxAmt", "RtrInf", "Rsn", "AddtlInf",
        "SubFmlyCd", "InstrId"))
    NO_DETAILS = ("", "", "", None, "", None, "", "", False, "", "", "", None)

    def sub_family(code) -> str:
        """BkTxCd/Domn/Fmly/SubFmlyCd (the only SubFmlyCd a BkTxCd holds), '' when absent."""
        for sub in code.iter(SUB_FMLY):
            text = sub.text
            return text.strip() if text else ""
        return ""

    def details(tx) -> tuple:
        """(EndToEndId, MsgId, PmtInfId, amount, currency, AmtDtls amount, its currency, sub-family, return info
        present, reason code, reason text, InstrId, line) of one TxDtls; '' (False) for what is absent, None for
        an absent amount (an amount element that is there but empty is refused when amounts are converted)."""
        e2e = msg_id = pmt_inf_id = currency = other_currency = family = code = instr_id = ""
        amount = other = None
        returned, texts = False, []
        for part in tx:
            part_tag = part.tag
            if part_tag == REFS:
                for ref in part:
                    ref_tag = ref.tag
                    if ref_tag == E2E:
                        e2e = (ref.text or "").strip()
                    elif ref_tag == MSG:
                        msg_id = (ref.text or "").strip()
                    elif ref_tag == PMT_INF:
                        pmt_inf_id = (ref.text or "").strip()
                    elif ref_tag == INSTR:
                        instr_id = (ref.text or "").strip()
            elif part_tag == AMT:
                amount, currency = (part.text or "").strip(), part.get("Ccy", "").strip()
            elif part_tag == RTR:
                returned = True
                for info in part:
                    if info.tag == RSN:
                        code = _value(info)
                    elif info.tag == ADDTL:
                        text = _value(info)
                        if text:
                            texts.append(text)
            elif part_tag == AMT_DTLS:
                for kind in part:
                    if kind.tag == INSTD or kind.tag == TX_AMT:
                        for value in kind:
                            if value.tag == AMT:  # the last one given wins (TxAmt over InstdAmt)
                                other, other_currency = (value.text or "").strip(), value.get("Ccy", "").strip()
            elif part_tag == BK_TX_CD:
                family = sub_family(part)
        return (e2e, msg_id, pmt_inf_id, amount, currency, other, other_currency, family, returned, code,
                TEXT_SEPARATOR.join(texts), instr_id, tx.sourceline)

    def entry_row(entry, context: _Context, rows: list, dates: dict) -> None:
        """Records of one booked entry: returned details (CRDT), settled payments or the batch debit (DBIT)."""
        status = side = booked_text = value_text = currency = family = batch_msg_id = batch_pmt_inf_id = ""
        amount, found = None, []
        for child in entry:
            child_tag = child.tag
            if child_tag == NTRY_DTLS:
                for part in child:
                    if part.tag == TX_DTLS:
                        found.append(details(part))
                    elif part.tag == BTCH:
                        for ref in part:
                            if ref.tag == MSG:
                                batch_msg_id = (ref.text or "").strip()
                            elif ref.tag == PMT_INF:
                                batch_pmt_inf_id = (ref.text or "").strip()
            elif child_tag == AMT:
                amount, currency = (child.text or "").strip(), child.get("Ccy", "").strip()
            elif child_tag == CDT_DBT:
                side = (child.text or "").strip()
            elif child_tag == STS:
                status = _value(child)
            elif child_tag == BOOKG:
                booked_text = _value(child)
            elif child_tag == VAL:
                value_text = _value(child)
            elif child_tag == BK_TX_CD:
                family = sub_family(child)
        if status and status != "BOOK":  # pending or information only: not final yet
            return
        day_text = (booked_text or value_text)[:10]
        booked = dates.get(day_text, dates)
        if booked is dates:
            booked = dates[day_text] = context.date(day_text, entry)
        if not found:
            found = [NO_DETAILS]
        entry_return = family == "RRTN"
        batch_debit = side == "DBIT" and not entry_return and not any(tx[0] for tx in found)
        for position, (e2e, msg_id, pmt_inf_id, tx_amount, tx_currency, other, other_currency, tx_family,
                       returned, code, text, instr_id, line) in enumerate(found):
            is_return = returned or entry_return or tx_family == "RRTN"
            value, value_currency = (tx_amount, tx_currency) if tx_amount is not None else (other, other_currency)
            if value is None and len(found) == 1:
                value, value_currency = amount, currency
            line = line or entry.sourceline  # each record cites its own TxDtls; a record of the entry, the entry
            if batch_debit and (batch_msg_id or batch_pmt_inf_id or msg_id or pmt_inf_id):
                if position:  # the batch debit of a file: one record for the entry
                    continue
                msg_id, pmt_inf_id = batch_msg_id or msg_id, batch_pmt_inf_id or pmt_inf_id
                rows.append(("settled", "payment_information" if pmt_inf_id else "message", None, msg_id or None,
                             pmt_inf_id or None, None, None, amount, currency or None, booked, entry.sourceline,
                             None))
                continue
            if side == "CRDT" and is_return:
                kind, code, text = "returned", code or None, text or None
            elif side == "DBIT" and not is_return and e2e:
                kind, code, text = "settled", None, None
            else:  # a fee, an incoming credit, a debit without reference, a debit return: for reconcile to sort
                kind, code, text = "other", code or None, text or None
            rows.append((kind, "transaction", e2e or None, msg_id or None, pmt_inf_id or None, code, text,
                         value, (value_currency or currency) or None, booked, line, instr_id or None))

    return tag("Ntry"), entry_row


def _camt(path: Path, context: _Context) -> _Rows:
    """Entries are read straight from the parser's tree: after each chunk of input, the complete entries of the
    open notification / statement are walked (their direct children, those of TxDtls and a few below; nothing
    else of a large entry is visited) into rows and removed, so memory stays flat. The parser reports only the
    start of each notification / statement: when one starts, the group header and any earlier one are complete."""
    open_containers = []
    out = _Rows()
    for event, element, _name in pull(path, _CAMT_CONTAINERS, events=("start",)):
        if event == "chunk":
            for container in open_containers:
                _camt_entries(container, context, out, final=False)
            continue
        if event == "eof":
            message = _message_element(element)
            if message is not None and context.msg_id is None:
                _camt_header(message.iterchildren(), context)
        elif not open_containers and context.msg_id is None:
            _camt_header(element.itersiblings(preceding=True), context)
        for container in open_containers:
            _camt_entries(container, context, out, final=True)
            container.clear()
        open_containers = [element] if event == "start" else []
    out.amounts = _minor_amounts(out.rows, context)
    return out


def _message_element(root):
    """The message element (first child of the Document) of a parsed tree, enveloped or not; None if empty."""
    document = root if _local(root) == "Document" else next(root.iter("{*}Document"), None)
    return document[0] if document is not None and len(document) else None


def _camt_header(elements, context: _Context) -> None:
    """MsgId and creation time of the group header, if among the elements."""
    for element in elements:
        if _local(element) == "GrpHdr":
            context.msg_id = _text(element, "MsgId")
            context.created = context.date(_text(element, "CreDtTm"), element)
            return


def _camt_entries(container, context: _Context, out: _Rows, final: bool) -> None:
    """Rows of the complete entries of the container (all of them when final), which are then removed."""
    if not len(container):
        return
    entry_tag, entry_row = _camt_walker(etree.QName(container).namespace or "")
    last = None if final else container[-1]  # the last child may still be growing
    rows, dates, done = out.rows, {}, 0
    for entry in container.iterchildren(entry_tag):
        if entry is last:
            break
        entry_row(entry, context, rows, dates)
        done += 1
    if done:
        count = len(container) if final else container.index(last)
        del container[:count]  # the entries read and whatever else came before them (headers, balances)


def _value(element) -> str:
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


def _minor_amounts(rows: list, context: _Context) -> list:
    """Amounts of the rows (their texts; None when the record has no amount) in minor units: the plain form
    converted column-wise (formats.amounts.parse_amounts), any other form one by one by parse_amount (its exact
    rules, and a refusal naming the record's line: an empty amount, '-5', '1e9' are not amounts)."""
    count = len(rows)
    if not count:
        return []
    texts = pa.array([row[7] for row in rows], pa.string())
    currencies = [row[8] for row in rows]
    exponent_of = {currency: context.exponent_of(currency) for currency in set(currencies)}
    exponents = np.fromiter((exponent_of[currency] for currency in currencies), np.int64, count) \
        if len(exponent_of) > 1 else np.full(count, next(iter(exponent_of.values())), np.int64)
    minor, done = np.zeros(count, np.int64), np.zeros(count, bool)
    for exponent in np.unique(exponents).tolist():
        where = np.flatnonzero(exponents == exponent)
        part = texts if where.shape[0] == count else texts.take(pa.array(where))
        values, converted = parse_amounts(part, exponent)
        minor[where[converted]] = values[converted]
        done[where[converted]] = True
    amounts = minor.tolist()
    for index in np.flatnonzero(~done).tolist():
        text, currency = rows[index][7], rows[index][8]
        if text is None:
            amounts[index] = None
            continue
        try:
            amounts[index] = parse_amount(text, exponent_of[currency])
        except ValueError as exc:
            raise InputError([Problem(str(context.path), rows[index][10], "Amt", text,
                                      f"not an amount in {currency}: {exc}", "ask the bank for a corrected file")])
    return amounts


# ---- pain.002 and pacs.004: the message element's children, streamed -------------------------------------------

def _message_parts(path: Path, message_name: str, nested: str | None = None):
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


def _first(element, tag: str):
    """First child with this tag (namespace-wildcard tags like '{*}Rsn' match by local name)."""
    for child in element.iterchildren(tag):
        return child
    return None


def _stripped(element) -> str | None:
    text = element.text if element is not None else None
    return (text.strip() or None) if text is not None else None


def _reason_fast(element) -> tuple[str | None, str | None]:
    """_reason of a transaction: the same (first code, all texts joined), children matched in C."""
    code, texts = None, []
    for info in element.iterchildren("{*}StsRsnInf", "{*}RtrInf", "{*}RtrRsnInf"):
        if code is None:
            reason = _first(info, "{*}Rsn")
            if reason is not None:
                code = _stripped(_first(reason, "{*}Cd")) or _stripped(_first(reason, "{*}Prtry"))
        for node in info.iterchildren("{*}AddtlInf"):
            text = _stripped(node)
            if text:
                texts.append(text)
    return code, TEXT_SEPARATOR.join(texts) or None


def _pain002(path: Path, context: _Context):
    for element, complete in _message_parts(path, "CstmrPmtStsRpt", nested="TxInfAndSts"):
        name = _local(element)
        if name == "GrpHdr" and complete:
            context.msg_id = _text(element, "MsgId")
            context.created = context.date(_text(element, "CreDtTm"), element)
        elif name in ("OrgnlGrpInfAndSts", "OrgnlPmtInfAndSts"):
            yield from _pain002_transactions(element, context, complete)
            if complete:
                yield from _pain002_status(element, name, context)


def _pain002_status(element, name: str, context: _Context):
    """The record of a whole-message or whole-block status (and the original MsgId the block records use): a
    reject (RJCT), or any other status said of the whole (ACCP, PART, RVMC...) as a "status" record."""
    if name == "OrgnlGrpInfAndSts":
        context.original_msg_id = _text(element, "OrgnlMsgId")
        status = _text(element, "GrpSts")
        if status == "RJCT":
            total = context.amount(_child(element, "OrgnlCtrlSum"))[0]
            yield context.record(element, "rejected", "message", msg_id=context.original_msg_id,
                                 reason=_reason(element), amount=(total, None), booked=context.created,
                                 status=status)
        elif status:
            yield context.record(element, "status", "message", msg_id=context.original_msg_id,
                                 reason=_reason(element), booked=context.created, status=status)
        return
    status = _text(element, "PmtInfSts")
    if status:
        yield context.record(element, "rejected" if status == "RJCT" else "status", "payment_information",
                             msg_id=context.original_msg_id, pmt_inf_id=_text(element, "OrgnlPmtInfId"),
                             reason=_reason(element), booked=context.created, status=status)


def _pain002_transactions(block, context: _Context, complete: bool):
    """Records of the block's complete TxInfAndSts, which are then removed: "rejected" for RJCT, "status" for any
    other status (Verification of Payee RVNM/RVMC/RCVC, PDNG, ACSP, ACSC...): nothing said is dropped."""
    last = None if complete or not len(block) else block[-1]
    pmt_inf_id, done = None, []
    for element in block.iterchildren("{*}TxInfAndSts"):
        if element is last:
            break
        done.append(element)
        status = _stripped(_first(element, "{*}TxSts"))
        if status is None:  # a transaction said nothing of (its block's status stands for it)
            continue
        if pmt_inf_id is None:
            pmt_inf_id = _text(block, "OrgnlPmtInfId") or ""
        amount = _first(element, "{*}OrgnlTxRef")
        amount = _first(amount, "{*}Amt") if amount is not None else None
        amount = _first(amount, "{*}InstdAmt") if amount is not None else None
        yield context.record(element, "rejected" if status == "RJCT" else "status", "transaction",
                             end_to_end_id=_stripped(_first(element, "{*}OrgnlEndToEndId")),
                             msg_id=context.original_msg_id, pmt_inf_id=pmt_inf_id or None,
                             reason=_reason_fast(element), amount=context.amount(amount), booked=context.created,
                             instr_id=_stripped(_first(element, "{*}OrgnlInstrId")), status=status)
    for element in done:
        block.remove(element)


def _pacs004(path: Path, context: _Context):
    for element, _complete in _message_parts(path, "PmtRtr"):
        name = _local(element)
        if name == "GrpHdr":
            context.msg_id = _text(element, "MsgId")
            context.created = context.date(_text(element, "CreDtTm"), element)
            context.settlement_date = context.date(_text(element, "IntrBkSttlmDt"), element)
        elif name == "OrgnlGrpInf":
            context.original_msg_id = _text(element, "OrgnlMsgId")
        elif name == "TxInf":
            yield _pacs004_transaction(element, context)


def _pacs004_transaction(element, context: _Context) -> ReturnRecord:
    amount = context.amount(_first(element, "{*}RtrdIntrBkSttlmAmt"))
    if amount[0] is None:
        amount = context.amount(_first(element, "{*}RtrdInstdAmt"))
    settled = context.date(_stripped(_first(element, "{*}IntrBkSttlmDt")), element) or context.settlement_date \
        or context.created
    group = _first(element, "{*}OrgnlGrpInf")
    msg_id = _stripped(_first(group, "{*}OrgnlMsgId")) if group is not None else None
    return context.record(element, "returned", "transaction", _stripped(_first(element, "{*}OrgnlEndToEndId")),
                          msg_id or context.original_msg_id, None, _reason_fast(element), amount, settled,
                          _stripped(_first(element, "{*}OrgnlInstrId")))


# ---- entry points -----------------------------------------------------------------------------------------------

def _version(namespace: str, family: str) -> str:
    tail = namespace.rstrip("/").rsplit("/", 1)[-1].rsplit(":", 1)[-1]
    tail = tail[:-4] if tail.endswith(".xsd") else tail
    return tail if tail.startswith(family) else family


def _identify(path: Path, minor_exponent) -> tuple[str, _Context | None]:
    """(message family, reading context) of a file: a .csv is the postal return list, anything else XML (by its
    root element)."""
    if not path.is_file():
        raise refusal(path, None, "file not found", "check the path")
    if path.suffix.lower() == ".csv":
        return POSTAL_KIND, None
    namespace, root, message, header = root_of(path)
    if root != "Document" or message not in MESSAGES:
        raise refusal(path, 1, f"unexpected message <{root}><{message}> ({namespace or 'no namespace'})",
                      "give a pain.002, camt.052, camt.053, camt.054 or pacs.004 file (plain or in a Business Application "
                      "Header envelope)")
    family = MESSAGES[message]
    context = _Context(path, _version(namespace, family), minor_exponent)
    context.header = header
    return family, context


def iter_returns(path, minor_exponent: int | dict | None = None, currency: str | None = None):
    """Yield the ReturnRecords of one file: a .csv is the postal return list, anything else XML (by its root).

    Amounts are read in minor units of their currency's ISO 4217 exponent unless minor_exponent says otherwise
    (one number for every currency, or a dict by currency); `currency` is that of a file that names none (the
    postal list)."""
    path = Path(path)
    family, context = _identify(path, minor_exponent)
    if family == POSTAL_KIND:
        exponent = minor_exponent.get(currency) if isinstance(minor_exponent, dict) else minor_exponent
        yield from read_postal_returns(path, currency, exponent)
    elif family in CAMT:
        yield from _camt(path, context).records(context)
    else:
        yield from {"pain.002": _pain002, "pacs.004": _pacs004}[family](path, context)


def read_returns(path, minor_exponent: int | dict | None = None, currency: str | None = None) -> list[ReturnRecord]:
    """All ReturnRecords of one file; InputError (file, line, what is wrong) for anything malformed or hostile."""
    return list(iter_returns(path, minor_exponent, currency))


def read_returns_table(path, minor_exponent: int | dict | None = None, currency: str | None = None) -> pa.Table:
    """The records of one file as an Arrow table (records_table's columns), built from row tuples without a Python
    object per record for camt files (which can hold hundreds of thousands of entries)."""
    path = Path(path)
    family, context = _identify(path, minor_exponent)
    try:
        if family in CAMT:
            return _camt(path, context).table(context)
        return records_table(list(iter_returns(path, minor_exponent, currency)))
    except (OverflowError, pa.ArrowInvalid) as exc:  # an amount past int64 minor units: no payment is that large
        raise refusal(path, None, f"an amount does not fit in 64-bit minor units ({exc})",
                      "check the file's amounts; isplata never pays that much in one payment") from exc


# ---- postal return CSV ------------------------------------------------------------------------------------------

def _utf8_bytes(path: Path) -> bytes:
    """The file's bytes (without a UTF-8 byte order mark), refused with the line of the first byte that is not
    UTF-8 (a list saved as Windows-1250 or -1251 would otherwise end in an Arrow error)."""
    data = path.read_bytes()
    data = data[3:] if data.startswith(b"\xef\xbb\xbf") else data
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise refusal(path, line, f"not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start})",
                      "save the post's file as UTF-8 CSV (e.g. 'CSV UTF-8' in a spreadsheet)") from None
    return data


def _postal_table(path: Path) -> pa.Table:
    data = _utf8_bytes(path)
    try:
        table = pcsv.read_csv(pa.BufferReader(data), read_options=pcsv.ReadOptions(encoding="utf-8"),
                              convert_options=pcsv.ConvertOptions(strings_can_be_null=False,
                                                                  column_types={}, auto_dict_encode=False))
    except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
        raise refusal(path, None, f"not a readable CSV: {exc}", "save the post's file as UTF-8 CSV") from exc
    table = pa.table({name.strip().lower(): pc.cast(table[name], pa.string()) for name in table.column_names})
    missing = [name for name in ("reference", "status") if name not in table.column_names]
    if missing:
        raise InputError([Problem(str(path), None, name, None, "postal return column missing",
                                  "columns: reference, status, reason, date (amount optional)") for name in missing])
    return table


def _postal_record(path: Path, row: int, values: dict, problems: list, currency: str | None,
                   exponent: int) -> ReturnRecord | None:
    status = (values.get("status") or "").strip().lower()
    reference = (values.get("reference") or "").strip() or None
    if status not in POSTAL_STATUS:
        problems.append(Problem(str(path), row, "status", status, f"unknown status; expected one of "
                                f"{sorted(POSTAL_STATUS)}", "use the post's status words listed"))
        return None
    try:
        booked = date.fromisoformat(values["date"].strip()) if (values.get("date") or "").strip() else None
        amount = parse_amount(values["amount"], exponent) if (values.get("amount") or "").strip() else None
    except ValueError as exc:
        problems.append(Problem(str(path), row, "date/amount", None, str(exc),
                                f"dates YYYY-MM-DD, amounts with at most {exponent} decimals (e.g. 1500 or 12.34)"))
        return None
    reason = (values.get("reason") or "").strip() or None
    code = reason if reason and len(reason) == 4 and reason.isalnum() and reason.isupper() else None
    return ReturnRecord(POSTAL_STATUS[status], "transaction", reference, None, None, code,
                        None if code else reason, amount, currency, booked, None, path.name, row, POSTAL_KIND)


def read_postal_returns(path, currency: str | None = None, minor_exponent: int | None = None) -> list[ReturnRecord]:
    """The post's return list (reference = our EndToEndId, status, reason, date[, amount]); all problems at once.

    The list names no currency: its amounts are in `currency` (the ledger's), read with minor_exponent, by
    default that currency's ISO 4217 exponent ("1500" RSD is 1500.00 dinars, 150000 paras; "12.345" KWD is
    12345 fils), and the records carry that currency.

    The post may list every payment it delivered: status and amount columns are checked and converted with Arrow
    (a known status, a plain amount), dates parsed once per distinct value, and only a row that fails a check
    goes through _postal_record, which names its problem or accepts a form the column checks leave to it."""
    path = Path(path)
    exponent = currency_exponent(currency) if minor_exponent is None else minor_exponent
    table = _postal_table(path)
    count = table.num_rows

    def column(name: str):  # a column left empty throughout is read as nulls: "" like an empty cell
        if name not in table.column_names:
            return pa.array([""] * count)
        return pc.fill_null(pc.utf8_trim_whitespace(table[name]), "")

    status, amount = pc.utf8_lower(column("status")), column("amount")
    minor, converted = parse_amounts(amount, exponent)
    amount_ok = pc.or_(pc.equal(amount, ""), pa.array(converted))
    fast = pc.and_(pc.is_in(status, value_set=pa.array(list(POSTAL_STATUS))), amount_ok)
    problems, records, names, days = [], [], table.column_names, {"": None}
    make, file_name = partial(tuple.__new__, ReturnRecord), path.name
    for row, (ok, kind, reference, reason, day, value, empty) in enumerate(zip(
            fast.to_pylist(), status.to_pylist(), column("reference").to_pylist(), column("reason").to_pylist(),
            column("date").to_pylist(), minor.tolist(), pc.equal(amount, "").to_pylist()), start=1):
        booked = days.get(day, days)
        if booked is days:  # a date not seen yet
            try:
                booked = days[day] = date.fromisoformat(day)
            except ValueError:
                ok = False
        if not ok:  # the row as read, judged one by one
            record = _postal_record(path, row, {name: table[name][row - 1].as_py() for name in names}, problems,
                                    currency, exponent)
            if record is not None:
                records.append(record)
            continue
        code = reason if len(reason) == 4 and reason.isalnum() and reason.isupper() else None
        records.append(make((POSTAL_STATUS[kind], "transaction", reference or None, None, None, code,
                             None if code else reason or None, None if empty else value, currency, booked, None,
                             file_name, row, POSTAL_KIND, None, None, None, None, None)))
    if problems:
        raise InputError(problems)
    return records


# ---- helpers for reconciliation ---------------------------------------------------------------------------------

_TYPES = {"amount_minor": pa.int64(), "booking_date": pa.date32(), "line": pa.int64()}


def _table(columns: dict) -> pa.Table:
    return pa.table({name: pa.array(columns[name], _TYPES.get(name, pa.string())) for name in RECORD_FIELDS})


def records_table(records: list[ReturnRecord]) -> pa.Table:
    """The records as an Arrow table (one column per ReturnRecord field)."""
    columns = list(zip(*records)) if records else [()] * len(RECORD_FIELDS)
    return _table({name: list(values) for name, values in zip(RECORD_FIELDS, columns)})


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
