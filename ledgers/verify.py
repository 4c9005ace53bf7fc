"""Recompute the whole hash chain from the first batch and name the first batch that does not add up.

Every batch is checked in order: ids and posting ranges contiguous, the previous hash, its postings read back in
bulk and re-hashed (an edited, deleted, inserted or swapped posting changes the digest or the count), its
payments' Merkle root, the zero sum, and finally its own hash. Optionally the recomputed chain must pass
through a digest the auditor saved earlier, which catches a dropped last batch or a consistent rewrite.

Then the records around the ledger (schema version 2, and 3 for the country row): the event chain is rehashed
event by event, every row of the RECORD_TABLES (payrolls, holds and releases, the ledger's country and currency)
must equal its copy in the chain, every batch that commits to a record (an approval to its payroll's row) must
still find it, every batch's recorded event head must still be in the chain (a consistent rewrite of the
events is caught by the batch chain), and every approval and export event must still find the batch it names (a
batch chain cut short is caught by the events). Each finding names the table, the row's key and, where it can, the field.
"""
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field

import numpy as np

from ledgers.bulk import CorruptColumns
import json

import sqlalchemy as sa

from ledgers import schema
from ledgers.canonical import GENESIS_HASH, batch_hash, event_hash, merkle_root, postings_sha256, record_sha256
from ledgers.store import BatchRecord, Ledger, projection_of

FINDINGS_MAX = 50
HEADER_CHANGED = "batch header (kind, source, dates, counts or hash) was changed"
COMMITTED_RECORD_TABLE = "payrolls"  # an approval batch commits to this table's row keyed by its source_id


@dataclass
class VerifyResult:
    ok: bool
    batches: int
    postings: int
    digest: str
    first_bad_batch: int | None
    reason: str
    records: list = field(default_factory=list)  # findings about the events and the records around the ledger (empty when ok)

    def as_dict(self) -> dict:
        return asdict(self)


def verify(ledger: Ledger, digest: str | None = None) -> VerifyResult:
    """The batch chain (verify_batches), then the event chain and the records around the ledger: ok only if
    both hold. A record finding alone leaves first_bad_batch None and is the reason; all are in `records`.
    `digest` may also be an event hash (`ledger digest --json` gives events_head): it covers the events appended
    after the last batch too.

    The record findings (Python work on the events and the record tables) are computed on a side thread while
    the batches are read and hashed, which mostly waits for the database: the result is the same as one after
    the other."""
    rows = ledger.event_rows()
    batches = ledger.batches()
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="verify-records") as side:
        records = side.submit(record_findings, ledger, batches, rows)
        result = verify_batches(ledger, digest, {row["hash"] for row in rows}, batches)
        result.records = records.result()
    if result.records:
        result.ok = False
        if not result.reason:
            more = len(result.records) - 1
            result.reason = result.records[0] + (f" (and {more} more finding(s))" if more else "")
    return result


def verify_batches(ledger: Ledger, digest: str | None = None, event_hashes=frozenset(),
                   batches: list[BatchRecord] | None = None) -> VerifyResult:
    """Recompute every batch hash; ok only if all match (and the chain reaches `digest` when given).

    Each batch is judged in order (ids, posting range and previous-hash link, then its postings and payments,
    then its own hash) and the first that fails is named. The headers chain on their own (a batch hash covers
    the stored postings digest and Merkle root, which the content checks compare with the data), so the header
    checks of all batches run first and find which batches' content must be read: those up to the first header
    failure. Their content is then checked as a pipeline: a batch's postings are read (two connections, see
    Ledger.read_postings) while the previous batch's are hashed and summed, its payments (read and Merkle tree)
    are checked on another thread, and the rows outside every batch's range are counted alongside, so the
    database and the hashing work at the same time instead of one after the other. The result is the one a
    check of each batch in turn would give.

    Stray rows (no batch's read selects them) are counted without a scan of the whole table: each batch's read
    counts the rows of other batches inside its range, and Ledger.count_outside the rows beyond all ranges.
    """
    batches = ledger.batches() if batches is None else batches
    steps, failure, seen = _header_steps(batches)
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="verify-side") as side, \
            ThreadPoolExecutor(max_workers=1, thread_name_prefix="verify-read") as reader:
        postings = sum(batch.n_postings for batch in batches)
        outside = side.submit(ledger.count_outside, postings, len(batches)) if failure is None else None
        inside = 0  # rows of other batches inside the ranges read
        for batch, prev, first, reason, others in _content_reasons(ledger, side, reader, steps):
            if reason:
                return VerifyResult(False, len(batches), first - 1, prev, batch.batch_id, reason)
            inside += others
        if failure is not None:
            batch, prev, first, reason = failure
            return VerifyResult(False, len(batches), first - 1, prev, batch.batch_id, reason)
        prev = seen[-1]
        stray_postings, stray_payments, projections = outside.result()
        stray = _stray_rows(stray_postings + inside, stray_payments, projections)
    if stray:
        return VerifyResult(False, len(batches), postings, prev, len(batches) + 1, stray)
    if digest is not None and digest.lower() not in seen and digest.lower() not in event_hashes:
        reason = (f"the chain ends at batch {len(batches)} (hash {prev}) and never reaches the saved digest "
                  f"{digest}: batches after it were removed or the ledger was rewritten")
        return VerifyResult(False, len(batches), postings, prev, len(batches) + 1, reason)
    return VerifyResult(True, len(batches), postings, prev, None, "")


def _header_steps(batches: list[BatchRecord]):
    """Walk the chain of headers. Returns (steps, failure, seen): steps = (batch, prev hash, first posting) of
    every batch whose content must be checked, in order; failure = (batch, prev, first, reason) of the first
    batch whose header fails, or None; seen = the recomputed hashes from the genesis on.

    A batch whose ids, range or previous-hash link fail is judged before its content (it is not in steps); a
    batch whose own hash fails is judged after it (it is the last step)."""
    steps, seen = [], [GENESIS_HASH]
    prev, first = GENESIS_HASH, 1
    for index, batch in enumerate(batches, start=1):
        reason = _link_reason(batch, index, prev, first)
        if reason:
            return steps, (batch, prev, first, reason), seen
        steps.append((batch, prev, first))
        computed = batch_hash(prev, batch.header(), batch.postings_sha256, batch.merkle_root)
        if computed != batch.hash:
            return steps, (batch, prev, first, HEADER_CHANGED), seen
        prev, first = computed, first + batch.n_postings
        seen.append(computed)
    return steps, None, seen


def _link_reason(batch: BatchRecord, index: int, prev: str, first: int) -> str:
    if batch.batch_id != index:
        return f"batch ids are not contiguous: expected {index}, found {batch.batch_id}"
    if batch.first_posting != first:
        return f"posting range starts at {batch.first_posting}, expected {first}"
    if batch.prev_hash != prev:
        return "previous-hash link does not match the recomputed previous batch"
    return ""


def _content_reasons(ledger: Ledger, side, reader, steps: list):
    """Yield (batch, prev, first, reason, others) for each step in order, reason "" when its postings and payments
    hold, others the rows of other batches inside its posting range.

    The next batch's postings are read on `reader` while this one's are checked here; each batch's payments
    are checked on `side`. At most two batches' postings are held at once."""
    if not steps:
        return
    pending = reader.submit(_read_postings, ledger, steps[0][0])
    for position, (batch, prev, first) in enumerate(steps):
        payments = side.submit(_unreadable_as_reason, _check_payments, ledger, batch)
        read = pending.result()
        if position + 1 < len(steps):
            pending = reader.submit(_read_postings, ledger, steps[position + 1][0])
        if isinstance(read, str):
            reason, others = read, 0
        else:
            columns, others = read
            reason = _unreadable_as_reason(_check_columns, ledger, batch, columns)
            del columns
        del read
        yield batch, prev, first, reason or payments.result(), others


def _read_postings(ledger: Ledger, batch: BatchRecord):
    """(the batch's postings, rows of other batches in its range), or the reason they cannot be read."""
    try:
        return ledger.read_postings_counted(batch.first_posting, batch.n_postings, batch.batch_id)
    except CorruptColumns as exc:
        return f"stored values unreadable: {exc}"


def _check_columns(ledger: Ledger, batch: BatchRecord, columns: dict) -> str:
    """The batch's postings (as read_postings returns them) against its header: count, ids, batch, digest, sums
    and the expense projection."""
    count = len(columns["posting_id"])
    if count != batch.n_postings:
        return f"{batch.n_postings} postings expected, {count} found (postings deleted or inserted)"
    expected_ids = np.arange(batch.first_posting, batch.first_posting + count)
    if not np.array_equal(columns["posting_id"], expected_ids):
        return "posting ids are duplicated or missing"
    if not np.all(columns["batch_id"] == batch.batch_id):
        return "a posting was moved to another batch"
    if postings_sha256(columns) != batch.postings_sha256:
        return "postings differ from their hash (an amount, account, right, payee, month or order was changed)"
    amount = columns["amount_minor"]
    if int(amount.sum()) != 0 or int(amount[amount > 0].sum()) != batch.debit_minor:
        return "postings do not sum to zero"
    return _check_projection(ledger, batch, columns)


def _check_projection(ledger: Ledger, batch: BatchRecord, columns: dict) -> str:
    stored = ledger.read_expense_columns(batch.batch_id)
    expected = projection_of(columns["account_kind"], columns["right_id"], columns["month"], columns["amount_minor"])
    if stored is None or stored[1] != len(expected[0]) or stored[0] != tuple(c.tobytes() for c in expected):
        return "the expense columns that recognised() reads differ from the batch's postings"
    return ""


def _check_payments(ledger: Ledger, batch: BatchRecord) -> str:
    payments = ledger.read_payments(batch.batch_id)
    count = len(payments["leaf"])
    if count != batch.n_payments or not np.array_equal(payments["leaf"], np.arange(count)):
        return f"{batch.n_payments} payments expected, {count} found (payments deleted or inserted)"
    root = merkle_root(payments["payment_ref"], payments["payee_id"], payments["amount_minor"])
    if root != batch.merkle_root:
        return "payments differ from their Merkle root"
    return ""


def _unreadable_as_reason(check, ledger: Ledger, batch: BatchRecord, *args) -> str:
    try:
        return check(ledger, batch, *args)
    except CorruptColumns as exc:
        return f"stored values unreadable: {exc}"


def _stray_rows(postings: int, payments: int, projections: int) -> str:
    """The reason for the rows that no batch's read selects (their counts), "" when there are none."""
    if postings:
        return f"{postings} posting(s) outside every batch's range"
    if payments:
        return f"{payments} payment(s) outside every batch"
    if projections:
        return f"{projections} expense column row(s) outside every batch"
    return ""


# ---- the records around the ledger ----------------------------------------------------------------------------

def record_findings(ledger: Ledger, batches: list[BatchRecord] | None = None, rows: list[dict] | None = None) -> list[str]:
    """Every way the event chain and the RECORD_TABLES differ from what was chained, named (at most FINDINGS_MAX)."""
    rows = ledger.event_rows() if rows is None else rows  # the events first: a batch committed between the two
    batches = ledger.batches() if batches is None else batches  # reads is then listed, and no event names a batch
    findings, hashes, chained = event_findings(rows)          # the list lacks
    tables = {}
    with ledger.engine.connect() as conn:
        present = set(sa.inspect(conn).get_table_names())
        for table, key in schema.RECORD_TABLES:
            if table in present:
                tables[table] = {row[key]: row for row in (dict(r) for r in conn.execute(
                    sa.text(f"SELECT * FROM {table}")).mappings())}
                findings += table_findings(table, key, tables[table], chained.get(table, {}))
    findings += batch_record_findings(batches, tables.get(COMMITTED_RECORD_TABLE, {}), hashes)
    findings += named_batch_findings(rows, batches)
    return findings[:FINDINGS_MAX]


# events that name the batch their step wrote: (event kind, batch kind), the event's subject the batch's source
BATCH_EVENTS = {"approved": "approve", "exported": "export"}


def named_batch_findings(rows: list[dict], batches: list[BatchRecord]) -> list[str]:
    """Every approval and export event names the batch it committed with: that batch must still be in the chain,
    of its kind and source. A batch chain cut short (its last batches deleted) still links to the genesis, but
    the hash-chained events that name the removed batches are then caught without a saved digest."""
    held = {batch.batch_id: batch for batch in batches}
    findings = []
    for row in rows:
        kind = BATCH_EVENTS.get(row["kind"])
        if kind is None:
            continue
        try:
            batch_id = json.loads(row["payload"]).get("batch_id")
        except (ValueError, AttributeError):
            continue  # an unreadable payload is event_findings' (its hash no longer matches)
        if batch_id is None:
            continue  # nothing to post, no batch
        batch = held.get(batch_id)
        where = f"ledger_events event_id={row['event_id']} ({row['kind']} {row['subject']})"
        if batch is None:
            findings.append(f"{where} names batch {batch_id}, which the ledger no longer holds: batches were "
                            "removed from the end of the chain")
        elif (batch.kind, batch.source_id) != (kind, row["subject"]):
            findings.append(f"{where} names batch {batch_id}, which is the {batch.kind} batch of {batch.source_id}")
    return findings


def event_findings(rows: list[dict]) -> tuple[list[str], dict, dict]:
    """Rehash the event chain. Returns (findings, {hash: event_id}, {table: {key: chained row}})."""
    findings, hashes, chained = [], {}, {}
    prev = GENESIS_HASH
    for expected, row in enumerate(rows, start=1):
        where = f"ledger_events event_id={row['event_id']} ({row['kind']} {row['subject']})"
        if row["event_id"] != expected:
            findings.append(f"ledger_events: event {expected} is missing (deleted), the chain jumps to {row['event_id']}")
        if row["prev_hash"] != prev:
            findings.append(f"{where}: prev_hash does not link to the event before it (events deleted, inserted "
                            "or reordered)")
        if event_hash(row["prev_hash"], row["event_id"], row["kind"], row["subject"], row["payload"],
                      row["created_us"]) != row["hash"]:
            findings.append(f"{where}: its content (kind, subject, payload or time) no longer matches its hash")
        prev = row["hash"]
        hashes[row["hash"]] = row["event_id"]
        if row["kind"] == schema.RECORD_EVENT:
            _collect_rows(row, chained, findings)
    return findings, hashes, chained


def _collect_rows(row: dict, chained: dict, findings: list) -> None:
    try:
        payload = json.loads(row["payload"])
        keys = dict(schema.RECORD_TABLES)
        table = payload["table"]
        for copy in payload["rows"]:
            chained.setdefault(table, {})[copy[keys[table]]] = copy
    except (ValueError, KeyError, TypeError):
        findings.append(f"ledger_events event_id={row['event_id']}: a rows event that cannot be read")


def table_findings(table: str, key: str, stored: dict, chained: dict) -> list[str]:
    """Rows inserted behind the chain, deleted, or with a field that differs from the chained copy."""
    findings = []
    for identifier in sorted(set(stored) | set(chained), key=str):
        where = f"{table} {key}={identifier}"
        if identifier not in chained:
            findings.append(f"{where}: the row is not in the hash chain (inserted behind it)")
        elif identifier not in stored:
            findings.append(f"{where}: the row was deleted (the hash chain holds it)")
        else:
            for field in _changed_fields(stored[identifier], chained[identifier]):
                findings.append(f"{where}: {field} was changed from {chained[identifier].get(field)!r} to "
                                f"{stored[identifier].get(field)!r}")
    return findings


def _changed_fields(stored: dict, chained: dict) -> list[str]:
    plain = json.loads(json.dumps(stored, default=str))
    return sorted(name for name in set(plain) | set(chained) if plain.get(name) != chained.get(name))


def batch_record_findings(batches: list[BatchRecord], committed: dict, hashes: dict) -> list[str]:
    """An approval's committed record must still hash as committed; every batch's event head must still exist."""
    findings, last_event = [], 0
    for batch in batches:
        if batch.record_sha256:
            row = committed.get(batch.source_id)
            if row is None:
                findings.append(f"{COMMITTED_RECORD_TABLE} {batch.source_id}: missing, but batch {batch.batch_id} "
                                "committed to its record")
            elif record_sha256(json.loads(json.dumps(row, default=str))) != batch.record_sha256:
                findings.append(f"{COMMITTED_RECORD_TABLE} {batch.source_id}: the row differs from the record "
                                f"batch {batch.batch_id} ({batch.kind}) committed to")
        if batch.events_head:
            event_id = hashes.get(batch.events_head)
            if event_id is None or event_id < last_event:
                findings.append(f"batch {batch.batch_id}: the event chain no longer contains the event head it "
                                "recorded (events rewritten or removed)")
            else:
                last_event = event_id
    return findings
