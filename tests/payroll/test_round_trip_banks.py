"""A round trip per country (issue 13's proof): export -> the returns a bank makes of it (a pain.002 reject, a
camt.054 return, a pacs.004 return in a SWIFT envelope that carries only the InstrId, a camt.053 statement with
the batch debits and foreign entries, amounts at the currency's ISO 4217 exponent) -> reconcile (no exception,
the foreign entries not ours) -> the supplementary run re-issues exactly the three returned payments."""
import datetime as dt

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from formats.amounts import iso_exponent
from formats.catalogue import catalogue_path
from payroll import cycle, reconcile, session, store
from synthetic.bank_returns import BankReport, Settlement, write_camt053, write_camt054, write_pacs004, \
    write_pain002
from synthetic.register import generate_register

PERIOD = "2026-01"
ENVELOPE = ('<Envelope xmlns="urn:swift:xsd:envelope"><AppHdr xmlns="urn:iso:std:iso:20022:tech:xsd:head.001.001.02">'
            "<Fr><FIId><FinInstnId><BICFI>BANKXXXX</BICFI></FinInstnId></FIId></Fr><BizMsgIdr>BAH-RT</BizMsgIdr>"
            "<MsgDefIdr>pacs.004.001.11</MsgDefIdr><CreDt>2026-02-16T08:00:00Z</CreDt></AppHdr>{doc}</Envelope>\n")
FOREIGN = ('<Ntry><Amt Ccy="{ccy}">{fee}</Amt><CdtDbtInd>DBIT</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts><BookgDt><Dt>'
           "2026-02-15</Dt></BookgDt><BkTxCd><Domn><Cd>ACMT</Cd><Fmly><Cd>MDOP</Cd><SubFmlyCd>CHRG</SubFmlyCd>"
           '</Fmly></Domn></BkTxCd></Ntry>\n<Ntry><Amt Ccy="{ccy}">{credit}</Amt><CdtDbtInd>CRDT</CdtDbtInd>'
           "<Sts><Cd>BOOK</Cd></Sts><BookgDt><Dt>2026-02-15</Dt></BookgDt><BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>RCDT"
           "</Cd><SubFmlyCd>ESCT</SubFmlyCd></Fmly></Domn></BkTxCd><NtryDtls><TxDtls><Refs><EndToEndId>BUDGET-7"
           "</EndToEndId></Refs></TxDtls></NtryDtls></Ntry>\n</Stmt>")


@pytest.fixture(params=["me", "rs", "ua"])
def exported(request, tmp_path):
    country = request.param
    generate_register(tmp_path / "reg", 400, 5, PERIOD, country)
    db = f"sqlite:///{tmp_path / 'ledger.db'}"
    cycle.open_db(db, create=True).close()
    rules = catalogue_path(country)
    summary = cycle.calculate(db, tmp_path / "reg", PERIOD, "ana", rules=rules, store_dir=tmp_path / "store")
    cycle.approve(db, summary["payroll"], "marko")
    cycle.export(db, summary["payroll"], tmp_path / "out")
    with cycle.open_db(db).engine.connect() as conn:
        record = store.get_payroll(conn, summary["payroll"])
    return db, record, rules, tmp_path


def bank_returns(db, record, folder) -> tuple[list, list]:
    """The four files a bank sends back, amounts at ISO 4217's exponent; returns (files, the returned rows)."""
    assignments = session.read_assignments(db, record)
    bank = assignments.filter(pc.equal(assignments["channel"], "bank"))
    exponent = iso_exponent(record.currency)
    scale = 10 ** (exponent - record.minor_exponent)
    report = BankReport("BANK-RT", dt.datetime(2026, 2, 15, 18), "ME25907000000000045322", record.currency,
                        exponent)
    rows = bank.slice(0, 3).to_pylist()

    def entries(row, reason):
        return {"end_to_end_id": [row["end_to_end_id"]], "amount_minor": [row["amount_minor"] * scale],
                "reason_code": [reason], "msg_id": [row["msg_id"]], "pmt_inf_id": [row["pmt_inf_id"]]}

    files = [folder / name for name in ("pain002.xml", "camt054.xml", "pacs004.xml", "camt053.xml")]
    write_pain002(files[0], report, rows[0]["msg_id"], entries(rows[0], "MS03"))
    write_camt054(files[1], entries(rows[1], "MS03"), report, dt.date(2026, 2, 15))
    write_pacs004(files[2], report, entries(rows[2], "MS03"))
    text = files[2].read_text(encoding="utf-8").split("\n", 1)[1]  # the document, in a SWIFT envelope
    ref = rows[2]["end_to_end_id"]
    text = text.replace(f"<OrgnlEndToEndId>{ref}</OrgnlEndToEndId>",
                        f"<OrgnlInstrId>{ref}</OrgnlInstrId><OrgnlEndToEndId>NOTPROVIDED</OrgnlEndToEndId>")
    files[2].write_text('<?xml version="1.0" encoding="UTF-8"?>\n' + ENVELOPE.format(doc=text), encoding="utf-8")
    totals = bank.group_by("msg_id").aggregate([("amount_minor", "sum"), ("amount_minor", "count")]).to_pylist()
    debits = tuple(Settlement(t["msg_id"], (t["amount_minor_sum"] - (rows[0]["amount_minor"] if t["msg_id"] ==
                                            rows[0]["msg_id"] else 0)) * scale, t["amount_minor_count"])
                   for t in totals)
    write_camt053(files[3], report, dt.date(2026, 2, 15), debits)
    statement = files[3].read_text(encoding="utf-8")
    files[3].write_text(statement.replace("</Stmt>", FOREIGN.format(ccy=record.currency, fee="3.50",
                                                                     credit="100.00"), 1), encoding="utf-8")
    return files, rows


def test_round_trip_per_country(exported):
    db, record, rules, folder = exported
    files, rows = bank_returns(db, record, folder)
    result = reconcile.reconcile(db, files)
    assert (result["unmatched"], result["not_ours"]) == (0, 2), result["exceptions"]
    assert result["rejected_minor"] == rows[0]["amount_minor"]
    assert result["returned_minor"] == rows[1]["amount_minor"] + rows[2]["amount_minor"]
    assignments = session.read_assignments(db, record)
    bank_total = pc.sum(pc.filter(assignments["amount_minor"], pc.equal(assignments["channel"], "bank"))).as_py()
    assert result["settled_minor"] == bank_total - rows[0]["amount_minor"]
    again = reconcile.reconcile(db, files)  # the same files again post nothing
    assert again["already_seen"] == result["matched"] and again["returned_minor"] == 0

    supplementary = cycle.calculate(db, folder / "reg", PERIOD, "ana", rules=rules, store_dir=folder / "store")
    with cycle.open_db(db).engine.connect() as conn:
        lines = store.read_lines(store.get_payroll(conn, supplementary["payroll"]))
    reissued = lines.filter(pc.equal(lines["component"], "reissue"))
    by_payee = reissued.group_by("payee_id").aggregate([("amount_minor", "sum")])
    paid = dict(zip(by_payee["payee_id"].to_pylist(), by_payee["amount_minor_sum"].to_pylist()))
    payees = store.read_payments(record, columns=["end_to_end_id", "payee_id"])
    payee_of = dict(zip(payees["end_to_end_id"].to_pylist(), payees["payee_id"].to_pylist()))
    assert paid == {payee_of[row["end_to_end_id"]]: row["amount_minor"] for row in rows}
    assert pa.compute.sum(reissued["amount_minor"]).as_py() == sum(row["amount_minor"] for row in rows)
