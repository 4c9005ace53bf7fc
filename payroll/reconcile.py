"""Reconciliation: what banks and the post send back, matched to exported payments and posted to the ledger.

Each file (pain.002, camt.054, camt.053, pacs.004, postal CSV; read by bank_exports.returns) is one ledger batch
whose source id is the file's SHA-256, so the same file twice posts nothing. Records are matched by EndToEndId
(a group-level reject by MsgId expands to every payment of that message). A rejected payment is reversed out of
payments in transit, a returned one out of treasury cash, both into "returned, awaiting re-issue" of its payee
(per right, as it was sent); a batch debit that names our MsgId is booked as settlement. Reasons act:
MD07 (deceased) holds the rights of the payment and lists them for the register office, so the register
records the death and the next payroll raises what was paid after it as an overpayment; AC01/AC03/AC04/AC06/
AC07/BE04 hold the payee's bank channel (re-issue goes by post where the benefit allows, else waits for a new
account, which the register office is asked for); any other reason re-issues in the next payroll. A record that
matches nothing, or disagrees with the payment (amount, already returned), is an exception: listed in a CSV
and the command exits 1.

Every file is read and checked before anything is posted, so one bad file (exit 2) leaves the ledger, the
holds and the reports exactly as they were. A file reconciled before is matched again without posting:
its records that matched count as already seen, and those that were exceptions then (or are now) are still
exceptions, so a re-run exits 1 until the bank sends a corrected file. The exceptions report
(reconcile-exceptions.csv next to the first file) is rewritten on every run: header only when the run found
no exception, so a file left over from an earlier run never looks current.
"""
import csv
import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from bank_exports.returns import expand_records, read_returns
from formats.catalogue import CURRENCY_EXPONENTS
from ledgers.schema import ACCOUNT, COMPONENT
from payroll import cycle, postings, store
from payroll.errors import Refused
from payroll.ids import payroll_of_ref

DEATH_CODES = ("MD07",)
ACCOUNT_CODES = ("AC01", "AC03", "AC04", "AC06", "AC07", "BE04")
REGISTER_ACTIONS_NAME = "register-actions.csv"
EXCEPTIONS_NAME = "reconcile-exceptions.csv"
ACTION_COLUMNS = ("action", "reason_code", "payment_ref", "payee_id", "right_id", "person_id", "iban",
                  "booking_date", "source_file")
EXCEPTION_COLUMNS = ("source_file", "line", "kind", "reference", "reason_code", "amount_minor", "problem")


@dataclass
class Tally:
    records: int = 0
    matched: int = 0
    unmatched: int = 0
    already_seen: int = 0
    rejected_minor: int = 0
    returned_minor: int = 0
    settled_minor: int = 0
    exceptions: list = field(default_factory=list)
    actions: list = field(default_factory=list)
    returns_by_reason: dict = field(default_factory=dict)
    batches: list = field(default_factory=list)


@dataclass
class PayrollView:
    """What reconciliation needs of one exported payroll, loaded once per run."""
    record: store.PayrollRecord
    assignments: pa.Table
    groups: pa.Table           # export groups: per payment, right, payee, account the amount sent
    payments: pa.Table
    reversed_refs: set
    group_refs: np.ndarray = None   # groups' payment_ref as a sorted numpy array, for O(log n) lookups

    def groups_of(self, ref: str | None) -> pa.Table:
        """The export groups of one payment (groups are sorted by payment_ref)."""
        if ref is None:
            return self.groups.slice(0, 0)
        start = int(np.searchsorted(self.group_refs, ref, side="left"))
        stop = int(np.searchsorted(self.group_refs, ref, side="right"))
        return self.groups.slice(start, stop - start)


def file_sha256(path: Path) -> str:
    return store.sha256_file(path)


def reconcile(db_url: str, files: list, register_out=None, progress=cycle.noop) -> dict:
    """Reconcile every file; returns the DESIGN.md counts plus exceptions and register actions."""
    paths = [Path(f) for f in files]
    # read and check every file before posting anything: a bad file raises InputError with nothing written
    parsed = []
    for path in paths:
        progress(f"reading {path.name}")
        parsed.append((path, file_sha256(path), read_returns(path, minor_exponent=dict(CURRENCY_EXPONENTS))))
    ledger = cycle.open_db(db_url)
    tally, views = Tally(), {}
    exponent = 2
    try:
        for path, sha, records in parsed:
            progress(f"reconciling {path.name}")
            exponent = reconcile_file(ledger, path, sha, records, tally, views) or exponent
    finally:
        ledger.close()
    base = Path(register_out).parent if register_out else paths[0].resolve().parent
    actions_path = Path(register_out) if register_out else base / REGISTER_ACTIONS_NAME
    if tally.actions:
        write_csv(actions_path, ACTION_COLUMNS, tally.actions)
    exceptions_path = base / EXCEPTIONS_NAME
    write_csv(exceptions_path, EXCEPTION_COLUMNS, tally.exceptions)  # header only when none: never stale
    return {"records": tally.records, "matched": tally.matched, "unmatched": tally.unmatched,
            "already_seen": tally.already_seen, "rejected_minor": tally.rejected_minor,
            "returned_minor": tally.returned_minor, "settled_minor": tally.settled_minor,
            "exceptions": tally.exceptions, "exceptions_out": str(exceptions_path),
            "register_actions": len(tally.actions), "register_out": str(actions_path) if tally.actions else None,
            "returns_by_reason_minor": tally.returns_by_reason, "batches": tally.batches,
            "minor_exponent": exponent}


def write_csv(path: Path, columns: tuple, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(columns))
        writer.writeheader()
        for row in rows:
            writer.writerow({name: row.get(name) for name in columns})


def reconcile_file(ledger, path: Path, sha: str, records: list, tally: Tally, views: dict) -> int | None:
    # a group-level reject counts as one record per payment of its message, whether new or seen before
    records = expand_group_records(ledger, records, views)
    tally.records += len(records)
    earlier = ledger.events(subject=sha, kind="reconciled")
    seen = ledger.find_batch("reconcile", sha) is not None or bool(earlier)
    # records that were exceptions when the file was first reconciled stay exceptions: the file posts once
    before = {tuple(key) for event in earlier for key in event["payload"].get("exception_keys", [])}
    chunks, holds, file_tally = [], [], Tally()
    exponent = None
    for record in records:
        view = view_for(ledger, record, views)
        if view is None:
            exception(file_tally, record, "reference matches no payment of this database")
            continue
        if seen and exception_key(record) in before:
            exception(file_tally, record, "was an exception when this file was first reconciled and a file posts "
                                          "once: ask the bank for a corrected file")
            continue
        exponent = view.record.minor_exponent
        if record.kind == "settled" and record.scope != "transaction":
            settle(view, record, chunks, file_tally, seen)
        else:
            reverse(view, record, chunks, holds, file_tally, ledger, seen)
    if not seen:
        post_file(ledger, path, sha, chunks, holds, file_tally)
    merge(tally, file_tally)
    return exponent


def exception_key(record) -> tuple:
    return (record.line, reference_of(record))


def merge(tally: Tally, part: Tally) -> None:
    for name in ("matched", "unmatched", "already_seen", "rejected_minor", "returned_minor", "settled_minor"):
        setattr(tally, name, getattr(tally, name) + getattr(part, name))
    tally.exceptions += part.exceptions
    tally.actions += part.actions
    tally.batches += part.batches
    for payroll, reasons in part.returns_by_reason.items():
        merged = tally.returns_by_reason.setdefault(payroll, {})
        for reason, amount in reasons.items():
            merged[reason] = merged.get(reason, 0) + amount


def expand_group_records(ledger, records: list, views: dict) -> list:
    """A message- or block-level reject becomes one record per payment of that message."""
    group = [r for r in records if r.scope != "transaction" and r.kind != "settled"]
    if not group:
        return records
    keep = [r for r in records if not (r.scope != "transaction" and r.kind != "settled")]
    for record in group:
        view = view_for(ledger, record, views)
        if view is None:
            keep.append(record)  # reported as unmatched below
            continue
        keep += expand_records([record], view.assignments)
    return keep


def reference_of(record) -> str | None:
    return record.original_end_to_end_id or record.original_pmt_inf_id or record.original_msg_id


def view_for(ledger, record, views: dict) -> PayrollView | None:
    reference = reference_of(record)
    identifier = payroll_of_ref(reference) if reference else None
    if identifier is None:
        return None
    if identifier not in views:
        views[identifier] = load_view(ledger, identifier)
    return views[identifier]


def load_view(ledger, identifier: str) -> PayrollView | None:
    with ledger.engine.connect() as conn:
        found = [p for p in store.list_payrolls(conn) if p.payroll_id == identifier]
    if not found or ledger.find_batch("export", identifier) is None:
        return None
    record = found[0]
    assignments = cycle.read_assignments(record)
    if assignments is None:
        return None
    groups = postings.sent_groups(store.read_lines(record))
    reversed_refs = already_reversed(ledger, identifier)
    refs = np.asarray(groups.column("payment_ref").to_numpy(zero_copy_only=False)).astype("U35")
    assert (refs[1:] >= refs[:-1]).all(), "export groups are sorted by payment_ref"
    return PayrollView(record, assignments, groups, store.read_payments(record), reversed_refs, refs)


def already_reversed(ledger, identifier: str) -> set:
    codes = f"{COMPONENT['reject']}, {COMPONENT['return']}"
    sql = (f"SELECT DISTINCT payment_ref FROM ledger_postings WHERE account_kind = "
           f"{ACCOUNT['returned_awaiting_reissue']} AND component IN ({codes}) AND payment_ref LIKE :prefix")
    import sqlalchemy as sa

    with ledger.engine.connect() as conn:
        return {row[0] for row in conn.execute(sa.text(sql), {"prefix": identifier + "-%"})}


def exception(tally: Tally, record, problem: str) -> None:
    tally.unmatched += 1
    tally.exceptions.append({"source_file": record.source_file, "line": record.line, "kind": record.kind,
                             "reference": reference_of(record), "reason_code": record.reason_code,
                             "amount_minor": record.amount_minor, "problem": problem})


def settle(view: PayrollView, record, chunks: list, tally: Tally, seen: bool = False) -> None:
    """A batch debit of one of our files (by MsgId or PmtInfId): in transit -> treasury cash."""
    column = "pmt_inf_id" if record.scope == "payment_information" else "msg_id"
    key = record.original_pmt_inf_id if record.scope == "payment_information" else record.original_msg_id
    chosen = view.assignments.filter(pc.equal(view.assignments.column(column), key))
    if chosen.num_rows == 0:
        exception(tally, record, f"{column} {key} is not a file of payroll {view.record.payroll_id}")
        return
    total = int(pc.sum(chosen.column("amount_minor")).as_py())
    amount = record.amount_minor if record.amount_minor is not None else total
    if not 0 < amount <= total:
        exception(tally, record, f"settles {amount} but the file {key} carries {total}")
        return
    if seen:  # settled when the file was first reconciled
        tally.already_seen += 1
        return
    channel = chosen.column("channel")[0].as_py()
    month = cycle.parse_period(view.record.period)
    chunks.append(postings.settlement_postings(channel, amount, month, key))
    tally.matched += 1
    tally.settled_minor += amount


def reverse(view: PayrollView, record, chunks: list, holds: list, tally: Tally, ledger,
            seen: bool = False) -> None:
    """A rejected or returned payment (or a postal payment reported paid): reversal or settlement, and holds."""
    ref = record.original_end_to_end_id
    groups = view.groups_of(ref)
    if groups.num_rows == 0:
        exception(tally, record, "EndToEndId matches no exported payment")
        return
    amount = int(pc.sum(groups.column("amount_minor_sum")).as_py())
    if record.amount_minor is not None and record.amount_minor != amount:
        exception(tally, record, f"amount {record.amount_minor} differs from the payment's {amount}")
        return
    channel = groups.column("channel")[0].as_py()
    month = cycle.parse_period(view.record.period)
    if record.kind == "settled" and seen:
        tally.already_seen += 1
        return
    if record.kind == "settled":  # a postal payment reported paid: settles that one payment
        chunks.append(postings.settlement_postings(channel, amount, month, ref))
        tally.matched += 1
        tally.settled_minor += amount
        return
    if ref in view.reversed_refs:
        tally.already_seen += 1
        return
    if seen:  # matched only now (e.g. exported since): the file's batch is closed, so it stays an exception
        exception(tally, record, "this file was reconciled before this payment could be matched and a file "
                                 "posts once: ask the bank for a corrected file")
        return
    view.reversed_refs.add(ref)
    debit = postings.IN_TRANSIT[channel] if record.kind == "rejected" else postings.CASH
    component = "reject" if record.kind == "rejected" else "return"
    chunks.append(postings.return_postings(groups, np.full(groups.num_rows, debit), component))
    tally.matched += 1
    if record.kind == "rejected":
        tally.rejected_minor += amount
    else:
        tally.returned_minor += amount
    reason = record.reason_code or "NARR"
    by_reason = tally.returns_by_reason.setdefault(view.record.payroll_id, {})
    by_reason[reason] = by_reason.get(reason, 0) + amount
    act_on_reason(view, record, groups, holds, tally)


def act_on_reason(view: PayrollView, record, groups: pa.Table, holds: list, tally: Tally) -> None:
    reason = record.reason_code or ""
    ref = record.original_end_to_end_id
    payee = int(groups.column("payee_id")[0].as_py())
    booking = record.booking_date.isoformat() if record.booking_date else None
    if reason in DEATH_CODES:
        for right in sorted(set(groups.column("right_id").to_pylist())):
            holds.append({"kind": "right", "right_id": int(right), "payee_id": payee, "reason_code": reason,
                          "payment_ref": ref, "iban": None})
            tally.actions.append({"action": "record_death", "reason_code": reason, "payment_ref": ref,
                                  "payee_id": payee, "right_id": int(right),
                                  "person_id": person_of(view, int(right)), "booking_date": booking,
                                  "source_file": record.source_file})
    elif reason in ACCOUNT_CODES:
        row = int(ref.rsplit("-", 1)[1]) - 1  # payments are numbered from 1 in EndToEndId order
        assert view.payments.column("end_to_end_id")[row].as_py() == ref
        iban = view.payments.column("iban")[row].as_py()
        holds.append({"kind": "bank_channel", "right_id": -1, "payee_id": payee, "reason_code": reason,
                      "payment_ref": ref, "iban": iban})
        tally.actions.append({"action": "new_account_needed", "reason_code": reason, "payment_ref": ref,
                              "payee_id": payee, "iban": iban, "booking_date": booking,
                              "source_file": record.source_file})


_PERSONS_OF_RIGHTS: dict = {}


def person_of(view: PayrollView, right_id: int) -> int | None:
    """The beneficiary of a right, from the register snapshot the payroll was calculated from."""
    folder = view.record.data_folder
    if folder not in _PERSONS_OF_RIGHTS:
        path = Path(folder) / "rights.parquet"
        if not path.exists():
            _PERSONS_OF_RIGHTS[folder] = {}
        else:
            table = pq.read_table(path, columns=["right_id", "person_id"])
            _PERSONS_OF_RIGHTS[folder] = dict(zip(table.column("right_id").to_pylist(),
                                                  table.column("person_id").to_pylist()))
    return _PERSONS_OF_RIGHTS[folder].get(right_id)


def post_file(ledger, path: Path, sha: str, chunks: list, holds: list, tally: Tally) -> None:
    """One batch per file (idempotent by its SHA-256), then its holds, then the reconciled event."""
    batch = postings.concat(chunks)
    if batch["amount_minor"].shape[0]:
        period = max(chunk["month"].max() for chunk in chunks if chunk["month"].shape[0])
        record = ledger.append_batch("reconcile", sha, batch, period=int(period))
        tally.batches.append(record.batch_id)
    with ledger.engine.begin() as conn:
        store.insert_holds(conn, holds)
    keys = [[e["line"], e["reference"]] for e in tally.exceptions]
    ledger.append_event("reconciled", sha, {"file": path.name, "matched": tally.matched,
                                             "unmatched": tally.unmatched, "exception_keys": keys,
                                             "returns_by_reason_minor": tally.returns_by_reason})
