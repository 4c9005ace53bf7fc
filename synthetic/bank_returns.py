"""Writers of the files a bank sends back, for the demo and the tests: camt.054 (.001.08 and .001.04) with returned
transfers, camt.053.001.08 with the batch debit that settles a payment file, pain.002 (.001.12 and .001.03) with
rejects (per payment or the whole message), and pacs.004.001.11 returns. All valid against bank_exports/xsd.

Returned or rejected payments are given as columns (end_to_end_id, amount_minor, reason_code, optional
reason_text, msg_id, pmt_inf_id), one entry per payment built column-wise, so a 100,000-entry camt.054 for the
reader benchmark is written in well under a second.
"""
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from bank_exports import xmlfrag
from bank_exports.checks import normalise_iban
from bank_exports.files import HashingWriter, WrittenFile
from bank_exports.text import clean_text, escape_xml_str
from formats.amounts import format_amount, format_amounts

ISO = "urn:iso:std:iso:20022:tech:xsd:"
REASON_TEXT_CHARS_MAX = 105


@dataclass(frozen=True)
class BankReport:
    """Header facts of a bank report: its own MsgId and creation time, the account, currency and exponent."""
    msg_id: str
    created_at: datetime
    account_iban: str
    currency: str
    minor_exponent: int = 2


@dataclass(frozen=True)
class Settlement:
    """One batch debit: the MsgId (and PmtInfId, when booked per block) it settles, its total and count."""
    msg_id: str
    amount_minor: int
    nb_of_txs: int
    pmt_inf_id: str | None = None


def _columns(entries) -> dict[str, pa.Array]:
    table = entries if isinstance(entries, pa.Table) else pa.table(dict(entries))
    n = table.num_rows
    get = lambda name, kind: (pc.cast(table[name], kind) if name in table.column_names  # noqa: E731
                              else pa.nulls(n, kind))
    columns = {"end_to_end_id": get("end_to_end_id", pa.string()), "amount_minor": get("amount_minor", pa.int64()),
               "reason_code": get("reason_code", pa.string()), "msg_id": get("msg_id", pa.string()),
               "pmt_inf_id": get("pmt_inf_id", pa.string())}
    columns["reason_text"] = clean_text(get("reason_text", pa.string()), REASON_TEXT_CHARS_MAX, "unicode")
    assert pc.all(pc.is_valid(columns["end_to_end_id"])).as_py() is not False, "every entry needs an EndToEndId"
    assert pc.all(pc.is_valid(columns["amount_minor"])).as_py() is not False, "every entry needs an amount"
    return columns


def _stamp(moment: datetime) -> str:
    return moment.replace(microsecond=0, tzinfo=None).isoformat()


def _finish(out: HashingWriter, report: BankReport, kind: str, count: int, total_minor: int) -> WrittenFile:
    digest = out.close()
    out.commit()
    return WrittenFile(out.path.name, digest, report.msg_id, "bank", report.currency, count, total_minor, kind)


def _write(path, parts, report: BankReport, kind: str, count: int, total_minor: int) -> WrittenFile:
    """parts: str or Arrow string arrays, written in order."""
    out = HashingWriter(Path(path))
    try:
        for part in parts:
            if isinstance(part, str):
                out.write_text(part)
            else:
                xmlfrag.write_strings(out, part)
    except BaseException:
        out.discard()
        raise
    return _finish(out, report, kind, count, total_minor)


def _sum(columns) -> int:
    return int(np.sum(columns["amount_minor"].to_numpy(zero_copy_only=False), dtype=np.int64))


# ---- camt.054 / camt.053 entries --------------------------------------------------------------------------------

def _return_entries(columns, report: BankReport, booking_date: date, version: str) -> pa.Array:
    """One CRDT Ntry per returned payment, BkTxCd PMNT/ICDT/RRTN, the reason in TxDtls/RtrInf."""
    amount = format_amounts(columns["amount_minor"], report.minor_exponent)
    amount_xml = xmlfrag.join(f'<Amt Ccy="{report.currency}">', amount, "</Amt>")
    status = "<Sts>BOOK</Sts>" if version == "04" else "<Sts><Cd>BOOK</Cd></Sts>"
    code = "<BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>ICDT</Cd><SubFmlyCd>RRTN</SubFmlyCd></Fmly></Domn></BkTxCd>"
    refs = xmlfrag.join("<Refs>", xmlfrag.element("MsgId", columns["msg_id"]),
                        xmlfrag.element("PmtInfId", columns["pmt_inf_id"]),
                        "<EndToEndId>", columns["end_to_end_id"], "</EndToEndId></Refs>")
    reason = xmlfrag.join("<RtrInf>", xmlfrag.wrapped("<Rsn><Cd>", columns["reason_code"], "</Cd></Rsn>"),
                          xmlfrag.element("AddtlInf", columns["reason_text"]), "</RtrInf>")
    return xmlfrag.join("<Ntry>", amount_xml, f"<CdtDbtInd>CRDT</CdtDbtInd>{status}",
                        f"<BookgDt><Dt>{booking_date.isoformat()}</Dt></BookgDt>", code,
                        "<NtryDtls><TxDtls>", refs, amount_xml, "<CdtDbtInd>CRDT</CdtDbtInd>", reason,
                        "</TxDtls></NtryDtls></Ntry>\n")


def _settlement_entry(settlement: Settlement, report: BankReport, booking_date: date) -> str:
    amount = format_amount(settlement.amount_minor, report.minor_exponent)
    pmt_inf = f"<PmtInfId>{settlement.pmt_inf_id}</PmtInfId>" if settlement.pmt_inf_id else ""
    return (f'<Ntry><Amt Ccy="{report.currency}">{amount}</Amt><CdtDbtInd>DBIT</CdtDbtInd>'
            f"<Sts><Cd>BOOK</Cd></Sts><BookgDt><Dt>{booking_date.isoformat()}</Dt></BookgDt>"
            "<BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>ICDT</Cd><SubFmlyCd>DMCT</SubFmlyCd></Fmly></Domn></BkTxCd>"
            f"<NtryDtls><Btch><MsgId>{settlement.msg_id}</MsgId>{pmt_inf}<NbOfTxs>{settlement.nb_of_txs}</NbOfTxs>"
            "</Btch></NtryDtls></Ntry>\n")


def _account(report: BankReport) -> str:
    iban = normalise_iban(pa.array([report.account_iban]))[0].as_py()
    return f"<Acct><Id><IBAN>{iban}</IBAN></Id><Ccy>{report.currency}</Ccy></Acct>"


def write_camt054(path, returned, report: BankReport, booking_date: date, version: str = "08",
                  settlements: tuple[Settlement, ...] = ()) -> WrittenFile:
    """camt.054.001.<version> (08 or 04): one returned entry per row of `returned`, then any batch debits."""
    assert version in ("08", "04"), version
    assert version == "08" or not settlements, "batch debits are written in camt.054.001.08 or camt.053"
    columns = _columns(returned)
    message = f"camt.054.001.{version}"
    created = _stamp(report.created_at)
    head = (f'<?xml version="1.0" encoding="UTF-8"?>\n<Document xmlns="{ISO}{message}">\n<BkToCstmrDbtCdtNtfctn>\n'
            f"<GrpHdr><MsgId>{report.msg_id}</MsgId><CreDtTm>{created}</CreDtTm></GrpHdr>\n"
            f"<Ntfctn><Id>{report.msg_id}</Id><CreDtTm>{created}</CreDtTm>{_account(report)}\n")
    debits = [_settlement_entry(settlement, report, booking_date) for settlement in settlements]
    parts = [head, _return_entries(columns, report, booking_date, version), *debits,
             "</Ntfctn>\n</BkToCstmrDbtCdtNtfctn>\n</Document>\n"]
    return _write(path, parts, report, message, len(columns["amount_minor"]) + len(debits),
                  _sum(columns) + sum(s.amount_minor for s in settlements))


def _balance(code: str, amount_minor: int, report: BankReport, day: date) -> str:
    side = "CRDT" if amount_minor >= 0 else "DBIT"
    amount = format_amount(abs(amount_minor), report.minor_exponent)
    return (f"<Bal><Tp><CdOrPrtry><Cd>{code}</Cd></CdOrPrtry></Tp><Amt Ccy=\"{report.currency}\">{amount}</Amt>"
            f"<CdtDbtInd>{side}</CdtDbtInd><Dt><Dt>{day.isoformat()}</Dt></Dt></Bal>\n")


def write_camt053(path, report: BankReport, booking_date: date, settlements: tuple[Settlement, ...],
                  returned=None, opening_balance_minor: int = 0) -> WrittenFile:
    """camt.053.001.08 statement of one day: opening balance, batch debits, returned credits, closing balance."""
    columns = _columns(returned if returned is not None else {"end_to_end_id": pa.array([], pa.string()),
                                                               "amount_minor": pa.array([], pa.int64())})
    debit_minor = sum(settlement.amount_minor for settlement in settlements)
    closing = opening_balance_minor - debit_minor + _sum(columns)
    created = _stamp(report.created_at)
    head = (f'<?xml version="1.0" encoding="UTF-8"?>\n<Document xmlns="{ISO}camt.053.001.08">\n<BkToCstmrStmt>\n'
            f"<GrpHdr><MsgId>{report.msg_id}</MsgId><CreDtTm>{created}</CreDtTm></GrpHdr>\n"
            f"<Stmt><Id>{report.msg_id}</Id><CreDtTm>{created}</CreDtTm>{_account(report)}\n"
            + _balance("OPBD", opening_balance_minor, report, booking_date)
            + _balance("CLBD", closing, report, booking_date))
    debits = [_settlement_entry(settlement, report, booking_date) for settlement in settlements]
    parts = [head, *debits, _return_entries(columns, report, booking_date, "08"),
             "</Stmt>\n</BkToCstmrStmt>\n</Document>\n"]
    return _write(path, parts, report, "camt.053.001.08", len(debits) + len(columns["amount_minor"]),
                  debit_minor + _sum(columns))


# ---- pain.002 ---------------------------------------------------------------------------------------------------

def _status_reason(code: str | None, text: str | None) -> str:
    if code is None and text is None:
        return ""
    code_xml = f"<Rsn><Cd>{code}</Cd></Rsn>" if code else ""
    text_xml = f"<AddtlInf>{escape_xml_str(text[:REASON_TEXT_CHARS_MAX])}</AddtlInf>" if text else ""
    return f"<StsRsnInf>{code_xml}{text_xml}</StsRsnInf>"


def _pain002_transactions(columns, report: BankReport) -> pa.Array:
    amount = format_amounts(columns["amount_minor"], report.minor_exponent)
    reason = xmlfrag.join("<StsRsnInf>", xmlfrag.wrapped("<Rsn><Cd>", columns["reason_code"], "</Cd></Rsn>"),
                          xmlfrag.element("AddtlInf", columns["reason_text"]), "</StsRsnInf>")
    return xmlfrag.join("<TxInfAndSts><OrgnlEndToEndId>", columns["end_to_end_id"], "</OrgnlEndToEndId>",
                        "<TxSts>RJCT</TxSts>", reason,
                        f'<OrgnlTxRef><Amt><InstdAmt Ccy="{report.currency}">', amount,
                        "</InstdAmt></Amt></OrgnlTxRef></TxInfAndSts>\n")


def write_pain002(path, report: BankReport, original_msg_id: str, rejected=None, version: str = "12",
                  group_reason: str | None = None, group_text: str | None = None) -> WrittenFile:
    """pain.002.001.<version> (12 or 03): per-payment rejects grouped by PmtInfId, or with group_reason a
    group-level RJCT of the whole original message (e.g. AM10), with no transaction records."""
    assert version in ("12", "03"), version
    assert (rejected is None) != (group_reason is None), "either payment rejects or a group reject"
    message = f"pain.002.001.{version}"
    head = (f'<?xml version="1.0" encoding="UTF-8"?>\n<Document xmlns="{ISO}{message}">\n<CstmrPmtStsRpt>\n'
            f"<GrpHdr><MsgId>{report.msg_id}</MsgId><CreDtTm>{_stamp(report.created_at)}</CreDtTm></GrpHdr>\n"
            f"<OrgnlGrpInfAndSts><OrgnlMsgId>{original_msg_id}</OrgnlMsgId>"
            "<OrgnlMsgNmId>pain.001.001.09</OrgnlMsgNmId>")
    tail = "</CstmrPmtStsRpt>\n</Document>\n"
    if group_reason is not None:
        parts = [head, "<GrpSts>RJCT</GrpSts>", _status_reason(group_reason, group_text), "</OrgnlGrpInfAndSts>\n",
                 tail]
        return _write(path, parts, report, message, 0, 0)
    columns = _columns(rejected)
    parts = [head, "<GrpSts>PART</GrpSts></OrgnlGrpInfAndSts>\n"]
    pmt_inf = columns["pmt_inf_id"].fill_null("NOTPROVIDED")
    order = np.argsort(np.asarray(pmt_inf.to_pylist(), dtype=object), kind="stable") if len(pmt_inf) else []
    sorted_columns = {name: pc.take(column, pa.array(order, pa.int64())) for name, column in columns.items()}
    sorted_pmt_inf = pc.take(pmt_inf, pa.array(order, pa.int64())).to_numpy(zero_copy_only=False)
    transactions = _pain002_transactions(sorted_columns, report)
    bounds = np.flatnonzero(sorted_pmt_inf[1:] != sorted_pmt_inf[:-1]) + 1 if len(order) else np.array([], int)
    for start, end in zip([0, *bounds.tolist()], [*bounds.tolist(), len(order)]):
        if end > start:
            parts += [f"<OrgnlPmtInfAndSts><OrgnlPmtInfId>{sorted_pmt_inf[start]}</OrgnlPmtInfId>"
                      "<PmtInfSts>PART</PmtInfSts>\n", transactions.slice(start, end - start),
                      "</OrgnlPmtInfAndSts>\n"]
    return _write(path, parts + [tail], report, message, len(order), _sum(columns))


# ---- pacs.004 ---------------------------------------------------------------------------------------------------

def write_pacs004(path, report: BankReport, returned) -> WrittenFile:
    """pacs.004.001.11 (the reduced schema in bank_exports/xsd): one TxInf per returned payment."""
    columns = _columns(returned)
    amount = format_amounts(columns["amount_minor"], report.minor_exponent)
    reason = xmlfrag.join("<RtrRsnInf>", xmlfrag.wrapped("<Rsn><Cd>", columns["reason_code"], "</Cd></Rsn>"),
                          xmlfrag.element("AddtlInf", columns["reason_text"]), "</RtrRsnInf>")
    transactions = xmlfrag.join("<TxInf><OrgnlEndToEndId>", columns["end_to_end_id"], "</OrgnlEndToEndId>",
                                f'<RtrdInstdAmt Ccy="{report.currency}">', amount, "</RtrdInstdAmt>", reason,
                                "</TxInf>\n")
    count = len(columns["amount_minor"])
    head = (f'<?xml version="1.0" encoding="UTF-8"?>\n<Document xmlns="{ISO}pacs.004.001.11">\n<PmtRtr>\n'
            f"<GrpHdr><MsgId>{report.msg_id}</MsgId><CreDtTm>{_stamp(report.created_at)}</CreDtTm>"
            f"<NbOfTxs>{count}</NbOfTxs><SttlmInf><SttlmMtd>CLRG</SttlmMtd></SttlmInf></GrpHdr>\n")
    return _write(path, [head, transactions, "</PmtRtr>\n</Document>\n"], report, "pacs.004.001.11", count,
                  _sum(columns))
