"""Payment files and returns: write N payments (80 % TRF, 20 % CHK) as pain.001.001.09, the same with XSD
validation of every file, read N returned payments (camt.054, pain.002, pacs.004 into records),
and the writer's peak memory in a fresh process.

Goals at N = 100,000: write <= 1.0 s with peak memory <= 300 MB, write + validate <= 2.5 s, read <= 2 s.
The normal test run uses a tiny size (benchmarks disabled, each runs once); full size:

    ISPLATA_BENCH_FULL=1 .venv/bin/python -m pytest benchmarks/bench_files.py --benchmark-enable
    ISPLATA_BENCH_ROWS=1000000 .venv/bin/python -m pytest benchmarks/bench_files.py --benchmark-enable   # 1e6, 1e7
"""
import json
import os
import shutil
import subprocess
import sys
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path

import pyarrow as pa
import pytest

from bank_exports.pain001 import Pain001Options, write_pain001
from bank_exports.payments import Debtor
from bank_exports.returns import read_returns
from benchmarks.harness import bench_size
from synthetic.bank_returns import BankReport, write_camt054, write_pacs004, write_pain002
from synthetic.payments import synthetic_payments

FULL = os.environ.get("ISPLATA_BENCH_FULL") == "1"
GOAL_SIZE = 100_000
SIZE = bench_size(GOAL_SIZE, 2_000)
PEAK_MEMORY_MB_MAX = 300
DEBTOR = Debtor("Ministarstvo rada i socijalnog staranja", "ME25505000012345678951", "CKBCMEPG")
OPTIONS = Pain001Options("ME-202605-R1", "EUR", datetime(2026, 5, 28, 10, 30), date(2026, 6, 1))
ROUNDS = 5 if FULL else 1


def _fresh(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)


def _write(payments, folder: Path, validate: bool):
    """write: the writer alone; write+validate: its default, every file XSD-validated (on two validation threads
    while the next files are written)."""
    return write_pain001(payments, folder, DEBTOR, replace(OPTIONS, validate=validate))


@pytest.mark.parametrize("validate", [False, True], ids=["write", "write+validate"])
def test_write_pain001(benchmark, tmp_path, validate):
    payments = synthetic_payments(SIZE, post_share=0.2)
    folder = tmp_path / "out"
    result = benchmark.pedantic(_write, args=(payments, folder, validate), setup=lambda: _fresh(folder),
                                rounds=ROUNDS, iterations=1, warmup_rounds=1 if FULL else 0)
    assert sum(file.nb_of_txs for file in result.files) == SIZE
    assert sum(file.ctrl_sum_minor for file in result.files) == sum(payments["amount_minor"].to_pylist())
    channels = [file.channel for file in result.files]  # one file per channel up to the file size limit
    assert sorted(set(channels)) == ["bank", "post"] and channels == sorted(channels)


def _returned(size: int) -> dict:
    payments = synthetic_payments(size)
    return {"end_to_end_id": payments["end_to_end_id"], "amount_minor": payments["amount_minor"],
            "reason_code": pa.array(["AC04"] * size), "msg_id": pa.array(["ME-202605-R1-B001"] * size),
            "pmt_inf_id": pa.array([f"ME-202605-R1-B001-{row // 1000 + 1:03d}" for row in range(size)])}


RETURN_REPORT = BankReport("CKB-20260603-0001", datetime(2026, 6, 3, 7, 15), DEBTOR.iban, "EUR")
RETURN_WRITERS = {
    "camt054": lambda path, returned: write_camt054(path, returned, RETURN_REPORT, date(2026, 6, 3)),
    "pain002": lambda path, returned: write_pain002(path, RETURN_REPORT, "ME-202605-R1-B001", returned),
    "pacs004": lambda path, returned: write_pacs004(path, RETURN_REPORT, returned),
}


def test_read_camt054_returns(benchmark, tmp_path):
    """The goal's measure: a camt.054 of N returned entries read into records (what reconcile uses)."""
    written = RETURN_WRITERS["camt054"](tmp_path / "camt054.xml", _returned(SIZE))
    result = benchmark.pedantic(read_returns, args=(tmp_path / written.name,), rounds=ROUNDS, iterations=1)
    amounts = [record.amount_minor for record in result]
    assert len(amounts) == SIZE and sum(amounts) == written.ctrl_sum_minor


@pytest.mark.parametrize("kind", ["pain002", "pacs004"])
def test_read_other_returns(benchmark, tmp_path, kind):
    """pain.002 rejects and pacs.004 returns of N payments (read element by element: no goal set)."""
    written = RETURN_WRITERS[kind](tmp_path / f"{kind}.xml", _returned(SIZE))
    records = benchmark.pedantic(read_returns, args=(tmp_path / written.name,), rounds=ROUNDS, iterations=1)
    records = [record for record in records if record.kind != "status"]  # a pain.002's PART statuses of the whole
    assert len(records) == SIZE and sum(record.amount_minor for record in records) == written.ctrl_sum_minor


PEAK_SCRIPT = """
import json, resource, sys
from datetime import date, datetime


def peak_mb():
    # VmHWM belongs to this process image; ru_maxrss also keeps the RSS of the forking parent before exec
    try:
        with open("/proc/self/status") as status:
            return next(int(line.split()[1]) for line in status if line.startswith("VmHWM")) / 1024
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


from bank_exports.pain001 import Pain001Options, write_pain001
from bank_exports.payments import Debtor
from synthetic.payments import synthetic_payments
payments = synthetic_payments(int(sys.argv[1]), post_share=0.2)
before = peak_mb()
write_pain001(payments, sys.argv[2], Debtor("Ministarstvo", "ME25505000012345678951", "CKBCMEPG"),
              Pain001Options("ME-202605-R1", "EUR", datetime(2026, 5, 28, 10, 30), date(2026, 6, 1),
                             validate=False))
print(json.dumps({"peak_mb": peak_mb(), "before_write_mb": before}))
"""


def test_writer_peak_memory_in_a_fresh_process(tmp_path):
    """Peak resident set (VmHWM) of a whole fresh process: imports, generated payments and the writing (the
    writer alone: its default XSD validation adds the lxml tree of one file, bounded by max_per_file)."""
    root = Path(__file__).resolve().parents[1]
    done = subprocess.run([sys.executable, "-c", PEAK_SCRIPT, str(SIZE), str(tmp_path)], cwd=root,
                          capture_output=True, text=True, check=True, timeout=300,
                          env={**os.environ, "PYTHONWARNINGS": "ignore"})
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    print(f"\npeak memory writing {SIZE:,} payments: {figures['peak_mb']:.0f} MB "
          f"(after generating the payments: {figures['before_write_mb']:.0f} MB)")
    if SIZE <= GOAL_SIZE:  # the goal's size; above it the payments table handed to the writer alone outgrows it
        assert figures["peak_mb"] <= PEAK_MEMORY_MB_MAX
