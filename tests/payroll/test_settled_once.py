"""Treasury cash moves as the bank's money did. Never settled twice (payroll/settlement.py): banks tell one debit
more than once (camt.054 then camt.053, an intraday camt.052), at the level of the file, of a block or of a
payment, and a statement can name a payment in several details of one entry; a further report of what an earlier
file settled in full is already seen (exit 0); anything beyond what is unsettled is an exception (exit 1) and
books nothing. A return with the bank's charges taken off is reversed in full, cash taking what came back and
bank charges the rest. On the hand-made register's September payroll, through the command line."""
import csv

import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from acceptance.test_contracts import Cli, export_september

ISO = "urn:iso:std:iso:20022:tech:xsd:"


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    root = tmp_path_factory.mktemp("settled")
    export_september(root)
    assignments = pq.read_table(next(root.rglob("assignments.parquet")))
    bank = assignments.filter(pc.equal(assignments["channel"], "bank"))
    assert len(set(bank["msg_id"].to_pylist())) == 1 and len(set(bank["pmt_inf_id"].to_pylist())) == 1
    return dict(root=root, bank=bank.to_pylist(), total=pc.sum(bank["amount_minor"]).as_py())


@pytest.fixture()
def work(exported, tmp_path, monkeypatch):
    db = tmp_path / "isplata.db"
    db.write_bytes((exported["root"] / "isplata.db").read_bytes())
    monkeypatch.chdir(tmp_path)  # reconcile writes its outputs to the working directory
    return Cli(db), tmp_path


def money(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


def debit(amount: int, batch: str = "", details: str = "", reference: str = "0001") -> str:
    """A booked DBIT entry: a batch debit (Btch) and/or TxDtls; `reference` is the bank's AcctSvcrRef."""
    return (f'<Ntry><NtryRef>{reference}</NtryRef><Amt Ccy="EUR">{money(amount)}</Amt><CdtDbtInd>DBIT</CdtDbtInd>'
            f"<Sts><Cd>BOOK</Cd></Sts><BookgDt><Dt>2024-10-15</Dt></BookgDt><AcctSvcrRef>{reference}</AcctSvcrRef>"
            "<BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>ICDT</Cd><SubFmlyCd>ESCT</SubFmlyCd></Fmly></Domn></BkTxCd>"
            f"<NtryDtls>{batch}{details}</NtryDtls></Ntry>\n")


def batch_of(msg_id: str, pmt_inf_id: str | None = None) -> str:
    return f"<Btch><MsgId>{msg_id}</MsgId>" + (f"<PmtInfId>{pmt_inf_id}</PmtInfId>" if pmt_inf_id else "") + "</Btch>"


def detail(end_to_end_id: str, amount: int | None = None) -> str:
    value = f'<Amt Ccy="EUR">{money(amount)}</Amt>' if amount is not None else ""
    return f"<TxDtls><Refs><EndToEndId>{end_to_end_id}</EndToEndId></Refs>{value}</TxDtls>"


def camt(path, entries: list[str], message: str = "camt.053.001.08", msg_id: str = "STMT-1") -> str:
    container, root = {"camt.053": ("Stmt", "BkToCstmrStmt"),
                       "camt.054": ("Ntfctn", "BkToCstmrDbtCdtNtfctn")}[message[:8]]
    path.write_text(f'<?xml version="1.0" encoding="UTF-8"?>\n<Document xmlns="{ISO}{message}"><{root}><GrpHdr>'
                    f"<MsgId>{msg_id}</MsgId><CreDtTm>2024-10-15T18:00:00</CreDtTm></GrpHdr><{container}><Id>S</Id>"
                    "<Acct><Id><IBAN>ME25907000000000045322</IBAN></Id></Acct>\n" + "".join(entries)
                    + f"</{container}></{root}></Document>\n", encoding="utf-8")
    return path


def problems(folder, stem: str) -> list[str]:
    [listed] = folder.glob(f"{stem}-*-reconcile-exceptions.csv")
    with open(listed, newline="", encoding="utf-8") as handle:
        return [row["problem"] for row in csv.DictReader(handle)]


def balance(cli: Cli, account: str) -> int:
    return cli.json("ledger", "balance", "--account", account)["total_minor"]


def test_a_batch_debit_told_by_camt054_then_camt053_is_settled_once(work, exported):
    cli, folder = work
    first = exported["bank"][0]
    entry = debit(exported["total"], batch_of(first["msg_id"]))
    notification = cli.json("reconcile", camt(folder / "n.xml", [entry], "camt.054.001.08", "NTF-1"))
    assert (notification["settled_minor"], notification["matched"]) == (exported["total"], 1)
    cash = balance(cli, "treasury_cash")
    statement = cli.json("reconcile", camt(folder / "s.xml", [entry]))  # the day's statement, the same debit
    assert (statement["settled_minor"], statement["already_seen"], statement["unmatched"]) == (0, 1, 0)
    assert balance(cli, "treasury_cash") == cash == -exported["total"]
    assert balance(cli, "in_transit_bank") == 0  # everything sent by bank is settled, once


def test_a_file_settled_block_by_block_is_not_settled_again_whole(work, exported):
    cli, folder = work
    first = exported["bank"][0]
    by_block = cli.json("reconcile", camt(folder / "b.xml", [debit(exported["total"],
                                                                   batch_of(first["msg_id"], first["pmt_inf_id"]))]))
    assert by_block["settled_minor"] == exported["total"]
    whole = cli.json("reconcile", camt(folder / "w.xml", [debit(exported["total"], batch_of(first["msg_id"]))],
                                       msg_id="STMT-2"))
    assert (whole["settled_minor"], whole["already_seen"]) == (0, 1)
    payment = cli.json("reconcile", camt(folder / "p.xml", [debit(first["amount_minor"], "",
                                                                  detail(first["end_to_end_id"]))], msg_id="STMT-3"))
    assert (payment["settled_minor"], payment["already_seen"]) == (0, 1)  # inside a block settled in full
    assert balance(cli, "treasury_cash") == -exported["total"]


def test_a_payment_named_three_times_in_one_entry_is_settled_once(work, exported):
    cli, folder = work
    first = exported["bank"][0]
    ref = first["end_to_end_id"]
    path = camt(folder / "s.xml", [debit(3 * first["amount_minor"], "", detail(ref) * 3)])
    result = cli.json("reconcile", path, code=1)
    assert (result["settled_minor"], result["matched"], result["unmatched"]) == (first["amount_minor"], 1, 2)
    assert [problem.split(" (")[0] for problem in problems(folder, "s")] == [
        f"settles {first['amount_minor']} of {ref} but only 0 of {ref} is unsettled"] * 2
    assert balance(cli, "treasury_cash") == -first["amount_minor"]
    again = cli.json("reconcile", camt(folder / "t.xml", [debit(first["amount_minor"], "", detail(ref))],
                                       msg_id="STMT-2"))
    assert (again["settled_minor"], again["already_seen"]) == (0, 1)  # told again by another file


def test_a_settlement_beyond_what_is_unsettled_is_an_exception_and_books_nothing(work, exported):
    cli, folder = work
    first = exported["bank"][0]
    part = exported["total"] // 3
    cli.json("reconcile", camt(folder / "a.xml", [debit(part, batch_of(first["msg_id"]))]))
    over = cli.json("reconcile", camt(folder / "b.xml", [debit(exported["total"], batch_of(first["msg_id"]),
                                                              reference="0002")], msg_id="STMT-2"), code=1)
    assert (over["settled_minor"], over["unmatched"]) == (0, 1)
    [problem] = problems(folder, "b")
    assert f"only {exported['total'] - part} of {first['msg_id']} is unsettled" in problem
    rest = cli.json("reconcile", camt(folder / "c.xml", [debit(exported["total"] - part, batch_of(first["msg_id"]),
                                                              reference="0003")], msg_id="STMT-3"))
    assert rest["settled_minor"] == exported["total"] - part
    assert balance(cli, "treasury_cash") == -exported["total"]


def rejection(path, first) -> str:
    path.write_text(f'<?xml version="1.0" encoding="UTF-8"?>\n<Document xmlns="{ISO}pain.002.001.10">'
                       "<CstmrPmtStsRpt><GrpHdr><MsgId>ST-1</MsgId><CreDtTm>2024-10-14T10:00:00</CreDtTm></GrpHdr>"
                       f"<OrgnlGrpInfAndSts><OrgnlMsgId>{first['msg_id']}</OrgnlMsgId><OrgnlMsgNmId>pain.001.001.09"
                       "</OrgnlMsgNmId></OrgnlGrpInfAndSts><OrgnlPmtInfAndSts><OrgnlPmtInfId>"
                       f"{first['pmt_inf_id']}</OrgnlPmtInfId><TxInfAndSts><OrgnlEndToEndId>{first['end_to_end_id']}"
                       "</OrgnlEndToEndId><TxSts>RJCT</TxSts><StsRsnInf><Rsn><Cd>AC04</Cd></Rsn></StsRsnInf>"
                       "</TxInfAndSts></OrgnlPmtInfAndSts></CstmrPmtStsRpt></Document>\n", encoding="utf-8")
    return path


def test_a_rejected_payment_is_never_settled(work, exported):
    cli, folder = work
    first = exported["bank"][0]
    assert cli.json("reconcile", rejection(folder / "rejects.xml", first))["rejected_minor"] == first["amount_minor"]
    whole = cli.json("reconcile", camt(folder / "w.xml", [debit(exported["total"], batch_of(first["msg_id"]))]),
                     code=1)  # the bank debits what it sent: the rejected payment never left
    assert (whole["settled_minor"], whole["unmatched"]) == (0, 1)
    paid = cli.json("reconcile", camt(folder / "p.xml", [debit(first["amount_minor"], "",
                                                               detail(first["end_to_end_id"]))], msg_id="STMT-2"),
                    code=1)
    assert (paid["settled_minor"], paid["unmatched"]) == (0, 1)
    net = cli.json("reconcile", camt(folder / "n.xml", [debit(exported["total"] - first["amount_minor"],
                                                              batch_of(first["msg_id"]))], msg_id="STMT-3"))
    assert net["settled_minor"] == exported["total"] - first["amount_minor"]
    assert balance(cli, "in_transit_bank") == 0


def test_a_reversal_a_credit_detail_and_a_pending_entry_settle_nothing(work, exported):
    """A debit that reverses (RvslInd) and a detail that is a credit inside a debit entry are no settlements
    (exceptions: they name our payments); an entry not booked yet is recorded with its status and books
    nothing. Treasury cash is untouched."""
    cli, folder = work
    first, second, third = exported["bank"][:3]
    reversal = debit(first["amount_minor"], "", detail(first["end_to_end_id"])).replace(
        "<CdtDbtInd>DBIT</CdtDbtInd><Sts>", "<CdtDbtInd>DBIT</CdtDbtInd><RvslInd>true</RvslInd><Sts>")
    credit = debit(second["amount_minor"], "", detail(second["end_to_end_id"], second["amount_minor"]).replace(
        "</Amt>", "</Amt><CdtDbtInd>CRDT</CdtDbtInd>"), reference="0002")
    pending = debit(third["amount_minor"], "", detail(third["end_to_end_id"]), reference="0003").replace(
        "<Cd>BOOK</Cd>", "<Cd>PDNG</Cd>")
    result = cli.json("reconcile", camt(folder / "s.xml", [reversal, credit, pending]), code=1)
    assert (result["settled_minor"], result["unmatched"], result["statuses"]) == (0, 2, {"PDNG": 1})
    assert all("neither a return nor a settlement" in problem for problem in problems(folder, "s"))
    assert balance(cli, "treasury_cash") == 0


def test_an_entry_whose_details_do_not_add_up_to_it_books_nothing(work, exported):
    """The money that moved is the entry's Amt: a debit of 100.00 whose details name payments worth more is an
    exception, nothing booked; an entry whose Amt is not an amount is refused (exit 2) with its line; a return
    whose one detail gives only the instructed amount (AmtDtls/InstdAmt) took the entry's Amt back, the rest
    being the bank's charges."""
    cli, folder = work
    first, second = exported["bank"][:2]
    named = detail(first["end_to_end_id"], first["amount_minor"]) + detail(second["end_to_end_id"],
                                                                           second["amount_minor"])
    short = cli.json("reconcile", camt(folder / "u.xml", [debit(10000, "", named)]), code=1)
    assert (short["settled_minor"], short["unmatched"]) == (0, 2)
    assert all("the entry booked 100.00 EUR but its details add up to "
               f"{money(first['amount_minor'] + second['amount_minor'])}" in problem for problem in problems(folder, "u"))
    assert balance(cli, "treasury_cash") == 0
    bad = camt(folder / "b.xml", [debit(10000, "", named, reference="0002").replace(">100.00<", ">1e9<")],
               msg_id="STMT-2")
    refused = cli("reconcile", bad, code=2)
    assert "1e9" in refused.output and "b.xml" in refused.output
    whole = cli.json("reconcile", camt(folder / "w.xml", [debit(first["amount_minor"] + second["amount_minor"], "",
                                                                named, reference="0003")], msg_id="STMT-3"))
    assert whole["settled_minor"] == first["amount_minor"] + second["amount_minor"]
    third = exported["bank"][2]
    back = third["amount_minor"] - 300
    credit = (f'<Ntry><Amt Ccy="EUR">{money(back)}</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts>'
              "<BookgDt><Dt>2024-10-16</Dt></BookgDt><AcctSvcrRef>0009</AcctSvcrRef><BkTxCd><Domn><Cd>PMNT</Cd>"
              "<Fmly><Cd>ICDT</Cd><SubFmlyCd>RRTN</SubFmlyCd></Fmly></Domn></BkTxCd><NtryDtls><TxDtls><Refs>"
              f"<EndToEndId>{third['end_to_end_id']}</EndToEndId></Refs><AmtDtls><InstdAmt>"
              f'<Amt Ccy="EUR">{money(third["amount_minor"])}</Amt></InstdAmt></AmtDtls>'
              "<RtrInf><Rsn><Cd>AC04</Cd></Rsn></RtrInf></TxDtls></NtryDtls></Ntry>\n")
    returned = cli.json("reconcile", camt(folder / "r.xml", [credit], message="camt.054.001.08", msg_id="NTF-4"))
    assert (returned["returned_minor"], returned["charges_minor"]) == (third["amount_minor"], 300)


def pacs004(path, payment: dict, back: int, instructed: int | None):
    """A pacs.004 returning `payment` with `back` settled between the banks, the instructed amount and charges."""
    given = f'<RtrdInstdAmt Ccy="EUR">{money(instructed)}</RtrdInstdAmt>' if instructed is not None else ""
    charges = f'<ChrgsInf><Amt Ccy="EUR">{money(instructed - back)}</Amt></ChrgsInf>' if instructed else ""
    path.write_text(f'<?xml version="1.0" encoding="UTF-8"?>\n<Document xmlns="{ISO}pacs.004.001.09"><PmtRtr>'
                    "<GrpHdr><MsgId>RTR-1</MsgId><CreDtTm>2024-10-16T09:00:00</CreDtTm><NbOfTxs>1</NbOfTxs>"
                    "<SttlmInf><SttlmMtd>CLRG</SttlmMtd></SttlmInf></GrpHdr><TxInf>"
                    f"<OrgnlGrpInf><OrgnlMsgId>{payment['msg_id']}</OrgnlMsgId><OrgnlMsgNmId>pain.001.001.09"
                    f"</OrgnlMsgNmId></OrgnlGrpInf><OrgnlEndToEndId>{payment['end_to_end_id']}</OrgnlEndToEndId>"
                    f'<RtrdIntrBkSttlmAmt Ccy="EUR">{money(back)}</RtrdIntrBkSttlmAmt>'
                    f"<IntrBkSttlmDt>2024-10-16</IntrBkSttlmDt>{given}{charges}<RtrRsnInf><Rsn><Cd>AC04</Cd></Rsn>"
                    "</RtrRsnInf></TxInf></PmtRtr></Document>\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("message", ["pacs.004", "camt.054"])
def test_a_return_with_the_banks_charges_taken_off_is_reversed_in_full(work, exported, message):
    """The bank returns 2.50 less than it was sent (its charges) and says the payment's instructed amount: the
    payment is reversed whole into "returned, awaiting re-issue" (the payee is paid all of it again), treasury
    cash receives what came back, and the charges go to bank charges."""
    cli, folder = work
    payment = exported["bank"][0]
    amount = payment["amount_minor"]
    if message == "pacs.004":
        path = pacs004(folder / "r.xml", payment, amount - 250, amount)
    else:
        entry = (f'<Ntry><Amt Ccy="EUR">{money(amount - 250)}</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts><Cd>BOOK</Cd>'
                 "</Sts><BookgDt><Dt>2024-10-16</Dt></BookgDt><BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>ICDT</Cd>"
                 "<SubFmlyCd>RRTN</SubFmlyCd></Fmly></Domn></BkTxCd><NtryDtls><TxDtls><Refs><EndToEndId>"
                 f'{payment["end_to_end_id"]}</EndToEndId></Refs><Amt Ccy="EUR">{money(amount - 250)}</Amt>'
                 f'<AmtDtls><InstdAmt><Amt Ccy="EUR">{money(amount)}</Amt></InstdAmt></AmtDtls>'
                 "<RtrInf><Rsn><Cd>AC04</Cd></Rsn></RtrInf></TxDtls></NtryDtls></Ntry>\n")
        path = camt(folder / "r.xml", [entry], "camt.054.001.08", "NTF-9")
    result = cli.json("reconcile", path)
    assert (result["returned_minor"], result["charges_minor"], result["unmatched"]) == (amount, 250, 0)
    assert balance(cli, "treasury_cash") == amount - 250
    assert balance(cli, "bank_charges") == 250
    assert balance(cli, "returned_awaiting_reissue") == -amount


@pytest.mark.parametrize("back,instructed", [(-250, None), (-250, 100), (+250, 0)])
def test_a_return_for_another_amount_without_the_payments_instructed_amount_is_an_exception(work, exported, back,
                                                                                            instructed):
    """Less without the instructed amount, an instructed amount that is not the payment's, or more than was
    sent: nothing is reversed, the record is an exception."""
    cli, folder = work
    payment = exported["bank"][0]
    amount = payment["amount_minor"]
    result = cli.json("reconcile", pacs004(folder / "r.xml", payment, amount + back,
                                           None if instructed is None else amount + instructed), code=1)
    assert (result["returned_minor"], result["charges_minor"], result["unmatched"]) == (0, 0, 1)
    assert balance(cli, "treasury_cash") == 0


@pytest.mark.parametrize("with_reference", [True, False])
def test_a_part_debit_told_by_two_files_is_booked_once(work, exported, with_reference):
    """A file paid in parts: the camt.054 and the camt.053 both tell the first part. It is recognised by the bank's
    AcctSvcrRef, or without one by what it settles, its amount and its day: booked once; the second part, a
    movement of its own (another reference), is booked too, and the file is settled exactly."""
    cli, folder = work
    first = exported["bank"][0]
    part = exported["total"] // 3
    entry = debit(part, batch_of(first["msg_id"]), reference="D1")
    if not with_reference:
        entry = entry.replace("<AcctSvcrRef>D1</AcctSvcrRef>", "")
    told = cli.json("reconcile", camt(folder / "n.xml", [entry], "camt.054.001.08", "NTF-1"))
    again = cli.json("reconcile", camt(folder / "s.xml", [entry, debit(exported["total"] - part,
                                                                       batch_of(first["msg_id"]), reference="D2")]))
    assert told["settled_minor"] == part
    assert (again["settled_minor"], again["already_seen"], again["unmatched"]) == (exported["total"] - part, 1, 0)
    assert balance(cli, "treasury_cash") == -exported["total"] and balance(cli, "in_transit_bank") == 0


def test_two_part_debits_of_the_same_amount_and_day_with_their_own_references_are_two(work, exported):
    cli, folder = work
    first = exported["bank"][0]
    part = exported["total"] // 4
    cli.json("reconcile", camt(folder / "a.xml", [debit(part, batch_of(first["msg_id"]), reference="D1")]))
    second = cli.json("reconcile", camt(folder / "b.xml", [debit(part, batch_of(first["msg_id"]), reference="D2")],
                                        msg_id="STMT-2"))
    assert (second["settled_minor"], second["already_seen"]) == (part, 0)
    assert balance(cli, "treasury_cash") == -2 * part


def test_a_rejection_after_the_debit_of_its_file_is_an_exception_and_its_return_books_the_money(work, exported):
    """The bank debited the whole file, then reports a payment rejected: the money left, so the rejection books
    nothing (in transit is settled already) and the bank's credit of it is the return."""
    cli, folder = work
    first = exported["bank"][0]
    assert cli.json("reconcile", camt(folder / "w.xml", [debit(exported["total"], batch_of(first["msg_id"]))])
                    )["settled_minor"] == exported["total"]
    late = cli.json("reconcile", rejection(folder / "rejects.xml", first), code=1)
    assert (late["rejected_minor"], late["unmatched"]) == (0, 1)
    [problem] = problems(folder, "rejects")
    assert "rejected after a debit that settled" in problem
    credit = (f'<Ntry><Amt Ccy="EUR">{money(first["amount_minor"])}</Amt><CdtDbtInd>CRDT</CdtDbtInd>'
              "<Sts><Cd>BOOK</Cd></Sts><BookgDt><Dt>2024-10-16</Dt></BookgDt><AcctSvcrRef>0009</AcctSvcrRef>"
              "<BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>ICDT</Cd><SubFmlyCd>RRTN</SubFmlyCd></Fmly></Domn></BkTxCd>"
              f"<NtryDtls><TxDtls><Refs><EndToEndId>{first['end_to_end_id']}</EndToEndId></Refs>"
              f'<Amt Ccy="EUR">{money(first["amount_minor"])}</Amt><RtrInf><Rsn><Cd>AC04</Cd></Rsn></RtrInf>'
              "</TxDtls></NtryDtls></Ntry>\n")
    back = cli.json("reconcile", camt(folder / "r.xml", [credit], message="camt.054.001.08", msg_id="NTF-9"))
    assert back["returned_minor"] == first["amount_minor"]
    assert balance(cli, "in_transit_bank") == 0
    assert balance(cli, "treasury_cash") == -exported["total"] + first["amount_minor"]


def test_a_return_while_the_payroll_store_is_missing_is_refused_and_booked_once_it_is_back(work, exported):
    """The store moved or its mount absent: refused (exit 2, nothing recorded), not an exception that the file's
    record would keep for ever; restored, the same file is reconciled."""
    cli, folder = work
    first = exported["bank"][0]
    [stored] = exported["root"].rglob("assignments.parquet")
    aside = folder / "assignments.aside"
    stored.rename(aside)
    try:
        refused = cli("reconcile", rejection(folder / "rejects.xml", first), code=2)
        assert "is missing: the payroll store was moved or deleted" in refused.output
        assert not list(folder.glob("rejects-*"))
    finally:
        aside.rename(stored)
    assert cli.json("reconcile", folder / "rejects.xml")["rejected_minor"] == first["amount_minor"]


def test_a_file_debit_after_payments_of_it_were_settled_one_by_one_books_the_rest(work, exported):
    """A post's list of paid payments (or a bank's per-payment debits) booked before the bank's debit of the whole
    file: the debit books what is left, the rest is already seen; told in the other order, the same ledger. A file
    debit beyond what a debit of the file itself left is still an exception (no payment settled inside it)."""
    cli, folder = work
    first = exported["bank"][0]
    one = cli.json("reconcile", camt(folder / "p.xml", [debit(first["amount_minor"], "",
                                                              detail(first["end_to_end_id"]))]))
    assert one["settled_minor"] == first["amount_minor"]
    whole = cli.json("reconcile", camt(folder / "w.xml", [debit(exported["total"], batch_of(first["msg_id"]),
                                                                reference="0002")], msg_id="STMT-2"))
    assert (whole["settled_minor"], whole["unmatched"]) == (exported["total"] - first["amount_minor"], 0)
    assert balance(cli, "treasury_cash") == -exported["total"]
    assert balance(cli, "in_transit_bank") == 0
    again = cli.json("reconcile", camt(folder / "w2.xml", [debit(exported["total"], batch_of(first["msg_id"]),
                                                                 reference="0002")], msg_id="STMT-3"))
    assert (again["settled_minor"], again["already_seen"]) == (0, 1)
