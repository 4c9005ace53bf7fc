"""Readers of returns: the real PostFinance samples, round trips through every return format we write, the
postal return CSV, expansion of group rejects, and hostile or malformed input refused with file and line."""
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path

import pyarrow as pa
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from bank_exports.pain001 import write_pain001
from bank_exports.returns import expand_records, read_returns
from synthetic.bank_returns import (BankReport, Settlement, write_camt053, write_camt054, write_pacs004,
                                    write_pain002)
from synthetic.payments import synthetic_payments
from decimal import Decimal

from formats.amounts import parse_amount
from formats.errors import InputError

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "iso20022"
CAMT054_AC01 = SAMPLES / "200519_camt054-returns_p_ch2909000000250094239_1109800798_0_2019052023472022.xml"
CAMT054_RVSL = SAMPLES / "camt054-returns_p_ch5109000000250092291_1110097606_0_2020112500512470.xml"
PAIN002_AM10 = SAMPLES / "pain002-epo_p_0_0_0_2018032614401842.xml"
PAIN002_RJCT = SAMPLES / "pain002-epo_p_ch2909000000250094239_1109800799_0_2018032612092784.xml"
PAIN002_PART = SAMPLES / "pain002-epo_p_ch5109000000250092291_1110097605_0_2018031511252307.xml"
REPORT = BankReport("BANK-20260603-1", datetime(2026, 6, 3, 8, 0), "ME25505000012345678951", "EUR")


def essentials(records) -> list[tuple]:
    return [(r.kind, r.scope, r.original_end_to_end_id, r.original_msg_id, r.reason_code, r.amount_minor)
            for r in records]


def test_postfinance_camt054_returns_are_read_whatever_rvslind_says():
    for path, e2e, amount, booked in ((CAMT054_AC01, "EndToEndId-004-01-01", 40_000, date(2019, 5, 20)),
                                      (CAMT054_RVSL, "EndToEndId-001-03-04", 50_000, date(2020, 11, 24))):
        [record] = read_returns(path)
        assert (record.kind, record.scope, record.original_end_to_end_id) == ("returned", "transaction", e2e)
        assert (record.reason_code, record.reason_text) == ("AC01", "Kontonummer falsch")
        assert (record.amount_minor, record.currency, record.booking_date) == (amount, "CHF", booked)
        assert record.source_message == "camt.054.001.04"
        assert record.source_file == path.name and record.line == 56  # its own <TxDtls> (the <Ntry> is at 31)
        assert record.original_instr_id == e2e.replace("EndToEndId", "InstrId")


def test_postfinance_pain002_whole_file_am10_reject():
    [record] = read_returns(PAIN002_AM10)
    assert essentials([record]) == [("rejected", "message", None, "MsgId-005", "AM10", None)]
    assert record.reason_text == "904114;ControlSum fehlerhaft"
    assert record.source_msg_id == "20180326375204011685776"
    assert record.source_message == "pain.002.001.03.ch.02"
    assignments = pa.table({"end_to_end_id": ["a-1", "a-2", "b-1"], "msg_id": ["MsgId-005", "MsgId-005", "other"],
                            "pmt_inf_id": ["p1", "p2", "p3"], "amount_minor": [100, 250, 7]})
    expanded = expand_records([record], assignments)
    assert essentials(expanded) == [("rejected", "transaction", "a-1", "MsgId-005", "AM10", 100),
                                    ("rejected", "transaction", "a-2", "MsgId-005", "AM10", 250)]


def test_postfinance_pain002_transaction_rejects():
    """Rejects are "rejected" records; the other statuses of the report (the group's and blocks' PART, ...) are
    "status" records carrying their code: nothing the bank said is dropped."""
    records = read_returns(PAIN002_PART)
    assert essentials([r for r in records if r.kind != "status"]) == [
        ("rejected", "transaction", "EndToEndId-001-03-04", "MsgId-001", "AC01", None)]
    statuses = [r for r in records if r.kind == "status"]
    assert statuses and all(r.status and r.status != "RJCT" for r in statuses)
    records = [r for r in read_returns(PAIN002_RJCT) if r.kind != "status"]
    assert essentials(records) == [
        ("rejected", "transaction", "EndToEndId-006-01-01", "MsgId-006", "AC01", None),
        ("rejected", "payment_information", None, "MsgId-006", "NARR", None)]
    assert records[1].original_pmt_inf_id == "PmtInfId-006-01"
    assignments = pa.table({"end_to_end_id": ["EndToEndId-006-01-01", "EndToEndId-006-01-02"],
                            "msg_id": ["MsgId-006"] * 2, "pmt_inf_id": ["PmtInfId-006-01"] * 2,
                            "amount_minor": [10, 20]})
    expanded = expand_records(records, assignments)  # the payment's own AC01 wins over the block's NARR
    assert [(r.original_end_to_end_id, r.reason_code) for r in expanded] == [
        ("EndToEndId-006-01-01", "AC01"), ("EndToEndId-006-01-02", "NARR")]


@pytest.fixture
def exported(out_dir, debtor, options):
    result = write_pain001(synthetic_payments(60, seed=5), out_dir, debtor, replace(options, max_per_pmt_inf=25))
    picked = result.assignments.take([0, 7, 30, 55])
    returned = {"end_to_end_id": picked["end_to_end_id"], "amount_minor": picked["amount_minor"],
                "reason_code": ["AC04", "MD07", "AC01", "BE04"], "msg_id": picked["msg_id"],
                "pmt_inf_id": picked["pmt_inf_id"],
                "reason_text": ["Račun zatvoren", None, "Konto <ungültig> & gesperrt", None]}
    return result, returned


def back(records) -> list[tuple]:
    return sorted((r.original_end_to_end_id, r.amount_minor, r.reason_code) for r in records)


def sent(returned) -> list[tuple]:
    return sorted(zip(returned["end_to_end_id"].to_pylist(), returned["amount_minor"].to_pylist(),
                      returned["reason_code"]))


@pytest.mark.parametrize("version", ["08", "04"])
def test_round_trip_camt054(out_dir, exported, version):
    result, returned = exported
    written = write_camt054(out_dir / f"camt054-{version}.xml", returned, REPORT, date(2026, 6, 3), version)
    records = read_returns(out_dir / written.name)
    assert back(records) == sent(returned)
    assert {(r.kind, r.booking_date, r.currency, r.source_msg_id) for r in records} == {
        ("returned", date(2026, 6, 3), "EUR", REPORT.msg_id)}
    assert records[2].reason_text == "Konto <ungültig> & gesperrt"
    assert [r.original_pmt_inf_id for r in records] == returned["pmt_inf_id"].to_pylist()


@pytest.mark.parametrize("version", ["12", "03"])
def test_round_trip_pain002(out_dir, exported, version):
    result, returned = exported
    original = result.files[0].msg_id
    written = write_pain002(out_dir / f"pain002-{version}.xml", REPORT, original, returned, version)
    records = read_returns(out_dir / written.name)
    assert {(r.scope, r.status) for r in records if r.kind == "status"} == {("message", "PART"),
                                                                           ("payment_information", "PART")}
    records = [r for r in records if r.kind != "status"]
    assert back(records) == sent(returned)
    assert {(r.kind, r.scope, r.original_msg_id) for r in records} == {("rejected", "transaction", original)}


def test_round_trip_group_reject_expands_to_every_payment_of_the_file(out_dir, exported):
    result, _ = exported
    post = result.files[1]
    write_pain002(out_dir / "am10.xml", REPORT, post.msg_id, None, "12", group_reason="AM10",
                  group_text="Control sum")
    expanded = expand_records(read_returns(out_dir / "am10.xml"), result.assignments)
    assert len(expanded) == post.nb_of_txs
    assert sum(r.amount_minor for r in expanded) == post.ctrl_sum_minor
    assert {r.reason_code for r in expanded} == {"AM10"}


def test_round_trip_camt053_batch_debit_and_pacs004(out_dir, exported):
    result, returned = exported
    bank = result.files[0]
    settlement = Settlement(bank.msg_id, bank.ctrl_sum_minor, bank.nb_of_txs)
    write_camt053(out_dir / "camt053.xml", REPORT, date(2026, 6, 1), (settlement,), returned, 10**10)
    records = read_returns(out_dir / "camt053.xml")
    settled = [r for r in records if r.kind == "settled"]
    assert essentials(settled) == [("settled", "message", None, bank.msg_id, None, bank.ctrl_sum_minor)]
    assert back([r for r in records if r.kind == "returned"]) == sent(returned)
    write_pacs004(out_dir / "pacs004.xml", REPORT, returned)
    assert back(read_returns(out_dir / "pacs004.xml")) == sent(returned)


def test_camt054_batch_debit_by_pmt_inf_id_is_settlement(out_dir, exported):
    result, returned = exported
    block = result.assignments.filter(pa.compute.equal(result.assignments["pmt_inf_id"], "ME-202605-R1-B001-001"))
    settlement = Settlement("ME-202605-R1-B001", sum(block["amount_minor"].to_pylist()), block.num_rows,
                            "ME-202605-R1-B001-001")
    write_camt054(out_dir / "debit.xml", returned, REPORT, date(2026, 6, 1), "08", settlements=(settlement,))
    records = read_returns(out_dir / "debit.xml")
    [debit] = [r for r in records if r.kind == "settled"]
    assert (debit.scope, debit.original_pmt_inf_id, debit.amount_minor) == (
        "payment_information", "ME-202605-R1-B001-001", settlement.amount_minor)
    assert len(expand_records([debit], result.assignments)) == block.num_rows


def test_postal_return_csv(tmp_path):
    path = tmp_path / "posta-povrat.csv"
    path.write_text("reference,status,reason,date,amount\n"
                    "ME202605-0000049,returned,BE04,2026-06-10,123.45\n"
                    "ME202605-0000050,paid,,2026-06-05,\n"
                    "ME202605-0000051,unclaimed,primalac nije pronađen,2026-06-20,\n", encoding="utf-8")
    records = read_returns(path)
    assert [(r.original_end_to_end_id, r.kind, r.reason_code, r.reason_text, r.amount_minor, r.line)
            for r in records] == [("ME202605-0000049", "returned", "BE04", None, 12_345, 1),
                                  ("ME202605-0000050", "settled", None, None, None, 2),
                                  ("ME202605-0000051", "returned", None, "primalac nije pronađen", None, 3)]
    assert records[0].booking_date == date(2026, 6, 10)


def test_postal_return_csv_problems_are_listed_by_row(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("reference,status,date\nA,lost,2026-06-01\nB,paid,01.06.2026\n", encoding="utf-8")
    with pytest.raises(InputError) as caught:
        read_returns(path)
    assert [(p.row, p.column) for p in caught.value.problems] == [(1, "status"), (2, "date/amount")]
    path.write_text("ref,state\nA,paid\n", encoding="utf-8")
    with pytest.raises(InputError, match="reference"):
        read_returns(path)


BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.054.001.08"><BkToCstmrDbtCdtNtfctn><GrpHdr>
<MsgId>&lol4;</MsgId></GrpHdr></BkToCstmrDbtCdtNtfctn></Document>
"""
EXTERNAL_ENTITY = """<?xml version="1.0"?>
<!-- a comment first, to hide the declaration -->
<!DOCTYPE d [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.002.001.12"><CstmrPmtStsRpt><GrpHdr>
<MsgId>&secret;</MsgId></GrpHdr></CstmrPmtStsRpt></Document>
"""
EXTERNAL_DTD = """<?xml version="1.0"?>
<!DOCTYPE Document SYSTEM "http://example.invalid/evil.dtd">
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.002.001.12"/>
"""


@pytest.mark.parametrize("text, line", [(BILLION_LAUGHS, 2), (EXTERNAL_ENTITY, 3), (EXTERNAL_DTD, 2)])
def test_hostile_xml_is_refused_before_parsing(tmp_path, text, line):
    path = tmp_path / "hostile.xml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as caught:
        read_returns(path)
    [problem] = caught.value.problems
    assert (problem.file, problem.row) == (str(path), line)
    assert "DOCTYPE" in problem.rule


def test_hostile_xml_in_utf16_is_refused(tmp_path):
    path = tmp_path / "hostile16.camt"
    path.write_bytes(EXTERNAL_ENTITY.replace('<?xml version="1.0"?>', "").encode("utf-16"))
    with pytest.raises(InputError, match="DOCTYPE"):
        read_returns(path)


def test_malformed_xml_is_refused_with_its_line(tmp_path):
    good = CAMT054_AC01.read_text(encoding="utf-8")
    broken_line = good[: good.index("</Refs>")].count("\n") + 1
    path = tmp_path / "cut.xml"
    path.write_text(good.replace("</Refs>", "</Rfs>", 1), encoding="utf-8")
    with pytest.raises(InputError) as caught:
        read_returns(path)
    [problem] = caught.value.problems
    assert (problem.file, problem.row) == (str(path), broken_line)
    assert "malformed XML" in problem.rule and "Rfs" in problem.rule


def test_parser_itself_expands_no_entity_even_without_the_prolog_check(tmp_path, monkeypatch):
    """Defence in depth: with the DOCTYPE pre-check switched off, lxml still neither expands nor fetches."""
    import bank_exports.safexml as safexml
    monkeypatch.setattr(safexml, "check_prolog", lambda path: None)
    for number, text in enumerate((BILLION_LAUGHS, EXTERNAL_ENTITY)):
        path = tmp_path / f"hostile{number}.xml"
        path.write_text(text, encoding="utf-8")
        with pytest.raises(InputError, match="DOCTYPE"):
            list(safexml.iterate(path, ("GrpHdr",)))
        with pytest.raises(InputError, match="DOCTYPE"):
            list(safexml.pull(path, ("GrpHdr",)))


@pytest.mark.parametrize("text, rule", [
    ("", "empty"),
    ('<?xml version="1.0"?><Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.001.001.09">'
     "<CstmrCdtTrfInitn/></Document>", "unexpected message"),
    ("<Document><Nope/></Document>", "unexpected message"),
    ('<Document xmlns="x"><BkToCstmrDbtCdtNtfctn><GrpHdr><MsgId>1</MsgId><CreDtTm>2026-13-01T00:00:00</CreDtTm>'
     "</GrpHdr></BkToCstmrDbtCdtNtfctn></Document>", "ISO date"),
    ('<Document xmlns="x"><BkToCstmrDbtCdtNtfctn><Ntfctn><Ntry><Amt Ccy="EUR">1.234</Amt><CdtDbtInd>CRDT'
     "</CdtDbtInd><NtryDtls><TxDtls><Refs><EndToEndId>A</EndToEndId></Refs><RtrInf/></TxDtls></NtryDtls></Ntry>"
     "</Ntfctn></BkToCstmrDbtCdtNtfctn></Document>", "more than 2 decimals"),
])
def test_unexpected_input_is_refused_clearly(tmp_path, text, rule):
    path = tmp_path / "odd.xml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError, match=rule):
        read_returns(path)


def test_missing_file_is_refused(tmp_path):
    with pytest.raises(InputError, match="not found"):
        read_returns(tmp_path / "nowhere.xml")


def test_large_notification_is_streamed(out_dir):
    payments = synthetic_payments(5_000, seed=2)
    returned = {"end_to_end_id": payments["end_to_end_id"], "amount_minor": payments["amount_minor"],
                "reason_code": pa.array(["AC04"] * 5_000)}
    write_camt054(out_dir / "big.xml", returned, REPORT, date(2026, 6, 3), "08")
    records = read_returns(out_dir / "big.xml")
    assert len(records) == 5_000
    assert sum(r.amount_minor for r in records) == sum(payments["amount_minor"].to_pylist())


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.from_regex(r"\A\s*[0-9]{1,20}(\.[0-9]{0,7})?\s*\Z"), st.text(max_size=12)), st.integers(0, 3))
@example(".0", 0)
@example(".25", 2)
@example(".", 2)
@example("5.", 0)
def test_amount_parser_agrees_with_decimal_on_iso_amounts(text, exponent):
    """parse_amount reads what ISO 20022 calls an amount exactly as Decimal does, and refuses the rest: xs:decimal's
    unsigned lexical form ('5', '5.', '5.25', '.25'), at most 18 digits and the currency's decimals."""
    value = text.strip()
    whole, _, fraction = value.partition(".")
    iso = value.isascii() and (whole.isdigit() or not whole) and (fraction.isdigit() or not fraction) \
        and (whole.isdigit() or fraction.isdigit()) \
        and len((whole.lstrip("0") + fraction.rstrip("0"))) <= 18 and not fraction[exponent:].strip("0") \
        and int(Decimal(value).scaleb(exponent)) < 2**63
    if not iso:
        with pytest.raises(ValueError):
            parse_amount(text, exponent)
        return
    assert parse_amount(text, exponent) == int(Decimal(value).scaleb(exponent))


MIXED_CAMT054 = """<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.054.001.08"><BkToCstmrDbtCdtNtfctn>
<GrpHdr><MsgId>MIXED-1</MsgId><CreDtTm>2026-06-04T08:00:00</CreDtTm></GrpHdr>
<Ntfctn><Id>N1</Id><Acct><Id><IBAN>ME25505000012345678951</IBAN></Id></Acct>
<Ntry><Amt Ccy="EUR">30.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts>
 <BookgDt><DtTm>2026-06-04T10:00:00</DtTm></BookgDt>
 <BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>ICDT</Cd><SubFmlyCd>RRTN</SubFmlyCd></Fmly></Domn></BkTxCd>
 <NtryDtls><Btch><NbOfTxs>2</NbOfTxs></Btch>
  <TxDtls><Refs><EndToEndId>E-1</EndToEndId></Refs><AmtDtls><InstdAmt><Amt Ccy="EUR">10.00</Amt></InstdAmt>
   </AmtDtls><RtrInf><Rsn><Prtry>X99</Prtry></Rsn><AddtlInf>first	line</AddtlInf><AddtlInf>second
   line</AddtlInf></RtrInf></TxDtls>
  <TxDtls><Refs><EndToEndId>E-2</EndToEndId></Refs><Amt Ccy="EUR">20.00</Amt><CdtDbtInd>CRDT</CdtDbtInd>
   <RtrInf><Rsn><Cd>AC06</Cd></Rsn></RtrInf></TxDtls>
 </NtryDtls></Ntry>
<Ntry><Amt Ccy="EUR">5.00</Amt><CdtDbtInd>DBIT</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts><ValDt><Dt>2026-06-05</Dt></ValDt>
 <BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>ICDT</Cd><SubFmlyCd>DMCT</SubFmlyCd></Fmly></Domn></BkTxCd>
 <NtryDtls><TxDtls><Refs><MsgId>M-1</MsgId><EndToEndId>E-3</EndToEndId></Refs><Amt Ccy="EUR">5.00</Amt>
  <CdtDbtInd>DBIT</CdtDbtInd></TxDtls></NtryDtls></Ntry>
<Ntry><Amt Ccy="EUR">7.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts><Cd>PDNG</Cd></Sts>
 <BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>ICDT</Cd><SubFmlyCd>RRTN</SubFmlyCd></Fmly></Domn></BkTxCd>
 <NtryDtls><TxDtls><Refs><EndToEndId>E-4</EndToEndId></Refs><RtrInf/></TxDtls></NtryDtls></Ntry>
<Ntry><Amt Ccy="EUR">9.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts>
 <BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>RCDT</Cd><SubFmlyCd>ESCT</SubFmlyCd></Fmly></Domn></BkTxCd></Ntry>
<Ntry><Amt Ccy="EUR">1.50</Amt><CdtDbtInd>DBIT</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts>
 <BkTxCd><Domn><Cd>ACMT</Cd><Fmly><Cd>MDOP</Cd><SubFmlyCd>CHRG</SubFmlyCd></Fmly></Domn></BkTxCd></Ntry>
</Ntfctn></BkToCstmrDbtCdtNtfctn></Document>
"""


def test_mixed_notification_reads_every_booked_entry_each_record_citing_its_own_line(tmp_path):
    """Returns, settlements, and the entries that are neither (an incoming credit, a bank charge: kind "other",
    for reconcile to list as not ours); a pending entry is not final: a "status" record carrying its status, which
    books nothing and leaves the booking to its booked notice; every record of a batch entry cites its own
    TxDtls."""
    path = tmp_path / "mixed.xml"
    path.write_text(MIXED_CAMT054, encoding="utf-8")
    records = read_returns(path)
    assert [(r.kind, r.original_end_to_end_id, r.amount_minor, r.reason_code, r.reason_text, r.booking_date)
            for r in records] == [
        ("returned", "E-1", 1_000, "X99", "first line; second line", date(2026, 6, 4)),
        ("returned", "E-2", 2_000, "AC06", None, date(2026, 6, 4)),
        ("settled", "E-3", 500, None, None, date(2026, 6, 5)),
        ("status", "E-4", None, None, None, None),
        ("other", None, 900, None, None, None),
        ("other", None, 150, None, None, None)]
    assert records[2].original_msg_id == "M-1"
    assert [r.status for r in records] == [None, None, None, "PDNG", None, None]
    assert [r.line for r in records] == [9, 12, 17, 21, 22, 24]


PACS004_V09 = """<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pacs.004.001.09"><PmtRtr>
<GrpHdr><MsgId>RTR-7</MsgId><CreDtTm>2026-06-06T09:00:00</CreDtTm><NbOfTxs>2</NbOfTxs>
 <IntrBkSttlmDt>2026-06-06</IntrBkSttlmDt><SttlmInf><SttlmMtd>CLRG</SttlmMtd></SttlmInf></GrpHdr>
<OrgnlGrpInf><OrgnlMsgId>ME-202605-R1-B001</OrgnlMsgId><OrgnlMsgNmId>pain.001.001.09</OrgnlMsgNmId></OrgnlGrpInf>
<TxInf><OrgnlEndToEndId>E-1</OrgnlEndToEndId><RtrdIntrBkSttlmAmt Ccy="RSD">1500</RtrdIntrBkSttlmAmt>
 <RtrRsnInf><Rsn><Cd>MD07</Cd></Rsn><AddtlInf>deceased</AddtlInf></RtrRsnInf></TxInf>
<TxInf><OrgnlGrpInf><OrgnlMsgId>OTHER</OrgnlMsgId><OrgnlMsgNmId>pain.001.001.09</OrgnlMsgNmId></OrgnlGrpInf>
 <OrgnlEndToEndId>E-2</OrgnlEndToEndId><RtrdIntrBkSttlmAmt Ccy="RSD">200</RtrdIntrBkSttlmAmt>
 <IntrBkSttlmDt>2026-06-07</IntrBkSttlmDt><RtrRsnInf><Rsn><Prtry>BANK9</Prtry></Rsn></RtrRsnInf></TxInf>
</PmtRtr></Document>
"""


def test_pacs004_with_group_and_transaction_original_messages(tmp_path):
    path = tmp_path / "pacs004.xml"
    path.write_text(PACS004_V09, encoding="utf-8")
    records = read_returns(path, minor_exponent={"RSD": 0})
    assert [(r.original_end_to_end_id, r.original_msg_id, r.amount_minor, r.currency, r.reason_code,
             r.reason_text, r.booking_date) for r in records] == [
        ("E-1", "ME-202605-R1-B001", 1_500, "RSD", "MD07", "deceased", date(2026, 6, 6)),
        ("E-2", "OTHER", 200, "RSD", "BANK9", None, date(2026, 6, 7))]
    assert {(r.kind, r.source_msg_id, r.source_message) for r in records} == {
        ("returned", "RTR-7", "pacs.004.001.09")}


def test_entries_interleaved_with_other_elements_and_split_by_chunks(tmp_path, monkeypatch):
    """Entries with a foreign element between them, read in 300-byte chunks: nothing lost, nothing doubled."""
    import bank_exports.safexml as safexml
    monkeypatch.setattr(safexml, "PULL_CHUNK_BYTES", 300)
    monkeypatch.setattr(safexml.pull, "__defaults__", (300,))
    entry = ('<Ntry><Amt Ccy="EUR">{amount}</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts>'
             "<BookgDt><Dt>2026-06-04</Dt></BookgDt><BkTxCd/><NtryDtls><TxDtls><Refs><EndToEndId>E-{number}"
             "</EndToEndId></Refs><RtrInf><Rsn><Cd>AC04</Cd></Rsn></RtrInf></TxDtls></NtryDtls></Ntry>\n")
    body = "".join(entry.format(amount=f"{number}.00", number=number) for number in range(1, 40))
    twentieth = '<Ntry><Amt Ccy="EUR">20.00'
    body = body.replace(twentieth, "<AddtlNtfctnInf>x</AddtlNtfctnInf>" + twentieth)
    path = tmp_path / "chunks.xml"
    path.write_text('<?xml version="1.0"?><Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.054.001.08">'
                    "<BkToCstmrDbtCdtNtfctn><GrpHdr><MsgId>C</MsgId><CreDtTm>2026-06-04T00:00:00</CreDtTm></GrpHdr>"
                    f"<Ntfctn><Id>1</Id>{body}<AddtlNtfctnInf>end</AddtlNtfctnInf></Ntfctn>"
                    "</BkToCstmrDbtCdtNtfctn></Document>", encoding="utf-8")
    records = read_returns(path)
    assert [(r.original_end_to_end_id, r.amount_minor) for r in records] == [
        (f"E-{number}", number * 100) for number in range(1, 40)]


def test_two_statements_read_in_small_chunks(tmp_path, monkeypatch):
    """Two statements in one camt.053 (the first one's entries complete only when the second starts), read in
    200-byte chunks: every entry once, with the group header's MsgId."""
    import bank_exports.safexml as safexml
    monkeypatch.setattr(safexml.pull, "__defaults__", (200,))
    entry = ('<Ntry><Amt Ccy="EUR">{amount}</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts>'
             "<BookgDt><Dt>2026-06-0{day}</Dt></BookgDt><NtryDtls><TxDtls><Refs><EndToEndId>E-{number}</EndToEndId>"
             "</Refs><RtrInf><Rsn><Cd>AC04</Cd></Rsn></RtrInf></TxDtls></NtryDtls></Ntry>\n")
    statement = lambda day, numbers: (f"<Stmt><Id>S{day}</Id>" + "".join(  # noqa: E731
        entry.format(amount=f"{n}.00", day=day, number=n) for n in numbers) + "</Stmt>\n")
    path = tmp_path / "two.xml"
    path.write_text('<?xml version="1.0"?><Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08">'
                    "<BkToCstmrStmt><GrpHdr><MsgId>TWO</MsgId><CreDtTm>2026-06-04T00:00:00</CreDtTm></GrpHdr>\n"
                    + statement(4, range(1, 8)) + statement(5, range(8, 12)) + "</BkToCstmrStmt></Document>",
                    encoding="utf-8")
    records = read_returns(path)
    assert [(r.original_end_to_end_id, r.amount_minor, r.booking_date.day) for r in records] == [
        (f"E-{n}", n * 100, 4 if n < 8 else 5) for n in range(1, 12)]
    assert {(r.source_msg_id, r.source_message, r.kind, r.reason_code) for r in records} == {
        ("TWO", "camt.053.001.08", "returned", "AC04")}
    assert [r.line for r in records] == [1 + n if n < 8 else 2 + n for n in range(1, 12)]


def test_every_format_reads_the_four_returned_payments(out_dir, exported):
    result, returned = exported
    files = [write_camt054(out_dir / "c.xml", returned, REPORT, date(2026, 6, 3), "04"),
             write_pain002(out_dir / "p.xml", REPORT, result.files[0].msg_id, returned, "12"),
             write_pacs004(out_dir / "r.xml", REPORT, returned)]
    for written in files:
        records = read_returns(out_dir / written.name)
        assert sum(record.kind in ("rejected", "returned") for record in records) == 4


def test_a_text_node_over_the_parsers_limit_is_refused(tmp_path):
    path = tmp_path / "long.xml"
    path.write_text('<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.054.001.08"><BkToCstmrDbtCdtNtfctn>'
                    f"<GrpHdr><MsgId>{'A' * 11_000_000}</MsgId></GrpHdr></BkToCstmrDbtCdtNtfctn></Document>")
    with pytest.raises(InputError) as caught:
        read_returns(path)
    [problem] = caught.value.problems
    assert (problem.file, problem.row) == (str(path), 1) and "malformed XML" in problem.rule


@pytest.mark.parametrize("kind", ["pain002-12", "pain002-03", "pacs004"])
def test_status_reports_read_in_small_chunks_give_the_same_records(out_dir, tmp_path, monkeypatch, kind):
    """pain.002 (rejects in several blocks, a block-level reject among them) and pacs.004 read in 150-byte
    chunks: the same records, in the same order, as read in one piece."""
    import bank_exports.safexml as safexml
    payments = synthetic_payments(90, seed=9)
    returned = {"end_to_end_id": payments["end_to_end_id"], "amount_minor": payments["amount_minor"],
                "reason_code": pa.array(["AC04", "MS03", None] * 30),
                "reason_text": pa.array([None, "Račun <zatvoren>", None] * 30),
                "pmt_inf_id": pa.array([f"ME-202605-R1-B001-{row // 40 + 1:03d}" for row in range(90)])}
    if kind == "pacs004":
        write_pacs004(out_dir / "status.xml", REPORT, returned)
    else:
        write_pain002(out_dir / "status.xml", REPORT, "ME-202605-R1-B001", returned, kind[-2:])
        text = (out_dir / "status.xml").read_text(encoding="utf-8")  # the second block rejected as a whole
        (out_dir / "status.xml").write_text(text.replace("B001-002</OrgnlPmtInfId><PmtInfSts>PART",
                                                         "B001-002</OrgnlPmtInfId><PmtInfSts>RJCT"), encoding="utf-8")
    whole = read_returns(out_dir / "status.xml")
    monkeypatch.setattr(safexml.pull, "__defaults__", (150,))
    assert read_returns(out_dir / "status.xml") == whole
    transactions = [r for r in whole if r.scope == "transaction"]
    assert [r.original_end_to_end_id for r in transactions] == payments["end_to_end_id"].to_pylist()
    assert [r.amount_minor for r in transactions] == payments["amount_minor"].to_pylist()
    assert transactions[1].reason_text == "Račun <zatvoren>" and transactions[2].reason_code is None
    blocks = [r for r in whole if r.scope == "payment_information" and r.kind == "rejected"]
    if kind != "pacs004":
        assert [(r.original_pmt_inf_id, r.original_msg_id) for r in blocks] == [
            ("ME-202605-R1-B001-002", "ME-202605-R1-B001")]
        said = [r for r in whole if r.kind != "status"]
        assert said.index(blocks[0]) == 80  # after the transactions of its block, before the next block's
        assert {r.original_pmt_inf_id for r in transactions[40:80]} == {"ME-202605-R1-B001-002"}


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.from_regex(r"\A\s*[0-9]{1,20}(\.[0-9]{0,5})?\s*\Z"), st.text(max_size=8)),
                min_size=1, max_size=6),
       st.lists(st.sampled_from(["EUR", "RSD", "KWD", None]), min_size=6, max_size=6))
def test_column_wise_amounts_agree_with_the_one_by_one_parser(texts, currencies):
    """camt amounts are converted column-wise (plain form) or one by one: both give parse_amount's result (an empty amount is refused), and
    what it refuses is refused with the entry's line."""
    from bank_exports.returns.camt import minor_amounts as _minor_amounts
    from bank_exports.returns.record import Context as _Context
    exponents = {"EUR": 2, "RSD": 0, "KWD": 3}
    context = _Context(Path("x.xml"), "camt.054.001.08", exponents)
    from bank_exports.returns.camt import Row
    rows = [Row("returned", "transaction", None, None, None, None, None, text.strip(), currency, None, line, None)
            for line, (text, currency) in enumerate(zip(texts, currencies), start=1)]
    expected = []
    for _kind, _scope, _e, _m, _p, _c, _t, text, currency, _b, line, *_rest in rows:
        try:
            expected.append(parse_amount(text, exponents.get(currency, 2)))
        except ValueError:
            with pytest.raises(InputError) as caught:
                _minor_amounts(rows, context)
            assert caught.value.problems[0].row == line
            return
    assert _minor_amounts(rows, context) == expected


POSTAL_ROWS = ["ME-1,paid,,2026-06-05,", "ME-2, Returned ,BE04,2026-06-10,123.45", "ME-3,unclaimed,nije tu,,7",
               "ME-4,delivered,,20260611,", "ME-5,refused,AC04 ,2026-06-12, 100", "ME-6,paid,,2026-06-13,0012.5",
               " ,settled,ZZ99,2026-06-14,", "ME-8,rejected,MS03,2026-06-15,3.00"]
POSTAL_BAD_ROWS = ["ME-9,lost,,2026-06-01,", "ME-10,paid,,2026-02-30,", "ME-11,paid,,2026-06-01,1.234",
                   "ME-12,paid,,01.06.2026,", "ME-13,returned,,2026-06-01,abc",
                   "ME-14,paid,,2026-06-01,1e2", "ME-15,paid,,2026-06-01,-5", "ME-16,paid,,2026-06-01,1_000",
                   "ME-17,paid,,2026-06-01,١٠"]


POSTAL_EMPTY_COLUMNS = ["ME-1,paid,,2026-06-05,", "ME-2,returned,,,"]  # reason and amount read as null columns


@pytest.mark.parametrize("rows", [POSTAL_ROWS, POSTAL_ROWS + POSTAL_BAD_ROWS, POSTAL_EMPTY_COLUMNS],
                         ids=["good", "with-bad", "empty-columns"])
def test_postal_columns_agree_with_the_row_by_row_reader(tmp_path, rows):
    """Column-wise checks and conversions give exactly what _postal_record gives row by row: the same records,
    or the same problems (row, column, value, rule) when some rows are bad."""
    from bank_exports.returns.postal_returns import postal_record as _postal_record, postal_table as _postal_table, \
        read_postal_returns
    path = tmp_path / "posta.csv"
    path.write_text("Reference,Status,reason,date,amount\n" + "\n".join(rows) + "\n", encoding="utf-8")
    problems, expected = [], []
    for row, values in enumerate(_postal_table(path).to_pylist(), start=1):
        record = _postal_record(path, row, values, problems, None, 2)
        if record is not None:
            expected.append(record)
    if problems:
        with pytest.raises(InputError) as caught:
            read_postal_returns(path)
        assert caught.value.problems == problems and len(problems) == len(POSTAL_BAD_ROWS)
    else:
        assert read_postal_returns(path) == expected
        if rows is POSTAL_ROWS:
            assert [r.amount_minor for r in expected] == [None, 12_345, 700, None, 10_000, 1_250, None, 300]


def test_an_amount_past_int64_minor_units_is_refused(tmp_path):
    import re

    huge = tmp_path / "huge.xml"
    huge.write_text(re.sub(r'(<Amt Ccy="[A-Z]{3}">)[0-9.]+(</Amt>)', r"\g<1>123456789012345678.00\2",
                           CAMT054_RVSL.read_text(encoding="utf-8")), encoding="utf-8")
    assert read_returns(CAMT054_RVSL)
    with pytest.raises(InputError, match="64-bit minor units"):
        read_returns(huge)


PAIN002_V02 = """<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.002.001.02"><{message}>
<GrpHdr><MsgId>STS-2</MsgId><CreDtTm>2026-06-04T08:00:00</CreDtTm></GrpHdr>
<OrgnlGrpInfAndSts><OrgnlMsgId>ME-202605-R1-B001</OrgnlMsgId><OrgnlMsgNmId>pain.001.001.02</OrgnlMsgNmId>
 <GrpSts>PART</GrpSts></OrgnlGrpInfAndSts>
<TxInfAndSts><OrgnlPmtInfId>ME-202605-R1-B001-001</OrgnlPmtInfId><OrgnlInstrId>E-1</OrgnlInstrId>
 <OrgnlEndToEndId>E-1</OrgnlEndToEndId><TxSts>RJCT</TxSts><StsRsnInf><StsRsn><Cd>AC04</Cd></StsRsn>
 <AddtlStsRsnInf>closed</AddtlStsRsnInf></StsRsnInf></TxInfAndSts>
<TxInfAndSts><OrgnlEndToEndId>E-2</OrgnlEndToEndId><TxSts>ACSC</TxSts></TxInfAndSts>
</{message}></Document>
"""


@pytest.mark.parametrize("message", ["pain.002.001.02", "CstmrPmtStsRpt"])
def test_a_first_version_status_report_keeps_its_transaction_rejects(tmp_path, message):
    """pain.002.001.02 names its message element after the message and lists the transactions beside the group's
    status, with StsRsn for the reason; a report laid out so under CstmrPmtStsRpt is read alike: the group's PART
    does not hide the transaction's RJCT."""
    path = tmp_path / "sts.xml"
    path.write_text(PAIN002_V02.format(message=message), encoding="utf-8")
    records = read_returns(path)
    assert [(r.kind, r.scope, r.status, r.original_end_to_end_id, r.original_msg_id, r.original_pmt_inf_id,
             r.reason_code) for r in records] == [
        ("status", "message", "PART", None, "ME-202605-R1-B001", None, None),
        ("rejected", "transaction", "RJCT", "E-1", "ME-202605-R1-B001", "ME-202605-R1-B001-001", "AC04"),
        ("status", "transaction", "ACSC", "E-2", "ME-202605-R1-B001", None, None)]
    assert records[1].line == 6 and records[1].source_message.startswith("pain.002")


def test_a_first_version_statement_named_by_role_and_version_is_read(tmp_path):
    """camt.053.001.01 names its message element <BkToCstmrStmtV01>: read as camt.053."""
    path = tmp_path / "stmt.xml"
    path.write_text('<?xml version="1.0" encoding="UTF-8"?>\n<Document xmlns="urn:iso:std:iso:20022:tech:xsd:'
                    'camt.053.001.01"><BkToCstmrStmtV01><GrpHdr><MsgId>S-1</MsgId><CreDtTm>2026-06-04T08:00:00'
                    '</CreDtTm></GrpHdr><Stmt><Id>1</Id><Ntry><Amt Ccy="EUR">12.50</Amt><CdtDbtInd>CRDT</CdtDbtInd>'
                    "<Sts>BOOK</Sts><BookgDt><Dt>2026-06-04</Dt></BookgDt><NtryDtls><TxDtls><Refs><EndToEndId>E-9"
                    "</EndToEndId></Refs><RtrInf><Rsn><Cd>AC04</Cd></Rsn></RtrInf></TxDtls></NtryDtls></Ntry></Stmt>"
                    "</BkToCstmrStmtV01></Document>\n", encoding="utf-8")
    [record] = read_returns(path)
    assert (record.kind, record.original_end_to_end_id, record.amount_minor, record.reason_code,
            record.source_message) == ("returned", "E-9", 1250, "AC04", "camt.053.001.01")
