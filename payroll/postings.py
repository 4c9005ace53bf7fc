"""The posting scheme of the cycle: which accounts each payroll line, payment and returned record moves.

Every amount becomes a balanced pair of postings (debit positive, credit negative) carrying its right, payee,
month, component and payment reference, so a batch sums to zero by construction:

    approve  due / arrears          Dr benefit expense (benefit)        Cr benefits payable (payee)
             overpayment (raised)   Dr overpayments receivable (right)  Cr benefit expense (benefit)
             written_off            Dr overpayments written off (right) Cr benefit expense (benefit): a reduction
                                    the agency caused (RULES.md Readings 11), recognised but never recovered
             time_barred            no posting: a month cut by the limitation period stays unrecognised
             recovery of receivable Dr benefits payable (payee)         Cr overpayments receivable (right)
             recovery by an order   Dr benefits payable (payee)         Cr deductions payable (agency, key 0)
             alimony/damages/enf.   Dr benefits payable (debtor payee)  Cr deductions payable (creditor payee)
             maintenance advance    Dr advances receivable (debtor)     Cr advances recoverable (fund, key 0):
               (its due / arrears)  the claim on the parent who owes the maintenance (payroll/advances.py);
                                    a reduction takes it back: Dr advances recoverable, Cr advances receivable
             advance_recovery       Dr benefits payable (payee)         Cr advances receivable (debtor)
             dropped                no posting: the amount stays recognised (so it is never recomputed
                                    as arrears) and stays in benefits payable, visible by its line
             reissue                Dr returned, awaiting re-issue      Cr benefits payable (payee)
             carry_out / carry_in   Dr and Cr benefits payable (payee): a memo pair that nets to zero but
                                    records, per right, what is carried (amounts simply stay payable)
             forwarded: no posting (its deduction line already credited deductions payable)
    export   per payment and right  Dr benefits payable / deductions payable (payee), the payment's reference:
                                    every right's payable clears exactly
             per channel and month  Cr payments in transit (channel), right, payee 0, no reference: one credit
                                    per TRANSIT_CREDIT_PAYMENTS of the channel's payments, as the bank's
                                    settlement debits a file. Ledgers written before hold a credit per payment
                                    (2026-12) or per payment and right (earlier); each balances per account and
                                    key alike
    reconcile rejected              Dr payments in transit (channel)   Cr returned, awaiting re-issue (payee)
              returned              Dr treasury cash                    Cr returned, awaiting re-issue (payee)
              (for less: also       Dr bank charges                     Cr treasury cash, the bank's charges)
              settled (batch debit) Dr payments in transit (channel)   Cr treasury cash

So the benefit expense of a right and month, which is what the ledger "recognised", equals due + arrears minus
overpayments raised, and a second calculation of the period finds no difference (codes: ledgers.schema).
"""
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from engine import jit, sent_groups as sent_grouping
from engine.payroll_kernel import ConservationError
from formats.text_scan import string_buffers
from ledgers.schema import ACCOUNT, COMPONENT

EXPENSE = ACCOUNT["benefit_expense"]
PAYABLE = ACCOUNT["benefits_payable"]
DEDUCTIONS_PAYABLE = ACCOUNT["deductions_payable"]
RECEIVABLE = ACCOUNT["overpayments_receivable"]
WRITTEN_OFF = ACCOUNT["overpayments_written_off"]
RETURNED = ACCOUNT["returned_awaiting_reissue"]
IN_TRANSIT = {"bank": ACCOUNT["in_transit_bank"], "post": ACCOUNT["in_transit_post"]}
CASH = ACCOUNT["treasury_cash"]
BANK_CHARGES = ACCOUNT["bank_charges"]
ADVANCES_RECEIVABLE = ACCOUNT["advances_receivable"]
ADVANCES_RECOVERABLE = ACCOUNT["advances_recoverable"]
ADVANCES_FUND_KEY = 0  # advances recoverable: one account of the fund that pays the advances
AGENCY_KEY = 0  # deductions payable to the agency itself (recovery orders of the register)

# line component -> (debit account, credit account, ledger component); "key" picks the account key below
LINE_SCHEME = {
    "due": (EXPENSE, PAYABLE, "due"),
    "arrears": (EXPENSE, PAYABLE, "arrears"),
    "overpayment": (RECEIVABLE, EXPENSE, "overpayment"),
    "written_off": (WRITTEN_OFF, EXPENSE, "written_off"),
    "reissue": (RETURNED, PAYABLE, "reissue"),
    "carry_out": (PAYABLE, PAYABLE, "carry_out"),
    "carry_in": (PAYABLE, PAYABLE, "carry_in"),
}
POSTING_NAMES = ("account_kind", "account_key", "right_id", "payee_id", "month", "component", "amount_minor",
                 "payment_ref")


def legs(debit: int, debit_key, credit: int, credit_key, amount_minor, component: str, right_id, payee_id,
         month, payment_ref) -> dict:
    """Debit and credit legs of the same non-negative amounts: a balanced chunk of postings."""
    return build([Legs(debit, debit_key, credit, credit_key, amount_minor, component, right_id, payee_id, month,
                       payment_ref)])


@dataclass(frozen=True)
class Legs:
    """Postings to be made: a debit and a credit leg per amount. Every array-valued field is either indexed by
    `index` (rows of the source columns, gathered only when the batch is filled) or used whole; scalars are
    spread. `absolute` posts the absolute values (lines carry signed amounts)."""

    debit: int
    debit_key: object
    credit: int
    credit_key: object
    amount_minor: object
    component: str
    right_id: object
    payee_id: object
    month: object
    payment_ref: object
    index: np.ndarray | None = None
    absolute: bool = False

    @property
    def size(self) -> int:
        return int((self.index if self.index is not None else np.asarray(self.amount_minor)).shape[0])

    def pick(self, value):
        if np.ndim(value) == 0 or self.index is None:
            return value
        return value[self.index]


def build(specs: list[Legs]) -> dict:
    """One batch of every spec's legs, in order (debits then credits of each), filled into arrays allocated
    once: no chunk per component and no concatenation, so a national batch exists in memory once."""
    total = sum(2 * spec.size for spec in specs)
    out = {"account_kind": np.empty(total, np.int16), "account_key": np.empty(total, np.int64),
           "right_id": np.empty(total, np.int64), "payee_id": np.empty(total, np.int64),
           "month": np.empty(total, np.int32), "component": np.empty(total, np.int16),
           "amount_minor": np.empty(total, np.int64), "payment_ref": np.empty(total, "S35")}
    position = 0
    for spec in specs:
        n = spec.size
        if n == 0:
            continue
        amount = np.asarray(spec.pick(spec.amount_minor), np.int64)
        amount = np.abs(amount) if spec.absolute else amount
        if not (amount.shape == (n,) and (amount > 0).all()):
            raise ConservationError(f"only positive amounts are posted ({spec.component})")
        debit, credit = slice(position, position + n), slice(position + n, position + 2 * n)
        out["account_kind"][debit], out["account_kind"][credit] = spec.debit, spec.credit
        out["account_key"][debit] = spec.pick(spec.debit_key)
        out["account_key"][credit] = spec.pick(spec.credit_key)
        for name in ("right_id", "payee_id", "month", "payment_ref"):
            value = getattr(spec, name)
            value = spec.pick(value) if name != "payment_ref" else \
                np.asarray(spec.pick(value), dtype="S35")  # ASCII references, as the ledger stores them
            out[name][debit] = value
            out[name][credit] = value
        out["component"][position:position + 2 * n] = COMPONENT[spec.component]
        out["amount_minor"][debit], out["amount_minor"][credit] = amount, -amount
        position += 2 * n
    return out


def concat(chunks: list[dict]) -> dict:
    chunks = [chunk for chunk in chunks if chunk["amount_minor"].shape[0]]
    if not chunks:
        return {name: np.zeros(0, np.int64) for name in POSTING_NAMES}
    return {name: np.concatenate([chunk[name] for chunk in chunks]) for name in POSTING_NAMES}


def _chunks(column) -> list[pa.Array]:
    return list(column.chunks) if isinstance(column, pa.ChunkedArray) else [column]


def refs_of(column, width: int = 35) -> np.ndarray:
    """Payment references as a numpy bytes array (S35), b'' where a line is on no payment. Read straight from
    the Arrow buffers (no Python string per row): EndToEndIds are ASCII and, within a payroll, of one width."""
    parts = [_refs_of_array(chunk, width) for chunk in _chunks(column)]
    return np.concatenate(parts) if parts else np.zeros(0, f"S{width}")


def _refs_of_array(array: pa.Array, width: int) -> np.ndarray:
    if pa.types.is_dictionary(array.type):
        array = array.dictionary_decode()
    if pa.types.is_large_string(array.type) or not pa.types.is_string(array.type):
        array = pc.cast(array, pa.string())
    n = len(array)
    out = np.zeros(n, f"S{width}")
    if n == 0 or array.null_count == n:
        return out
    offsets = np.frombuffer(array.buffers()[1], np.int32)[array.offset:array.offset + n + 1].astype(np.int64)
    data = np.frombuffer(array.buffers()[2], np.uint8) if array.buffers()[2] is not None else np.zeros(0, np.uint8)
    lengths = np.diff(offsets)
    valid = np.ones(n, bool) if array.null_count == 0 else \
        np.unpackbits(np.frombuffer(array.buffers()[0], np.uint8), bitorder="little")[
            array.offset:array.offset + n].astype(bool)
    valid &= lengths > 0
    used = lengths[valid]
    assert used.size == 0 or used.max() <= width, "a payment reference longer than the ledger stores"
    if used.size and used.min() == used.max():  # one width: gather whole rows of a (rows, width) view
        w = int(used[0])
        starts = offsets[:-1][valid]
        if starts.size and (np.diff(starts) == w).all():  # the valid strings lie back to back
            block = data[starts[0]:starts[0] + w * starts.size].view(f"S{w}")
            if valid[:starts.size].all():  # valid rows first (lines on payments come first)
                out[:starts.size] = block
            else:
                out[valid] = block
            return out
        rows = np.lib.stride_tricks.sliding_window_view(data, w)[starts] if data.size >= w else None
        if rows is not None:
            out[valid] = np.ascontiguousarray(rows).view(f"S{w}").ravel()
            return out
    filled = pc.fill_null(array, "")  # mixed widths: the general (slower) path
    return np.asarray(filled.to_numpy(zero_copy_only=False)).astype(f"S{width}")


def month_indexes(dates) -> np.ndarray:
    """date32 column -> month index (months since 1970-01). Lines hold few distinct days (first days of the
    months of a window), so the months come from a table over the days' range instead of datetime casts."""
    days = np.asarray(pc.cast(dates, pa.int32()).to_numpy(zero_copy_only=False), np.int64)
    if days.shape[0] == 0:
        return days
    first, last = int(days.min()), int(days.max())
    if last - first > 4 * days.shape[0] + 1_000:  # spread out: cast each day
        return days.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)
    table = np.arange(first, last + 1).astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)
    return table[days - first]


def name_codes(column, names) -> np.ndarray:
    """Per row the index of its value in `names` (-1 where absent or null), for string or dictionary columns:
    a dictionary column (Parquet read with read_dictionary) is mapped through its dictionary only."""
    names = pa.array(list(names), pa.string())
    parts = []
    for chunk in _chunks(column):
        if pa.types.is_dictionary(chunk.type):
            mapping = np.asarray(pc.fill_null(pc.index_in(chunk.dictionary, value_set=names), -1)
                                 .to_numpy(zero_copy_only=False), np.int64)
            indices = chunk.indices if chunk.null_count == 0 else pc.fill_null(chunk.indices, 0)
            indices = indices.to_numpy(zero_copy_only=False)
            codes = mapping[indices] if mapping.size else np.full(len(chunk), -1, np.int64)
            if chunk.null_count:
                codes[~np.asarray(chunk.is_valid().to_numpy(zero_copy_only=False), bool)] = -1
        else:
            codes = np.asarray(pc.fill_null(pc.index_in(chunk, value_set=names), -1)
                               .to_numpy(zero_copy_only=False), np.int64)
        parts.append(codes)
    return np.concatenate(parts) if parts else np.zeros(0, np.int64)


def approve_postings(lines: pa.Table, orders: pa.Table, benefit_code: dict[str, int]) -> dict:
    """The approval batch: every line of LINE_SCHEME plus every deduction taken (from the orders table)."""
    component = name_codes(lines.column("component"), LINE_SCHEME)
    benefit = name_codes(lines.column("benefit"), benefit_code)
    expense_key = np.asarray(list(benefit_code.values()), np.int64)[np.maximum(benefit, 0)] if benefit_code \
        else np.zeros(lines.num_rows, np.int64)
    payee, right = lines.column("payee_id").to_numpy(), lines.column("right_id").to_numpy()
    amount, month = lines.column("amount_minor").to_numpy(), month_indexes(lines.column("month"))
    posted = (component >= 0) & (amount != 0)
    refs = refs_of(lines.column("payment_ref"))
    specs = []
    for code, (name, (debit, credit, ledger_component)) in enumerate(LINE_SCHEME.items()):
        index = np.flatnonzero(posted & (component == code))
        if EXPENSE in (debit, credit):
            assert (benefit[index] >= 0).all(), "a line's benefit has no ledger code"
        keys = {EXPENSE: expense_key, RECEIVABLE: right, WRITTEN_OFF: right}
        specs.append(Legs(debit, keys.get(debit, payee), credit, keys.get(credit, payee), amount,
                          ledger_component, right, payee, month, refs, index=index, absolute=True))
    return build(specs + order_postings(orders))


ORDER_KINDS = ("receivable", "recovery", "alimony", "damages", "enforcement",
               "advance", "advance_reversal", "advance_recovery")


def order_postings(orders: pa.Table) -> list[Legs]:
    """Deductions: receivable recoveries, register recovery orders (to the agency), third-party orders; and the
    maintenance advances booked on (or taken back from) their debtors and recovered from the debtors' rights."""
    specs = []
    kind = name_codes(orders.column("kind"), ORDER_KINDS)
    right, payee = orders.column("right_id").to_numpy(), orders.column("payee_id").to_numpy()
    creditor, amount = orders.column("creditor_payee_id").to_numpy(), orders.column("amount_minor").to_numpy()
    month, refs = orders.column("month").to_numpy(), refs_of(orders.column("payment_ref"))
    debtor = orders.column("debtor_id").to_numpy() if "debtor_id" in orders.column_names else np.zeros_like(right)
    for code, name in enumerate(ORDER_KINDS):
        index = np.flatnonzero((kind == code) & (amount > 0))
        debit, debit_key = PAYABLE, payee
        if name == "receivable":
            credit, credit_key, component = RECEIVABLE, right, "recovery"
        elif name == "advance":
            debit, debit_key, credit, credit_key, component = (ADVANCES_RECEIVABLE, debtor, ADVANCES_RECOVERABLE,
                                                               ADVANCES_FUND_KEY, "advance")
        elif name == "advance_reversal":
            debit, debit_key, credit, credit_key, component = (ADVANCES_RECOVERABLE, ADVANCES_FUND_KEY,
                                                               ADVANCES_RECEIVABLE, debtor, "advance")
        elif name == "advance_recovery":
            credit, credit_key, component = ADVANCES_RECEIVABLE, debtor, "advance_recovery"
        else:
            credit, credit_key, component = DEDUCTIONS_PAYABLE, creditor, name
        specs.append(Legs(debit, debit_key, credit, credit_key, amount, component, right, payee, month, refs,
                          index=index))
    return specs


GROUP_COLUMNS = ("payment_ref", "right_id", "payee_id", "channel", "account")


def sent_groups(lines: pa.Table) -> pa.Table:
    """Per payment, right and payable account, the amount the payment settles (> 0), sorted by payment_ref,
    right_id, account. Lines as calculate writes them (sorted by payment, every line of a payment with the
    payment's payee and channel) are grouped by one Numba pass over their chunks (engine.sent_groups); other
    tables through Arrow."""
    paid = _paid_lines(lines)
    grouped = _sent_group_arrays(paid)
    if grouped is None:
        return _sent_groups_arrow(paid, name_codes(paid.column("component"), ("forwarded",)) == 0)
    ref_column = pc.cast(pc.take(paid.column("payment_ref"), pa.array(grouped["keep"])), pa.string())
    return pa.table({"payment_ref": ref_column, "right_id": pa.array(grouped["right"], pa.int64()),
                     "payee_id": pa.array(grouped["payee"], pa.int64()),
                     "channel": pc.take(pa.array(["bank", "post"]), pa.array(grouped["channel"])),
                     "account": pa.array(grouped["account"], pa.int64()),
                     "amount_minor_sum": pa.array(grouped["amount"], pa.int64()),
                     "month_max": pa.array(grouped["month"], pa.int64())})


def _sent_group_arrays(paid: pa.Table) -> dict | None:
    """sent_groups' groups as numpy columns (and `keep`: the row of `paid` of each group's first line) for lines
    as calculate writes them, in one pass over the lines' chunks (engine.sent_groups); None (Arrow groups) for other
    lines and while a background process compiles the pass (a first run: no compile on the command's path). The
    columns are views of the pass's outputs, one row per line: pages past the groups are never written."""
    n = paid.num_rows
    if n == 0 or (jit.compiling_elsewhere and not jit.is_ready(sent_grouping.group_sent_lines)):
        return None
    grouped = {"account": np.empty(n, np.int16), "payee": np.empty(n, np.int64), "right": np.empty(n, np.int64),
               "channel": np.empty(n, np.int8), "month": np.empty(n, np.int32), "amount": np.empty(n, np.int64),
               "refs": np.empty((n, sent_grouping.REF_BYTES_MAX), np.uint8), "keep": np.empty(n, np.int64)}
    low, high = sorted((PAYABLE, DEDUCTIONS_PAYABLE))
    accounts = np.array([low, high, int(DEDUCTIONS_PAYABLE == high)], np.int64)
    state, current_ref = sent_grouping.new_state()
    batches, status = [batch for batch in paid.to_batches() if batch.num_rows], sent_grouping.OK
    for number, batch in enumerate(batches):
        refs = batch.column("payment_ref")
        if not pa.types.is_string(refs.type) or refs.null_count or refs.buffers()[2] is None:
            return None
        offsets, data = string_buffers(refs)
        ints = {name: np.asarray(batch.column(name).to_numpy(), np.int64)  # int64 columns: no copy
                for name in ("right_id", "payee_id", "amount_minor")}
        status |= sent_grouping.group_sent_lines(
            offsets, data, ints["right_id"], ints["payee_id"], name_codes(batch.column("channel"), ("bank", "post")),
            name_codes(batch.column("component"), ("forwarded",)) == 0, ints["amount_minor"],
            month_indexes(batch.column("month")), accounts, number == len(batches) - 1, state, current_ref,
            *(grouped[name] for name in ("account", "payee", "right", "channel", "month", "amount", "refs", "keep")))
        if status & sent_grouping.NOT_AS_WRITTEN:
            return None
    if status & sent_grouping.NEGATIVE:
        raise ConservationError("a payment's share of a right is negative")
    grouped = {name: column[:int(state[sent_grouping.GROUPS])] for name, column in grouped.items()}
    return grouped | {"refs": grouped["refs"].view(f"S{sent_grouping.REF_BYTES_MAX}").ravel()}


def _paid_lines(lines: pa.Table) -> pa.Table:
    """The lines on a payment: a zero-copy slice when they come first (as calculate writes them), else a filter."""
    refs = lines.column("payment_ref")
    paid = lines.num_rows - refs.null_count
    if refs.null_count == 0 or refs.slice(paid).null_count == lines.num_rows - paid:
        return lines.slice(0, paid)
    return lines.filter(pc.is_valid(refs))


def _sent_groups_arrow(paid: pa.Table, forwarded: np.ndarray) -> pa.Table:
    table = pa.table({
        "payment_ref": pc.cast(paid.column("payment_ref"), pa.string()), "right_id": paid.column("right_id"),
        "payee_id": paid.column("payee_id"), "channel": pc.cast(paid.column("channel"), pa.string()),
        "account": pa.array(np.where(forwarded, DEDUCTIONS_PAYABLE, PAYABLE).astype(np.int64)),
        "month": pa.array(month_indexes(paid.column("month")), pa.int64()),
        "amount_minor": paid.column("amount_minor")})
    grouped = table.group_by(list(GROUP_COLUMNS)).aggregate([("amount_minor", "sum"), ("month", "max")])
    grouped = grouped.filter(pc.not_equal(grouped.column("amount_minor_sum"), 0))
    grouped = grouped.sort_by([("payment_ref", "ascending"), ("right_id", "ascending"), ("account", "ascending")])
    smallest = pc.min(grouped.column("amount_minor_sum")).as_py()
    if smallest is not None and smallest <= 0:
        raise ConservationError("a payment's share of a right is negative")
    return grouped.select(list(GROUP_COLUMNS) + ["amount_minor_sum", "month_max"])


def channel_accounts(channel) -> np.ndarray:
    post = name_codes(channel, ("bank", "post")) == 1
    return np.where(post, IN_TRANSIT["post"], IN_TRANSIT["bank"]).astype(np.int64)


def export_postings(groups: pa.Table) -> dict:
    """'Payment sent': Dr the payable each payment settles, per payment, right and payable account (the groups of
    sent_groups, sorted by payment: key and payee the payment's payee, the right, the latest month of the right's
    share, the payment's reference), so every right's payable clears exactly at export; and Cr payments in transit
    per channel and month (key, right and payee 0, no reference), one credit per TRANSIT_CREDIT_PAYMENTS payments,
    as the bank's settlement debits a file. Every balance per account, key and month, per right and per payment
    moves as in the schemes before (a credit per payment, or per payment and right): only the in-transit credits
    are fewer."""
    account, payee, amount, month, transit, refs, starts = _sent_columns(groups)
    right = np.asarray(groups.column("right_id").to_numpy(), np.int64)
    return _export_postings(account, payee, amount, month, transit, refs, right, starts)


def _export_postings(account, payee, amount, month, transit, refs, right, starts) -> dict:
    """export_postings from the groups' checked columns and where each payment's groups start."""
    sent = np.add.reduceat(amount, starts) if starts.shape[0] else np.zeros(0, np.int64)
    latest = np.maximum.reduceat(month, starts) if starts.shape[0] else np.zeros(0, np.int64)
    channels, credit, credit_month = transit_credits(transit[starts], latest, sent)
    n, m = amount.shape[0], channels.shape[0]
    # each column made once at its ledger dtype (a cast after the concatenation copied it again: at national size
    # the references alone are 9 M x 35 bytes); the values are those of the casts, which the ledger's bounds keep
    return {"account_kind": np.concatenate([account, channels], dtype=np.int16, casting="unsafe"),
            "account_key": np.concatenate([payee, np.zeros(m, np.int64)]),
            "right_id": np.concatenate([right, np.zeros(m, np.int64)]),
            "payee_id": np.concatenate([payee, np.zeros(m, np.int64)]),
            "month": np.concatenate([month, credit_month], dtype=np.int32, casting="unsafe"),
            "component": np.full(n + m, COMPONENT["payment"], np.int16),
            "amount_minor": np.concatenate([amount, credit]),
            "payment_ref": np.concatenate([refs, np.zeros(m, "S35")], dtype="S35")}


# payments of a channel and month per credit of payments in transit (as a file holds at most): a national
# channel's total could pass AMOUNT_MINOR_MAX, a block's never does at realistic amounts (prepare_batch refuses
# one that would)
TRANSIT_CREDIT_PAYMENTS = 100_000


def transit_credits(transit: np.ndarray, month: np.ndarray, sent: np.ndarray):
    """Per in-transit account and month (ascending), per block of TRANSIT_CREDIT_PAYMENTS of its payments in
    reference order: the account, the month and the credit (negative); from per payment account, month, amount."""
    accounts, months, credits = [], [], []
    for code in np.unique(transit):
        for latest in np.unique(month[transit == code]):
            index = np.flatnonzero((transit == code) & (month == latest))
            starts = np.arange(0, index.shape[0], TRANSIT_CREDIT_PAYMENTS)
            accounts.append(np.full(starts.shape[0], code, np.int64))
            months.append(np.full(starts.shape[0], latest, np.int64))
            credits.append(-np.add.reduceat(sent[index], starts))
    if not accounts:
        return (np.zeros(0, np.int64),) * 3
    return np.concatenate(accounts), np.concatenate(credits), np.concatenate(months)


def _sent_columns(groups: pa.Table):
    """The columns of sent_groups' groups, checked: positive amounts, a payment's groups together and of one
    payee and channel; with the index where each payment's groups start."""
    account = np.asarray(groups.column("account").to_numpy(), np.int64)
    payee = np.asarray(groups.column("payee_id").to_numpy(), np.int64)
    amount = np.asarray(groups.column("amount_minor_sum").to_numpy(), np.int64)
    month = np.asarray(groups.column("month_max").to_numpy(), np.int64)
    transit = channel_accounts(groups.column("channel"))
    refs = refs_of(groups.column("payment_ref"))
    if not (amount > 0).all():
        raise ConservationError("only positive amounts are posted (payment)")
    starts = np.flatnonzero(np.r_[True, refs[1:] != refs[:-1]]) if refs.shape[0] else np.zeros(0, np.int64)
    if not (refs[starts][1:] > refs[starts][:-1]).all():
        raise ConservationError("the groups of a payment are not together: sent_groups sorts them by payment")
    spans = np.diff(np.r_[starts, refs.shape[0]])
    if (payee != np.repeat(payee[starts], spans)).any() or (transit != np.repeat(transit[starts], spans)).any():
        raise ConservationError("a payment's groups name more than one payee or channel")
    return account, payee, amount, month, transit, refs, starts


def export_postings_per_payment(groups: pa.Table) -> dict:
    """The 'payment sent' batch as isplata posted it in 2026-12 before the batch per channel: Dr the payable per
    payment, right and payable account, Cr payments in transit once per payment (right 0): what an export of
    such a ledger is compared with when it is run again."""
    account, payee, amount, month, transit, refs, starts = _sent_columns(groups)
    right = np.asarray(groups.column("right_id").to_numpy(), np.int64)
    first = payee[starts]
    sent = np.add.reduceat(amount, starts) if starts.shape[0] else np.zeros(0, np.int64)
    latest = np.maximum.reduceat(month, starts) if starts.shape[0] else np.zeros(0, np.int64)
    n, m = amount.shape[0], starts.shape[0]
    return {"account_kind": np.concatenate([account, transit[starts]]).astype(np.int16),
            "account_key": np.concatenate([payee, np.zeros(m, np.int64)]),
            "right_id": np.concatenate([right, np.zeros(m, np.int64)]),
            "payee_id": np.concatenate([payee, first]),
            "month": np.concatenate([month, latest]).astype(np.int32),
            "component": np.full(n + m, COMPONENT["payment"], np.int16),
            "amount_minor": np.concatenate([amount, -sent]),
            "payment_ref": np.concatenate([refs, refs[starts]]).astype("S35")}


def export_postings_per_right(groups: pa.Table) -> dict:
    """The 'payment sent' batch as isplata posted it before 2026-12 (also Cr payments in transit per payment,
    right and account): what an export of such a ledger is compared with when it is run again."""
    account = groups.column("account").to_numpy()
    payee, right = groups.column("payee_id").to_numpy(), groups.column("right_id").to_numpy()
    amount, month = groups.column("amount_minor_sum").to_numpy(), groups.column("month_max").to_numpy()
    chunk = legs(0, payee, 0, 0, amount, "payment", right, payee, month, refs_of(groups.column("payment_ref")))
    chunk["account_kind"] = np.concatenate([account, channel_accounts(groups.column("channel"))]).astype(np.int16)
    return chunk


def return_postings(groups: pa.Table, debit_accounts: np.ndarray, component: str,
                    transit_labels: tuple[bool, bool] = (True, True)) -> dict:
    """Reversal of returned or rejected payments' groups: Dr in transit or cash, Cr returned (payee). A debit of
    in transit names the right and the payee only where export's in-transit credits named them
    (`transit_labels`, see reconcile.transit_labels): in transit balances per channel, or per payee, as posted."""
    payee, right = groups.column("payee_id").to_numpy(), groups.column("right_id").to_numpy()
    amount, month = groups.column("amount_minor_sum").to_numpy(), groups.column("month_max").to_numpy()
    refs = refs_of(groups.column("payment_ref"))
    chunk = legs(0, 0, RETURNED, payee, amount, component, right, payee, month, refs)
    n = amount.shape[0]
    chunk["account_kind"][:n] = np.asarray(debit_accounts, np.int16)
    transit = np.isin(chunk["account_kind"][:n], list(IN_TRANSIT.values()))
    for name, named in zip(("right_id", "payee_id"), transit_labels):
        if not named:
            chunk[name][:n][transit] = 0
    return chunk


def settlement_postings(channel: str, amount_minor: int, month: int, msg_id_ref: str) -> dict:
    """The bank's batch debit of one file: Dr payments in transit (channel), Cr treasury cash."""
    return legs(IN_TRANSIT[channel], 0, CASH, 0, np.array([amount_minor]), "settlement", 0, 0, month,
                msg_id_ref)
