"""Never settled twice: what earlier files did to a payroll's payments, and the room a new settlement has.

A bank tells the same debit more than once: the day's camt.054 notification and the statement's camt.053 name
the same batch debit, an intraday camt.052 comes before both, and one entry can name a payment in several of its
details. A settlement moves money from payments in transit to treasury cash, so it is booked only within what is
still unsettled of its payment, its block (PmtInfId) and its file (MsgId) alike: the amount sent, less what was
rejected of it (that money never left the account) and less what every settlement within it or around it took,
by earlier files or by this one. A debit an earlier file booked is recognised when told again: by the bank's
reference of the movement (camt AcctSvcrRef), else by what it settles, its amount and its booking day (the
`reconciled` event of each file records those of its settlements); it is already seen, counted and not posted,
as is any further report of something settled in full. Any other settlement beyond the room is an exception
(listed, and the command exits 1): nothing is booked twice.

The earlier files' reversals and settlements are read from the ledger's own postings (the reconcile batches'
"returned, awaiting re-issue" and "settlement" legs) and events, inside the step's lock, so two officers
reconciling overlapping files at once book each debit once.
"""
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ledgers.schema import ACCOUNT, COMPONENT
from payroll import postings, store

ALREADY = "already"  # Settlements.take: settled in full by an earlier file (the same debit told again)
# batches of these kinds are written by approve and export alone, which never reverse nor settle a payment: the
# search for earlier reconciliations skips their postings (by far most of the ledger) and reads only the others
NOT_RECONCILED_BATCHES = ("approve", "export")


@dataclass
class Earlier:
    """What the reconciled files of one payroll did so far, by reference."""
    reversed: set = field(default_factory=set)   # EndToEndIds rejected or returned
    rejected: set = field(default_factory=set)   # EndToEndIds rejected (never left the account)
    settled: dict = field(default_factory=dict)  # MsgId / PmtInfId / EndToEndId -> amount settled
    told: dict = field(default_factory=dict)     # settlement_identity's plain form -> the bank references with it


def settlement_identity(key: str, amount: int, booked) -> str:
    """What a settlement settles, how much and on which day: a debit told by two files without the bank's
    reference is recognised by it."""
    return f"{key}|{int(amount)}|{booked.isoformat() if booked else ''}"


def earlier_of(ledger, identifier: str) -> Earlier:
    """The payroll's reversals and settlements in the ledger: the postings of the batches other than approval
    and export, read batch by batch (the ledger's indexed batch read), those whose reference is the payroll's;
    and the identities of the settlements the `reconciled` events of the payroll's files recorded."""
    prefix = (identifier + "-").encode("ascii")
    reversal = np.array([COMPONENT["reject"], COMPONENT["return"]], np.int16)
    transit = np.array(sorted(postings.IN_TRANSIT.values()), np.int16)
    out = Earlier()
    for batch in ledger.batches():
        if batch.kind in NOT_RECONCILED_BATCHES or not batch.n_postings:
            continue
        posted = ledger.read_postings(batch.first_posting, batch.n_postings, batch.batch_id)
        ours = np.char.startswith(posted["payment_ref"], prefix)
        kind, component = posted["account_kind"], posted["component"]
        returned = ours & (kind == ACCOUNT["returned_awaiting_reissue"]) & np.isin(component, reversal)
        out.reversed.update(_names(posted["payment_ref"][returned]))
        out.rejected.update(_names(posted["payment_ref"][returned & (component == COMPONENT["reject"])]))
        settled = ours & (component == COMPONENT["settlement"]) & np.isin(kind, transit) & \
            (posted["amount_minor"] > 0)
        for ref, amount in zip(posted["payment_ref"][settled].tolist(), posted["amount_minor"][settled].tolist()):
            name = ref.decode("ascii")
            out.settled[name] = out.settled.get(name, 0) + int(amount)
    for event in ledger.events(kind="reconciled"):
        if identifier in event["payload"].get("payrolls", ()):
            for plain, bank_ref in event["payload"].get("settlements", ()):
                out.told.setdefault(plain, set()).add(bank_ref)
    return out


def _names(refs: np.ndarray) -> list[str]:
    return [ref.decode("ascii") for ref in np.unique(refs).tolist()]


class Settlements:
    """The room for settlements of one payroll during one file: per file (MsgId), block (PmtInfId) and payment
    (EndToEndId), what was sent, what earlier files settled within it, what they rejected and what this file
    settled so far. `view` is the payroll's reconcile.PayrollView (its export's totals and assignments)."""

    def __init__(self, view, earlier: Earlier):
        self.view = view
        self._payments: dict[str, tuple] = {}   # EndToEndId -> (PmtInfId, MsgId, amount) of the export
        self._blocks: dict[str, str] | None = None  # PmtInfId -> MsgId
        self.earlier, self.rejected, self.here = defaultdict(int), defaultdict(int), defaultdict(int)
        self.own = defaultdict(int)  # settled by settlements of exactly this key (not of a payment or block inside)
        self.told = earlier.told
        self.told_refs = {ref for refs in earlier.told.values() for ref in refs if ref is not None}
        self._load_payments(set(earlier.settled) | earlier.rejected)  # a read only if some are payments
        for ref, amount in earlier.settled.items():
            self.own[ref] += amount
            for key in self.chain(ref):
                self.earlier[key] += amount
        for ref in earlier.rejected:
            self.reject(ref)

    def reject(self, ref: str) -> None:
        """A payment rejected (by an earlier file, or earlier in this one): none of it can be settled."""
        self._look_up(ref)
        found = self._payments.get(ref)
        if found is not None:
            for key in self.chain(ref):
                self.rejected[key] += found[2]

    def unsettled(self, ref: str) -> int:
        """What is still unsettled of a payment and of its block and file (the least of the three; 0 for no
        payment of the payroll): a rejection asks for all of its payment, or the money already left."""
        chain = self.chain(ref)
        return max(0, min(self.sent(k) - self.rejected[k] - self.earlier[k] - self.here[k] for k in chain)) \
            if chain else 0

    def told_before(self, plain: str, bank_ref: str | None) -> bool:
        """An earlier file booked this debit: the same bank reference, or the same settlement, amount and day
        where either has no bank reference (two references that differ are two movements)."""
        return (bank_ref is not None and bank_ref in self.told_refs) or \
            (plain in self.told and (bank_ref is None or None in self.told[plain]))

    def take(self, key: str, amount: int, plain: str = "", bank_ref: str | None = None) -> str | None:
        """Book `amount` settled against `key` (a MsgId, PmtInfId or EndToEndId of the payroll) and every level
        around it: None when it fits, ALREADY when an earlier file booked this debit or settled it in full, else
        the problem."""
        chain = self.chain(key)
        if not chain:
            return f"{key} is no file, block or payment of payroll {self.view.record.payroll_id}"
        if self.told_before(plain, bank_ref):
            return ALREADY
        left = [self.sent(k) - self.rejected[k] - self.earlier[k] - self.here[k] for k in chain]
        if amount <= min(left):
            for k in chain:
                self.here[k] += amount
            self.own[key] += amount
            return None
        if any(self.earlier[k] and self.sent(k) - self.rejected[k] - self.earlier[k] <= 0 for k in chain):
            return ALREADY
        tight = chain[int(np.argmin(left))]
        return (f"settles {amount} of {key} but only {max(min(left), 0)} of {tight} is unsettled (sent "
                f"{self.sent(tight)}, rejected {self.rejected[tight]}, settled by earlier files "
                f"{self.earlier[tight]}, by this file {self.here[tight]}): never booked twice")

    def remainder(self, key: str, amount: int) -> int | None:
        """What of a debit of a whole file or block (`amount`, beyond its room) is still to book when the rest of
        it is what settlements of payments or blocks inside it took (a post's list of paid payments booked before
        the bank's debit of the postal file): the room, if the debit is no more than the file's total less what
        was rejected and the excess lies within those settlements; else None (an exception)."""
        chain = self.chain(key)
        if not chain or chain[0] != key or len(chain) > 2:
            return None  # a payment's own settlement has no settlements inside it
        left = [self.sent(k) - self.rejected[k] - self.earlier[k] - self.here[k] for k in chain]
        room = max(0, min(left))
        inside = self.earlier[key] + self.here[key] - self.own[key]
        if room < amount <= self.sent(key) - self.rejected[key] and amount - room <= inside:
            return room
        return None

    def chain(self, ref: str) -> list[str]:
        """The reference and the levels around it: [MsgId], [PmtInfId, MsgId] or [EndToEndId, PmtInfId, MsgId];
        [] when it is none of the payroll's."""
        if ref in self.view.totals("msg_id"):
            return [ref]
        blocks = self.blocks()
        if ref in blocks:
            return [ref, blocks[ref]]
        self._look_up(ref)
        found = self._payments.get(ref)
        return [] if found is None else [ref, found[0], found[1]]

    def _look_up(self, ref: str) -> None:
        """The payment's block, file and amount, read with every payment the run names (one read for them all)."""
        if ref not in self._payments:
            self._load_payments(self.view.named_refs | {ref})

    def sent(self, key: str) -> int:
        for column in ("msg_id", "pmt_inf_id"):
            found = self.view.totals(column).get(key)
            if found is not None:
                return found[0]
        return self._payments[key][2]

    def blocks(self) -> dict[str, str]:
        """PmtInfId -> MsgId of the export, from its ids read as Arrow dictionaries (few distinct values)."""
        if self._blocks is None:
            table = store.read_assignments(self.view.record, self.view.assignments_sha256, ["pmt_inf_id", "msg_id"],
                                           ["pmt_inf_id", "msg_id"])
            self._blocks = {} if table is None else _blocks_of(table)
        return self._blocks

    def _load_payments(self, refs: set) -> None:
        """The block, file and amount of the payments named (those not looked up yet: a file's settlements of
        whole files and blocks read none), in one filter of the export's assignments."""
        known, blocks = self.view.totals("msg_id"), self.blocks()
        wanted = sorted(ref for ref in refs if ref not in self._payments and ref not in known and ref not in blocks)
        if not wanted:
            return
        for ref in wanted:
            self._payments[ref] = None
        table = store.read_assignments(self.view.record, self.view.assignments_sha256,
                                       ["end_to_end_id", "pmt_inf_id", "msg_id", "amount_minor"])
        if table is None:
            return
        table = table.filter(pc.is_in(table.column("end_to_end_id"), value_set=pa.array(wanted, pa.string())))
        for ref, block, message, amount in zip(*(table.column(name).to_pylist() for name in
                                                 ("end_to_end_id", "pmt_inf_id", "msg_id", "amount_minor"))):
            self._payments[ref] = (block, message, int(amount))


def _blocks_of(table: pa.Table) -> dict[str, str]:
    """PmtInfId -> MsgId of an export's assignments (their ids as Arrow dictionaries: few distinct values)."""
    blocks, messages = (table.column(name).combine_chunks() for name in ("pmt_inf_id", "msg_id"))
    block_names, message_names = blocks.dictionary.to_pylist(), messages.dictionary.to_pylist()
    block, message = (np.asarray(pc.fill_null(column.indices, -1).to_numpy(zero_copy_only=False), np.int64)
                      for column in (blocks, messages))
    named = (block >= 0) & (message >= 0)
    message_of = np.full(len(block_names), -1, np.int64)  # a block is of one file (its id is the file's + "-NNN")
    message_of[block[named]] = message[named]
    return {block_names[b]: message_names[m] for b, m in enumerate(message_of.tolist()) if m >= 0}
