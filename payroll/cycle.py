"""The monthly cycle's steps as plain functions: calculate, approve, export (reconcile lives in payroll.reconcile).

Each step opens the database (initialising the ledger and the payroll tables idempotently), does its work and
returns a JSON-ready dict; refusals are payroll.errors.Refused with a message that says what to do next.
Each command runs in a fresh process, so the heavy parts (the engine's kernels, the file writers) are imported by
the step that needs them, not by this module. Status is never stored on the payroll row: "approved" is the ledger's approve batch (or, for a payroll with
nothing to post, its approved event), "exported" the export batch or event.
"""
import datetime as dt
import importlib.metadata
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import sqlalchemy as sa

from engine.months import format_period, month_first_date, parse_period
from formats.catalogue import load_catalogue
from formats.errors import InputError, Problem
from ledgers.store import Ledger, normalise_url
from payroll import ledger_state, postings, store
from payroll.errors import Refused, UserError
from payroll.ids import payroll_id

ORDERS_FILE = "orders.parquet"
ASSIGNMENTS_FILE = "assignments.parquet"
POSTAL_LIST_NAME = "{payroll}-postal.csv"


def noop(_step: str) -> None:
    return None


def software_versions() -> dict:
    """What computed a payroll: isplata and the libraries whose arithmetic or file formats it relies on. Recorded
    with the calculation, so an audit recompute under other versions says so next to any difference."""
    found = {}
    for name in ("isplata", "numpy", "numba", "pyarrow"):
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            found[name] = "not installed"
    return found


def open_db(db_url: str) -> Ledger:
    """The ledger with its schema and the payroll tables in place (both idempotent)."""
    url = sa.engine.make_url(normalise_url(db_url)) if "://" in db_url else None
    if url is not None and url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)  # a new SQLite file in a new folder
    ledger = Ledger(db_url)
    try:
        ledger.init()
        store.init_schema(ledger.engine)
    except sa.exc.OperationalError as exc:
        ledger.close()
        raise UserError(f"cannot open the database {db_url}: {exc.orig}; check --db / ISPLATA_DB") from exc
    return ledger


def payroll_record(db_url: str, identifier: str) -> store.PayrollRecord:
    """The stored record of one payroll (Refused if unknown), read in a connection of its own."""
    ledger = open_db(db_url)
    try:
        with ledger.engine.connect() as conn:
            return store.get_payroll(conn, identifier)
    finally:
        ledger.close()


def parse_period_arg(text: str) -> int:
    try:
        return parse_period(text)
    except ValueError as exc:
        raise InputError([Problem("--period", None, "period", text, str(exc), "write the month as YYYY-MM")])


def require_name(by: str, option: str = "--by") -> str:
    name = (by or "").strip()
    if not name:
        raise InputError([Problem(option, None, None, by, "a person's name is required",
                                  "give the officer's name, e.g. --by ana")])
    return name


# ---- status ----------------------------------------------------------------------------------------------

POSTED_STATUSES = ("approved", "exported", "reconciled")  # the ledger holds the payroll's approval batch


def status_of(ledger: Ledger, identifier: str) -> dict:
    """Derived status, never stored: draft -> approved -> exported -> reconciled from the ledger's batches and
    events, or cancelled (a `cancelled` event) or superseded (a draft with a newer run of its period)."""
    events = ledger.events(subject=identifier)
    kinds = {event["kind"]: event for event in events}
    approved = ledger.find_batch("approve", identifier) is not None or "approved" in kinds
    exported = ledger.find_batch("export", identifier) is not None or "exported" in kinds
    approved_by = kinds.get("approved", {}).get("payload", {}).get("by")
    if exported:
        status = "reconciled" if reconciled(ledger, identifier) else "exported"
    elif approved:
        status = "approved"
    elif "cancelled" in kinds:
        status = "cancelled"
    else:
        with ledger.engine.connect() as conn:
            status = "superseded" if store.newer_runs(conn, identifier) else "draft"
    return {"status": status, "approved_by": approved_by, "events": events}


def reconciled(ledger: Ledger, identifier: str) -> bool:
    """A reconciled return file matched a payment of the payroll."""
    return any(identifier in event["payload"].get("payrolls", ()) or
               identifier in event["payload"].get("returns_by_reason_minor", {})
               for event in ledger.events(kind="reconciled"))


# ---- calculate -------------------------------------------------------------------------------------------

def load_inputs(ledger: Ledger, data, catalogue, period: int, mark: int | None = None,
                hold_mark: int | None = None):
    """payroll.compute.Inputs: the validated register and the ledger state as of the marks."""
    from formats.register import read_register
    from payroll import compute as computing

    register = read_register(data, catalogue)
    with ledger.engine.connect() as conn:
        state = ledger_state.read_state(conn, mark=mark, first_month=period - computing.LOOKBACK_MONTHS - 12)
        holds = store.read_holds(conn, hold_mark)
    return computing.Inputs(register, catalogue, period, state, holds)


def calculate(db_url: str, data, period_text: str, by: str, rules=None, store_dir=None, progress=noop) -> dict:
    """Validate, compute and store a draft payroll; returns its summary (see queries.calculate_contract)."""
    from formats.register import register_file_digests
    from payroll import compute as computing

    storage = store
    period = parse_period_arg(period_text)
    maker = require_name(by)
    catalogue = load_catalogue(rules)
    progress("validating the register")
    data_path = Path(data).resolve()
    ledger = open_db(db_url)
    try:
        with ledger.engine.connect() as conn:
            mark = ledger_state.batch_mark(conn)
            hold_mark = storage.hold_mark(conn)
        inputs = load_inputs(ledger, data_path, catalogue, period, mark, hold_mark)
        digests = register_file_digests(data_path)
        with ledger.engine.connect() as conn:
            run_no = storage.next_run_no(conn, catalogue.country.upper(), format_period(period))
        identifier = payroll_id(catalogue.country, period, run_no)
        result = computing.compute(identifier, inputs, progress, release=True)
        del inputs  # the register: not needed to store the draft
        progress("storing the draft payroll")
        folder = Path(store_dir or storage.default_store(ledger.url)).resolve() / identifier
        record = write_draft(ledger, folder, identifier, result, catalogue, period, run_no, maker, data_path,
                             digests, mark, hold_mark)
        ledger.append_event("calculated", identifier, {"by": maker, "net_minor": result.summary["net_minor"],
                                                       "software": software_versions()})
    finally:
        ledger.close()
    return summary_of(record)


def write_draft(ledger, folder: Path, identifier: str, result, catalogue, period: int, run_no: int, maker: str,
                data_path: Path, digests: dict, mark: int, hold_mark: int) -> store.PayrollRecord:
    if folder.exists():
        raise Refused(f"{folder} already exists but this database has no payroll {identifier}: it belongs to "
                      "another database; pass --store DIR (or ISPLATA_STORE) for this one")
    temporary = folder.with_name(folder.name + ".writing")
    shutil.rmtree(temporary, ignore_errors=True)
    # three Parquet files written at once (the writer runs without the GIL): the draft is stored in about the
    # time of its largest table
    with ThreadPoolExecutor(max_workers=3, thread_name_prefix="store") as pool:
        written = [pool.submit(store.write_table, table, temporary / name) for table, name in
                   ((result.lines, store.LINES_FILE), (result.payments, store.PAYMENTS_FILE),
                    (result.orders, ORDERS_FILE))]
        lines_sha, payments_sha, orders_sha = (future.result() for future in written)
    totals = dict(result.summary)
    totals["orders_sha256"] = orders_sha
    record = store.PayrollRecord(
        payroll_id=identifier, country=catalogue.country.upper(), period=format_period(period), run_no=run_no,
        currency=catalogue.currency, minor_exponent=catalogue.minor_exponent, created_by=maker,
        created_at=store.now_text(), data_folder=str(data_path), input_sha256=digests,
        catalogue_path=str(Path(catalogue.path).resolve()), catalogue_sha256=catalogue.sha256,
        store_folder=str(folder), lines_sha256=lines_sha, payments_sha256=payments_sha,
        rights=result.summary["rights"], payments=result.summary["payments"],
        net_minor=result.summary["net_minor"], batch_mark=mark, hold_mark=hold_mark, totals=totals)
    try:
        with ledger.engine.begin() as conn:
            store.insert_payroll(conn, record)
            temporary.rename(folder)
    except sa.exc.IntegrityError as exc:
        shutil.rmtree(temporary, ignore_errors=True)
        raise Refused(f"another calculation of {record.period} took run {run_no} at the same moment; "
                      "run calculate again") from exc
    return record


def summary_of(record: store.PayrollRecord) -> dict:
    totals = record.totals
    return {"payroll": record.payroll_id, "period": record.period, "currency": record.currency,
            "minor_exponent": record.minor_exponent, "rights": record.rights, "payments": record.payments,
            "net_minor": record.net_minor, "totals_minor": totals["totals_minor"],
            "by_benefit_minor": totals["by_benefit_minor"], "by_channel_minor": totals["by_channel_minor"],
            "payments_by_channel": totals.get("payments_by_channel", {}),
            "by_municipality_minor": totals.get("by_municipality_minor", {}),
            "rights_paid": totals.get("rights_paid"), "rights_held": totals.get("rights_held"),
            "lines": totals.get("lines"), "created_by": record.created_by, "created_at": record.created_at}


# ---- approve ---------------------------------------------------------------------------------------------

def approve(db_url: str, identifier: str, by: str, progress=noop) -> dict:
    """Maker-checker approval posting the payroll's one balanced batch; a second approval is a no-op."""
    checker = require_name(by)
    ledger = open_db(db_url)
    try:
        with ledger.engine.connect() as conn:
            record = store.get_payroll(conn, identifier)
            newer = [p.payroll_id for p in store.list_payrolls(conn, record.period)
                     if p.country == record.country and p.run_no > record.run_no]
        status = status_of(ledger, identifier)
        if status["status"] == "cancelled":
            raise Refused(f"{identifier} was cancelled and cannot be approved; calculate {record.period} again")
        if status["status"] in POSTED_STATUSES:
            return {"payroll": identifier, "status": "already approved", "approved_by": status["approved_by"],
                    "batch_id": None, "postings": 0, "batch_hash": None}
        if checker.casefold() == record.created_by.strip().casefold():
            raise Refused(f"{checker} calculated {identifier} and cannot also approve it (maker-checker): "
                          "a second officer must run approve")
        if newer:
            raise Refused(f"a newer draft {newer[-1]} exists for {record.period}: approve that one instead, "
                          f"or calculate again")
        check_not_stale(ledger, record)
        progress("building the approval batch")
        batch = approval_batch(ledger, record)
        progress("posting to the ledger")
        result = post_approval(ledger, record, batch, checker)
    finally:
        ledger.close()
    return result


def check_not_stale(ledger: Ledger, record: store.PayrollRecord) -> None:
    """A draft computed before another payroll was approved would pay from an outdated ledger: refuse it."""
    later = [b for b in ledger.batches() if b.kind == "approve" and b.batch_id > record.batch_mark]
    if later:
        raise Refused(f"payroll {later[-1].source_id} was approved after {record.payroll_id} was calculated; "
                      f"calculate {record.period} again and approve the new draft")
    with ledger.engine.connect() as conn:
        placed = store.holds_since(conn, record.hold_mark)
    if placed:
        hold = placed[0]
        target = f"right {hold['right_id']}" if hold["right_id"] >= 0 else f"payee {hold['payee_id']}"
        raise Refused(f"hold {hold['hold_id']} on {target} ({hold['reason_code']}, by {hold['placed_by']}) was "
                      f"placed after {record.payroll_id} was calculated, which would still pay it: calculate "
                      f"{record.period} again and approve the new draft")


def approval_batch(ledger: Ledger, record: store.PayrollRecord) -> dict:
    lines = store.read_lines(record, coded=True, columns=APPROVE_LINE_COLUMNS)
    orders = store._read_checked(Path(record.store_folder) / ORDERS_FILE, record.totals["orders_sha256"], True)
    benefits = distinct_strings(lines.column("benefit"))
    codes = ledger.benefit_codes(benefits) if benefits else {}
    return postings.approve_postings(lines, orders, codes)


APPROVE_LINE_COLUMNS = ["right_id", "benefit", "payee_id", "month", "component", "amount_minor", "payment_ref"]
SENT_LINE_COLUMNS = ["right_id", "payee_id", "channel", "month", "component", "amount_minor", "payment_ref"]


def distinct_strings(column) -> list[str]:
    """Sorted distinct non-null values of a string or dictionary column (no Python object per row)."""
    values = set()
    for chunk in (column.chunks if isinstance(column, pa.ChunkedArray) else [column]):
        if pa.types.is_dictionary(chunk.type):
            used = pc.unique(chunk.indices.drop_null())
            values.update(chunk.dictionary.take(used).to_pylist())
        else:
            values.update(pc.unique(chunk.drop_null()).to_pylist())
    return sorted(values)


def post_approval(ledger: Ledger, record: store.PayrollRecord, batch: dict, checker: str) -> dict:
    period = parse_period(record.period)
    if batch["amount_minor"].shape[0] == 0:
        ledger.append_event("approved", record.payroll_id, {"by": checker, "batch_id": None,
                                                            "record_sha256": store.payroll_sha256(record)})
        return {"payroll": record.payroll_id, "status": "approved", "approved_by": checker, "batch_id": None,
                "postings": 0, "batch_hash": "(nothing to post)"}
    payments = store.read_payments(record, columns=["end_to_end_id", "payee_id", "amount_minor"])
    paid = {"payment_ref": postings.refs_of(payments.column("end_to_end_id")),
            "payee_id": payments.column("payee_id").to_numpy(), "amount_minor": payments.column("amount_minor").to_numpy()}
    batch_record = ledger.append_batch("approve", record.payroll_id, batch,
                                       payments=paid if payments.num_rows else None, period=period,
                                       record_sha256=store.payroll_sha256(record))
    ledger.append_event("approved", record.payroll_id, {"by": checker, "batch_id": batch_record.batch_id})
    return {"payroll": record.payroll_id, "status": "approved", "approved_by": checker,
            "batch_id": batch_record.batch_id, "postings": batch_record.n_postings, "batch_hash": batch_record.hash}


# ---- export ----------------------------------------------------------------------------------------------

def export(db_url: str, identifier: str, out_dir, progress=noop) -> dict:
    """Write the payment files, postal list and manifest; post the payments as sent (both idempotent)."""
    ledger = open_db(db_url)
    try:
        with ledger.engine.connect() as conn:
            record = store.get_payroll(conn, identifier)
        status = status_of(ledger, identifier)
        if status["status"] in ("cancelled", "superseded"):
            raise Refused(f"{identifier} is {status['status']}: it is never exported")
        if status["status"] not in POSTED_STATUSES:
            raise Refused(f"{identifier} is not approved yet: a second officer runs "
                          f"`isplata approve {identifier} --by NAME` first")
        approved_at = approval_time(status["events"])
        progress("writing payment files")
        manifest, batch = write_files(record, Path(out_dir), approved_at, also=lambda: sent_batch(record))
        pa.default_memory_pool().release_unused()  # the payments' columns: give the memory back before posting
        progress("posting payments as sent")
        created = post_export(ledger, record, batch)
    finally:
        ledger.close()
    manifest.update(minor_exponent=record.minor_exponent, currency=record.currency, new_postings=created,
                    out=str(Path(out_dir).resolve()))
    return manifest


def export_json(result: dict) -> dict:
    """What `export --json` prints: manifest.json exactly as written (the same keys, each file with its `kind`).
    The top-level `payments` and `ctrl_sum_minor` sum the pain.001 files only: the postal list
    (kind postal-list) repeats the payments of the CHK file, so a script summing files must skip it."""
    from bank_exports.pain001 import MESSAGE

    document = dict(result["manifest"])
    payment_files = [f for f in document["files"] if f["kind"] == MESSAGE]
    assert document["payments"] == sum(f["nb_of_txs"] for f in payment_files)
    assert document["ctrl_sum_minor"] == sum(f["ctrl_sum_minor"] for f in payment_files)
    return document


def approval_time(events: list[dict]) -> dt.datetime:
    """The approval moment fixes the files' CreDtTm, so exporting again writes the same bytes."""
    approved = [e for e in events if e["kind"] == "approved"]
    micros = approved[0]["created_us"] if approved else 0
    return dt.datetime.fromtimestamp(micros // 1_000_000, dt.timezone.utc).replace(tzinfo=None)


EXPORT_PAYMENT_COLUMNS = ["end_to_end_id", "channel", "amount_minor", "remittance", "name", "iban", "bic", "street",
                          "house_number", "postcode", "town", "district", "region", "country", "tax_id", "phone"]


def write_files(record: store.PayrollRecord, out_dir: Path, approved_at: dt.datetime, also=None):
    """pain.001 files, postal list and manifest. The pain.001 files are validated against the XSD on other
    threads while `also()` runs (export builds its ledger batch meanwhile); nothing is renamed into place
    before every file passed. Returns the manifest (and also()'s result when given)."""
    from bank_exports.manifest import write_manifest
    from bank_exports.pain001 import Pain001Options, start_pain001
    from bank_exports.payments import Debtor, as_table
    from bank_exports.postal import write_postal_list

    catalogue = load_catalogue(record.catalogue_path)
    payments = as_table(store.read_payments(record, columns=EXPORT_PAYMENT_COLUMNS))  # cast once, for both writers
    out_dir.mkdir(parents=True, exist_ok=True)
    settings = catalogue.payment
    period = parse_period(record.period)
    execution = month_first_date(period + 1).replace(day=settings.execution_day)
    options = Pain001Options(msg_id_prefix=record.payroll_id, currency=record.currency, created_at=approved_at,
                             execution_date=execution, minor_exponent=record.minor_exponent,
                             cheque_delivery=settings.postal_delivery_method)
    debtor = Debtor(settings.agency_name, settings.debtor_iban, settings.debtor_bic)
    files, extra = [], None
    if payments.num_rows:
        pending = start_pain001(payments, out_dir, debtor, options)
        try:
            extra = also() if also is not None else None
        except BaseException:
            pending.discard()
            raise
        written = pending.finish()
        files += written.files
        store.write_table(written.assignments, Path(record.store_folder) / ASSIGNMENTS_FILE)
        postal = write_postal_list(payments, out_dir / POSTAL_LIST_NAME.format(payroll=record.payroll_id),
                                   record.currency, record.minor_exponent)
        if postal is not None:
            files.append(postal)
    elif also is not None:
        extra = also()
    path, sha = write_manifest(out_dir, record.payroll_id, files)
    document = pq_free_manifest(path)
    manifest = dict(document, manifest=pq_free_manifest(path), manifest_sha256=sha)
    return (manifest, extra) if also is not None else manifest


def pq_free_manifest(path: Path) -> dict:
    import json

    return json.loads(Path(path).read_text(encoding="utf-8"))


def sent_batch(record: store.PayrollRecord) -> dict | None:
    """The 'payment sent' postings of a payroll (None when no payment settles anything)."""
    lines = store.read_lines(record, coded=True, columns=SENT_LINE_COLUMNS)
    groups = postings.sent_groups(lines)
    del lines
    return postings.export_postings(groups) if groups.num_rows else None


def post_export(ledger: Ledger, record: store.PayrollRecord, batch: dict | None = None) -> bool:
    """'Payment sent' postings; True when written now, False when the identical batch was already there."""
    batch = sent_batch(record) if batch is None else batch
    if batch is None or batch["amount_minor"].shape[0] == 0:
        if not any(e["kind"] == "exported" for e in ledger.events(subject=record.payroll_id)):
            ledger.append_event("exported", record.payroll_id, {"batch_id": None})
            return True
        return False
    batch_record = ledger.append_batch("export", record.payroll_id, batch, period=parse_period(record.period))
    if batch_record.created:
        ledger.append_event("exported", record.payroll_id, {"batch_id": batch_record.batch_id})
    return batch_record.created


def read_assignments(record: store.PayrollRecord) -> pa.Table | None:
    path = Path(record.store_folder) / ASSIGNMENTS_FILE
    return pq.read_table(path) if path.exists() else None
