"""Auditor export: the Parquet files alone are enough to recompute the chain up to the exported digest."""
import json

import numpy as np
import pyarrow.parquet as pq

from ledgers.canonical import GENESIS_HASH, batch_hash, merkle_root, postings_sha256, refs_to_fixed
from ledgers.export import export


def test_export_recomputes_from_parquet_alone(ledger, approve, tmp_path):
    for index in range(3):
        approve(ledger, 660 + index, 15, seed=index)
    ledger.append_event("payroll.approved", "PR-660-0", {"by": "checker"})
    summary = export(ledger, tmp_path / "audit")
    assert summary["digest"] == ledger.digest() and summary["batches"] == 3
    assert json.loads((tmp_path / "audit" / "digest.json").read_text()) == summary
    batches = pq.read_table(tmp_path / "audit" / "batches.parquet").to_pylist()
    postings = pq.read_table(tmp_path / "audit" / "postings.parquet")
    payments = pq.read_table(tmp_path / "audit" / "payments.parquet")
    assert postings.num_rows == summary["postings"] and payments.num_rows == summary["payments"]
    prev = GENESIS_HASH
    for batch in batches:
        rows = postings.filter(np.asarray(postings["batch_id"]) == batch["batch_id"])
        cols = {name: rows[name].to_numpy() for name in rows.column_names if name != "payment_ref"}
        cols["payment_ref"] = refs_to_fixed(rows["payment_ref"].to_numpy(zero_copy_only=False))
        assert postings_sha256(cols) == batch["postings_sha256"]
        pay = payments.filter(np.asarray(payments["batch_id"]) == batch["batch_id"])
        root = merkle_root(refs_to_fixed(pay["payment_ref"].to_numpy(zero_copy_only=False)),
                           pay["payee_id"].to_numpy(), pay["amount_minor"].to_numpy())
        prev = batch_hash(prev, batch, batch["postings_sha256"], root)
        assert prev == batch["hash"]
    assert prev == summary["digest"]
    names = set(postings["account"].to_pylist())
    assert names == {"benefit_expense", "benefits_payable"}
    assert pq.read_table(tmp_path / "audit" / "events.parquet").num_rows == 1


def test_officer_export_as_csv_and_xlsx_matches_the_parquet_to_the_cent(ledger, approve, tmp_path):
    import csv
    from decimal import Decimal

    import openpyxl

    from ledgers.export import Money

    for index in range(2):
        approve(ledger, 660 + index, 12, seed=index)
    parquet = export(ledger, tmp_path / "p")
    postings = pq.read_table(tmp_path / "p" / "postings.parquet")
    debit_minor = int(np.asarray(postings["amount_minor"])[np.asarray(postings["amount_minor"]) > 0].sum())
    as_csv = export(ledger, tmp_path / "c", "csv", Money("EUR", 2))
    assert as_csv["digest"] == parquet["digest"] and as_csv["format"] == "csv"
    raw = (tmp_path / "c" / "postings.csv").read_bytes()
    rows = list(csv.DictReader(raw[3:].decode("utf-8").splitlines()))
    assert raw[:3] == b"\xef\xbb\xbf" and len(rows) == postings.num_rows
    assert sum(Decimal(r["amount"]) for r in rows if Decimal(r["amount"]) > 0) == Decimal(debit_minor).scaleb(-2)
    assert {r["period"] for r in rows} == {"2025-01", "2025-02"} and rows[0]["account_name"]
    assert json.loads((tmp_path / "c" / "digest.json").read_text())["files"].keys() >= {"postings.csv", "codes.csv"}
    export(ledger, tmp_path / "x", "xlsx", None)  # no currency known yet: minor units, said so in the header
    sheet = openpyxl.load_workbook(tmp_path / "x" / "ledger.xlsx")["postings"]
    header = [c.value for c in sheet[1]]
    assert "amount_minor" in header and sheet.max_row == postings.num_rows + 1


def test_export_reports_its_progress_with_a_count(ledger, approve, tmp_path):
    for index in range(3):
        approve(ledger, 660 + index, 5, seed=index)
    seen = []
    export(ledger, tmp_path / "p", progress=lambda description, done=None, total=None: seen.append((done, total)))
    assert seen == [(1, 3), (2, 3), (3, 3)]
