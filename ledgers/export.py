"""Auditor export: batches, postings, payments, events and the code tables as Parquet, plus the digest; or the
same tables for officers as CSV files or one XLSX workbook (formats.officer_files).

Postings are streamed batch by batch (memory stays bounded by the largest batch) with account and component
names next to their codes; `digest.json` holds the chain head, the counts and the sha256 of every file written,
so an auditor can recompute the chain from the Parquet files alone. The CSV / XLSX tables carry amounts in
currency units, periods as YYYY-MM, dates as dates and names beside the codes; the Parquet files keep their
exact columns.
"""
import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from formats import labels, officer_files
from formats.amounts import decimal_amounts
from formats.i18n import N_
from ledgers import schema
from ledgers.store import Ledger

EXPORT_FILES = ("*.parquet", "*.csv", "*.xlsx")


@dataclass(frozen=True)
class Money:
    """How the ledger's amounts read in officers' files: its currency, decimals and benefit names."""
    currency: str
    exponent: int
    benefits: dict = field(default_factory=dict)

POSTINGS_SCHEMA = pa.schema([
    ("posting_id", pa.int64()), ("batch_id", pa.int64()), ("account_kind", pa.int16()),
    ("account", pa.string()), ("account_key", pa.int64()), ("right_id", pa.int64()), ("payee_id", pa.int64()),
    ("period", pa.int32()), ("month", pa.int32()), ("component", pa.int16()), ("component_name", pa.string()),
    ("amount_minor", pa.int64()), ("payment_ref", pa.string()),
])


def no_progress(_description: str, _done: int | None = None, _total: int | None = None) -> None:
    return None


def export(ledger: Ledger, out_dir, file_format: str = "parquet", money: Money | None = None,
           progress=no_progress) -> dict:
    """Write the ledger to `out_dir` as Parquet (default), CSV or XLSX; returns the digest.json content.
    `progress(description, batches done, batches in all)` is called as the postings are written."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    batches = ledger.batches()
    counted = counting(batches, progress)
    if file_format == "parquet":
        write_parquet(ledger, counted, out)
    else:
        write_officer_files(ledger, counted, out, file_format, money)
    summary = {
        "digest": batches[-1].hash if batches else ledger.digest(),
        "batches": len(batches),
        "postings": sum(b.n_postings for b in batches),
        "payments": sum(b.n_payments for b in batches),
        "format": file_format,
        "files": {path.name: _sha256(path) for pattern in EXPORT_FILES for path in sorted(out.glob(pattern))},
    }
    (out / "digest.json").write_text(json.dumps(summary, indent=2, sort_keys=True) + "\n")
    return summary


class counting(list):
    """The batches, reporting each batch of postings written (the postings are the long part of an export)."""

    def __init__(self, batches, progress):
        super().__init__(batches)
        self.progress = progress

    def postings(self):
        for done, batch in enumerate(self, start=1):
            yield batch
            self.progress(N_("exporting postings, batch by batch"), done, len(self))


def write_parquet(ledger: Ledger, batches, out: Path) -> None:
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


def _write_postings(ledger: Ledger, batches, path: Path) -> None:
    account_names = pa.array([name for _, name, _, _ in schema.ACCOUNT_KINDS])
    component_names = pa.array(list(schema.LEDGER_COMPONENTS))
    with pq.ParquetWriter(path, POSTINGS_SCHEMA) as writer:
        for batch in batches.postings():
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


def write_officer_files(ledger: Ledger, batches, out: Path, file_format: str, money: Money | None) -> None:
    """The tables as CSV files (one per table) or one XLSX workbook (a sheet per table)."""
    tables = {"batches": [officer_batches(batches)],
              "postings": (officer_postings(ledger, batch, money) for batch in batches.postings()),
              "payments": (officer_payments(ledger, batch, money) for batch in batches if batch.n_payments),
              "events": [officer_events(ledger.events())], "codes": [officer_codes(ledger, money)]}
    if file_format == "xlsx":
        officer_files.write_xlsx(tables, out / "ledger.xlsx")
        return
    assert file_format == "csv", f"unknown export format {file_format}"
    for name, parts in tables.items():
        officer_files.write_csv(parts, out / f"{name}.csv")


def day_of(days: int) -> dt.date:
    return dt.date(1970, 1, 1) + dt.timedelta(days=int(days))


def periods(month_index) -> pa.Array:
    """Month indexes (months since 1970-01) as 'YYYY-MM'."""
    firsts = (np.datetime64("1970-01", "M") + np.asarray(month_index, np.int64)).astype("datetime64[D]")
    return officer_files.period_column(pa.array(firsts, pa.date32()))


def amounts(amount_minor, money: Money | None) -> tuple[str, pa.Array]:
    if money is None:  # a ledger without a payroll has no currency yet: minor units, said so in the name
        return "amount_minor", pa.array(np.asarray(amount_minor, np.int64))
    return "amount", decimal_amounts(pa.array(np.asarray(amount_minor, np.int64)), money.exponent)


def moment(created_us: int) -> dt.datetime:
    """A stored microsecond timestamp as a UTC date and time (naive, as spreadsheets want it)."""
    return dt.datetime(1970, 1, 1) + dt.timedelta(microseconds=int(created_us))


def officer_batches(batches) -> pa.Table:
    if not batches:
        return pa.table({"batch_id": pa.array([], pa.int64())})
    return pa.table({
        "batch_id": [b.batch_id for b in batches], "kind": [b.kind for b in batches],
        "source_id": [b.source_id for b in batches], "period": periods([b.period for b in batches]),
        "booked_on": pa.array([day_of(b.booked_on) for b in batches], pa.date32()),
        "created_at": pa.array([moment(b.created_us) for b in batches], pa.timestamp("us")),
        "postings": [b.n_postings for b in batches], "payments": [b.n_payments for b in batches],
        "hash": [b.hash for b in batches], "prev_hash": [b.prev_hash for b in batches]})


def officer_postings(ledger: Ledger, batch, money: Money | None) -> pa.Table:
    cols = ledger.read_postings(batch.first_posting, batch.n_postings, batch.batch_id)
    account_names = [name for _, name, _, _ in schema.ACCOUNT_KINDS]
    component_names = list(schema.LEDGER_COMPONENTS)
    account = pa.array(account_names).take(pa.array(cols["account_kind"].astype("int64") - 1))
    component = pa.array(component_names).take(pa.array(cols["component"].astype("int64") - 1))
    amount_name, amount = amounts(cols["amount_minor"], money)
    return pa.table({
        "posting_id": cols["posting_id"], "batch_id": cols["batch_id"], "account": account,
        "account_name": officer_files.named(account, labels.ACCOUNTS), "account_key": cols["account_key"],
        "right_id": cols["right_id"], "payee_id": cols["payee_id"], "period": periods(cols["period"]),
        "month": periods(cols["month"]), "component": component,
        "component_name": officer_files.named(component, labels.COMPONENTS), amount_name: amount,
        "currency": pa.array([money.currency if money else None] * len(amount), pa.string()),
        "payment_ref": pa.array(cols["payment_ref"]).cast(pa.string())})


def officer_payments(ledger: Ledger, batch, money: Money | None) -> pa.Table:
    cols = ledger.read_payments(batch.batch_id)
    amount_name, amount = amounts(cols["amount_minor"], money)
    return pa.table({"batch_id": pa.array(np.full(len(amount), batch.batch_id, np.int64)),
                     "leaf": cols["leaf"], "payment_ref": pa.array(cols["payment_ref"]).cast(pa.string()),
                     "payee_id": cols["payee_id"], amount_name: amount})


def officer_events(events: list[dict]) -> pa.Table:
    rows = [{"event_id": e["event_id"], "kind": e["kind"], "subject": e["subject"],
             "created_at": moment(e["created_us"]),
             "payload": json.dumps(e["payload"], sort_keys=True, ensure_ascii=False)} for e in events]
    return pa.Table.from_pylist(rows) if rows else pa.table({"event_id": pa.array([], pa.int64())})


def officer_codes(ledger: Ledger, money: Money | None) -> pa.Table:
    benefits = money.benefits if money else {}
    rows = [{"domain": "account", "code": code, "name": name, "meaning": labels.ACCOUNTS.get(name, name)}
            for code, name, _, _ in schema.ACCOUNT_KINDS]
    rows += [{"domain": "component", "code": code, "name": name, "meaning": labels.component_label(name)}
             for name, code in schema.COMPONENT.items()]
    rows += [{"domain": "benefit", "code": code, "name": name, "meaning": benefits.get(name, name)}
             for code, name in ledger.code_names("benefit").items()]
    rows += [{"domain": "reason", "code": None, "name": name, "meaning": meaning}
             for name, meaning in labels.REASONS.items()]
    return pa.Table.from_pylist(rows)


def _sha256(path: Path) -> str:
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()
