"""Auditor export: batches, postings, payments, events and the code tables as Parquet, plus the digest.

Postings are streamed batch by batch into one Parquet file (memory stays bounded by the largest batch) with
account and component names next to their codes; `digest.json` holds the chain head, the counts and the
sha256 of every file written, so an auditor can recompute the chain from the Parquet files alone.
"""
import hashlib
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from ledgers import schema
from ledgers.store import Ledger

POSTINGS_SCHEMA = pa.schema([
    ("posting_id", pa.int64()), ("batch_id", pa.int64()), ("account_kind", pa.int16()),
    ("account", pa.string()), ("account_key", pa.int64()), ("right_id", pa.int64()), ("payee_id", pa.int64()),
    ("period", pa.int32()), ("month", pa.int32()), ("component", pa.int16()), ("component_name", pa.string()),
    ("amount_minor", pa.int64()), ("payment_ref", pa.string()),
])


def export(ledger: Ledger, out_dir) -> dict:
    """Write the ledger to `out_dir`; returns the digest.json content."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    batches = ledger.batches()
    pq.write_table(pa.Table.from_pylist([b.as_dict() for b in batches]) if batches else
                   pa.table({"batch_id": pa.array([], pa.int64())}), out / "batches.parquet")
    _write_postings(ledger, batches, out / "postings.parquet")
    _write_payments(ledger, batches, out / "payments.parquet")
    events = ledger.events()
    pq.write_table(pa.Table.from_pylist([{**e, "payload": json.dumps(e["payload"])} for e in events]) if events
                   else pa.table({"event_id": pa.array([], pa.int64())}), out / "events.parquet")
    codes = [{"domain": "account", "code": code, "name": name} for code, name, _, _ in schema.ACCOUNT_KINDS]
    codes += [{"domain": "component", "code": code, "name": name} for name, code in schema.COMPONENT.items()]
    codes += [{"domain": "benefit", "code": code, "name": name} for code, name in ledger.code_names("benefit").items()]
    pq.write_table(pa.Table.from_pylist(codes), out / "codes.parquet")
    summary = {
        "digest": batches[-1].hash if batches else ledger.digest(),
        "batches": len(batches),
        "postings": sum(b.n_postings for b in batches),
        "payments": sum(b.n_payments for b in batches),
        "files": {path.name: _sha256(path) for path in sorted(out.glob("*.parquet"))},
    }
    (out / "digest.json").write_text(json.dumps(summary, indent=2, sort_keys=True) + "\n")
    return summary


def _write_postings(ledger: Ledger, batches, path: Path) -> None:
    account_names = pa.array([name for _, name, _, _ in schema.ACCOUNT_KINDS])
    component_names = pa.array(list(schema.LEDGER_COMPONENTS))
    with pq.ParquetWriter(path, POSTINGS_SCHEMA) as writer:
        for batch in batches:
            cols = ledger.read_postings(batch.first_posting, batch.n_postings, batch.batch_id)
            arrays = {name: pa.array(cols[name]) for name in cols if name != "payment_ref"}
            arrays["payment_ref"] = pa.array(cols["payment_ref"]).cast(pa.string())
            arrays["account"] = account_names.take(pa.array(cols["account_kind"].astype("int64") - 1))
            arrays["component_name"] = component_names.take(pa.array(cols["component"].astype("int64") - 1))
            writer.write_table(pa.table({field.name: arrays[field.name] for field in POSTINGS_SCHEMA},
                                        schema=POSTINGS_SCHEMA))


def _write_payments(ledger: Ledger, batches, path: Path) -> None:
    fields = pa.schema([("batch_id", pa.int64()), ("leaf", pa.int64()), ("payment_ref", pa.string()),
                        ("payee_id", pa.int64()), ("amount_minor", pa.int64())])
    with pq.ParquetWriter(path, fields) as writer:
        for batch in batches:
            if batch.n_payments == 0:
                continue
            cols = ledger.read_payments(batch.batch_id)
            cols["payment_ref"] = pa.array(cols["payment_ref"]).cast(pa.string())
            writer.write_table(pa.table({f.name: cols[f.name] for f in fields}, schema=fields))


def _sha256(path: Path) -> str:
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()
