"""What the ledger already holds that a calculation needs: the balances in one scan of the postings (not one scan
per balance), the recognised amounts from the batches' expense columns (20 bytes per benefit-expense posting,
read batch by batch, instead of a scan of every posting).

Per right and month the benefit expense recognised; per right the carried amount still pending, the overpayment
receivable, and what third-party and register recovery orders already took; per debtor the maintenance advances
still to recover; per payee and right the returned payments awaiting re-issue; and the month of the earliest
payroll the ledger holds (its first approval batch), which fixes the legacy cutoff of payroll.compute. Every query
can stop at a batch mark (the last batch id the calculation saw), so an audit recomputes a payroll from exactly the
ledger state it was calculated from.
"""
from dataclasses import dataclass, field

import numpy as np
import sqlalchemy as sa

from ledgers.bulk import read_columns
from ledgers.schema import ACCOUNT, COMPONENT
from ledgers.store import net_per_right_month

EXPENSE = ACCOUNT["benefit_expense"]
PAYABLE = ACCOUNT["benefits_payable"]
DEDUCTIONS_PAYABLE = ACCOUNT["deductions_payable"]
RECEIVABLE = ACCOUNT["overpayments_receivable"]
RETURNED = ACCOUNT["returned_awaiting_reissue"]
ADVANCES_RECEIVABLE = ACCOUNT["advances_receivable"]
ORDER_COMPONENTS = ("alimony", "damages", "recovery", "enforcement")


@dataclass(frozen=True)
class LedgerState:
    batch_mark: int                 # last batch id included
    recognised_right: np.ndarray    # (right_id, month, amount) triples, sorted by right then month
    recognised_month: np.ndarray
    recognised_minor: np.ndarray
    carry_right: np.ndarray         # right_id -> carried amount pending
    carry_minor: np.ndarray
    receivable_right: np.ndarray    # right_id -> overpayment receivable balance
    receivable_minor: np.ndarray
    taken_right: np.ndarray         # (right_id, component name index in ORDER_COMPONENTS) -> already taken
    taken_kind: np.ndarray
    taken_minor: np.ndarray
    returned_payee: np.ndarray      # (payee_id, right_id) -> returned, awaiting re-issue
    returned_right: np.ndarray
    returned_minor: np.ndarray
    first_payroll_month: int = -1   # period of the earliest approved payroll batch; -1 when there is none
    advance_debtor: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))  # debtor person_id ->
    advance_minor: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))   # advances still owed
    # (right_id, month, debtor person_id) -> advance claim booked, sorted by right, month, debtor
    advance_booked_right: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    advance_booked_month: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    advance_booked_debtor: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    advance_booked_minor: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    # (right_id, month) the months whose payment of the right is still carried (carried_months), sorted
    carried_right: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    carried_month: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))


def batch_mark(conn: sa.Connection) -> int:
    """The last batch id (0 for an empty ledger)."""
    latest = conn.exec_driver_sql("SELECT max(batch_id) FROM ledger_batches").scalar()
    return 0 if latest is None else int(latest)


def _columns(conn: sa.Connection, sql: str, params: dict, width: int) -> list[np.ndarray]:
    """Run a grouped query whose columns are c0..c<width-1>, read column-wise (ledgers.bulk), sorted by them."""
    text = sql.replace(":mark", str(int(params["mark"]))).replace(":first_month", str(int(params["first_month"])))
    names = {f"c{i}": "<i8" for i in range(width)}
    raw = conn.connection.driver_connection
    columns = read_columns(raw, conn.dialect.name, text, (), names)
    order = np.lexsort(tuple(columns[f"c{i}"] for i in reversed(range(width))))
    return [np.ascontiguousarray(columns[f"c{i}"][order]) for i in range(width)]


def read_state(conn: sa.Connection, mark: int | None = None, first_month: int | None = None) -> LedgerState:
    """The ledger as of batch `mark` (default: now); recognised amounts only from `first_month` on."""
    mark = batch_mark(conn) if mark is None else mark
    params = {"mark": mark, "first_month": -10**9 if first_month is None else first_month}
    recognised = recognised_of(conn, mark, params["first_month"])
    balances = balance_rows(conn, mark)
    carry_sign = np.where(balances["component"] == COMPONENT["carry_out"], 1, -1)
    carry = _grouped(balances, PAYABLE, ("right_id",), carry_sign)
    receivable = _grouped(balances, RECEIVABLE, ("account_key",))
    taken = _grouped(balances, DEDUCTIONS_PAYABLE, ("right_id", "component"), -1, drop_zero=False)
    component_kind = np.full(max(COMPONENT.values()) + 1, -1, np.int64)
    for i, name in enumerate(ORDER_COMPONENTS):
        component_kind[COMPONENT[name]] = i
    returned = _grouped(balances, RETURNED, ("account_key", "right_id"), -1)
    advances = _grouped(balances, ADVANCES_RECEIVABLE, ("account_key",))
    booked = _grouped(balances, ADVANCES_RECEIVABLE, ("right_id", "month", "account_key"),
                      component=COMPONENT["advance"])
    return LedgerState(mark, *recognised, *carry, *receivable, taken[0], component_kind[taken[1]], taken[2],
                       *returned, first_payroll_month(conn, mark), *advances, *booked, *carried_months(balances, carry))


def carried_months(rows: dict, carry: list) -> list[np.ndarray]:
    """(right_id, month) of the payrolls whose payment of the right is still carried, for rights with an amount
    carried (`carry`: right_id and amount pending, from _grouped). Within one payroll a right is either withheld
    (carry_out, with a carry_in of what it carried before) or paid (a carry_in alone), so the months still carried
    are those of the payrolls with a carry_out after the right's last payroll with a carry_in alone, where the
    carry_out is more than the carry_in (a payroll with nothing due of its own only carries the money on). Their
    deductions are owed when the carried payment is paid (RULES.md Readings 3): a fixed order one instalment a
    month (payroll.compute.instalments)."""
    chosen = (rows["account_kind"] == PAYABLE) & np.isin(rows["component"], (COMPONENT["carry_out"],
                                                                             COMPONENT["carry_in"]))
    right, batch, month = rows["right_id"][chosen], rows["batch_id"][chosen], rows["month"][chosen]
    out = rows["component"][chosen] == COMPONENT["carry_out"]
    signed = np.where(out, rows["amount_minor"][chosen], -rows["amount_minor"][chosen])
    order = np.lexsort((batch, right))
    right, batch, month, out, signed = right[order], batch[order], month[order], out[order], signed[order]
    first = np.r_[True, (right[1:] != right[:-1]) | (batch[1:] != batch[:-1])] if right.shape[0] else \
        np.zeros(0, bool)
    group = np.cumsum(first) - 1  # one per (right, batch)
    carried = np.zeros(int(first.sum()), bool)
    carried[group[out]] = True
    grown = np.bincount(group, signed, minlength=carried.shape[0]) > 0  # withheld with money of its own
    right, month = right[first], month[first]
    paid = ~carried  # a carry_in alone: the carried payment was paid
    owner = np.cumsum(np.r_[True, right[1:] != right[:-1]]) - 1 if right.shape[0] else np.zeros(0, np.int64)
    position = np.arange(right.shape[0])
    last_paid = np.full(owner[-1] + 1 if owner.shape[0] else 0, -1, np.int64)
    np.maximum.at(last_paid, owner, np.where(paid, position, -1))
    keep = carried & grown & (position > last_paid[owner])
    keep &= lookup(carry[0], (carry[1] > 0).astype(np.int64), right) > 0
    pairs = np.unique(np.stack([right[keep], month[keep]], axis=1).reshape(-1, 2), axis=0)
    return [np.ascontiguousarray(pairs[:, 0], np.int64), np.ascontiguousarray(pairs[:, 1], np.int64)]


BALANCE_COLUMNS = ("account_kind", "component", "account_key", "right_id", "month", "batch_id")


def balance_rows(conn: sa.Connection, mark: int) -> dict:
    """In one scan of the postings up to `mark`, the sums per account, component, key, right and month of what
    the state's balances are made of (the carried amounts, receivables, deductions taken, returned payments and
    advances): read_state groups them further in numpy instead of scanning the ledger once per balance. The
    carried amounts are summed per batch too (carried_months; other rows have batch_id 0)."""
    codes = ", ".join(str(COMPONENT[name]) for name in ORDER_COMPONENTS)
    columns = _columns(conn, f"""
        SELECT CAST(account_kind AS BIGINT) AS c0, CAST(component AS BIGINT) AS c1, account_key AS c2,
               right_id AS c3, CAST(month AS BIGINT) AS c4,
               CAST(CASE WHEN account_kind = {PAYABLE} THEN batch_id ELSE 0 END AS BIGINT) AS c5,
               CAST(sum(amount_minor) AS BIGINT) AS c6
        FROM ledger_postings
        WHERE batch_id <= :mark AND (
            (account_kind = {PAYABLE} AND amount_minor > 0
             AND component IN ({COMPONENT['carry_out']}, {COMPONENT['carry_in']}))
            OR account_kind IN ({RECEIVABLE}, {RETURNED}, {ADVANCES_RECEIVABLE})
            OR (account_kind = {DEDUCTIONS_PAYABLE} AND amount_minor < 0 AND component IN ({codes})))
        GROUP BY account_kind, component, account_key, right_id, month,
                 CASE WHEN account_kind = {PAYABLE} THEN batch_id ELSE 0 END""", {"mark": mark, "first_month": 0}, 7)
    return dict(zip(BALANCE_COLUMNS + ("amount_minor",), columns))


def _grouped(rows: dict, account: int, keys: tuple, sign=1, drop_zero: bool = True,
             component: int | None = None) -> list[np.ndarray]:
    """The rows of `account` (and `component`) summed (times `sign`) per `keys`, sorted by them; sums of 0
    dropped unless drop_zero is False. Returns the key columns and the sums."""
    chosen = rows["account_kind"] == account
    if component is not None:
        chosen &= rows["component"] == component
    amount = (rows["amount_minor"] * sign)[chosen]
    columns = [rows[name][chosen] for name in keys]
    if amount.shape[0] == 0:
        return [np.zeros(0, np.int64) for _ in range(len(keys) + 1)]
    order = np.lexsort(tuple(reversed(columns)))
    columns, amount = [column[order] for column in columns], amount[order]
    change = np.zeros(amount.shape[0], bool)
    change[0] = True
    for column in columns:
        change[1:] |= column[1:] != column[:-1]
    starts = np.flatnonzero(change)
    sums = np.add.reduceat(amount, starts)
    keep = sums != 0 if drop_zero else np.ones(sums.shape[0], bool)
    return [np.ascontiguousarray(column[starts][keep], np.int64) for column in columns] + \
        [np.ascontiguousarray(sums[keep], np.int64)]


RECOGNISED_SQL = f"""
    SELECT right_id AS c0, month AS c1, CAST(sum(amount_minor) AS BIGINT) AS c2 FROM ledger_postings
    WHERE account_kind = {EXPENSE} AND batch_id <= :mark AND month >= :first_month
    GROUP BY right_id, month HAVING sum(amount_minor) <> 0"""  # what recognised_of computes, by a scan


def recognised_of(conn: sa.Connection, mark: int, first_month: int) -> list[np.ndarray]:
    """Per (right, month >= first_month) the benefit expense of batches up to `mark`, sums that are not 0,
    sorted by right then month: RECOGNISED_SQL's result, read from the batches' expense columns (each batch's
    benefit-expense postings as three columns, which `ledger verify` proves equal to its postings) one batch at
    a time, so the read costs the expense postings only, not a scan of every posting of the ledger."""
    ids = conn.execute(sa.text("SELECT batch_id FROM ledger_expense_columns WHERE batch_id <= :mark "
                               "ORDER BY batch_id"), {"mark": int(mark)}).scalars().all()
    parts = []
    for batch_id in ids:
        row = conn.execute(sa.text("SELECT right_id, month, amount_minor FROM ledger_expense_columns "
                                   "WHERE batch_id = :batch"), {"batch": int(batch_id)}).one()
        right, month, amount = (np.frombuffer(bytes(row[0]), "<i8"), np.frombuffer(bytes(row[1]), "<i4"),
                                np.frombuffer(bytes(row[2]), "<i8"))
        assert right.shape == month.shape == amount.shape, f"batch {batch_id}: expense columns of unequal length"
        keep = month >= first_month
        parts.append((right[keep], month[keep], amount[keep]))
    if not parts:
        return [np.zeros(0, np.int64)] * 3
    right, month, amount = net_per_right_month(*(np.concatenate([part[i] for part in parts]) for i in range(3)))
    nonzero = amount != 0
    return [np.ascontiguousarray(right[nonzero], np.int64), np.ascontiguousarray(month[nonzero], np.int64),
            np.ascontiguousarray(amount[nonzero], np.int64)]


def first_payroll_month(conn: sa.Connection, mark: int) -> int:
    """The period of the earliest approval batch up to the mark (-1 when the ledger holds no payroll yet)."""
    earliest = conn.execute(sa.text("SELECT min(period) FROM ledger_batches WHERE kind = 'approve' "
                                    "AND batch_id <= :mark"), {"mark": int(mark)}).scalar()
    return -1 if earliest is None else int(earliest)


def lookup(keys: np.ndarray, values: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """values[keys == wanted] per wanted key (0 where absent); keys sorted and unique."""
    out = np.zeros(wanted.shape[0], np.int64)
    if keys.shape[0] == 0:
        return out
    position = np.clip(np.searchsorted(keys, wanted), 0, keys.shape[0] - 1)
    found = keys[position] == wanted
    out[found] = values[position[found]]
    return out
