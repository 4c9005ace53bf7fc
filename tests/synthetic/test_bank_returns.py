"""Return files written for the demo and tests: XSD-valid (checked by `out_dir`), golden with a fixed clock,
totals in their WrittenFile equal to the integer sums; and every golden file here is itself XSD-valid."""
import os
from datetime import date, datetime
from pathlib import Path

import pyarrow as pa
import pytest

from bank_exports.xsd import validation_errors
from synthetic.bank_returns import (BankReport, Settlement, write_camt053, write_camt054, write_pacs004,
                                    write_pain002)

GOLDEN = Path(__file__).resolve().parents[1] / "data" / "iso20022" / "golden"
REGENERATE = os.environ.get("ISPLATA_REGEN_GOLDEN") == "1"
REPORT = BankReport("CKB-20260603-0001", datetime(2026, 6, 3, 7, 15, 0), "ME25505000012345678951", "EUR")
RETURNED = {"end_to_end_id": ["ME202605-0000002", "ME202605-0000007"], "amount_minor": [41_833, 120_000],
            "reason_code": ["AC04", "MD07"], "reason_text": ["Račun ugašen", "Korisnik preminuo"],
            "msg_id": ["ME-202605-R1-B001"] * 2, "pmt_inf_id": ["ME-202605-R1-B001-001"] * 2}
SETTLED = Settlement("ME-202605-R1-B001", 536_738, 7, None)


def writers(folder: Path):
    day = date(2026, 6, 3)
    return {
        "camt054-08-returns.xml": lambda: write_camt054(folder / "camt054-08-returns.xml", RETURNED, REPORT, day),
        "camt054-04-returns.xml": lambda: write_camt054(folder / "camt054-04-returns.xml", RETURNED, REPORT, day,
                                                        "04"),
        "camt053-08-statement.xml": lambda: write_camt053(folder / "camt053-08-statement.xml", REPORT, day,
                                                          (SETTLED,), RETURNED, 1_000_000_00),
        "pain002-12-rejects.xml": lambda: write_pain002(folder / "pain002-12-rejects.xml", REPORT,
                                                        "ME-202605-R1-B001", RETURNED),
        "pain002-03-am10.xml": lambda: write_pain002(folder / "pain002-03-am10.xml", REPORT, "ME-202605-R1-P001",
                                                     version="03", group_reason="AM10",
                                                     group_text="Kontrolna suma ne odgovara"),
        "pacs004-11-returns.xml": lambda: write_pacs004(folder / "pacs004-11-returns.xml", REPORT, RETURNED),
    }


@pytest.mark.parametrize("name", list(writers(Path("."))))
def test_return_file_matches_golden(out_dir, name):
    written = writers(out_dir)[name]()
    assert written.name == name and written.msg_id == REPORT.msg_id
    if REGENERATE:
        (GOLDEN / name).write_bytes((out_dir / name).read_bytes())
    assert (out_dir / name).read_bytes() == (GOLDEN / name).read_bytes()


def test_totals_of_written_return_files(out_dir):
    written = {name: make() for name, make in writers(out_dir).items()}
    assert written["camt054-08-returns.xml"].ctrl_sum_minor == 161_833
    assert written["camt053-08-statement.xml"].ctrl_sum_minor == 161_833 + SETTLED.amount_minor
    assert written["pain002-03-am10.xml"].nb_of_txs == 0


def test_closing_balance_may_be_negative(out_dir):
    write_camt053(out_dir / "overdrawn.xml", REPORT, date(2026, 6, 3), (SETTLED,), None, 0)
    assert "<CdtDbtInd>DBIT</CdtDbtInd><Dt><Dt>2026-06-03</Dt></Dt></Bal>" in (out_dir / "overdrawn.xml").read_text()


def test_empty_returns_still_make_a_valid_notification(out_dir):
    empty = {"end_to_end_id": pa.array([], pa.string()), "amount_minor": pa.array([], pa.int64())}
    assert write_camt054(out_dir / "nothing.xml", empty, REPORT, date(2026, 6, 3)).nb_of_txs == 0


def test_every_golden_xml_is_valid():
    goldens = sorted(GOLDEN.rglob("*.xml"))
    assert len(goldens) >= 10
    assert [error for path in goldens for error in validation_errors(path)] == []
