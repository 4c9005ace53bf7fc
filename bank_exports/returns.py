"""Readers of what banks and the post send back: pain.002, camt.054, camt.053, pacs.004 (any version, matched by
local element names) and the postal return CSV. Each yields ReturnRecords: which payment (EndToEndId, or the
original MsgId / PmtInfId of a whole-file or whole-block status), what happened (rejected, returned, settled),
why (reason code and text), how much, when, and where in which file it was said.

A group-level RJCT (pain.002 GrpSts, e.g. AM10 control sum) rejects every payment of the referenced message: the
record has scope "message" and no EndToEndId, and `expand_records` turns it into one record per payment given
the export's assignments. A camt DBIT entry that names our MsgId / PmtInfId is the batch debit that settles the
file. RvslInd is ignored: banks set it inconsistently on returns. XML is read with safexml (no DTD, no entities,
no network, streaming).
"""
from dataclasses import asdict, dataclass, fields, replace
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv

from bank_exports.safexml import iterate, refusal, root_of
from engine.money import decimal_str_to_minor
from formats.errors import InputError, Problem

KINDS = ("rejected", "returned", "settled")
SCOPES = ("transaction", "payment_information", "message")
MESSAGES = {"CstmrPmtStsRpt": "pain.002", "BkToCstmrDbtCdtNtfctn": "camt.054", "BkToCstmrStmt": "camt.053",
            "PmtRtr": "pacs.004"}
POSTAL_KIND = "postal-return"
POSTAL_STATUS = {"paid": "settled", "delivered": "settled", "settled": "settled", "returned": "returned",
                 "undelivered": "returned", "unclaimed": "returned", "refused": "returned", "rejected": "rejected"}
TEXT_SEPARATOR = "; "


@dataclass(frozen=True, slots=True)
class ReturnRecord:
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


RECORD_FIELDS = tuple(field.name for field in fields(ReturnRecord))


class _Context:
    """What the reader knows about the file so far (header values, the current original message)."""

    def __init__(self, path: Path, message: str, exponent):
        self.path = path
        self.message = message
        self.exponent = exponent
        self.msg_id: str | None = None
        self.created: date | None = None
        self.settlement_date: date | None = None
        self.original_msg_id: str | None = None

    def record(self, element, **values) -> ReturnRecord:
        base = dict(original_end_to_end_id=None, original_msg_id=self.original_msg_id, original_pmt_inf_id=None,
                    reason_code=None, reason_text=None, amount_minor=None, currency=None, booking_date=None,
                    source_msg_id=self.msg_id, source_file=self.path.name, line=element.sourceline,
                    source_message=self.message)
        base.update(values)
        return ReturnRecord(**base)

    def amount(self, element) -> tuple[int | None, str | None]:
        """(minor units, currency) of an amount element; None, None when absent."""
        if element is None or element.text is None:
            return None, None
        currency = element.get("Ccy")
        exponent = self.exponent.get(currency, 2) if isinstance(self.exponent, dict) else self.exponent
        try:
            return decimal_str_to_minor(element.text, exponent), currency
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
    return tag[tag.rfind("}") + 1:] if isinstance(tag, str) else "?"


def _path(*names: str) -> str:
    return "/".join(f"{{*}}{name}" for name in names)


def _text(element, *names: str) -> str | None:
    found = element.findtext(_path(*names))
    return found.strip() if found is not None and found.strip() else None


def _reason(element) -> tuple[str | None, str | None]:
    """(code, text) of StsRsnInf / RtrInf / RtrRsnInf children of element: first code, all texts joined."""
    code, texts = None, []
    for info in element:
        if _local(info) not in ("StsRsnInf", "RtrInf", "RtrRsnInf"):
            continue
        code = code or _text(info, "Rsn", "Cd") or _text(info, "Rsn", "Prtry")
        texts += [text.strip() for text in info.findall("{*}AddtlInf") for text in [text.text or ""] if text.strip()]
    return code, TEXT_SEPARATOR.join(texts) or None


# ---- pain.002 ---------------------------------------------------------------------------------------------------

def _pain002(path: Path, context: _Context):
    for element, name in iterate(path, ("GrpHdr", "OrgnlGrpInfAndSts", "TxInfAndSts", "OrgnlPmtInfAndSts")):
        if name == "GrpHdr":
            context.msg_id = _text(element, "MsgId")
            context.created = context.date(_text(element, "CreDtTm"), element)
        elif name == "OrgnlGrpInfAndSts":
            context.original_msg_id = _text(element, "OrgnlMsgId")
            if _text(element, "GrpSts") == "RJCT":
                code, text = _reason(element)
                total, _ = context.amount(element.find("{*}OrgnlCtrlSum"))
                yield context.record(element, kind="rejected", scope="message", reason_code=code,
                                     reason_text=text, amount_minor=total, booking_date=context.created)
        elif name == "OrgnlPmtInfAndSts" and _text(element, "PmtInfSts") == "RJCT":
            code, text = _reason(element)
            yield context.record(element, kind="rejected", scope="payment_information", reason_code=code,
                                 reason_text=text, original_pmt_inf_id=_text(element, "OrgnlPmtInfId"),
                                 booking_date=context.created)
        elif name == "TxInfAndSts" and _text(element, "TxSts") == "RJCT":
            yield _pain002_transaction(element, context)


def _pain002_transaction(element, context: _Context) -> ReturnRecord:
    code, text = _reason(element)
    amount, currency = context.amount(element.find(_path("OrgnlTxRef", "Amt", "InstdAmt")))
    parent = element.getparent()
    return context.record(element, kind="rejected", scope="transaction", reason_code=code, reason_text=text,
                          original_end_to_end_id=_text(element, "OrgnlEndToEndId"),
                          original_pmt_inf_id=_text(parent, "OrgnlPmtInfId") if parent is not None else None,
                          amount_minor=amount, currency=currency, booking_date=context.created)


# ---- camt.053 / camt.054 ----------------------------------------------------------------------------------------

def _camt(path: Path, context: _Context):
    for element, name in iterate(path, ("GrpHdr", "Ntry")):
        if name == "GrpHdr":
            context.msg_id = _text(element, "MsgId")
            context.created = context.date(_text(element, "CreDtTm"), element)
        else:
            yield from _camt_entry(element, context)


def _entry_status(entry) -> str | None:
    return _text(entry, "Sts", "Cd") or _text(entry, "Sts") or _text(entry, "Sts", "Prtry")


def _tx_amount(tx, context: _Context):
    for path in (("Amt",), ("AmtDtls", "TxAmt", "Amt"), ("AmtDtls", "InstdAmt", "Amt")):
        amount, currency = context.amount(tx.find(_path(*path)))
        if amount is not None:
            return amount, currency
    return None, None


def _camt_entry(entry, context: _Context):
    if _entry_status(entry) not in (None, "BOOK"):  # pending or information only: not final yet
        return
    side = _text(entry, "CdtDbtInd")
    booked = context.date(_text(entry, "BookgDt", "Dt") or _text(entry, "BookgDt", "DtTm")
                          or _text(entry, "ValDt", "Dt"), entry)
    entry_amount, entry_currency = context.amount(entry.find("{*}Amt"))
    transactions = entry.findall(_path("NtryDtls", "TxDtls"))
    entry_return = _text(entry, "BkTxCd", "Domn", "Fmly", "SubFmlyCd") == "RRTN"
    common = dict(booking_date=booked, original_msg_id=None)
    for tx in transactions:
        amount, currency = _tx_amount(tx, context)
        if amount is None and len(transactions) == 1:
            amount, currency = entry_amount, entry_currency
        refs = dict(original_end_to_end_id=_text(tx, "Refs", "EndToEndId"), amount_minor=amount,
                    currency=currency or entry_currency, original_msg_id=_text(tx, "Refs", "MsgId"),
                    original_pmt_inf_id=_text(tx, "Refs", "PmtInfId"))
        is_return = tx.find("{*}RtrInf") is not None or entry_return or \
            _text(tx, "BkTxCd", "Domn", "Fmly", "SubFmlyCd") == "RRTN"
        if side == "CRDT" and is_return:
            code, text = _reason(tx)
            yield context.record(tx, kind="returned", scope="transaction", reason_code=code, reason_text=text,
                                 **{**common, **refs})
        elif side == "DBIT" and refs["original_end_to_end_id"] and not is_return:
            yield context.record(tx, kind="settled", scope="transaction", **{**common, **refs})
    if side == "DBIT" and not any(_text(tx, "Refs", "EndToEndId") for tx in transactions):
        yield from _batch_debit(entry, transactions, context, booked, entry_amount, entry_currency)


def _batch_debit(entry, transactions, context: _Context, booked, amount, currency):
    """A DBIT booking without per-payment details that names a MsgId / PmtInfId: the file's batch debit."""
    msg_id = _text(entry, "NtryDtls", "Btch", "MsgId")
    pmt_inf_id = _text(entry, "NtryDtls", "Btch", "PmtInfId")
    for tx in transactions:
        msg_id = msg_id or _text(tx, "Refs", "MsgId")
        pmt_inf_id = pmt_inf_id or _text(tx, "Refs", "PmtInfId")
    if msg_id is None and pmt_inf_id is None:
        return  # a fee or another debit that is not ours
    scope = "payment_information" if pmt_inf_id else "message"
    yield context.record(entry, kind="settled", scope=scope, original_msg_id=msg_id, original_pmt_inf_id=pmt_inf_id,
                         amount_minor=amount, currency=currency, booking_date=booked)


# ---- pacs.004 ---------------------------------------------------------------------------------------------------

def _pacs004(path: Path, context: _Context):
    for element, name in iterate(path, ("GrpHdr", "OrgnlGrpInf", "TxInf"), keep_nested=("OrgnlGrpInf",)):
        if name == "GrpHdr":
            context.msg_id = _text(element, "MsgId")
            context.created = context.date(_text(element, "CreDtTm"), element)
            context.settlement_date = context.date(_text(element, "IntrBkSttlmDt"), element)
        elif name == "OrgnlGrpInf" and _local(element.getparent()) != "TxInf":
            context.original_msg_id = _text(element, "OrgnlMsgId")
        elif name == "TxInf":
            yield _pacs004_transaction(element, context)


def _pacs004_transaction(element, context: _Context) -> ReturnRecord:
    amount, currency = context.amount(element.find("{*}RtrdIntrBkSttlmAmt"))
    if amount is None:
        amount, currency = context.amount(element.find("{*}RtrdInstdAmt"))
    code, text = _reason(element)
    settled = context.date(_text(element, "IntrBkSttlmDt"), element) or context.settlement_date or context.created
    return context.record(element, kind="returned", scope="transaction", reason_code=code, reason_text=text,
                          original_end_to_end_id=_text(element, "OrgnlEndToEndId"),
                          original_msg_id=_text(element, "OrgnlGrpInf", "OrgnlMsgId") or context.original_msg_id,
                          amount_minor=amount, currency=currency, booking_date=settled)


# ---- entry points -----------------------------------------------------------------------------------------------

def _version(namespace: str, family: str) -> str:
    tail = namespace.rstrip("/").rsplit("/", 1)[-1].rsplit(":", 1)[-1]
    tail = tail[:-4] if tail.endswith(".xsd") else tail
    return tail if tail.startswith(family) else family


def iter_returns(path, minor_exponent: int | dict = 2):
    """Yield the ReturnRecords of one file: a .csv is the postal return list, anything else XML (by its root)."""
    path = Path(path)
    if not path.is_file():
        raise refusal(path, None, "file not found", "check the path")
    if path.suffix.lower() == ".csv":
        yield from read_postal_returns(path)
        return
    namespace, root, message = root_of(path)
    if root != "Document" or message not in MESSAGES:
        raise refusal(path, 1, f"unexpected message <{root}><{message}> ({namespace or 'no namespace'})",
                      "give a pain.002, camt.053, camt.054 or pacs.004 file")
    family = MESSAGES[message]
    context = _Context(path, _version(namespace, family), minor_exponent)
    reader = {"pain.002": _pain002, "camt.054": _camt, "camt.053": _camt, "pacs.004": _pacs004}[family]
    yield from reader(path, context)


def read_returns(path, minor_exponent: int | dict = 2) -> list[ReturnRecord]:
    """All ReturnRecords of one file; InputError (file, line, what is wrong) for anything malformed or hostile."""
    return list(iter_returns(path, minor_exponent))


# ---- postal return CSV ------------------------------------------------------------------------------------------

def _postal_table(path: Path) -> pa.Table:
    try:
        table = pcsv.read_csv(path, read_options=pcsv.ReadOptions(encoding="utf-8"),
                              convert_options=pcsv.ConvertOptions(strings_can_be_null=False,
                                                                  column_types={}, auto_dict_encode=False))
    except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
        raise refusal(path, None, f"not a readable UTF-8 CSV: {exc}", "save the post's file as UTF-8 CSV") from exc
    table = pa.table({name.strip().lower(): pc.cast(table[name], pa.string()) for name in table.column_names})
    missing = [name for name in ("reference", "status") if name not in table.column_names]
    if missing:
        raise InputError([Problem(str(path), None, name, None, "postal return column missing",
                                  "columns: reference, status, reason, date (amount optional)") for name in missing])
    return table


def _postal_record(path: Path, row: int, values: dict, problems: list) -> ReturnRecord | None:
    status = (values.get("status") or "").strip().lower()
    reference = (values.get("reference") or "").strip() or None
    if status not in POSTAL_STATUS:
        problems.append(Problem(str(path), row, "status", status, f"unknown status; expected one of "
                                f"{sorted(POSTAL_STATUS)}", "use the post's status words listed"))
        return None
    try:
        booked = date.fromisoformat(values["date"].strip()) if (values.get("date") or "").strip() else None
        amount = decimal_str_to_minor(values["amount"]) if (values.get("amount") or "").strip() else None
    except ValueError as exc:
        problems.append(Problem(str(path), row, "date/amount", None, str(exc), "dates YYYY-MM-DD, amounts 12.34"))
        return None
    reason = (values.get("reason") or "").strip() or None
    code = reason if reason and len(reason) == 4 and reason.isalnum() and reason.isupper() else None
    return ReturnRecord(POSTAL_STATUS[status], "transaction", reference, None, None, code,
                        None if code else reason, amount, None, booked, None, path.name, row, POSTAL_KIND)


def read_postal_returns(path) -> list[ReturnRecord]:
    """The post's return list (reference = our EndToEndId, status, reason, date[, amount]); all problems at once."""
    path = Path(path)
    table = _postal_table(path)
    problems, records = [], []
    for row, values in enumerate(table.to_pylist(), start=1):
        record = _postal_record(path, row, values, problems)
        if record is not None:
            records.append(record)
    if problems:
        raise InputError(problems)
    return records


# ---- helpers for reconciliation ---------------------------------------------------------------------------------

def records_table(records: list[ReturnRecord]) -> pa.Table:
    """The records as an Arrow table (one column per ReturnRecord field)."""
    types = {"amount_minor": pa.int64(), "booking_date": pa.date32(), "line": pa.int64()}
    rows = [asdict(record) for record in records]
    return pa.table({name: pa.array([row[name] for row in rows], types.get(name, pa.string()))
                     for name in RECORD_FIELDS})


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
            expanded.append(replace(record, scope="transaction", original_end_to_end_id=e2e,
                                    original_msg_id=msg_id, original_pmt_inf_id=pmt_inf_id, amount_minor=amount))
    return expanded
