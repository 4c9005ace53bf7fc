"""The money that moved is a camt entry's Amt: it must be an amount, and details with their own Amt in the entry's
currency may not add up to more than it (less: the bank's charges included in the entry)."""
import pytest

from bank_exports.returns import read_returns
from bank_exports.returns.camt import UNBALANCED
from formats.errors import InputError

NS = "urn:iso:std:iso:20022:tech:xsd:camt.054.001.08"


def notification(path, entry_amount: str, details: list[tuple[str, str]]):
    txs = "".join(f"<TxDtls><Refs><EndToEndId>{ref}</EndToEndId></Refs><Amt Ccy=\"EUR\">{amount}</Amt></TxDtls>"
                  for ref, amount in details)
    path.write_text(f'<?xml version="1.0" encoding="UTF-8"?><Document xmlns="{NS}"><BkToCstmrDbtCdtNtfctn>'
                    "<GrpHdr><MsgId>N1</MsgId><CreDtTm>2024-10-15T10:00:00</CreDtTm></GrpHdr><Ntfctn><Id>1</Id>"
                    "<Acct><Id><IBAN>ME25907000000000045322</IBAN></Id></Acct>"
                    f'<Ntry><Amt Ccy="EUR">{entry_amount}</Amt><CdtDbtInd>DBIT</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts>'
                    f"<BookgDt><Dt>2024-10-15</Dt></BookgDt><NtryDtls>{txs}</NtryDtls></Ntry>"
                    "</Ntfctn></BkToCstmrDbtCdtNtfctn></Document>", encoding="utf-8")
    return path


def test_details_adding_up_to_more_than_the_entry_are_unbalanced(tmp_path):
    records = read_returns(notification(tmp_path / "a.xml", "100.00", [("ME-1", "60.00"), ("ME-2", "50.00")]))
    assert [(r.kind, r.status) for r in records] == [("other", UNBALANCED)] * 2
    assert "110.00" in records[0].reason_text and "100.00" in records[0].reason_text


def test_details_within_the_entry_settle(tmp_path):
    for total in ("110.00", "111.50"):  # equal, or the bank's charges included in the entry
        records = read_returns(notification(tmp_path / "b.xml", total, [("ME-1", "60.00"), ("ME-2", "50.00")]))
        assert [(r.kind, r.amount_minor) for r in records] == [("settled", 6000), ("settled", 5000)]


def test_an_entry_amount_that_is_no_amount_is_refused_with_its_line(tmp_path):
    with pytest.raises(InputError) as refused:
        read_returns(notification(tmp_path / "c.xml", "1e9", [("ME-1", "21.56")]))
    assert refused.value.problems[0].value == "1e9" and refused.value.problems[0].row
