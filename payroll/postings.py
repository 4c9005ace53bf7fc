"""The posting scheme of the cycle: which accounts each payroll line, payment and returned record moves.

Every amount becomes a balanced pair of postings (debit positive, credit negative) carrying its right, payee,
month, component and payment reference, so a batch sums to zero by construction:

    approve  due / arrears          Dr benefit expense (benefit)        Cr benefits payable (payee)
             overpayment (raised)   Dr overpayments receivable (right)  Cr benefit expense (benefit)
             recovery of receivable Dr benefits payable (payee)         Cr overpayments receivable (right)
             recovery by an order   Dr benefits payable (payee)         Cr deductions payable (agency, key 0)
             alimony/damages/enf.   Dr benefits payable (debtor payee)  Cr deductions payable (creditor payee)
             dropped                no posting: the amount stays recognised (so it is never recomputed
                                    as arrears) and stays in benefits payable, visible by its line
             reissue                Dr returned, awaiting re-issue      Cr benefits payable (payee)
             carry_out / carry_in   Dr and Cr benefits payable (payee): a memo pair that nets to zero but
                                    records, per right, what is carried (amounts simply stay payable)
             forwarded: no posting (its deduction line already credited deductions payable)
    export   per payment and right  Dr benefits payable / deductions payable   Cr payments in transit (channel)
    reconcile rejected              Dr payments in transit (channel)   Cr returned, awaiting re-issue (payee)
              returned              Dr treasury cash                    Cr returned, awaiting re-issue (payee)
              settled (batch debit) Dr payments in transit (channel)   Cr treasury cash

So the benefit expense of a right and month, which is what the ledger "recognised", equals due + arrears minus
overpayments raised, and a second calculation of the same period finds no difference.
Accounts and components are the ledger's codes (ledgers.schema).
"""
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ledgers.schema import ACCOUNT, COMPONENT

EXPENSE = ACCOUNT["benefit_expense"]
PAYABLE = ACCOUNT["benefits_payable"]
DEDUCTIONS_PAYABLE = ACCOUNT["deductions_payable"]
RECEIVABLE = ACCOUNT["overpayments_receivable"]
RETURNED = ACCOUNT["returned_awaiting_reissue"]
IN_TRANSIT = {"bank": ACCOUNT["in_transit_bank"], "post": ACCOUNT["in_transit_post"]}
CASH = ACCOUNT["treasury_cash"]
AGENCY_KEY = 0  # deductions payable to the agency itself (recovery orders of the register)

# line component -> (debit account, credit account, ledger component); "key" picks the account key below
LINE_SCHEME = {
    "due": (EXPENSE, PAYABLE, "due"),
    "arrears": (EXPENSE, PAYABLE, "arrears"),
    "overpayment": (RECEIVABLE, EXPENSE, "overpayment"),
    "reissue": (RETURNED, PAYABLE, "reissue"),
    "carry_out": (PAYABLE, PAYABLE, "carry_out"),
    "carry_in": (PAYABLE, PAYABLE, "carry_in"),
}
POSTING_NAMES = ("account_kind", "account_key", "right_id", "payee_id", "month", "component", "amount_minor",
                 "payment_ref")


def legs(debit: int, debit_key, credit: int, credit_key, amount_minor, component: str, right_id, payee_id,
         month, payment_ref) -> dict:
    """Debit and credit legs of the same non-negative amounts: a balanced chunk of postings."""
    amount = np.asarray(amount_minor, np.int64)
    assert (amount > 0).all(), "only positive amounts are posted"
    n = amount.shape[0]
    spread = lambda value: np.broadcast_to(np.asarray(value, np.int64), (n,))
    refs = np.broadcast_to(np.asarray(payment_ref, dtype="S35"), (n,))  # ASCII references, as the ledger stores
    return {
        "account_kind": np.concatenate([np.full(n, debit, np.int16), np.full(n, credit, np.int16)]),
        "account_key": np.concatenate([spread(debit_key), spread(credit_key)]),
        "right_id": np.tile(spread(right_id), 2), "payee_id": np.tile(spread(payee_id), 2),
        "month": np.tile(spread(month), 2).astype(np.int32),
        "component": np.full(2 * n, COMPONENT[component], np.int16),
        "amount_minor": np.concatenate([amount, -amount]),
        "payment_ref": np.concatenate([refs, refs]),
    }


def concat(chunks: list[dict]) -> dict:
    chunks = [chunk for chunk in chunks if chunk["amount_minor"].shape[0]]
    if not chunks:
        return {name: np.zeros(0, np.int64) for name in POSTING_NAMES}
    return {name: np.concatenate([chunk[name] for chunk in chunks]) for name in POSTING_NAMES}


def refs_of(column) -> np.ndarray:
    """Payment references as a numpy bytes array (S35), b'' where a line is on no payment."""
    filled = pc.fill_null(column, "")
    return np.asarray(filled.to_numpy(zero_copy_only=False)).astype("S35")


def month_indexes(dates) -> np.ndarray:
    """date32 column -> month index (months since 1970-01)."""
    days = np.asarray(pc.cast(dates, pa.int32()).to_numpy(zero_copy_only=False), np.int64)
    return days.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)


def approve_postings(lines: pa.Table, orders: pa.Table, benefit_code: dict[str, int]) -> dict:
    """The approval batch: every line of LINE_SCHEME plus every deduction taken (from the orders table)."""
    component = lines.column("component").combine_chunks()
    benefit = np.asarray(pc.index_in(lines.column("benefit"), value_set=pa.array(list(benefit_code), pa.string()))
                         .to_numpy(zero_copy_only=False), np.int64)
    expense_key = np.asarray(list(benefit_code.values()), np.int64)[benefit]
    payee, right = lines.column("payee_id").to_numpy(), lines.column("right_id").to_numpy()
    amount, month = lines.column("amount_minor").to_numpy(), month_indexes(lines.column("month"))
    refs = refs_of(lines.column("payment_ref"))
    chunks = []
    for name, (debit, credit, ledger_component) in LINE_SCHEME.items():
        index = np.flatnonzero(np.asarray(pc.equal(component, name).to_numpy(zero_copy_only=False), bool))
        index = index[amount[index] != 0]
        keys = {EXPENSE: expense_key[index], RECEIVABLE: right[index]}
        chunks.append(legs(debit, keys.get(debit, payee[index]), credit, keys.get(credit, payee[index]),
                           np.abs(amount[index]), ledger_component, right[index], payee[index], month[index],
                           refs[index]))
    chunks += order_postings(orders)
    return concat(chunks)


def order_postings(orders: pa.Table) -> list[dict]:
    """Deductions: receivable recoveries, register recovery orders (to the agency), third-party orders."""
    chunks = []
    kind = orders.column("kind").combine_chunks()
    right, payee = orders.column("right_id").to_numpy(), orders.column("payee_id").to_numpy()
    creditor, amount = orders.column("creditor_payee_id").to_numpy(), orders.column("amount_minor").to_numpy()
    month, refs = orders.column("month").to_numpy(), refs_of(orders.column("payment_ref"))
    for name in ("receivable", "recovery", "alimony", "damages", "enforcement"):
        index = np.flatnonzero(np.asarray(pc.equal(kind, name).to_numpy(zero_copy_only=False), bool))
        index = index[amount[index] > 0]
        if name == "receivable":
            credit, credit_key, component = RECEIVABLE, right[index], "recovery"
        else:
            credit, credit_key, component = DEDUCTIONS_PAYABLE, creditor[index], name
        chunks.append(legs(PAYABLE, payee[index], credit, credit_key, amount[index], component, right[index],
                           payee[index], month[index], refs[index]))
    return chunks


def sent_groups(lines: pa.Table) -> pa.Table:
    """Per payment, right and payable account, the amount the payment settles (> 0)."""
    paid = lines.filter(pc.is_valid(lines.column("payment_ref")))
    forwarded = pc.equal(paid.column("component"), "forwarded")
    table = pa.table({
        "payment_ref": paid.column("payment_ref"), "right_id": paid.column("right_id"),
        "payee_id": paid.column("payee_id"), "channel": paid.column("channel"),
        "account": pc.if_else(forwarded, DEDUCTIONS_PAYABLE, PAYABLE).cast(pa.int64()),
        "month": pa.array(month_indexes(paid.column("month")), pa.int64()),
        "amount_minor": paid.column("amount_minor")})
    grouped = table.group_by(["payment_ref", "right_id", "payee_id", "channel", "account"]).aggregate(
        [("amount_minor", "sum"), ("month", "max")])
    grouped = grouped.filter(pc.not_equal(grouped.column("amount_minor_sum"), 0))
    grouped = grouped.sort_by([("payment_ref", "ascending"), ("right_id", "ascending"), ("account", "ascending")])
    assert pc.min(grouped.column("amount_minor_sum")).as_py() is None or \
        pc.min(grouped.column("amount_minor_sum")).as_py() > 0, "a payment's share of a right is positive"
    return grouped


def channel_accounts(channel) -> np.ndarray:
    post = np.asarray(pc.equal(channel, "post").to_numpy(zero_copy_only=False), bool)
    return np.where(post, IN_TRANSIT["post"], IN_TRANSIT["bank"]).astype(np.int64)


def export_postings(groups: pa.Table) -> dict:
    """'Payment sent': Dr the payable each payment settles, Cr payments in transit of its channel."""
    account = groups.column("account").to_numpy()
    payee, right = groups.column("payee_id").to_numpy(), groups.column("right_id").to_numpy()
    amount, month = groups.column("amount_minor_sum").to_numpy(), groups.column("month_max").to_numpy()
    transit = channel_accounts(groups.column("channel"))
    refs = refs_of(groups.column("payment_ref"))
    chunk = legs(0, payee, 0, 0, amount, "payment", right, payee, month, refs)
    chunk["account_kind"] = np.concatenate([account, transit]).astype(np.int16)
    return chunk


def return_postings(groups: pa.Table, debit_accounts: np.ndarray, component: str) -> dict:
    """Reversal of returned or rejected payments' groups: Dr in transit or cash, Cr returned (payee)."""
    payee, right = groups.column("payee_id").to_numpy(), groups.column("right_id").to_numpy()
    amount, month = groups.column("amount_minor_sum").to_numpy(), groups.column("month_max").to_numpy()
    refs = refs_of(groups.column("payment_ref"))
    chunk = legs(0, 0, RETURNED, payee, amount, component, right, payee, month, refs)
    chunk["account_kind"][:amount.shape[0]] = np.asarray(debit_accounts, np.int16)
    return chunk


def settlement_postings(channel: str, amount_minor: int, month: int, msg_id_ref: str) -> dict:
    """The bank's batch debit of one file: Dr payments in transit (channel), Cr treasury cash."""
    return legs(IN_TRANSIT[channel], 0, CASH, 0, np.array([amount_minor]), "settlement", 0, 0, month,
                msg_id_ref)
