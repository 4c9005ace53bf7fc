"""`isplata reconcile` on every real bank file of ../shared/realfiles (copied: nothing is written next to them)
against a ledger with no payroll: no traceback; every record is counted, as not ours (a statement's other
movements) or as an exception (a status report or return answers a payment, which this ledger never made); exit
0 when nothing is an exception, 1 when something is, 2 for a file that is not a message."""
import shutil

import pytest

from acceptance.realfiles import FILES, NEEDS_FILES, REFUSED, expected_records, ids
from acceptance.test_contracts import Cli


@pytest.fixture(scope="module")
def empty_ledger(tmp_path_factory):
    cli = Cli(tmp_path_factory.mktemp("empty") / "isplata.db")
    cli("db", "init")
    return cli


@NEEDS_FILES
@pytest.mark.parametrize("path", FILES, ids=ids())
def test_reconcile_of_a_real_file_against_an_empty_ledger(empty_ledger, tmp_path, path):
    copy = tmp_path / path.name
    shutil.copyfile(path, copy)
    if path.name in REFUSED:
        result = empty_ledger("reconcile", copy, "--json", code=2)
        assert REFUSED[path.name] in result.output
        return
    answers = path.read_text(encoding="utf-8", errors="replace")
    exceptions = "CstmrPmtStsRpt" in answers or "PmtRtr" in answers
    records = expected_records(path)
    result = empty_ledger.json("reconcile", copy, code=1 if exceptions and records else 0)
    assert result["records"] == records and result["matched"] == 0
    assert result["not_ours"] + result["unmatched"] == records
    assert (result["unmatched"] == records) if exceptions else (result["not_ours"] == records)


def ours(path, tmp_path, replacements: dict):
    """A copy of the real file with its references (and amounts) made those of our payroll's export."""
    text = path.read_bytes().decode("utf-8")
    for old, new in replacements.items():
        assert old in text, (path.name, old)
        text = text.replace(old, new)
    copy = tmp_path / f"ours-{path.name}"
    copy.write_bytes(text.encode("utf-8"))
    return copy


@NEEDS_FILES
def test_the_same_batch_debit_told_by_a_real_camt054_and_camt053_is_settled_once(tmp_path, monkeypatch):
    """moov-io's Finnish pair: the day's camt.054 and the statement's camt.053 tell the same batch debit (the same
    AcctSvcrRef, MsgId, PmtInfId, amount and day); with our export's ids and total in it, treasury cash receives
    it once; the other entries of both files are not ours."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from acceptance.test_contracts import export_september

    folder = {path.name: path for path in FILES}
    export_september(tmp_path)
    monkeypatch.chdir(tmp_path)
    bank = pq.read_table(next(tmp_path.rglob("assignments.parquet")))
    bank = bank.filter(pc.equal(bank["channel"], "bank"))
    total = pc.sum(bank["amount_minor"]).as_py()
    ids = {"MSGSCT0100": bank["msg_id"][0].as_py(), "CustRefForPmtBatch9": bank["pmt_inf_id"][0].as_py(),
           "4230.05": f"{total // 100}.{total % 100:02d}"}
    cli = Cli(tmp_path / "isplata.db")
    notice = cli.json("reconcile", ours(folder["FI_camt_054_sample.xml.xml"], tmp_path, ids))
    statement = cli.json("reconcile", ours(folder["FI_camt_053_sample.xml.xml"], tmp_path, ids))
    assert (notice["settled_minor"], notice["matched"], notice["unmatched"]) == (total, 1, 0)
    assert (statement["settled_minor"], statement["already_seen"], statement["unmatched"]) == (0, 1, 0)
    assert notice["not_ours"] > 0 and statement["not_ours"] > 0
    cash = cli.json("ledger", "balance", "--account", "treasury_cash")["total_minor"]
    assert cash == -total and cli.json("ledger", "balance", "--account", "in_transit_bank")["total_minor"] == 0
