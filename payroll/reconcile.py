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
holds and the reports exactly as they were. Each file is then one step under the ledger's lock: its batch, its
holds and its `reconciled` event commit in one transaction, and only after that commit are its outputs written,
named after the file and its SHA-256 (`<stem>-<sha12>-register-actions.csv`, `<stem>-<sha12>-reconcile-
exceptions.csv`, in --out, else the working directory: never next to the return file, whose folder
may be read-only), each through a temporary name: a later reconcile of another file
never overwrites them, and a re-run after a crash writes them from what the first run recorded. A file
reconciled before is matched again without posting: its records that matched count as already seen, and those
that were exceptions then (or are now) are still exceptions, so a re-run exits 1 until the bank sends a
corrected file.

At national scale a run costs one read of each payroll's lines (the export groups of only the payments the files
name), and the export's file totals, the payees' accounts and the rights' beneficiaries are read as columns only
when a record needs them; each record is then a few dictionary and array lookups, and a file's reversals and
settlements are built as postings in a few numpy calls.
"""
import csv
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import sqlalchemy as sa

from bank_exports.returns import expand_records, read_returns
from bank_exports.returns.camt import UNBALANCED
from engine.months import parse_period
from formats.cells import neutralise
from formats.i18n import N_
from formats.problem_log import ProblemLog
from formats.register import conform, find_file, read_raw
from formats.schemas import RIGHTS
from ledgers.schema import ACCOUNT, COMPONENT
from payroll import matching, postings, session, store
from payroll.crash import crash_point
from payroll.errors import Refused
from payroll.ids import payroll_of_ref
from payroll.settlement import ALREADY, Earlier, Settlements, earlier_of, settlement_identity

DEATH_CODES = ("MD07",)
ACCOUNT_CODES = ("AC01", "AC03", "AC04", "AC06", "AC07", "BE04")
REGISTER_ACTIONS_NAME = "register-actions.csv"
EXCEPTIONS_NAME = "reconcile-exceptions.csv"
NOT_OURS_NAME = "reconcile-not-ours.csv"
NAME_MISMATCH_CODES = ("RVNM",)  # Verification of Payee: the name does not match the account's holder
ACTION_COLUMNS = ("action", "reason_code", "payment_ref", "payee_id", "right_id", "person_id", "iban",
                  "booking_date", "source_file")
EXCEPTION_COLUMNS = ("source_file", "line", "kind", "reference", "reason_code", "amount_minor", "problem",
                     "end_to_end_id", "instr_id", "msg_id", "pmt_inf_id", "currency", "status")


@dataclass
class Tally:
    records: int = 0
    matched: int = 0
    unmatched: int = 0
    already_seen: int = 0
    rejected_minor: int = 0
    returned_minor: int = 0
    settled_minor: int = 0
    charges_minor: int = 0  # the bank's charges taken off returned payments (booked to bank charges)
    exceptions: list = field(default_factory=list)
    actions: list = field(default_factory=list)
    returns_by_reason: dict = field(default_factory=dict)
    batches: list = field(default_factory=list)
    payrolls: set = field(default_factory=set)  # payrolls the file matched a payment of (their status: reconciled)
    settled_ids: list = field(default_factory=list)  # (identity, bank reference) of each settlement booked
    not_ours: list = field(default_factory=list)
    statuses: list = field(default_factory=list)
    holds_placed: int = 0
    header: dict | None = None  # the Business Application Header of an enveloped file


class PayrollView:
    """What reconciliation needs of one exported payroll, loaded once per run and only as far as the run needs:
    the export groups (per payment, right, payee and payable account, the amount sent) of the payments the run's
    files name, read in one pass over the payroll's lines; the file and block totals of the export (for batch
    debits and whole-file rejects); the payees' accounts and the rights' beneficiaries only when a reason asks
    for them. Lookups by EndToEndId are dictionary hits: no per-record Parquet read, filter or Arrow slice."""

    def __init__(self, record: store.PayrollRecord, earlier: Earlier, assignments_sha256: str | None,
                 transit_labels: tuple[bool, bool] = (True, True)):
        self.record = record
        # whether the export's in-transit credits named the right and the payee: a rejection's debit of in transit
        # names them alike, so in transit stays balanced per payee where it was credited per payee, and per channel
        # (right and payee 0) where export credited it per channel
        self.transit_labels = transit_labels
        self._assignments = None
        self.assignments_sha256 = assignments_sha256  # what the `exported` event recorded
        self.set_earlier(earlier)
        self.month = parse_period(record.period)
        self.spans: dict[str, tuple[int, int]] = {}
        self.named_refs: set = set()  # the payments the run's files name (their settlements' room reads them once)
        self._asked: set = set()
        self.groups = None
        self._totals: dict[str, dict] = {}
        self._accounts = None

    def set_earlier(self, earlier: Earlier) -> None:
        """What earlier files did (read again inside each file's lock): the payments reversed, and what was
        settled and rejected, of which the room of this file's settlements is made when it first settles."""
        self.earlier, self.reversed_refs, self._settlements = earlier, earlier.reversed, None

    @property
    def settlements(self) -> Settlements:
        if self._settlements is None:
            self._settlements = Settlements(self, self.earlier)
        return self._settlements

    def note_rejected(self, ref: str) -> None:
        """A payment rejected by this file: no later settlement of this file takes it (nor its block or file),
        and a return of it is an exception (reverse)."""
        self.earlier.rejected.add(ref)  # taken in by the settlements when the file first settles
        if self._settlements is not None:
            self._settlements.reject(ref)

    def load_groups(self, refs) -> None:
        """Export groups of the given payments (those not asked for yet), from one read of the payroll's lines."""
        wanted = sorted({ref for ref in refs if ref is not None} - self._asked)
        if not wanted:
            return
        self._asked.update(wanted)
        lines = store.read_lines(self.record, columns=list(LINE_COLUMNS), coded=True)
        paid = lines.filter(pc.is_in(lines.column("payment_ref"), value_set=pa.array(wanted, pa.string())))
        self._add_groups(postings.sent_groups(paid))

    def _add_groups(self, groups: pa.Table) -> None:
        offset = 0 if self.groups is None else self.groups.num_rows
        self.groups = groups if self.groups is None else pa.concat_tables([self.groups, groups])
        refs = postings.refs_of(groups.column("payment_ref"))
        count = refs.shape[0]
        starts = np.flatnonzero(np.r_[True, refs[1:] != refs[:-1]]) if count else np.zeros(0, np.int64)
        stops = np.r_[starts[1:], count].astype(np.int64) if count else starts
        names = [ref.decode("ascii") for ref in refs[starts].tolist()]
        self.spans.update(zip(names, zip((starts + offset).tolist(), (stops + offset).tolist())))
        self._amount = np.asarray(self.groups.column("amount_minor_sum").to_numpy(), np.int64)
        self._cumulative = np.r_[0, np.cumsum(self._amount)]
        self._payee = np.asarray(self.groups.column("payee_id").to_numpy(), np.int64)
        self._right = np.asarray(self.groups.column("right_id").to_numpy(), np.int64)
        self._channel = postings.name_codes(self.groups.column("channel"), CHANNELS)

    @property
    def assignments(self) -> pa.Table:
        """The export's assignments (EndToEndId, MsgId, PmtInfId, channel, amount), read when a whole-file or
        whole-block reject is expanded."""
        if self._assignments is None:
            self._assignments = store.read_assignments(self.record, self.assignments_sha256)
        return self._assignments

    def span(self, ref: str | None) -> tuple[int, int] | None:
        """(first, stop) rows of the payment's export groups; None when the payroll exported no such payment."""
        if ref is None:
            return None
        if ref not in self._asked:  # reconcile() loads every payment its files name at once; this is a fallback
            self.load_groups([ref])
        return self.spans.get(ref)

    def amount(self, span) -> int:
        return int(self._cumulative[span[1]] - self._cumulative[span[0]])

    def channel(self, span) -> str:
        return CHANNELS[int(self._channel[span[0]])]

    def payee(self, span) -> int:
        return int(self._payee[span[0]])

    def rights(self, span) -> list[int]:
        return sorted(set(self._right[span[0]:span[1]].tolist()))

    def totals(self, column: str) -> dict:
        """{MsgId or PmtInfId: (total amount, channel of its first payment)} of the export, from the ids read as
        Arrow dictionaries (few distinct values) and summed in numpy."""
        if column not in self._totals:
            table = store.read_assignments(self.record, self.assignments_sha256, [column, "amount_minor", "channel"],
                                           [column, "channel"])
            keys = table.column(column).combine_chunks()
            codes = np.asarray(pc.fill_null(keys.indices, -1).to_numpy(zero_copy_only=False), np.int64)
            amount = np.asarray(table.column("amount_minor").to_numpy(), np.int64)
            channel = postings.name_codes(table.column("channel"), CHANNELS)
            order = np.argsort(codes, kind="stable")
            codes, amount, channel = codes[order], amount[order], channel[order]
            starts = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]]) if codes.shape[0] else codes
            sums = np.add.reduceat(amount, starts) if starts.shape[0] else amount
            names = keys.dictionary.to_pylist()
            self._totals[column] = {
                names[code]: (int(total), CHANNELS[first] if first >= 0 else None)
                for code, total, first in zip(codes[starts].tolist(), sums.tolist(), channel[starts].tolist())
                if code >= 0}
        return self._totals[column]

    def iban(self, ref: str) -> str | None:
        """The account a payment was sent to (payments are numbered from 1 in EndToEndId order)."""
        if self._accounts is None:
            payments = store.read_payments(self.record, columns=["end_to_end_id", "iban"])
            self._accounts = (payments.column("end_to_end_id"), payments.column("iban"))
        ids, ibans = self._accounts
        row = int(ref.rsplit("-", 1)[1]) - 1
        assert ids[row].as_py() == ref
        return ibans[row].as_py()


LINE_COLUMNS = ("payment_ref", "right_id", "payee_id", "channel", "month", "component", "amount_minor")
CHANNELS = ("bank", "post")


def reconcile(db_url: str, files: list, register_out=None, progress=session.noop, out_dir=None) -> dict:
    """Reconcile every file; returns the DESIGN.md counts plus exceptions and register actions.

    Each file is one step (reconcile_step): its batch, holds and `reconciled` event commit in one transaction
    under the ledger's lock, and only then are its outputs (register actions, exceptions) written, under names
    derived from that file (output_paths), so no later reconcile of another file overwrites them."""
    paths = [Path(f) for f in files]
    ledger = session.open_db(db_url)
    tally, views, outputs, befores = Tally(), {}, [], []
    exponent = 2
    try:
        # read and check every file before posting anything: a bad file raises InputError with nothing written;
        # amounts at their currency's ISO 4217 exponent (a postal list names none: the ledger's currency)
        currency = ledger_currency(ledger)
        parsed = []
        for done, path in enumerate(paths):
            progress(N_("reading {name}", name=path.name), done, len(paths))
            records = [matching.with_reference(record) for record in read_returns(path, currency=currency)]
            parsed.append((path, store.sha256_file(path), records))
        # the output folders once every file is known good (a bad file leaves no folder), before any posting
        target = check_out_dir(Path(out_dir) if out_dir else Path.cwd())  # never next to an input file
        if register_out:
            check_out_dir(Path(register_out).resolve().parent)
        progress(N_("matching the records to the exported payments"))
        parsed = load_views(ledger, parsed, views)
        for done, (path, sha, records) in enumerate(parsed):
            progress(N_("reconciling {name}", name=path.name), done, len(parsed))
            file_tally, file_exponent, actions, before = reconcile_step(ledger, path, sha, records, views)
            exponent = file_exponent or exponent
            befores.append(before)
            merge(tally, file_tally)
            outputs.append(write_outputs(path, sha, target, actions, file_tally.exceptions, file_tally.not_ours))
            tally.actions += actions
    finally:
        ledger.close()
    for output, before in zip(outputs, befores):
        output["reconciled_before"] = before  # when the file was first reconciled; None when it is now
    if register_out:
        write_csv(Path(register_out), ACTION_COLUMNS, tally.actions)
    first = outputs[0]
    return {"records": tally.records, "matched": tally.matched, "unmatched": tally.unmatched,
            "already_seen": tally.already_seen, "rejected_minor": tally.rejected_minor,
            "returned_minor": tally.returned_minor, "settled_minor": tally.settled_minor,
            "charges_minor": tally.charges_minor, "exceptions": tally.exceptions, "exceptions_out": first["exceptions"],
            "register_actions": len(tally.actions),
            "register_out": str(register_out) if register_out else first["register_actions"],
            "outputs": outputs, "returns_by_reason_minor": tally.returns_by_reason, "batches": tally.batches,
            "minor_exponent": exponent, "not_ours": len(tally.not_ours), "not_ours_out": first["not_ours"],
            "statuses": count_statuses(tally.statuses), "holds_placed": tally.holds_placed}


def ledger_currency(ledger) -> str | None:
    """The currency of the ledger's payrolls (None before the first): that of a postal return list."""
    with ledger.engine.connect() as conn:
        found = store.list_payrolls(conn)
    return found[-1].currency if found else None


def count_statuses(statuses: list) -> dict:
    counts: dict[str, int] = {}
    for status in statuses:
        counts[status["status"]] = counts.get(status["status"], 0) + 1
    return counts


def load_views(ledger, parsed: list, views: dict) -> list:
    """Whole-file and whole-block rejects become one record per payment; then the export groups of every
    payment the files name are loaded at once, one read of each payroll's lines."""
    parsed = [(path, sha, expand_group_records(ledger, records, views)) for path, sha, records in parsed]
    wanted: dict[str, list] = {}
    for _path, _sha, records in parsed:
        for record in records:
            if record.scope == "transaction" and record.original_end_to_end_id is not None:
                identifier = payroll_of_ref(record.original_end_to_end_id)
                if identifier is not None:
                    wanted.setdefault(identifier, []).append(record.original_end_to_end_id)
    for identifier, refs in wanted.items():
        view = view_of(ledger, identifier, views)
        if view is not None:
            view.load_groups(refs)
            view.named_refs.update(refs)
    return parsed


def reconcile_step(ledger, path: Path, sha: str, records: list,
                   views: dict) -> tuple[Tally, int | None, list, str | None]:
    """One file under the ledger's lock: whether it was reconciled before, and which payments were reversed
    already, are read inside the lock, so two officers reconciling the same (or overlapping) files at once
    reverse each payment once and record one `reconciled` event. Returns the file's tally, its currency
    exponent, its register actions (those recorded when the file was first reconciled, on a re-run) and when
    it was first reconciled (None when it is now)."""
    with ledger.step() as conn:
        earlier = ledger.events(subject=sha, kind="reconciled", conn=conn)
        seen = ledger.find_batch("reconcile", sha, conn=conn) is not None or bool(earlier)
        for view in views.values():
            if view is not None:
                view.set_earlier(earlier_of(ledger, view.record.payroll_id))
        file_tally, exponent, holds, batch = match_file(ledger, records, views, seen, earlier)
        if not seen:
            post_file(ledger, path, sha, batch.chunks(), holds, file_tally, conn)
            actions = file_tally.actions
        else:
            actions = [row for event in earlier[:1] for row in event["payload"].get("register_actions", [])]
    crash_point("reconcile.after_commit")
    return file_tally, exponent, actions, session.event_time(earlier[0]) if earlier else None


def match_file(ledger, records: list, views: dict, seen: bool, earlier: list):
    """Every record of one file matched to its payment: (tally, exponent, holds, postings)."""
    # group-level rejects were expanded to one record per payment of their message, whether new or seen before
    before = {tuple(key) for event in earlier for key in event["payload"].get("exception_keys", [])}
    batch, holds, file_tally = Postings(), [], Tally()
    file_tally.records = len(records)
    if records and records[0].header_msg_id:  # an enveloped message: who sent it, under which id, when
        file_tally.header = {"sender": records[0].header_sender, "biz_msg_id": records[0].header_msg_id,
                             "created": records[0].header_created}
    exponent = None
    for record in records:
        if not matching.is_ours(record):  # a statement entry of someone else's: listed, never an exception
            file_tally.not_ours.append(matching.not_ours_row(record))
            continue
        view = view_for(ledger, record, views)
        if view is None:
            exception(file_tally, record, "reference matches no payment of this database")
            continue
        if seen and exception_key(record) in before:
            exception(file_tally, record, "was an exception when this file was first reconciled and a file posts "
                                          "once: ask the bank for a corrected file")
            continue
        exponent = view.record.minor_exponent
        file_tally.payrolls.add(view.record.payroll_id)
        match_record(ledger, view, record, batch, holds, file_tally, seen)
    return file_tally, exponent, holds, batch


def match_record(ledger, view: PayrollView, record, batch, holds: list, tally: Tally, seen: bool) -> None:
    """One record of ours: in the payroll's units and naming its payment, then acted on by its kind."""
    record, problem = matched(view, record)
    if problem is not None:
        exception(tally, record, problem)
    elif record.kind == "other":
        exception(tally, record, record.reason_text if record.status == UNBALANCED else
                  "an entry naming an isplata payment that is neither a return nor a settlement: check it with the bank")
    elif record.kind == "status":
        record_status(view, record, holds, tally, seen)
    elif record.kind == "settled" and record.scope != "transaction":
        settle(view, record, batch, tally, seen)
    else:
        reverse(view, record, batch, holds, tally, ledger, seen)


def matched(view: PayrollView, record):
    """(record in the payroll's units, naming its payment, None) or (record, why it cannot be matched)."""
    record, problem = matching.in_ledger_units(record, view.record.currency, view.record.minor_exponent)
    if problem is None and record.scope == "transaction" and record.original_end_to_end_id is None:
        record, problem = matching.by_block_and_amount(record, view.assignments)
    return record, problem


def record_status(view: PayrollView, record, holds: list, tally: Tally, seen: bool) -> None:
    """A status that is not a rejection (pain.002 ACSC, PDNG, Verification of Payee RVNM/RVMC...): recorded in
    the file's reconciled event and counted; a name mismatch (RVNM) holds the payee's bank channel until an
    officer releases it (`hold release`), and the register office is asked to check the payee's name."""
    span = None
    if record.scope == "transaction":
        span = view.span(record.original_end_to_end_id)
        if span is None:
            exception(tally, record, "EndToEndId matches no exported payment")
            return
    if seen:
        tally.already_seen += 1
        return
    tally.matched += 1
    tally.statuses.append({"reference": reference_of(record), "scope": record.scope, "status": record.status,
                           "reason_code": record.reason_code, "reason_text": record.reason_text,
                           "source_file": record.source_file, "line": record.line})
    if record.status in NAME_MISMATCH_CODES and span is not None:
        ref, payee = record.original_end_to_end_id, view.payee(span)
        iban = view.iban(ref)
        holds.append({"kind": "bank_channel", "right_id": -1, "payee_id": payee, "reason_code": record.status,
                      "payment_ref": ref, "iban": iban})
        tally.actions.append({"action": "verify_payee_name", "reason_code": record.status, "payment_ref": ref,
                              "payee_id": payee, "iban": iban, "source_file": record.source_file,
                              "booking_date": record.booking_date.isoformat() if record.booking_date else None})


def output_paths(path: Path, sha: str, out_dir: Path | None) -> tuple[Path, Path, Path]:
    """The register actions, exceptions and not-ours entries of one return file: named after the file and its
    SHA-256, so a reconcile of another file (or of a corrected file under the same name) never overwrites them."""
    folder = out_dir if out_dir is not None else Path.cwd()
    stem = f"{path.stem}-{sha[:12]}"
    return (folder / f"{stem}-{REGISTER_ACTIONS_NAME}", folder / f"{stem}-{EXCEPTIONS_NAME}",
            folder / f"{stem}-{NOT_OURS_NAME}")


def write_outputs(path: Path, sha: str, out_dir: Path | None, actions: list, exceptions: list,
                  not_ours: list) -> dict:
    """The outputs of one file, each written under a temporary name and renamed into place (header only
    when there is nothing to list: a file present is always this file's current result)."""
    actions_path, exceptions_path, not_ours_path = output_paths(path, sha, out_dir)
    write_csv(actions_path, ACTION_COLUMNS, actions)
    write_csv(exceptions_path, EXCEPTION_COLUMNS, exceptions)
    write_csv(not_ours_path, matching.NOT_OURS_COLUMNS, not_ours)
    return {"file": str(path), "sha256": sha, "register_actions": str(actions_path),
            "exceptions": str(exceptions_path), "n_register_actions": len(actions),
            "n_exceptions": len(exceptions), "not_ours": str(not_ours_path), "n_not_ours": len(not_ours)}


def check_out_dir(folder: Path) -> Path:
    """An output folder that exists (or whose parent does) and can be written; UserError (exit 2) otherwise,
    before anything is written."""
    return session.check_out_dir(folder)


def write_csv(path: Path, columns: tuple, rows: list[dict]) -> None:
    """CSV through a temporary name in the same folder, renamed into place (never half written)."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.part")
    try:
        with open(temporary, "w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(columns))
            writer.writeheader()
            for row in rows:  # text cells a spreadsheet would run as a formula are neutralised (OWASP)
                writer.writerow({name: neutralise(row.get(name)) for name in columns})
        os.replace(temporary, path)
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        raise session.output_error(path, exc) from exc


class Postings:
    """The postings of one file, gathered per record as indexes and amounts and built in a few numpy calls."""

    def __init__(self):
        self.reversals: dict[tuple[int, str], list] = {}  # (view id, component) -> [(span, debit account)]
        self.views: dict[int, PayrollView] = {}
        self.settlements: list[tuple] = []                # (channel, amount, month, reference)
        self.charges: list[tuple] = []                    # (amount, month, reference) of returns for less

    def reverse(self, view: PayrollView, span, debit: int, component: str) -> None:
        self.views[id(view)] = view
        self.reversals.setdefault((id(view), component), []).append((span, debit))

    def settle(self, channel: str, amount: int, month: int, reference: str) -> None:
        self.settlements.append((channel, amount, month, reference))

    def charge(self, amount: int, month: int, reference: str) -> None:
        self.charges.append((amount, month, reference))

    def chunks(self) -> list[dict]:
        chunks = []
        for (key, component), spans in self.reversals.items():
            view = self.views[key]
            index = np.concatenate([np.arange(start, stop) for (start, stop), _ in spans])
            debit = np.concatenate([np.full(stop - start, account) for (start, stop), account in spans])
            chunks.append(postings.return_postings(view.groups.take(pa.array(index, pa.int64())), debit,
                                                   component, view.transit_labels))
        for channel in CHANNELS:
            mine = [s for s in self.settlements if s[0] == channel]
            if mine:
                _, amount, month, reference = (list(values) for values in zip(*mine))
                chunks.append(postings.legs(postings.IN_TRANSIT[channel], 0, postings.CASH, 0,
                                            np.asarray(amount, np.int64), "settlement", 0, 0,
                                            np.asarray(month, np.int64), np.asarray(reference, "S35")))
        if self.charges:  # the return took cash in full: what never came back is the bank's charges
            amount, month, reference = (list(values) for values in zip(*self.charges))
            chunks.append(postings.legs(postings.BANK_CHARGES, 0, postings.CASH, 0, np.asarray(amount, np.int64),
                                        "charges", 0, 0, np.asarray(month, np.int64), np.asarray(reference, "S35")))
        return chunks


def exception_key(record) -> tuple:
    return (record.line, reference_of(record))


def merge(tally: Tally, part: Tally) -> None:
    for name in ("records", "matched", "unmatched", "already_seen", "rejected_minor", "returned_minor",
                 "settled_minor", "charges_minor"):
        setattr(tally, name, getattr(tally, name) + getattr(part, name))
    tally.exceptions += part.exceptions
    tally.batches += part.batches
    tally.payrolls |= part.payrolls
    tally.not_ours += part.not_ours
    tally.statuses += part.statuses
    tally.holds_placed += part.holds_placed
    for payroll, reasons in part.returns_by_reason.items():
        merged = tally.returns_by_reason.setdefault(payroll, {})
        for reason, amount in reasons.items():
            merged[reason] = merged.get(reason, 0) + amount


def expand_group_records(ledger, records: list, views: dict) -> list:
    """A message- or block-level reject becomes one record per payment of that message (a status of the whole,
    such as ACCP or PART, stays one record)."""
    group = [r for r in records if r.scope != "transaction" and r.kind in ("rejected", "returned")]
    if not group:
        return records
    keep = [r for r in records if not (r.scope != "transaction" and r.kind in ("rejected", "returned"))]
    for record in group:
        view = view_for(ledger, record, views)
        if view is None:
            keep.append(record)  # reported as unmatched below
            continue
        # each payment's own amount is what is reversed: the record carries none (a group total has no currency)
        keep += [r._replace(amount_minor=None, currency=None) for r in expand_records([record], view.assignments)]
    return keep


def reference_of(record) -> str | None:
    return record.original_end_to_end_id or record.original_pmt_inf_id or record.original_msg_id


def view_for(ledger, record, views: dict) -> PayrollView | None:
    reference = reference_of(record)
    identifier = payroll_of_ref(reference) if reference else None
    return None if identifier is None else view_of(ledger, identifier, views)


def view_of(ledger, identifier: str, views: dict) -> PayrollView | None:
    if identifier not in views:
        views[identifier] = load_view(ledger, identifier)
    return views[identifier]


def load_view(ledger, identifier: str) -> PayrollView | None:
    with ledger.engine.connect() as conn:
        found = [p for p in store.list_payrolls(conn) if p.payroll_id == identifier]
        sha256 = store.assignments_sha256(conn, identifier)
    batch = ledger.find_batch("export", identifier) if found else None
    if batch is None:
        return None
    record = found[0]
    if sha256 is not None:  # exported with payments: its store must hold them (else exit 2, nothing recorded)
        store.require_file(record.path(store.ASSIGNMENTS_FILE))
    if not record.path(store.ASSIGNMENTS_FILE).exists():
        return None
    return PayrollView(record, earlier_of(ledger, identifier), sha256, transit_labels(ledger, batch))


def transit_labels(ledger, batch) -> tuple[bool, bool]:
    """(right, payee): which labels the export batch's in-transit credits carry. Every scheme export has used
    ends its batch with an in-transit credit: per channel (right and payee 0), per payment (the payee), or per
    payment and right (both); an empty batch names both, as the oldest scheme did."""
    if not batch.n_postings:
        return True, True
    last = ledger.read_posting(batch.first_posting + batch.n_postings - 1, batch.batch_id)
    if last is None or int(last["account_kind"]) not in postings.IN_TRANSIT.values():
        return True, True
    return bool(last["right_id"]), bool(last["payee_id"])


def exception(tally: Tally, record, problem: str) -> None:
    tally.unmatched += 1
    tally.exceptions.append({"source_file": record.source_file, "line": record.line, "kind": record.kind,
                             "reference": reference_of(record), "reason_code": record.reason_code,
                             "amount_minor": record.amount_minor, "problem": problem,
                             "end_to_end_id": record.original_end_to_end_id, "instr_id": record.original_instr_id,
                             "msg_id": record.original_msg_id, "pmt_inf_id": record.original_pmt_inf_id,
                             "currency": record.currency, "status": record.status})


def settle(view: PayrollView, record, batch: Postings, tally: Tally, seen: bool = False) -> None:
    """A batch debit of one of our files (by MsgId or PmtInfId): in transit -> treasury cash."""
    column = "pmt_inf_id" if record.scope == "payment_information" else "msg_id"
    key = record.original_pmt_inf_id if record.scope == "payment_information" else record.original_msg_id
    found = view.totals(column).get(key)
    if found is None:
        exception(tally, record, f"{column} {key} is not a file of payroll {view.record.payroll_id}")
        return
    total, channel = found
    amount = record.amount_minor if record.amount_minor is not None else total
    if not 0 < amount <= total:
        exception(tally, record, f"settles {amount} but the file {key} carries {total}")
        return
    if seen:  # settled when the file was first reconciled
        tally.already_seen += 1
        return
    book_settlement(view, record, key, channel, amount, batch, tally)


def book_settlement(view: PayrollView, record, key: str, channel: str, amount: int, batch: Postings,
                    tally: Tally) -> None:
    """A settlement booked within what is unsettled of its payment, block and file (payroll.settlement): the
    same debit told again by another file is already seen, anything beyond the room an exception."""
    plain = settlement_identity(key, amount, record.booking_date)
    problem = view.settlements.take(key, amount, plain, record.bank_ref)
    part = view.settlements.remainder(key, amount) if problem not in (None, ALREADY) else None
    if part is not None:  # the rest of the file was settled payment by payment: only what is left is booked
        if part == 0 or view.settlements.take(key, part) is not None:
            tally.already_seen += 1
            tally.settled_ids.append((plain, record.bank_ref))
            return
        problem, amount = None, part
    if problem == ALREADY:
        tally.already_seen += 1
    elif problem is not None:
        exception(tally, record, problem)
    else:
        batch.settle(channel, amount, view.month, key)
        tally.settled_ids.append((plain, record.bank_ref))
        tally.matched += 1
        tally.settled_minor += amount


def reverse(view: PayrollView, record, batch: Postings, holds: list, tally: Tally, ledger,
            seen: bool = False) -> None:
    """A rejected or returned payment (or a postal payment reported paid): reversal or settlement, and holds."""
    ref = record.original_end_to_end_id
    span = view.span(ref)
    if span is None:
        exception(tally, record, "EndToEndId matches no exported payment")
        return
    amount = view.amount(span)
    charges = charges_of(record, amount)
    if record.amount_minor is not None and record.amount_minor != amount and charges is None:
        exception(tally, record, f"amount {record.amount_minor} differs from the payment's {amount}")
        return
    channel = view.channel(span)
    if record.kind == "settled" and seen:
        tally.already_seen += 1
        return
    if record.kind == "settled":  # a payment reported paid (postal, or a debit of its own): settles that one
        book_settlement(view, record, ref, channel, amount, batch, tally)
        return
    if ref in view.reversed_refs:
        if record.kind == "returned" and ref in view.earlier.rejected:
            exception(tally, record, "returned after the bank rejected it: money comes back for a payment that never "
                                     "left the account; nothing booked: check it with the bank")
            return
        tally.already_seen += 1
        return
    if seen:  # matched only now (e.g. exported since): the file's batch is closed, so it stays an exception
        exception(tally, record, "this file was reconciled before this payment could be matched and a file "
                                 "posts once: ask the bank for a corrected file")
        return
    if record.kind == "rejected" and settled_before_rejection(view, record, ref, amount, tally):
        return
    view.reversed_refs.add(ref)
    if record.kind == "rejected":  # it never left the account: nothing of it can be settled after this
        view.note_rejected(ref)
    debit = postings.IN_TRANSIT[channel] if record.kind == "rejected" else postings.CASH
    batch.reverse(view, span, debit, "reject" if record.kind == "rejected" else "return")
    if charges:
        batch.charge(charges, view.month, ref)
        tally.charges_minor += charges
    tally.matched += 1
    if record.kind == "rejected":
        tally.rejected_minor += amount
    else:
        tally.returned_minor += amount
    reason = record.reason_code or "NARR"
    by_reason = tally.returns_by_reason.setdefault(view.record.payroll_id, {})
    by_reason[reason] = by_reason.get(reason, 0) + amount
    act_on_reason(view, record, span, holds, tally)


def settled_before_rejection(view: PayrollView, record, ref: str, amount: int, tally: Tally) -> bool:
    """A rejection of a payment whose money a booked debit already took (of it, its block or its file): an
    exception, booking nothing; the money left the account and comes back as a return (camt credit, pacs.004)."""
    if view.settlements.unsettled(ref) >= amount:
        return False
    exception(tally, record, "rejected after a debit that settled its payment, block or file was booked: the money "
                             "left the account, so it comes back as a return (camt credit, pacs.004); nothing "
                             "booked for the rejection")
    return True


def charges_of(record, amount: int) -> int | None:
    """The bank's charges on a return for less than the payment: its instructed amount is the payment's and what
    came back is less (pacs.004 RtrdIntrBkSttlmAmt under RtrdInstdAmt, camt Amt under AmtDtls/InstdAmt). The
    payment is reversed in full (the payee is re-issued all of it) and the difference is the agency's cost. None
    when the record is no such return."""
    got, instructed = record.amount_minor, record.instructed_minor
    if record.kind != "returned" or got is None or instructed != amount or not 0 < got < amount:
        return None
    return amount - got


def act_on_reason(view: PayrollView, record, span, holds: list, tally: Tally) -> None:
    reason = record.reason_code or ""
    ref = record.original_end_to_end_id
    payee = view.payee(span)
    booking = record.booking_date.isoformat() if record.booking_date else None
    if reason in DEATH_CODES:
        for right in view.rights(span):
            holds.append({"kind": "right", "right_id": right, "payee_id": payee, "reason_code": reason,
                          "payment_ref": ref, "iban": None})
            tally.actions.append({"action": "record_death", "reason_code": reason, "payment_ref": ref,
                                  "payee_id": payee, "right_id": right,
                                  "person_id": person_of(view, right), "booking_date": booking,
                                  "source_file": record.source_file})
    elif reason in ACCOUNT_CODES:
        iban = view.iban(ref)
        holds.append({"kind": "bank_channel", "right_id": -1, "payee_id": payee, "reason_code": reason,
                      "payment_ref": ref, "iban": iban})
        tally.actions.append({"action": "new_account_needed", "reason_code": reason, "payment_ref": ref,
                              "payee_id": payee, "iban": iban, "booking_date": booking,
                              "source_file": record.source_file})


_PERSONS_OF_RIGHTS: dict = {}


def rights_and_persons(folder: Path) -> pa.Table | None:
    """The right_id and person_id columns of the register's rights (rights.parquet, or rights.csv of a hand-made
    register, README), None when the file is not there or cannot be read (the register was checked when the
    payroll was calculated; rows whose ids do not read are left out)."""
    log = ProblemLog()
    path = find_file(folder, "rights", log)
    if path is None:
        return None
    if path.suffix == ".parquet":
        return pq.read_table(path, columns=["right_id", "person_id"])
    raw = read_raw(path, RIGHTS, log)
    if raw is None or not {"right_id", "person_id"} <= set(raw.column_names):
        return None
    wanted = pa.schema([RIGHTS.field("right_id"), RIGHTS.field("person_id")])
    table, _unusable = conform(raw.select(["right_id", "person_id"]), wanted, path.name, log)
    return table.filter(pc.and_(pc.is_valid(table.column("right_id")), pc.is_valid(table.column("person_id"))))


def person_of(view: PayrollView, right_id: int) -> int | None:
    """The beneficiary of a right, from the register snapshot the payroll was calculated from (its right_id and
    person_id columns, sorted once, searched per death: no Python object per right of the register)."""
    folder = view.record.data_folder
    if folder not in _PERSONS_OF_RIGHTS:
        table = rights_and_persons(Path(folder))
        if table is None:
            _PERSONS_OF_RIGHTS[folder] = None
        else:
            rights = np.asarray(table.column("right_id").to_numpy(), np.int64)
            persons = np.asarray(table.column("person_id").to_numpy(), np.int64)
            order = None if (rights[1:] >= rights[:-1]).all() else np.argsort(rights, kind="stable")
            if order is not None:
                rights, persons = rights[order], persons[order]
            # a right with several versions: the last row of it, as a dict built from the rows would keep
            last = np.r_[rights[1:] != rights[:-1], True] if rights.shape[0] else np.zeros(0, bool)
            _PERSONS_OF_RIGHTS[folder] = (rights[last], persons[last])
    found = _PERSONS_OF_RIGHTS[folder]
    if found is None:
        return None
    rights, persons = found
    position = int(np.searchsorted(rights, right_id))
    return int(persons[position]) if position < rights.shape[0] and rights[position] == right_id else None


def post_file(ledger, path: Path, sha: str, chunks: list, holds: list, tally: Tally, conn) -> None:
    """The file's batch (idempotent by its SHA-256), its holds and the reconciled event, in the step's
    transaction `conn`: all three commit together or none does."""
    batch = postings.concat(chunks)
    if batch["amount_minor"].shape[0]:
        period = max(chunk["month"].max() for chunk in chunks if chunk["month"].shape[0])
        record = ledger.append_batch("reconcile", sha, batch, period=int(period), conn=conn)
        tally.batches.append(record.batch_id)
    crash_point("reconcile.after_batch")
    tally.holds_placed += store.insert_holds(conn, holds)
    crash_point("reconcile.after_holds")
    keys = [[e["line"], e["reference"]] for e in tally.exceptions]
    ledger.append_event("reconciled", sha, {"file": path.name, "matched": tally.matched,
                                             "unmatched": tally.unmatched, "exception_keys": keys,
                                             "returns_by_reason_minor": tally.returns_by_reason,
                                             "register_actions": tally.actions, "statuses": tally.statuses,
                                             "not_ours": len(tally.not_ours), "header": tally.header,
                                             "payrolls": sorted(tally.payrolls),
                                             "settlements": tally.settled_ids}, conn)


# ---- holds: what reconciliation placed, and their release ----------------------------------------------------

def list_holds(db_url: str, released: bool = False) -> list[dict]:
    """The holds in force (with `released`, also the lifted ones), oldest first."""
    ledger = session.open_db(db_url)
    try:
        with ledger.engine.connect() as conn:
            return store.read_holds(conn, released=released).to_pylist()
    finally:
        ledger.close()


def release_hold(db_url: str, hold_id: int, by: str, note: str) -> dict:
    """Lift a hold (an MD07 death report that proved wrong, a bank account that works again): a release row is
    appended (holds are never edited, so a payroll recomputed later still sees what it saw) and a
    `hold_released` event records who and why. The next calculation pays the right (or the payee's bank
    channel) again, re-issuing what was returned and is still due. The releaser must not be the officer who
    placed the hold (maker-checker; reconciliation's own holds are placed by "reconcile")."""
    if not by.strip() or not note.strip():
        raise Refused(N_("a release needs --by (who releases) and --note (why, e.g. the register's correction)"))
    ledger = session.open_db(db_url)
    try:
        with ledger.step() as conn:  # the release and its record commit together, under the ledger's lock
            hold = store.release_hold(conn, hold_id, by.strip(), note)
            ledger.append_event("hold_released", f"hold:{hold_id}", {"hold": hold, "by": by, "note": note}, conn)
            crash_point("hold_release.before_commit")
        return {**hold, "released": True, "released_by": by, "note": note}
    except sa.exc.IntegrityError as exc:  # another release of the same hold committed first
        raise Refused(N_("hold {hold_id} was already released; nothing to do", hold_id=hold_id)) from exc
    finally:
        ledger.close()
