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
