"""Readers of what banks and the post send back: pain.002, camt.054, camt.053, pacs.004 (any version, matched by
local element names) and the postal return CSV. Each yields ReturnRecords: which payment (EndToEndId, or the
original MsgId / PmtInfId of a whole-file or whole-block status), what happened (rejected, returned, settled),
why (reason code and text), how much, when, and where in which file it was said.

A group-level RJCT (pain.002 GrpSts, e.g. AM10 control sum) rejects every payment of the referenced message: the
record has scope "message" and no EndToEndId, and `expand_records` turns it into one record per payment given
the export's assignments. A camt DBIT entry that names our MsgId / PmtInfId is the batch debit that settles the
file. RvslInd is ignored: banks set it inconsistently on returns. XML is read with safexml (no DTD, no entities,
no network, streaming). camt files, which can hold hundreds of thousands of entries, are fed to a pull parser in
1 MB chunks; after each chunk the complete entries go through a compiled XSLT that prints their fields as coded
text in one C call, and are removed from the tree: memory stays flat and Python touches each entry once.
"""
from datetime import date
from functools import lru_cache
from itertools import islice
from pathlib import Path
from typing import NamedTuple

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv
from lxml import etree

from bank_exports.safexml import iterate, pull, refusal, root_of
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

    def record(self, element, kind: str, scope: str, end_to_end_id=None, msg_id=None, pmt_inf_id=None,
               reason=(None, None), amount=(None, None), booked=None) -> ReturnRecord:
        return ReturnRecord(kind, scope, end_to_end_id, msg_id, pmt_inf_id, reason[0], reason[1], amount[0],
                            amount[1], booked, self.msg_id, self.file_name, element.sourceline, self.message)

    def exponent_of(self, currency: str | None) -> int:
        exponent = self._exponents.get(currency)
        if exponent is None:
            exponent = self.exponent.get(currency, 2) if isinstance(self.exponent, dict) else self.exponent
            self._exponents[currency] = exponent
        return exponent

    def amount_text(self, text: str, currency: str | None, element) -> int:
        exponent = self.exponent_of(currency)
        try:
            return amount_to_minor(text, exponent)
        except ValueError as exc:
            raise InputError([Problem(str(self.path), element.sourceline, _local(element), text,
                                      f"not an amount in {currency}: {exc}", "ask the bank for a corrected file")])

    def amount(self, element) -> tuple[int | None, str | None]:
        """(minor units, currency) of an amount element; None, None when absent."""
        if element is None or element.text is None:
            return None, None
        currency = element.get("Ccy")
        exponent = self.exponent.get(currency, 2) if isinstance(self.exponent, dict) else self.exponent
        try:
            return amount_to_minor(element.text, exponent), currency
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


def amount_to_minor(text: str, exponent: int) -> int:
    """engine.money.decimal_str_to_minor with a fast path for the plain '123.45' form of ISO amounts."""
    whole, point, fraction = text.partition(".")
    plain = whole.isascii() and whole.isdigit() and len(whole) <= 18 and len(fraction) <= exponent and (
        fraction.isascii() and fraction.isdigit() or not point)
    if not plain:
        return decimal_str_to_minor(text, exponent)  # other forms, and its exact refusal of extra decimals
    return int(whole + fraction.ljust(exponent, "0"))


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


# ---- pain.002 ---------------------------------------------------------------------------------------------------

def _pain002(path: Path, context: _Context):
    for element, name in iterate(path, ("GrpHdr", "OrgnlGrpInfAndSts", "TxInfAndSts", "OrgnlPmtInfAndSts")):
        if name == "GrpHdr":
            context.msg_id = _text(element, "MsgId")
            context.created = context.date(_text(element, "CreDtTm"), element)
        elif name == "OrgnlGrpInfAndSts":
            context.original_msg_id = _text(element, "OrgnlMsgId")
            if _text(element, "GrpSts") == "RJCT":
                total = context.amount(_child(element, "OrgnlCtrlSum"))[0]
                yield context.record(element, "rejected", "message", msg_id=context.original_msg_id,
                                     reason=_reason(element), amount=(total, None), booked=context.created)
        elif name == "OrgnlPmtInfAndSts" and _text(element, "PmtInfSts") == "RJCT":
            yield context.record(element, "rejected", "payment_information", msg_id=context.original_msg_id,
                                 pmt_inf_id=_text(element, "OrgnlPmtInfId"), reason=_reason(element),
                                 booked=context.created)
        elif name == "TxInfAndSts" and _text(element, "TxSts") == "RJCT":
            yield _pain002_transaction(element, context)


def _pain002_transaction(element, context: _Context) -> ReturnRecord:
    parent = element.getparent()
    return context.record(element, "rejected", "transaction", end_to_end_id=_text(element, "OrgnlEndToEndId"),
                          msg_id=context.original_msg_id,
                          pmt_inf_id=_text(parent, "OrgnlPmtInfId") if parent is not None else None,
                          reason=_reason(element),
                          amount=context.amount(_find(element, "OrgnlTxRef", "Amt", "InstdAmt")),
                          booked=context.created)


# ---- camt.053 / camt.054 ----------------------------------------------------------------------------------------

CAMT_BATCH_ENTRIES = 2_000  # entries turned into text per XSLT call: bounded memory, few Python calls
_CAMT_CONTAINERS = ("Ntfctn", "Stmt", "Rpt")


# One template per element the reader needs: each prints a tab, a one-letter code and the value (normalized, so
# no tab or newline of the data can break a line); elements without a template are skipped whole. Entry level:
# S status, D side, B booking date, V value date, A amount, C currency, F sub-family, M/P batch MsgId/PmtInfId;
# T starts a TxDtls: e/m/p EndToEndId/MsgId/PmtInfId, a/c amount/currency, i/k other amount/currency,
# f sub-family, r return info present, R reason code, X reason text.
_CAMT_TEMPLATES = (
    ("Ntry/Sts", "S", "."), ("Ntry/CdtDbtInd", "D", "."), ("Ntry/BookgDt", "B", "."), ("Ntry/ValDt", "V", "."),
    ("Ntry/Amt", "A", ".", "C", "@Ccy"), ("Ntry/BkTxCd", "F", "{p}Domn/{p}Fmly/{p}SubFmlyCd"),
    ("Ntry/NtryDtls", None), ("NtryDtls/Btch", None), ("Btch/MsgId", "M", "."), ("Btch/PmtInfId", "P", "."),
    ("NtryDtls/TxDtls", "T", ""), ("TxDtls/Refs", None), ("Refs/EndToEndId", "e", "."), ("Refs/MsgId", "m", "."),
    ("Refs/PmtInfId", "p", "."), ("TxDtls/Amt", "a", ".", "c", "@Ccy"), ("TxDtls/AmtDtls", None),
    ("AmtDtls/*/Amt", "i", ".", "k", "@Ccy"), ("AmtDtls/InstdAmt", None), ("AmtDtls/TxAmt", None),
    ("TxDtls/BkTxCd", "f", "{p}Domn/{p}Fmly/{p}SubFmlyCd"), ("TxDtls/RtrInf", "r", ""), ("RtrInf/Rsn", "R", "."),
    ("RtrInf/AddtlInf", "X", "."),
)


@lru_cache(maxsize=16)
def _camt_stylesheet(namespace: str) -> etree.XSLT:
    """XSLT 1.0 printing one line of coded fields per entry, for the first $count entries of the container.
    Template matching by element name runs in libxslt; Python only splits the lines. Paths name the file's own
    namespace (a QName test is several times faster in libxslt than a local-name() predicate)."""
    prefix = "n:" if namespace else ""

    def pattern(path: str) -> str:
        return "/".join(name if name == "*" else f"{prefix}{name}" for name in path.split("/"))

    templates = []
    for path, *outputs in _CAMT_TEMPLATES:
        body = []
        for code, select in zip(outputs[::2], outputs[1::2]):
            body.append(f"<xsl:text>&#9;{code}</xsl:text>")
            if select:
                body.append(f'<xsl:value-of select="normalize-space({select.format(p=prefix)})"/>')
        if outputs[0] is None or outputs[1] == "":
            body.append('<xsl:apply-templates select="*"/>')
        templates.append(f'<xsl:template match="{pattern(path)}">{"".join(body)}</xsl:template>')
    declaration = f' xmlns:n="{namespace}"' if namespace else ""
    text = f"""<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform"{declaration}>
<xsl:output method="text" encoding="UTF-8"/><xsl:param name="count" select="0"/>
<xsl:template match="/"><xsl:for-each select="*/{pattern('Ntry')}[position() &lt;= $count]">
<xsl:apply-templates select="*"/><xsl:text>&#10;</xsl:text></xsl:for-each></xsl:template>
<xsl:template match="*"/>{"".join(templates)}</xsl:stylesheet>"""
    return etree.XSLT(etree.XML(text.encode()))


def _camt(path: Path, context: _Context):
    """Entries are handled in batches straight in the parser's tree: after each chunk of input, the complete
    entries of every open notification / statement go through the stylesheet and are removed."""
    open_containers = []
    for event, element, name in pull(path, ("GrpHdr",) + _CAMT_CONTAINERS):
        if event == "chunk":
            for container in open_containers:
                yield from _camt_entries(container, context, final=False)
        elif name == "GrpHdr" and event == "end":
            context.msg_id = _text(element, "MsgId")
            context.created = context.date(_text(element, "CreDtTm"), element)
            element.clear()
        elif name in _CAMT_CONTAINERS and event == "start":
            open_containers.append(element)
        elif name in _CAMT_CONTAINERS:
            yield from _camt_entries(element, context, final=True)
            open_containers.remove(element)
            element.clear()


def _camt_entries(container, context: _Context, final: bool):
    """Records of the complete entries of the container (all of them when final), in batches; then removed."""
    namespace = etree.QName(container).namespace
    entry_tag = f"{{{namespace}}}Ntry" if namespace else "Ntry"
    count = sum(1 for _ in container.iterchildren(entry_tag))
    if not final and count and container[-1].tag == entry_tag:
        count -= 1  # the last entry may still be growing
    while count > 0:
        entries = list(islice(container.iterchildren(entry_tag), min(count, CAMT_BATCH_ENTRIES)))
        yield from _camt_batch(container, entries, context)
        start = container.index(entries[0])
        end = start + len(entries)
        if end <= len(container) and container[end - 1] is entries[-1]:  # consecutive, as the schema has them
            del container[start: end]
        else:
            for entry in entries:
                container.remove(entry)
        count -= len(entries)


def _camt_batch(container, entries: list, context: _Context):
    """Records of the given entries (the first len(entries) of the container), from the stylesheet's lines."""
    count = len(entries)
    text = str(_camt_stylesheet(etree.QName(container).namespace or "")(container, count=str(count)))
    lines = text.split("\n")
    assert len(lines) == count + 1, "one line per entry"
    dates: dict[str, date | None] = {}
    for entry, line in zip(entries, lines):
        parts = line.split("\tT")  # values hold no tab (normalize-space), so this only splits at TxDtls
        head = {token[:1]: token[1:] for token in parts[0].split("\t")[1:]}
        if head.get("S", "") not in ("", "BOOK"):  # pending or information only: not final yet
            continue
        day_text = (head.get("B") or head.get("V") or "")[:10]
        if day_text not in dates:
            dates[day_text] = context.date(day_text, entry)
        details = [_coded_fields(part) for part in parts[1:]]
        yield from _camt_entry(entry, head, details, context, dates[day_text])


def _coded_fields(part: str) -> dict[str, str]:
    """{code: value} of one TxDtls; the reason texts (X) may repeat and are joined."""
    tokens = part.split("\t")[1:]
    fields = {token[:1]: token[1:] for token in tokens}
    if part.count("\tX") > 1:
        fields["X"] = TEXT_SEPARATOR.join(token[1:] for token in tokens if token[:1] == "X")
    return fields


def _camt_entry(entry, head: dict, details: list, context: _Context, booked: date | None):
    """Records of one booked entry: returned details (CRDT), settled payments or the batch debit (DBIT)."""
    side = head.get("D")
    entry_return = head.get("F") == "RRTN"
    if side == "DBIT" and not details:
        details = [{}]
    for position, tx in enumerate(details):
        is_return = "r" in tx or entry_return or tx.get("f") == "RRTN"
        amount, currency = tx.get("a") or tx.get("i"), tx.get("c") or tx.get("k")
        if not amount and len(details) == 1:
            amount, currency = head.get("A"), head.get("C")
        if side == "CRDT" and is_return:
            kind, scope, reason = "returned", "transaction", (tx.get("R") or None, tx.get("X") or None)
        elif side == "DBIT" and not is_return and tx.get("e"):
            kind, scope, reason = "settled", "transaction", (None, None)
        elif side == "DBIT" and not is_return and position == 0 and not any(t.get("e") for t in details):
            msg_id, pmt_inf_id = head.get("M") or tx.get("m"), head.get("P") or tx.get("p")
            if msg_id or pmt_inf_id:  # the batch debit of a file; otherwise a fee or a debit not ours
                yield _camt_record(context, entry, "settled", "payment_information" if pmt_inf_id else "message",
                                   {"m": msg_id, "p": pmt_inf_id}, (None, None), head.get("A"), head.get("C"),
                                   booked)
            continue
        else:
            continue  # an incoming credit, or a debit return: not about our payments
        yield _camt_record(context, entry, kind, scope, tx, reason, amount, currency or head.get("C"), booked)


def _camt_record(context: _Context, entry, kind, scope, ids: dict, reason, amount, currency, booked):
    if amount:
        try:  # the common plain form without the method calls; anything else is judged by amount_text
            minor = amount_to_minor(amount, context.exponent_of(currency))
        except ValueError:
            minor = context.amount_text(amount, currency, entry)
    else:
        minor = None
    return ReturnRecord(kind, scope, ids.get("e") or None, ids.get("m") or None, ids.get("p") or None, reason[0],
                        reason[1], minor, currency or None, booked, context.msg_id, context.file_name,
                        entry.sourceline, context.message)


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
    amount = context.amount(_child(element, "RtrdIntrBkSttlmAmt"))
    if amount[0] is None:
        amount = context.amount(_child(element, "RtrdInstdAmt"))
    settled = context.date(_text(element, "IntrBkSttlmDt"), element) or context.settlement_date or context.created
    return context.record(element, "returned", "transaction", _text(element, "OrgnlEndToEndId"),
                          _text(element, "OrgnlGrpInf", "OrgnlMsgId") or context.original_msg_id, None,
                          _reason(element), amount, settled)


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
    columns = list(zip(*records)) if records else [()] * len(RECORD_FIELDS)
    return pa.table({name: pa.array(list(values), types.get(name, pa.string()))
                     for name, values in zip(RECORD_FIELDS, columns)})


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
