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
