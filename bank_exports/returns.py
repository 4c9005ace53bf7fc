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
from datetime import date
from functools import lru_cache
from itertools import islice, repeat
from typing import NamedTuple
from pathlib import Path

import numpy as np
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
        self.message = message
        self.exponent = exponent
        self.msg_id: str | None = None
        self.created: date | None = None
        self.settlement_date: date | None = None
        self.original_msg_id: str | None = None

    def record(self, element, kind: str, scope: str, end_to_end_id=None, msg_id=None, pmt_inf_id=None,
               reason=(None, None), amount=(None, None), booked=None) -> ReturnRecord:
        return ReturnRecord(kind, scope, end_to_end_id, msg_id, pmt_inf_id, reason[0], reason[1], amount[0],
                            amount[1], booked, self.msg_id, self.path.name, element.sourceline, self.message)

    def amount_text(self, text: str, currency: str | None, element) -> int:
        exponent = self.exponent.get(currency, 2) if isinstance(self.exponent, dict) else self.exponent
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


@lru_cache(maxsize=16)
def _camt_stylesheet(namespace: str) -> etree.XSLT:
    """XSLT 1.0 that prints one tab-separated line per TxDtls (or per entry without one) of the first $count
    entries of the container: the field extraction runs in libxslt, not in Python, once per batch. Paths name
    the file's own namespace (a QName test is several times faster in libxslt than a local-name() predicate)."""
    prefix = "n:" if namespace else ""

    def _local_path(path: str) -> str:
        return "/".join(f"{prefix}{name}" for name in path.split("/"))

    def value(path: str, attribute: str = "", base: str = "") -> str:
        return f"normalize-space({base}{_local_path(path)}{attribute})"

    def first(paths: list[str], base: str, attribute: str = "") -> str:  # first present, in document order
        union = " | ".join(f"{base}{_local_path(path)}" for path in paths)
        return f"normalize-space(({union})[1]{attribute})"

    def entry(base: str) -> list[str]:
        return [value("Sts", "", base), value("CdtDbtInd", "", base), first(["BookgDt", "ValDt"], base),
                value("Amt", "", base), value("Amt", "/@Ccy", base), value("BkTxCd/Domn/Fmly/SubFmlyCd", "", base),
                value("NtryDtls/Btch/MsgId", "", base), value("NtryDtls/Btch/PmtInfId", "", base),
                f"count({base}{_local_path('NtryDtls/TxDtls')})"]

    amounts = ["Amt", "AmtDtls/InstdAmt/Amt", "AmtDtls/TxAmt/Amt"]
    tx = [value("Refs/EndToEndId"), value("Refs/MsgId"), value("Refs/PmtInfId"), first(amounts, ""),
          first(amounts, "", "/@Ccy"), value("BkTxCd/Domn/Fmly/SubFmlyCd"), f"count({_local_path('RtrInf')})",
          value("RtrInf/Rsn")]
    newline = "<xsl:text>&#10;</xsl:text>"

    def out(items: list[str]) -> str:  # one concat() per line: one result text node, not one per field
        return f'<xsl:value-of select="concat({", &apos;&#9;&apos;, ".join(items)})"/>'

    texts = (f'<xsl:for-each select="{_local_path("RtrInf/AddtlInf")}"><xsl:if test="position() &gt; 1">'
             '<xsl:text>; </xsl:text></xsl:if><xsl:value-of select="normalize-space(.)"/></xsl:for-each>')
    with_details = f'{out(["$i", "position()"] + entry("$e/") + tx + ["&apos;&apos;"])}{texts}{newline}'
    without = f'{out(["$i", "1"] + entry("") + ["&apos;&apos;"] * (len(tx) + 1))}{newline}'
    declaration = f' xmlns:n="{namespace}"' if namespace else ""
    text = f"""<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform"{declaration}>
<xsl:output method="text" encoding="UTF-8"/><xsl:param name="count" select="0"/>
<xsl:template match="/"><xsl:for-each select="*/{_local_path('Ntry')}[position() &lt;= $count]">
<xsl:variable name="i" select="position()"/><xsl:variable name="e" select="."/>
<xsl:variable name="txs" select="{_local_path('NtryDtls/TxDtls')}"/>
<xsl:choose><xsl:when test="$txs"><xsl:for-each select="$txs">{with_details}</xsl:for-each></xsl:when>
<xsl:otherwise>{without}</xsl:otherwise></xsl:choose></xsl:for-each></xsl:template></xsl:stylesheet>"""
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
    first = next(container.iterchildren(entry_tag), None)
    if first is None:
        return
    start = container.index(first)
    if container[-1].tag == entry_tag:
        count = len(container) - start - (0 if final else 1)  # the last entry may still be growing
    else:
        count = sum(1 for _ in container.iterchildren(entry_tag))
    while count > 0:
        batch = min(count, CAMT_BATCH_ENTRIES)
        yield from _camt_batch(container, start, batch, context)
        del container[start: start + batch]
        count -= batch


_CAMT_FIELDS = ("index", "position", "status", "side", "booking", "entry_amount", "entry_currency", "entry_family",
                "batch_msg_id", "batch_pmt_inf_id", "tx_count", "e2e", "msg_id", "pmt_inf_id", "amount", "currency",
                "tx_family", "returns", "code", "texts")
_TSV = dict(parse_options=pcsv.ParseOptions(delimiter="\t", quote_char=False, double_quote=False, escape_char=False),
            convert_options=pcsv.ConvertOptions(column_types={name: pa.string() for name in _CAMT_FIELDS},
                                                strings_can_be_null=False))


def _camt_batch(container, start: int, count: int, context: _Context):
    """Records of the entries container[start: start + count]: the stylesheet prints their fields, pyarrow
    reads the lines as columns, and the rules below run column-wise; Python only builds the records."""
    entries = list(islice(container.iterchildren(container[start].tag), count))  # indexing a child is O(n)
    assert len(entries) == count
    text = str(_camt_stylesheet(etree.QName(container).namespace or "")(container, count=str(count)))
    if not text.strip():
        return
    rows = pcsv.read_csv(pa.py_buffer(text.encode("utf-8")),
                         read_options=pcsv.ReadOptions(column_names=list(_CAMT_FIELDS)), **_TSV)
    rows = rows.filter(pc.is_in(rows["status"], pa.array(["", "BOOK"])))  # pending / information: not final
    kind, scope = _camt_kinds(rows)
    kept = pc.is_valid(kind)
    rows, kind, scope = rows.filter(kept), kind.filter(kept), scope.filter(kept)
    yield from _camt_records(rows, kind, scope, entries, context)


def _camt_kinds(rows: pa.Table) -> tuple[pa.Array, pa.Array]:
    """kind and scope per line (null kind: not about our payments). A DBIT without EndToEndId that names a
    MsgId / PmtInfId is a batch debit: one settlement per booking, on its first detail line."""
    none = pa.scalar(None, pa.string())
    has_return_info = pc.invert(pc.is_in(rows["returns"], pa.array(["", "0"])))
    is_return = pc.or_(pc.or_(has_return_info, pc.equal(rows["entry_family"], "RRTN")),
                       pc.equal(rows["tx_family"], "RRTN"))
    debit = pc.and_(pc.equal(rows["side"], "DBIT"), pc.invert(is_return))
    no_e2e = pc.equal(rows["e2e"], "")
    names_file = pc.or_(pc.or_(pc.not_equal(rows["batch_msg_id"], ""), pc.not_equal(rows["batch_pmt_inf_id"], "")),
                        pc.or_(pc.not_equal(rows["msg_id"], ""), pc.not_equal(rows["pmt_inf_id"], "")))
    batch_debit = pc.and_(pc.and_(debit, no_e2e), pc.and_(pc.equal(rows["position"], "1"), names_file))
    returned = pc.and_(pc.and_(pc.equal(rows["side"], "CRDT"), is_return), pc.not_equal(rows["tx_count"], "0"))
    settled = pc.and_(debit, pc.invert(no_e2e))
    kind = pc.if_else(returned, "returned", pc.if_else(pc.or_(settled, batch_debit), "settled", none))
    block = pc.or_(pc.not_equal(rows["batch_pmt_inf_id"], ""), pc.not_equal(rows["pmt_inf_id"], ""))
    scope = pc.if_else(batch_debit, pc.if_else(block, "payment_information", "message"), "transaction")
    return kind, scope


def _nonempty(first, second) -> pa.Array:
    return pc.if_else(pc.not_equal(first, ""), first, second)


def _camt_records(rows: pa.Table, kind, scope, entries: list, context: _Context):
    batch = pc.equal(scope, "transaction")
    msg_id = pc.if_else(batch, rows["msg_id"], _nonempty(rows["batch_msg_id"], rows["msg_id"]))
    pmt_inf_id = pc.if_else(batch, rows["pmt_inf_id"], _nonempty(rows["batch_pmt_inf_id"], rows["pmt_inf_id"]))
    single = pc.is_in(rows["tx_count"], pa.array(["0", "1"]))
    own = pc.and_(batch, pc.not_equal(rows["amount"], ""))
    amount = pc.if_else(own, rows["amount"], pc.if_else(pc.or_(single, pc.invert(batch)), rows["entry_amount"], ""))
    currency = _nonempty(pc.if_else(own, rows["currency"], rows["entry_currency"]), rows["entry_currency"])
    returned = pc.equal(kind, "returned")
    code = pc.if_else(returned, rows["code"], "")
    index = pc.cast(rows["index"], pa.int64()).to_numpy(zero_copy_only=False) - 1
    picked = [entries[i] for i in index.tolist()]
    minor = _amounts_minor(amount, currency, picked, context)
    booked = _dates(rows["booking"], picked, context)
    texts = pc.if_else(returned, rows["texts"], "")
    columns = [kind.to_pylist(), scope.to_pylist(), _none_if_empty(rows["e2e"]), _none_if_empty(msg_id),
               _none_if_empty(pmt_inf_id), _none_if_empty(code), _none_if_empty(texts), minor,
               _none_if_empty(currency), booked, repeat(context.msg_id), repeat(context.path.name),
               [entry.sourceline for entry in picked], repeat(context.message)]
    yield from map(ReturnRecord._make, zip(*columns))


def _none_if_empty(column) -> list:
    return pc.if_else(pc.equal(column, ""), pa.scalar(None, pa.string()), column).to_pylist()


def _amounts_minor(texts, currencies, entries: list, context: _Context) -> list:
    """Minor units of each amount text; the plain form column-wise, anything else through amount_text."""
    values = texts.to_pylist()
    result: list = [None] * len(values)
    for currency in pc.unique(currencies).to_pylist():
        exponent = context.exponent.get(currency, 2) if isinstance(context.exponent, dict) else context.exponent
        rows = pc.equal(currencies, currency)
        plain = pc.and_(rows, pc.match_substring_regex(texts, rf"^[0-9]{{1,18}}(\.[0-9]{{1,{exponent}}})?$"
                                                        if exponent else r"^[0-9]{1,18}$"))
        chosen = np.flatnonzero(plain.to_numpy(zero_copy_only=False))
        if chosen.size:
            subset = pc.take(texts, pa.array(chosen))
            parts = pc.split_pattern(subset, ".", max_splits=1)
            whole = pc.list_element(parts, 0)
            fraction = pc.if_else(pc.greater(pc.list_value_length(parts), 1),
                                  pc.list_element(pc.list_slice(parts, 1, 2), 0), "")
            digits = pc.binary_join_element_wise(whole, pc.utf8_rpad(fraction, exponent, "0"), "")
            for row, value in zip(chosen.tolist(), pc.cast(digits, pa.int64()).to_pylist()):
                result[row] = value
        for row in np.flatnonzero(pc.and_(rows, pc.invert(plain)).to_numpy(zero_copy_only=False)).tolist():
            if values[row]:
                result[row] = context.amount_text(values[row], currency or None, entries[row])
    return result


def _dates(texts, entries: list, context: _Context) -> list:
    days: dict[str, date | None] = {}
    out = []
    for row, text in enumerate(pc.utf8_slice_codeunits(texts, 0, 10).to_pylist()):
        if text not in days:
            days[text] = context.date(text, entries[row])
        out.append(days[text])
    return out


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
