"""camt.052 / camt.053 / camt.054: the entries of an account. camt files, which can hold hundreds of thousands of
entries, are fed to a pull parser in 64 KB chunks that reports only where a notification / statement starts;
after each chunk the complete entries are walked (only the few elements the reader needs, tags compared with the
file's own namespace) into rows and removed from the tree: memory stays flat, and the table is built from the
rows without a Python object per record. (An XSLT that printed the fields as text was slower: libxslt evaluates
its templates more slowly than this walk.) A DBIT entry that names our MsgId / PmtInfId is the batch debit that
settles a file; an entry that is neither a return nor a settlement is kind "other" (reconcile sorts out whose it
is). A TxDtls's own CdtDbtInd (an entry can batch credits and debits) decides for that detail. RvslInd: a debit
that reverses an earlier credit is never a settlement (kind "other"); on a credit it is ignored, as banks set it
inconsistently on returns. An entry not booked yet (Sts PDNG, INFO, FUTR...) books nothing but is not dropped
either: each of its details is a "status" record carrying that status."""
from functools import lru_cache, partial
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pyarrow as pa
from lxml import etree

from bank_exports.returns.record import TEXT_SEPARATOR, Context, ReturnRecord, child_text, local_name, normalized_text
from bank_exports.safexml import pull
from formats.amounts import format_amount, parse_amount, parse_amounts
from formats.errors import InputError, Problem

_CAMT_CONTAINERS = ("Ntfctn", "Stmt", "Rpt")


class Row(NamedTuple):
    """What varies between the records of one file (the rest is the file's), the amount still as text."""
    kind: str
    scope: str
    original_end_to_end_id: str | None
    original_msg_id: str | None
    original_pmt_inf_id: str | None
    reason_code: str | None
    reason_text: str | None
    amount_text: str | None       # None: no amount; "": an amount element without one (refused)
    currency: str | None
    booking_date: object
    line: int | None
    original_instr_id: str | None
    status: str | None = None     # an entry not booked (PDNG, INFO...): kind "status"
    instructed_text: str | None = None  # AmtDtls/InstdAmt of the detail, in the row's currency (else None)
    bank_ref: str | None = None   # AcctSvcrRef of the movement: the detail's, or the entry's for the entry's record


class TxDetails(NamedTuple):
    """What one TxDtls says: '' (False) for what is absent, None for an absent amount."""
    end_to_end_id: str
    msg_id: str
    pmt_inf_id: str
    amount: str | None
    currency: str
    other_amount: str | None      # AmtDtls (TxAmt over InstdAmt)
    other_currency: str
    family: str                   # BkTxCd sub-family, e.g. RRTN
    returned: bool                # RtrInf present
    reason_code: str
    reason_text: str
    instr_id: str
    line: int | None
    side: str = ""                # the detail's own CdtDbtInd, '' when it has none (the entry's stands)
    instructed: str | None = None  # AmtDtls/InstdAmt: the payment's instructed amount
    instructed_currency: str = ""
    bank_ref: str = ""            # Refs/AcctSvcrRef


class Entry(NamedTuple):
    """What one booked entry (Ntry) says around its details: '' for what is absent."""
    status: str
    side: str                     # CdtDbtInd: CRDT | DBIT
    booked_text: str
    value_text: str
    amount: str | None
    currency: str
    family: str
    batch_msg_id: str             # NtryDtls/Btch: the file a batch debit settles
    batch_pmt_inf_id: str
    details: list                 # TxDetails, in document order
    reversal: bool = False        # RvslInd true
    bank_ref: str = ""            # AcctSvcrRef of the entry


class CamtTags(NamedTuple):
    """The tags of one namespace the entry walk compares (unpacked into locals in the walk: no lookups)."""
    ntry: str
    ntry_dtls: str
    tx_dtls: str
    btch: str
    amt: str
    cdt_dbt: str
    sts: str
    bookg: str
    val: str
    bk_tx_cd: str
    refs: str
    e2e: str
    msg: str
    pmt_inf: str
    amt_dtls: str
    instd: str
    tx_amt: str
    rtr: str
    rsn: str
    addtl: str
    sub_fmly: str
    instr: str
    rvsl: str
    acct_svcr: str


CAMT_ELEMENTS = ("Ntry", "NtryDtls", "TxDtls", "Btch", "Amt", "CdtDbtInd", "Sts", "BookgDt", "ValDt", "BkTxCd",
                 "Refs", "EndToEndId", "MsgId", "PmtInfId", "AmtDtls", "InstdAmt", "TxAmt", "RtrInf", "Rsn",
                 "AddtlInf", "SubFmlyCd", "InstrId", "RvslInd", "AcctSvcrRef")  # CamtTags' order
NO_DETAILS = TxDetails("", "", "", None, "", None, "", "", False, "", "", "", None, "", None, "", "")
new_row = partial(tuple.__new__, Row)  # a Row from a tuple without NamedTuple's Python-level __new__ (inner loop)
new_details = partial(tuple.__new__, TxDetails)
new_entry = partial(tuple.__new__, Entry)


@lru_cache(maxsize=16)
def camt_tags(namespace: str) -> CamtTags:
    return CamtTags(*(f"{{{namespace}}}{name}" if namespace else name for name in CAMT_ELEMENTS))


class Rows:
    """Records gathered as Rows of the fields that vary within a file, amounts still as text (converted
    column-wise at the end); no ReturnRecord per record until records are asked for."""

    def __init__(self):
        self.rows = []
        self.amounts = []

    def __len__(self) -> int:
        return len(self.rows)

    def records(self, context: Context):
        message_id, file_name, message = context.msg_id, context.file_name, context.message
        sender, header_msg_id, header_created = context.header
        make = partial(tuple.__new__, ReturnRecord)  # fields in ReturnRecord's order, named below
        for row, amount in zip(self.rows, self.amounts):
            instructed = None if row.instructed_text is None else \
                context.amount_text(row.instructed_text, row.currency, row.line, "InstdAmt")
            yield make((row.kind, row.scope, row.original_end_to_end_id, row.original_msg_id,
                        row.original_pmt_inf_id, row.reason_code, row.reason_text, amount, row.currency,
                        row.booking_date, message_id, file_name, row.line, message, row.original_instr_id,
                        row.status, sender, header_msg_id, header_created, instructed, row.bank_ref))


def _sub_family(code, sub_family_tag: str) -> str:
    """BkTxCd/Domn/Fmly/SubFmlyCd (the only SubFmlyCd a BkTxCd holds), '' when absent."""
    for sub in code.iter(sub_family_tag):
        text = sub.text
        return text.strip() if text else ""
    return ""


def _tx_details(tx, tags: CamtTags) -> TxDetails:
    """One TxDtls; '' (False) for what is absent, None for an absent amount (an amount element that is there but
    empty is refused when amounts are converted)."""
    (_, _, _, _, AMT, CDT_DBT, _, _, _, BK_TX_CD, REFS, E2E, MSG, PMT_INF, AMT_DTLS, INSTD, TX_AMT, RTR, RSN, ADDTL,
     SUB_FMLY, INSTR, _, ACCT_SVCR) = tags
    e2e = msg_id = pmt_inf_id = currency = other_currency = family = code = instr_id = side = instructed_currency = ""
    bank_ref = ""
    amount = other = instructed = None
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
                elif ref_tag == ACCT_SVCR:
                    bank_ref = (ref.text or "").strip()
        elif part_tag == AMT:
            amount, currency = (part.text or "").strip(), part.get("Ccy", "").strip()
        elif part_tag == RTR:
            returned = True
            for info in part:
                if info.tag == RSN:
                    code = normalized_text(info)
                elif info.tag == ADDTL:
                    text = normalized_text(info)
                    if text:
                        texts.append(text)
        elif part_tag == AMT_DTLS:
            for kind in part:
                if kind.tag == INSTD or kind.tag == TX_AMT:
                    for value in kind:
                        if value.tag == AMT:  # the last one given wins (TxAmt over InstdAmt)
                            other, other_currency = (value.text or "").strip(), value.get("Ccy", "").strip()
                            if kind.tag == INSTD:
                                instructed, instructed_currency = other, other_currency
        elif part_tag == BK_TX_CD:
            family = _sub_family(part, SUB_FMLY)
        elif part_tag == CDT_DBT:
            side = (part.text or "").strip()
    return new_details((e2e, msg_id, pmt_inf_id, amount, currency, other, other_currency, family, returned,
                        code, TEXT_SEPARATOR.join(texts), instr_id, tx.sourceline, side, instructed,
                        instructed_currency, bank_ref))


def _entry(entry, tags: CamtTags) -> Entry:
    """The direct children of one Ntry that decide its records, and its TxDtls."""
    (_, NTRY_DTLS, TX_DTLS, BTCH, AMT, CDT_DBT, STS, BOOKG, VAL, BK_TX_CD, _, _, MSG, PMT_INF, _, _, _, _, _, _,
     SUB_FMLY, _, RVSL, ACCT_SVCR) = tags
    status = side = booked_text = value_text = currency = family = batch_msg_id = batch_pmt_inf_id = bank_ref = ""
    amount, found, reversal = None, [], False
    for child in entry:
        child_tag = child.tag
        if child_tag == NTRY_DTLS:
            for part in child:
                if part.tag == TX_DTLS:
                    found.append(_tx_details(part, tags))
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
            status = normalized_text(child)
        elif child_tag == BOOKG:
            booked_text = normalized_text(child)
        elif child_tag == VAL:
            value_text = normalized_text(child)
        elif child_tag == BK_TX_CD:
            family = _sub_family(child, SUB_FMLY)
        elif child_tag == RVSL:
            reversal = (child.text or "").strip().lower() in ("true", "1")
        elif child_tag == ACCT_SVCR:
            bank_ref = (child.text or "").strip()
    return new_entry((status, side, booked_text, value_text, amount, currency, family, batch_msg_id,
                      batch_pmt_inf_id, found, reversal, bank_ref))


def _entry_rows(entry, tags: CamtTags, context: Context, rows: list, dates: dict) -> None:
    """Records of one entry: returned details (CRDT), settled payments or the batch debit (DBIT) of a booked
    entry; a "status" record per detail of an entry not booked yet."""
    said = _entry(entry, tags)
    found = said.details or [NO_DETAILS]
    if said.status and said.status != "BOOK":  # pending or information only: not final, told as said
        rows.extend(_pending_row(tx, said, entry.sourceline) for tx in found)
        return
    day_text = (said.booked_text or said.value_text)[:10]
    booked = dates.get(day_text, dates)
    if booked is dates:
        booked = dates[day_text] = context.date(day_text, entry)
    entry_return = said.family == "RRTN"
    batch_debit = said.side == "DBIT" and not said.reversal and not entry_return and \
        not any(tx.end_to_end_id or tx.side == "CRDT" for tx in found)
    single = len(found) == 1
    unbalanced = _unbalanced(said, said.details, context, entry.sourceline)
    for position, tx in enumerate(found):
        if batch_debit and (said.batch_msg_id or said.batch_pmt_inf_id or tx.msg_id or tx.pmt_inf_id):
            if not position:  # the batch debit of a file: one record for the entry
                rows.append(_batch_debit_row(tx, said, booked, entry.sourceline))
            continue
        row = _detail_row(tx, said, entry_return, single, booked, entry.sourceline)
        rows.append(row if unbalanced is None else row._replace(kind="other", status=UNBALANCED, reason_text=unbalanced))


UNBALANCED = "unbalanced"  # Row.status of a booked entry's detail whose entry does not add up: kind "other"


def _unbalanced(said: Entry, details: list, context: Context, line: int) -> str | None:
    """Why a booked entry does not add up, else None. The money that moved is the entry's Amt (which must be an
    amount: refused with its line otherwise); details that each give their own Amt in the entry's currency must
    not add up to more than it (a detail on the other side counts against it): a debit of 100.00 naming payments
    of 4,910.82 would book what the bank did not move. Less is allowed: the bank's charges included in the entry
    (Chrgs, ChrgInclInd). Details without their own Amt, or in another currency, are not summed."""
    if said.amount is None:
        return None
    total = context.amount_text(said.amount, said.currency or None, line, "Amt")
    if not details or any(tx.amount is None or (tx.currency or said.currency) != said.currency for tx in details):
        return None
    summed = sum(context.amount_text(tx.amount, said.currency or None, tx.line or line, "Amt") *
                 (1 if (tx.side or said.side) == said.side else -1) for tx in details)
    if summed <= total:
        return None
    exponent = context.exponent_of(said.currency or None)
    return (f"the entry booked {format_amount(total, exponent)} {said.currency} but its details add up to "
            f"{format_amount(summed, exponent)}: nothing booked; ask the bank which is right")


def _pending_row(tx: TxDetails, said: Entry, entry_line: int) -> Row:
    """An entry's detail (or the entry) not booked yet: a "status" record of the payment, block or file it
    names, with the entry's status; reconcile records it and books nothing. No day nor amount is read of it (not
    final, and a malformed one must not refuse the booked entries of the file)."""
    msg_id, pmt_inf_id = tx.msg_id or said.batch_msg_id, tx.pmt_inf_id or said.batch_pmt_inf_id
    scope = "transaction" if tx.end_to_end_id or tx.instr_id or not (msg_id or pmt_inf_id) else \
        "payment_information" if pmt_inf_id else "message"
    return new_row(("status", scope, tx.end_to_end_id or None, msg_id or None, pmt_inf_id or None,
                    tx.reason_code or None, tx.reason_text or None, None, None, None,
                    tx.line or entry_line, tx.instr_id or None, said.status, None, tx.bank_ref or None))


def _batch_debit_row(tx: TxDetails, said: Entry, booked, entry_line: int) -> Row:
    """The settlement of a whole file or block: the entry's amount, the MsgId / PmtInfId it names."""
    msg_id, pmt_inf_id = said.batch_msg_id or tx.msg_id, said.batch_pmt_inf_id or tx.pmt_inf_id
    return Row("settled", "payment_information" if pmt_inf_id else "message", None, msg_id or None,
               pmt_inf_id or None, None, None, said.amount, said.currency or None, booked, entry_line, None, None,
               None, said.bank_ref or None)


def _detail_row(tx: TxDetails, said: Entry, entry_return: bool, single: bool, booked, entry_line: int) -> Row:
    """The record of one TxDtls of a booked entry (or of the entry itself when it has none): its own CdtDbtInd
    over the entry's; a debit that reverses (RvslInd) is never a settlement."""
    is_return = tx.returned or entry_return or tx.family == "RRTN"
    side = tx.side or said.side
    if tx.amount is None and single and said.amount is not None:  # what moved is the entry's (AmtDtls: instructed)
        value, value_currency = said.amount, said.currency
    else:
        value, value_currency = (tx.amount, tx.currency) if tx.amount is not None else (tx.other_amount,
                                                                                          tx.other_currency)
    code, text = tx.reason_code or None, tx.reason_text or None
    if side == "CRDT" and is_return:
        kind = "returned"
    elif side == "DBIT" and not is_return and tx.end_to_end_id and not said.reversal:
        kind, code, text = "settled", None, None
    else:  # a fee, an incoming credit, a debit without reference, a debit return: for reconcile to sort
        kind = "other"
    line = tx.line or entry_line  # each record cites its own TxDtls; a record of the entry, the entry
    currency = (value_currency or said.currency) or None
    instructed = tx.instructed if tx.instructed and (tx.instructed_currency or currency) == currency else None
    bank_ref = tx.bank_ref or (said.bank_ref if single else "")  # an entry's reference is one detail's only alone
    return new_row((kind, "transaction", tx.end_to_end_id or None, tx.msg_id or None, tx.pmt_inf_id or None, code,
                    text, value, currency, booked, line, tx.instr_id or None, None, instructed, bank_ref or None))


def read_camt(path: Path, context: Context) -> Rows:
    """Entries are read straight from the parser's tree: after each chunk of input, the complete entries of the
    open notification / statement are walked (their direct children, those of TxDtls and a few below; nothing
    else of a large entry is visited) into rows and removed, so memory stays flat. The parser reports only the
    start of each notification / statement: when one starts, the group header and any earlier one are complete."""
    open_containers = []
    out = Rows()
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
    out.amounts = minor_amounts(out.rows, context)
    return out


def _message_element(root):
    """The message element (first child of the Document) of a parsed tree, enveloped or not; None if empty."""
    document = root if local_name(root) == "Document" else next(root.iter("{*}Document"), None)
    return document[0] if document is not None and len(document) else None


def _camt_header(elements, context: Context) -> None:
    """MsgId and creation time of the group header, if among the elements."""
    for element in elements:
        if local_name(element) == "GrpHdr":
            context.msg_id = child_text(element, "MsgId")
            context.created = context.date(child_text(element, "CreDtTm"), element)
            return


def _camt_entries(container, context: Context, out: Rows, final: bool) -> None:
    """Rows of the complete entries of the container (all of them when final), which are then removed."""
    if not len(container):
        return
    tags = camt_tags(etree.QName(container).namespace or "")
    last = None if final else container[-1]  # the last child may still be growing
    rows, dates, done = out.rows, {}, 0
    for entry in container.iterchildren(tags.ntry):
        if entry is last:
            break
        _entry_rows(entry, tags, context, rows, dates)
        done += 1
    if done:
        count = len(container) if final else container.index(last)
        del container[:count]  # the entries read and whatever else came before them (headers, balances)


def minor_amounts(rows: list, context: Context) -> list:
    """Amounts of the rows (their texts; None when the record has no amount) in minor units: the plain form
    converted column-wise (formats.amounts.parse_amounts), any other form one by one by parse_amount (its exact
    rules, and a refusal naming the record's line: an empty amount, '-5', '1e9' are not amounts)."""
    count = len(rows)
    if not count:
        return []
    texts = pa.array([row.amount_text for row in rows], pa.string())
    currencies = [row.currency for row in rows]
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
        text, currency = rows[index].amount_text, rows[index].currency
        if text is None:
            amounts[index] = None
            continue
        try:
            amounts[index] = parse_amount(text, exponent_of[currency])
        except ValueError as exc:
            raise InputError([Problem(str(context.path), rows[index].line, "Amt", text,
                                      f"not an amount in {currency}: {exc}", "ask the bank for a corrected file")])
    return amounts
