"""Issue 13 through the CLI on the hand-made register: returns as banks really send them. Foreign entries of a
statement are "not ours" (listed, exit 0); a return without EndToEndId is matched by its InstrId, or by MsgId +
PmtInfId + amount; a return in another currency (or none) is an exception and reverses nothing; a Verification
of Payee name mismatch (RVNM) is recorded and holds the payee's bank channel; an enveloped pacs.004 is read;
CSV cells that a spreadsheet would run are neutralised."""
import csv
import json

import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from acceptance.test_contracts import PAYROLL, Cli, export_september

ISO = "urn:iso:std:iso:20022:tech:xsd:"


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    root = tmp_path_factory.mktemp("banks")
    export_september(root)
    assignments = pq.read_table(next((root).rglob("assignments.parquet")))
    bank = assignments.filter(pc.equal(assignments["channel"], "bank")).to_pylist()
    return dict(root=root, bank=bank)


@pytest.fixture()
def work(exported, tmp_path, monkeypatch):
    db = tmp_path / "isplata.db"
    db.write_bytes((exported["root"] / "isplata.db").read_bytes())
    monkeypatch.chdir(tmp_path)  # reconcile writes its outputs to the working directory, never next to a return
    return Cli(db), tmp_path


def money(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


def entry(side: str, amount: str, refs: str = "", family: str = "RRTN", reason: str = "AC04",
          currency: str = "EUR") -> str:
    tx = (f"<NtryDtls><TxDtls><Refs>{refs}</Refs><Amt Ccy=\"{currency}\">{amount}</Amt>"
          f"<CdtDbtInd>{side}</CdtDbtInd>" + (f"<RtrInf><Rsn><Cd>{reason}</Cd></Rsn></RtrInf>" if family == "RRTN"
                                              else "") + "</TxDtls></NtryDtls>") if refs else ""
    return (f'<Ntry><Amt Ccy="{currency}">{amount}</Amt><CdtDbtInd>{side}</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts>'
            "<BookgDt><Dt>2024-10-20</Dt></BookgDt><BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>ICDT</Cd>"
            f"<SubFmlyCd>{family}</SubFmlyCd></Fmly></Domn></BkTxCd>{tx}</Ntry>\n")


def camt053(entries: list[str], msg: str = "STMT-9") -> str:
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<Document xmlns="{ISO}camt.053.001.08"><BkToCstmrStmt>'
            f"<GrpHdr><MsgId>{msg}</MsgId><CreDtTm>2024-10-20T10:00:00</CreDtTm></GrpHdr><Stmt><Id>S</Id>"
            "<Acct><Id><IBAN>ME25907000000000045322</IBAN></Id></Acct>\n" + "".join(entries)
            + "</Stmt></BkToCstmrStmt></Document>\n")


def reversed_total(result: dict) -> int:
    return result["returned_minor"] + result["rejected_minor"]


def test_foreign_entries_are_not_ours_and_do_not_fail_the_run(work, exported):
    cli, folder = work
    payment = exported["bank"][0]
    path = folder / "statement.xml"
    path.write_text(camt053([
        entry("DBIT", "3.50", family="CHRG"),                                            # a bank charge
        entry("CRDT", "1000.00", "<EndToEndId>INVOICE-77</EndToEndId>", family="ESCT"),  # an incoming credit
        entry("CRDT", "12.00", "<EndToEndId>NOTPROVIDED</EndToEndId>", family="RRTN"),   # someone else's return
        entry("CRDT", money(payment["amount_minor"]),
              f"<EndToEndId>{payment['end_to_end_id']}</EndToEndId>")]), encoding="utf-8")
    result = cli.json("reconcile", path)
    assert (result["not_ours"], result["matched"], result["unmatched"]) == (3, 1, 0)
    assert result["returned_minor"] == payment["amount_minor"]
    assert result["not_ours"] == 3
    [listed] = folder.glob("statement-*-reconcile-not-ours.csv")  # per return file, next to it
    with open(listed, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [(row["kind"], row["amount_minor"], row["end_to_end_id"]) for row in rows] == [
        ("other", "350", ""), ("other", "100000", "INVOICE-77"), ("returned", "1200", "")]  # a placeholder is no reference
    assert all(row["line"] for row in rows)


def test_a_return_without_end_to_end_id_is_matched_by_instr_id_then_by_block_and_amount(work, exported):
    cli, folder = work
    first, second = exported["bank"][0], exported["bank"][1]
    by_instr = entry("CRDT", money(first["amount_minor"]),
                     f"<InstrId>{first['end_to_end_id']}</InstrId><EndToEndId>NOTPROVIDED</EndToEndId>")
    by_block = entry("CRDT", money(second["amount_minor"]),
                     f"<MsgId>{second['msg_id']}</MsgId><PmtInfId>{second['pmt_inf_id']}</PmtInfId>"
                     "<EndToEndId>NOTPROVIDED</EndToEndId>")
    path = folder / "returns.xml"
    path.write_text(camt053([by_instr, by_block]), encoding="utf-8")
    result = cli.json("reconcile", path)
    assert (result["matched"], result["unmatched"]) == (2, 0)
    assert result["returned_minor"] == first["amount_minor"] + second["amount_minor"]


def test_an_unmatched_record_keeps_every_reference_it_carried(work, exported):
    cli, folder = work
    payment = exported["bank"][0]
    path = folder / "returns.xml"
    path.write_text(camt053([entry("CRDT", "0.07", f"<MsgId>{payment['msg_id']}</MsgId>"
                                                   f"<PmtInfId>{payment['pmt_inf_id']}</PmtInfId>"
                                                   "<EndToEndId>NOTPROVIDED</EndToEndId>")]), encoding="utf-8")
    result = cli.json("reconcile", path, code=1)
    assert (result["matched"], result["unmatched"], reversed_total(result)) == (0, 1, 0)
    [listed] = folder.glob("returns-*-reconcile-exceptions.csv")
    [row] = list(csv.DictReader(open(listed, newline="", encoding="utf-8")))
    assert row["reference"] == payment["pmt_inf_id"] and "no single match" in row["problem"]
    assert (row["msg_id"], row["pmt_inf_id"], row["currency"]) == (payment["msg_id"], payment["pmt_inf_id"], "EUR")


@pytest.mark.parametrize("currency", ["USD", None])
def test_a_return_in_another_currency_or_none_reverses_nothing(work, exported, currency):
    cli, folder = work
    payment = exported["bank"][0]
    text = camt053([entry("CRDT", money(payment["amount_minor"]),
                          f"<EndToEndId>{payment['end_to_end_id']}</EndToEndId>", currency=currency or "EUR")])
    if currency is None:
        text = text.replace(' Ccy="EUR"', "")
    path = folder / "returns.xml"
    path.write_text(text, encoding="utf-8")
    result = cli.json("reconcile", path, code=1)
    assert (result["matched"], result["unmatched"], reversed_total(result)) == (0, 1, 0)


def pain002(original_msg_id: str, status_rows: str) -> str:
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<Document xmlns="{ISO}pain.002.001.10"><CstmrPmtStsRpt>'
            "<GrpHdr><MsgId>VOP-1</MsgId><CreDtTm>2024-10-14T09:00:00</CreDtTm></GrpHdr>"
            f"<OrgnlGrpInfAndSts><OrgnlMsgId>{original_msg_id}</OrgnlMsgId><OrgnlMsgNmId>pain.001.001.09"
            "</OrgnlMsgNmId><GrpSts>PART</GrpSts></OrgnlGrpInfAndSts>"
            f"<OrgnlPmtInfAndSts><OrgnlPmtInfId>{original_msg_id}-001</OrgnlPmtInfId>{status_rows}"
            "</OrgnlPmtInfAndSts></CstmrPmtStsRpt></Document>\n")


def test_a_name_mismatch_is_recorded_and_holds_the_payees_bank_channel(work, exported):
    cli, folder = work
    first, second = exported["bank"][0], exported["bank"][1]
    rows = (f"<TxInfAndSts><OrgnlEndToEndId>{first['end_to_end_id']}</OrgnlEndToEndId><TxSts>RVNM</TxSts>"
            "<StsRsnInf><AddtlInf>Name does not match</AddtlInf></StsRsnInf></TxInfAndSts>"
            f"<TxInfAndSts><OrgnlEndToEndId>{second['end_to_end_id']}</OrgnlEndToEndId><TxSts>ACSC</TxSts>"
            "</TxInfAndSts>")
    path = folder / "vop.xml"
    path.write_text(pain002(first["msg_id"], rows), encoding="utf-8")
    holds_before = cli.json("hold", "list")
    result = cli.json("reconcile", path)
    assert result["statuses"] == {"PART": 1, "RVNM": 1, "ACSC": 1}
    assert (result["unmatched"], reversed_total(result), result["holds_placed"]) == (0, 0, 1)
    holds = cli.json("hold", "list")
    [hold] = [h for h in holds if h not in holds_before]
    assert (hold["kind"], hold["reason_code"], hold["payment_ref"]) == ("bank_channel", "RVNM",
                                                                        first["end_to_end_id"])
    assert cli.json("report", PAYROLL)["statuses"] == {"ACSC": 1, "PART": 1, "RVNM": 1}  # in the summary
    again = cli.json("reconcile", path)  # the same file again: nothing recorded twice
    assert again["statuses"] == {} and again["holds_placed"] == 0 and len(cli.json("hold", "list")) == len(holds)


def test_an_enveloped_pacs004_is_read_and_matched(work, exported):
    cli, folder = work
    payment = exported["bank"][2]
    path = folder / "pacs004.xml"
    path.write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n<Envelope xmlns="urn:swift:xsd:envelope">'
        '<AppHdr xmlns="urn:iso:std:iso:20022:tech:xsd:head.001.001.02"><Fr><FIId><FinInstnId><BICFI>CKBCMEPG'
        "</BICFI></FinInstnId></FIId></Fr><BizMsgIdr>BAH-1</BizMsgIdr><MsgDefIdr>pacs.004.001.09</MsgDefIdr>"
        "<CreDt>2024-10-21T08:00:00Z</CreDt></AppHdr>"
        f'<Document xmlns="{ISO}pacs.004.001.09"><PmtRtr><GrpHdr><MsgId>RTR-1</MsgId>'
        "<CreDtTm>2024-10-21T08:00:00</CreDtTm><NbOfTxs>1</NbOfTxs><SttlmInf><SttlmMtd>CLRG</SttlmMtd>"
        f"</SttlmInf></GrpHdr><TxInf><OrgnlGrpInf><OrgnlMsgId>{payment['msg_id']}</OrgnlMsgId>"
        "<OrgnlMsgNmId>pacs.008.001.08</OrgnlMsgNmId></OrgnlGrpInf>"
        f"<OrgnlInstrId>{payment['end_to_end_id']}</OrgnlInstrId><OrgnlEndToEndId>NOTPROVIDED</OrgnlEndToEndId>"
        f'<RtrdIntrBkSttlmAmt Ccy="EUR">{money(payment["amount_minor"])}</RtrdIntrBkSttlmAmt>'
        "<IntrBkSttlmDt>2024-10-21</IntrBkSttlmDt><RtrRsnInf><Rsn><Cd>AC04</Cd></Rsn></RtrRsnInf></TxInf>"
        "</PmtRtr></Document></Envelope>\n", encoding="utf-8")
    result = cli.json("reconcile", path)
    assert (result["matched"], result["returned_minor"]) == (1, payment["amount_minor"])
    from payroll import cycle
    ledger = cycle.open_db(cli.url)
    [event] = [e for e in ledger.events(kind="reconciled") if e["payload"]["file"] == "pacs004.xml"]
    ledger.close()
    assert event["payload"]["header"] == {"sender": "CKBCMEPG", "biz_msg_id": "BAH-1",
                                          "created": "2024-10-21T08:00:00Z"}


@pytest.mark.parametrize("amount", ["", "1e9", "-5", "1_000", "٣٧٠.٧٦", "1" * 30])
def test_a_return_amount_that_is_not_an_iso_decimal_is_refused_and_nothing_is_posted(work, exported, amount):
    cli, folder = work
    payment = exported["bank"][0]
    path = folder / "bad.xml"
    path.write_text(camt053([entry("CRDT", amount, f"<EndToEndId>{payment['end_to_end_id']}</EndToEndId>")]),
                    encoding="utf-8")
    before = cli.json("ledger", "verify")
    refused = cli("reconcile", path, "--json", code=2)
    assert "bad.xml" in refused.output and "not an amount" in refused.output
    assert cli.json("ledger", "verify") == before and not list(folder.glob("bad-*.csv"))


def test_exception_cells_that_a_spreadsheet_would_run_are_neutralised(work):
    cli, folder = work
    path = folder / "evil.xml"
    path.write_text(pain002("=cmd|' /C calc'!A0", "<TxInfAndSts><OrgnlEndToEndId>@SUM(A1)</OrgnlEndToEndId>"
                                                   "<TxSts>RJCT</TxSts></TxInfAndSts>"), encoding="utf-8")
    cli.json("reconcile", path, code=1)
    [listed] = folder.glob("evil-*-reconcile-exceptions.csv")
    text = listed.read_text(encoding="utf-8")
    assert "'@SUM(A1)" in text and ",@SUM" not in text and ",=cmd" not in text
    json.dumps(text)  # plain text, nothing else
