"""Hand-made variants of what banks send (issue 13, issue 12 items 9-10): envelopes of every kind, statuses that
are not rejections, bad amounts refused with file and line, postal lists in the currency's exponent and not in
UTF-8."""
import pytest

from bank_exports.returns import read_postal_returns, read_returns
from formats.errors import InputError

ISO = "urn:iso:std:iso:20022:tech:xsd:"
HEADER = ('<AppHdr xmlns="urn:iso:std:iso:20022:tech:xsd:head.001.001.02"><Fr><FIId><FinInstnId><BICFI>BANKMEPG'
          "</BICFI></FinInstnId></FIId></Fr><BizMsgIdr>BAH-7</BizMsgIdr><MsgDefIdr>camt.054.001.08</MsgDefIdr>"
          "<CreDt>2026-06-04T08:00:00Z</CreDt></AppHdr>")


def camt054(amount: str = "12.30", currency: str = "EUR", e2e: str = "ME-202605-01-0000001") -> str:
    return (f'<Document xmlns="{ISO}camt.054.001.08"><BkToCstmrDbtCdtNtfctn><GrpHdr><MsgId>N-1</MsgId>'
            "<CreDtTm>2026-06-04T08:00:00</CreDtTm></GrpHdr><Ntfctn><Id>N</Id><Acct><Id><IBAN>"
            "ME25505000012345678951</IBAN></Id></Acct>\n"
            f'<Ntry><Amt Ccy="{currency}">{amount}</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts>'
            "<BookgDt><Dt>2026-06-04</Dt></BookgDt><BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>ICDT</Cd><SubFmlyCd>RRTN"
            "</SubFmlyCd></Fmly></Domn></BkTxCd>\n<NtryDtls><TxDtls><Refs><InstrId>I-1</InstrId>"
            f"<EndToEndId>{e2e}</EndToEndId></Refs><Amt Ccy=\"{currency}\">{amount}</Amt>"
            "<RtrInf><Rsn><Cd>AC04</Cd></Rsn></RtrInf></TxDtls></NtryDtls></Ntry>\n"
            "</Ntfctn></BkToCstmrDbtCdtNtfctn></Document>")


@pytest.mark.parametrize("wrap", [
    lambda doc: doc,
    lambda doc: f'<Envelope xmlns="urn:swift:xsd:envelope">{HEADER}{doc}</Envelope>',
    lambda doc: f'<FPEnvelope xmlns="urn:iso:std:iso:20022:tech:xsd:scheme.FPEnvelope">{HEADER}{doc}</FPEnvelope>',
    lambda doc: f"<BizMsg>{HEADER}\n{doc}</BizMsg>",  # header and document side by side in any wrapper
], ids=["plain", "Envelope", "FPEnvelope", "side-by-side"])
def test_enveloped_messages_are_read_with_their_header(tmp_path, wrap):
    path = tmp_path / "n.xml"
    path.write_text('<?xml version="1.0" encoding="UTF-8"?>\n' + wrap(camt054()), encoding="utf-8")
    [record] = read_returns(path)
    assert (record.kind, record.original_end_to_end_id, record.original_instr_id, record.amount_minor) == (
        "returned", "ME-202605-01-0000001", "I-1", 1230)
    assert record.source_message == "camt.054.001.08" and record.source_msg_id == "N-1"
    header = (record.header_sender, record.header_msg_id, record.header_created)
    plain = "<AppHdr" not in wrap("")
    assert header == ((None, None, None) if plain else ("BANKMEPG", "BAH-7", "2026-06-04T08:00:00Z"))


@pytest.mark.parametrize("amount", ["", "1e9", "-5", "1_000", "٣٧٠.٧٦", "1" * 30, "12.345"])
def test_an_amount_that_is_not_an_iso_decimal_is_refused_with_file_and_line(tmp_path, amount):
    path = tmp_path / "bad.xml"
    path.write_text(camt054(amount=amount), encoding="utf-8")
    with pytest.raises(InputError) as caught:
        read_returns(path)
    problem = caught.value.problems[0]
    assert problem.file == str(path) and problem.row in (2, 3) and "not an amount" in problem.rule


@pytest.mark.parametrize("currency, text, minor", [("JPY", "1500", 1500), ("KWD", "12.345", 12345),
                                                   ("RSD", "1500.00", 150000), ("EUR", "12.30", 1230)])
def test_amounts_are_read_at_their_currencys_iso_exponent(tmp_path, currency, text, minor):
    path = tmp_path / "n.xml"
    path.write_text(camt054(amount=text, currency=currency), encoding="utf-8")
    [record] = read_returns(path)
    assert (record.amount_minor, record.currency) == (minor, currency)


def test_verification_of_payee_and_other_statuses_are_records(tmp_path):
    rows = "".join(f"<TxInfAndSts><OrgnlInstrId>I-{n}</OrgnlInstrId><OrgnlEndToEndId>E-{n}</OrgnlEndToEndId>"
                   f"<TxSts>{status}</TxSts></TxInfAndSts>"
                   for n, status in enumerate(["RVNM", "RVMC", "RCVC", "PDNG", "ACSP", "ACCP", "ACSC", "ACTC",
                                               "ACWC", "RJCT"]))
    path = tmp_path / "vop.xml"
    path.write_text(f'<Document xmlns="{ISO}pain.002.001.10"><CstmrPmtStsRpt><GrpHdr><MsgId>S</MsgId>'
                    "<CreDtTm>2026-06-04T08:00:00</CreDtTm></GrpHdr><OrgnlGrpInfAndSts><OrgnlMsgId>M-1</OrgnlMsgId>"
                    "<OrgnlMsgNmId>pain.001.001.09</OrgnlMsgNmId><GrpSts>PART</GrpSts></OrgnlGrpInfAndSts>"
                    f"<OrgnlPmtInfAndSts><OrgnlPmtInfId>M-1-001</OrgnlPmtInfId>{rows}</OrgnlPmtInfAndSts>"
                    "</CstmrPmtStsRpt></Document>", encoding="utf-8")
    records = read_returns(path)
    assert [(r.kind, r.scope, r.status) for r in records] == [("status", "message", "PART")] + [
        ("status", "transaction", status) for status in ("RVNM", "RVMC", "RCVC", "PDNG", "ACSP", "ACCP", "ACSC",
                                                         "ACTC", "ACWC")] + [("rejected", "transaction", "RJCT")]
    assert [r.original_instr_id for r in records if r.scope == "transaction"] == [f"I-{n}" for n in range(10)]


@pytest.mark.parametrize("currency, amount, minor", [("RSD", "1500", 150_000), ("EUR", "12.3", 1230),
                                                     ("KWD", "12.345", 12_345), ("JPY", "1500", 1500)])
def test_postal_returns_are_read_at_the_currencys_exponent(tmp_path, currency, amount, minor):
    """"1500" RSD is 1500 dinars (150000 paras at ISO's exponent), never 150000 dinars."""
    path = tmp_path / "posta.csv"
    path.write_text(f"reference,status,reason,date,amount\nME-1,returned,MS03,2026-06-05,{amount}\n",
                    encoding="utf-8")
    [record] = read_postal_returns(path, currency)
    assert (record.amount_minor, record.currency) == (minor, currency)
    [record] = read_returns(path, currency=currency)
    assert (record.amount_minor, record.currency) == (minor, currency)


def test_a_postal_return_list_that_is_not_utf8_is_refused_with_its_line(tmp_path):
    path = tmp_path / "posta.csv"
    path.write_bytes("reference,status,reason,date\nME-1,returned,Preminuo,2026-06-05\nME-2,returned,Pro".encode()
                     + "četo".encode("cp1250") + b",2026-06-05\n")
    with pytest.raises(InputError) as caught:
        read_returns(path, currency="RSD")
    problem = caught.value.problems[0]
    assert (problem.file, problem.row) == (str(path), 3) and "not UTF-8" in problem.rule
