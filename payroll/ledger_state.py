"""What the ledger already holds that a calculation needs, read with one grouped query each.

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
    carry = _columns(conn, f"""
        SELECT right_id AS c0, CAST(sum(CASE WHEN component = {COMPONENT['carry_out']} THEN amount_minor
                                  ELSE -amount_minor END) AS BIGINT) AS c1 FROM ledger_postings
        WHERE account_kind = {PAYABLE} AND batch_id <= :mark AND amount_minor > 0
          AND component IN ({COMPONENT['carry_out']}, {COMPONENT['carry_in']})
        GROUP BY right_id HAVING sum(CASE WHEN component = {COMPONENT['carry_out']} THEN amount_minor
                                          ELSE -amount_minor END) <> 0""", params, 2)
    receivable = _columns(conn, f"""
        SELECT account_key AS c0, CAST(sum(amount_minor) AS BIGINT) AS c1 FROM ledger_postings
        WHERE account_kind = {RECEIVABLE} AND batch_id <= :mark
        GROUP BY account_key HAVING sum(amount_minor) <> 0""", params, 2)
    codes = ", ".join(str(COMPONENT[name]) for name in ORDER_COMPONENTS)
    taken = _columns(conn, f"""
        SELECT right_id AS c0, CAST(component AS BIGINT) AS c1, CAST(-sum(amount_minor) AS BIGINT) AS c2
        FROM ledger_postings
        WHERE account_kind = {DEDUCTIONS_PAYABLE} AND batch_id <= :mark AND amount_minor < 0
          AND component IN ({codes})
        GROUP BY right_id, component""", params, 3)
    component_kind = np.full(max(COMPONENT.values()) + 1, -1, np.int64)
    for i, name in enumerate(ORDER_COMPONENTS):
        component_kind[COMPONENT[name]] = i
    returned = _columns(conn, f"""
        SELECT account_key AS c0, right_id AS c1, CAST(-sum(amount_minor) AS BIGINT) AS c2 FROM ledger_postings
        WHERE account_kind = {RETURNED} AND batch_id <= :mark
        GROUP BY account_key, right_id HAVING sum(amount_minor) <> 0""",
                        params, 3)
    advances = _columns(conn, f"""
        SELECT account_key AS c0, CAST(sum(amount_minor) AS BIGINT) AS c1 FROM ledger_postings
        WHERE account_kind = {ADVANCES_RECEIVABLE} AND batch_id <= :mark
        GROUP BY account_key HAVING sum(amount_minor) <> 0""", params, 2)
    booked = _columns(conn, f"""
        SELECT right_id AS c0, CAST(month AS BIGINT) AS c1, account_key AS c2, CAST(sum(amount_minor) AS BIGINT) AS c3
        FROM ledger_postings
        WHERE account_kind = {ADVANCES_RECEIVABLE} AND component = {COMPONENT['advance']} AND batch_id <= :mark
        GROUP BY right_id, month, account_key HAVING sum(amount_minor) <> 0""", params, 4)
    return LedgerState(mark, *recognised, *carry, *receivable, taken[0], component_kind[taken[1]], taken[2],
                       *returned, first_payroll_month(conn, mark), *advances, *booked)


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
