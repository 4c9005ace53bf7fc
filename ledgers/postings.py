"""Building and checking a batch before it touches the database: PostingsBuilder and prepare_batch.

The payroll hands postings as numpy columns (or accumulates them chunk by chunk in a PostingsBuilder, where
`add_transfer` writes the debit and the credit leg of the same amounts at once, so a batch is balanced by
construction). prepare_batch casts columns, maps component and account names to codes, and collects every
problem (unknown codes, amounts out of bounds, bad references, an unbalanced total) before refusing, so a
refused batch has written nothing.
"""
from concurrent.futures import Future
from dataclasses import dataclass

import numpy as np

from engine.money import AMOUNT_MINOR_MAX
from formats.bounds import ID_MAX, MONTH_INDEX_MAX
from formats.errors import InputError, problem
from ledgers import schema
from ledgers.canonical import REF_WIDTH, ref_matrix, refs_printable, refs_to_fixed
from ledgers.kernels import rows_outside, rows_unique

SUM_CHUNK_ROWS = 100_000  # 1e5 x AMOUNT_MINOR_MAX (1e13) stays inside int64
OPTIONAL_DEFAULTS = {"right_id": 0, "payee_id": 0, "payment_ref": ""}


class UnbalancedBatch(InputError):
    """The postings of a batch do not sum to zero."""


@dataclass
class PreparedBatch:
    kind: str
    source_id: str
    period: int
    account_kind: np.ndarray
    account_key: np.ndarray
    right_id: np.ndarray
    payee_id: np.ndarray
    posting_period: np.ndarray
    month: np.ndarray
    component: np.ndarray
    amount_minor: np.ndarray
    payment_ref: np.ndarray  # S35
    pay_refs: np.ndarray     # S35
    pay_payee: np.ndarray
    pay_amount: np.ndarray
    debit_minor: int

    @property
    def n_postings(self) -> int:
        return len(self.amount_minor)

    @property
    def n_payments(self) -> int:
        return len(self.pay_refs)

    def columns(self, batch_id: int, first_posting: int) -> dict:
        """The canonical posting columns once the batch has its place in the chain."""
        count = self.n_postings
        return {
            "posting_id": np.arange(first_posting, first_posting + count, dtype=np.int64),
            "batch_id": np.full(count, batch_id, np.int64),
            "account_kind": self.account_kind, "account_key": self.account_key, "right_id": self.right_id,
            "payee_id": self.payee_id, "period": self.posting_period, "month": self.month,
            "component": self.component, "amount_minor": self.amount_minor, "payment_ref": self.payment_ref,
        }


def component_codes(values) -> np.ndarray:
    """Component names (or codes) -> int16 codes; unknown names raise ValueError."""
    return _codes(values, schema.COMPONENT, "component")


def account_codes(values) -> np.ndarray:
    return _codes(values, schema.ACCOUNT, "account")


def _codes(values, table: dict, what: str) -> np.ndarray:
    array = np.asarray(values)
    if array.dtype.kind in "iu":
        return array.astype(np.int16, copy=False)
    names, inverse = np.unique(array.astype(str), return_inverse=True)
    unknown = [name for name in names if name not in table]
    if unknown:
        raise ValueError(f"unknown {what} {unknown[0]!r}; known: {', '.join(table)}")
    return np.array([table[name] for name in names], np.int16)[inverse.reshape(-1)]


def _spread(values, count: int, dtype) -> np.ndarray:
    """A scalar or one-element array repeated count times, or an array of exactly count values, as dtype."""
    return np.broadcast_to(np.atleast_1d(np.asarray(values)).astype(dtype, copy=False), (count,)).copy()


class PostingsBuilder:
    """Accumulates posting chunks (numpy arrays or scalars, broadcast) for one batch."""

    def __init__(self, period: int):
        self.period = int(period)
        self._chunks: list[dict] = []

    def add(self, account, key, amount_minor, component, right_id=0, payee_id=0, month=None,
            payment_ref="") -> None:
        """One leg: signed amounts (debit positive, credit negative) on `account` (name or code)."""
        amount = np.asarray(amount_minor, np.int64).reshape(-1)
        count = len(amount)
        month = self.period if month is None else month
        # codes and references are converted before broadcasting: a scalar is converted once, not count times
        self._chunks.append({
            "account_kind": _spread(account_codes(np.atleast_1d(account)), count, np.int16),
            "account_key": _spread(key, count, np.int64), "right_id": _spread(right_id, count, np.int64),
            "payee_id": _spread(payee_id, count, np.int64), "period": np.full(count, self.period, np.int32),
            "month": _spread(month, count, np.int32),
            "component": _spread(component_codes(np.atleast_1d(component)), count, np.int16),
            "amount_minor": amount.copy(),
            "payment_ref": _spread(refs_to_fixed(np.atleast_1d(payment_ref)), count, f"S{REF_WIDTH}"),
        })

    def add_transfer(self, debit, credit, amount_minor, component, **columns) -> None:
        """Both legs at once: `amount_minor` debited to debit=(account, key) and credited to credit=(account, key)."""
        amount = np.asarray(amount_minor, np.int64)
        self.add(debit[0], debit[1], amount, component, **columns)
        self.add(credit[0], credit[1], -amount, component, **columns)

    def __len__(self) -> int:
        return sum(len(chunk["amount_minor"]) for chunk in self._chunks)

    def arrays(self) -> dict:
        names = ("account_kind", "account_key", "right_id", "payee_id", "period", "month", "component",
                 "amount_minor", "payment_ref")
        if not self._chunks:
            return {name: np.zeros(0, np.int64) for name in names}
        return {name: np.concatenate([chunk[name] for chunk in self._chunks]) for name in names}


def built(postings):
    """The postings themselves, waiting for them when they are a Future of them (still being built elsewhere)."""
    return postings.result() if isinstance(postings, Future) else postings


def prepare_batch(kind: str, source_id: str, postings, payments, period: int | None) -> PreparedBatch:
    """Validate and canonicalise a batch; raises InputError (UnbalancedBatch) listing every problem."""
    prepared, check = prepare_batch_deferred(kind, source_id, postings, payments, period)
    check()
    return prepared


def prepare_batch_deferred(kind: str, source_id: str, postings, payments, period: int | None,
                           cast_payments: dict | None = None):
    """prepare_batch in two parts: (PreparedBatch, check). The header and the columns' shapes, types and names
    are checked at once (a problem raises prepare_batch's InputError here); the checks that read every value
    (bounds, codes, references, unique payments, the balance) and debit_minor wait for `check()`, which raises
    exactly what prepare_batch raises, or sets debit_minor. Until check() returned, the batch must not commit:
    the ledger streams the postings to the database while check() runs on another core. `cast_payments`: what
    payments_first made of `payments` (their columns sound), taken as they are instead of cast again."""
    where = f"batch {kind}/{source_id}"
    columns = postings.arrays() if isinstance(postings, PostingsBuilder) else dict(postings)
    if period is None and isinstance(postings, PostingsBuilder):
        period = postings.period
    header_problems = _header_problems(where, kind, source_id, period)
    cast, column_problems = _cast_postings(where, columns, period)
    pay, pay_problems = (cast_payments, []) if cast_payments is not None else _cast_payments(where, payments)
    if header_problems or column_problems or pay_problems:
        # every problem, in prepare_batch's order: a column's values are checked once its shape is sound
        raise InputError(header_problems + (column_problems or _range_problems(where, cast)) +
                         (pay_problems or _payment_problems(where, pay)))
    prepared = PreparedBatch(kind=kind, source_id=source_id, period=int(period), **cast, **pay, debit_minor=-1)

    def check() -> None:
        found = _range_problems(where, cast) + _payment_problems(where, pay)
        if found:
            raise InputError(found)
        _check_balanced(where, prepared.amount_minor)
        prepared.debit_minor = int(prepared.amount_minor[prepared.amount_minor > 0].sum())

    return prepared, check


def payments_first(kind: str, source_id: str, payments, period: int | None) -> dict | None:
    """The payments' canonical columns (pay_refs, pay_payee, pay_amount) when they may be written before the
    postings are known: the header and the payment columns are sound. None otherwise (no payments, a header or
    payment problem): the batch is then prepared whole first and refused exactly as prepare_batch refuses. Their
    values are checked later, with the postings' (prepare_batch_deferred's check), before anything commits."""
    where = f"batch {kind}/{source_id}"
    if payments is None or _header_problems(where, kind, source_id, period):
        return None
    pay, problems = _cast_payments(where, payments)
    return None if problems else pay


def _header_problems(where, kind, source_id, period) -> list:
    problems = []
    if kind not in schema.BATCH_KINDS:
        problems.append(problem(where, None, "kind", kind, "unknown batch kind",
                                f"use one of {', '.join(schema.BATCH_KINDS)}"))
    if not isinstance(source_id, str) or not source_id or len(source_id) > 200:
        problems.append(problem(where, None, "source_id", source_id, "source id must be 1-200 characters",
                                "pass the payroll id or the file's sha256"))
    if period is None or not 0 <= int(period) < 12 * 200:
        problems.append(problem(where, None, "period", period, "period must be a month index (1970-2169)",
                                "pass period as YYYY-MM or engine.months.month_index"))
    return problems


def _cast_postings(where, columns: dict, period) -> tuple[dict, list]:
    problems = []
    missing = [name for name in ("account_kind", "account_key", "component", "amount_minor") if name not in columns]
    if missing:
        return {}, [problem(where, None, name, None, "posting column missing", "pass it") for name in missing]
    count = len(np.asarray(columns["amount_minor"]).reshape(-1))
    if count == 0:
        return {}, [problem(where, None, "amount_minor", 0, "a batch needs at least one posting", "add postings")]
    defaults = dict(OPTIONAL_DEFAULTS, period=period, month=period)
    raw = {name: np.asarray(columns.get(name, defaults.get(name))) for name in
           ("account_kind", "account_key", "right_id", "payee_id", "period", "month", "component",
            "amount_minor", "payment_ref")}
    raw = {name: np.broadcast_to(value, (count,)) if value.ndim == 0 else value for name, value in raw.items()}
    for name, value in raw.items():
        if len(value) != count:
            problems.append(problem(where, None, name, len(value), f"column has {len(value)} rows, expected {count}",
                                    "pass equal-length arrays"))
    if problems:
        return {}, problems
    cast = {}
    try:
        cast["account_kind"] = account_codes(raw["account_kind"])
        cast["component"] = component_codes(raw["component"])
        cast["payment_ref"] = refs_to_fixed(raw["payment_ref"])
    except ValueError as exc:
        return {}, [problem(where, None, None, None, str(exc), "use the names of ledgers.schema")]
    for name, dtype in (("account_key", np.int64), ("right_id", np.int64), ("payee_id", np.int64),
                        ("period", np.int32), ("month", np.int32), ("amount_minor", np.int64)):
        if raw[name].dtype.kind not in "iu":
            problems.append(problem(where, None, name, raw[name].dtype, "must be integers", "cast to int64"))
        else:
            cast[name] = np.ascontiguousarray(raw[name], dtype)  # no copy when already contiguous and canonical
    if problems:
        return {}, problems
    cast["posting_period"] = cast.pop("period")
    return cast, problems


PROBLEMS_PER_CHECK = 20


def _range_problems(where, cast: dict) -> list:
    problems = []
    bounds = (  # column, lowest and highest allowed value, rule
        ("amount_minor", -AMOUNT_MINOR_MAX, AMOUNT_MINOR_MAX, "amount beyond AMOUNT_MINOR_MAX"),
        ("right_id", 0, ID_MAX, "ids are 0 (none) to 10^15"),
        ("payee_id", 0, ID_MAX, "ids are 0 (none) to 10^15"),
        ("account_key", 0, ID_MAX, "account keys are 0 to 10^15"),
        ("month", 0, MONTH_INDEX_MAX, "month index out of range"),
    )
    checks = [
        ("account_kind", np.flatnonzero(~_known_codes(cast["account_kind"], schema.ACCOUNT.values())),
         "unknown account kind"),
        ("component", np.flatnonzero(~_known_codes(cast["component"], schema.COMPONENT.values())),
         "unknown component code"),
    ]
    for column, low, high, rule in bounds:
        found = np.empty(PROBLEMS_PER_CHECK, np.int64)  # one pass, no temporary masks over millions of rows
        checks.append((column, found[:rows_outside(cast[column], low, high, found)], rule))
    for column, rows, rule in checks:
        for row in rows[:PROBLEMS_PER_CHECK]:
            problems.append(problem(where, int(row) + 1, column, cast[column][row], rule, "fix the payroll output"))
    if not refs_printable(cast["payment_ref"]):
        problems.append(problem(where, None, "payment_ref", None, "references must be printable ASCII",
                                "use the EndToEndId character set"))
    return problems


def _known_codes(codes: np.ndarray, known) -> np.ndarray:
    """Membership of int16 codes in `known` through a 65,536-entry lookup table (np.isin sorts)."""
    table = np.zeros(1 << 16, bool)
    table[np.array(list(known), np.int16).view(np.uint16)] = True
    return table[np.ascontiguousarray(codes, np.int16).view(np.uint16)]


def _cast_payments(where, payments) -> tuple[dict, list]:
    if payments is None:
        empty = {"pay_refs": refs_to_fixed(np.zeros(0, "S1")), "pay_payee": np.zeros(0, np.int64),
                 "pay_amount": np.zeros(0, np.int64)}
        return empty, []
    try:
        refs = refs_to_fixed(payments["payment_ref"])
        payee = np.ascontiguousarray(np.asarray(payments["payee_id"], np.int64))
        amount = np.ascontiguousarray(np.asarray(payments["amount_minor"], np.int64))
    except (KeyError, ValueError, TypeError) as exc:
        return {}, [problem(where, None, "payments", None, f"payments unreadable: {exc}",
                            "pass payment_ref, payee_id, amount_minor arrays")]
    problems = []
    if not len(refs) == len(payee) == len(amount):
        problems.append(problem(where, None, "payments", None, "payment columns differ in length", "fix them"))
    return {"pay_refs": refs, "pay_payee": payee, "pay_amount": amount}, problems


def _payment_problems(where, pay: dict) -> list:
    """The checks of every payment value (_cast_payments checked the columns' lengths agree)."""
    refs, amount = pay["pay_refs"], pay["pay_amount"]
    if (refs == b"").any() or not refs_printable(refs) or not rows_unique(ref_matrix(refs)):
        return [problem(where, None, "payment_ref", None, "payment references must be unique, non-empty printable "
                        "ASCII", "use the EndToEndId of each payment")]
    if (np.abs(amount) > AMOUNT_MINOR_MAX).any():
        return [problem(where, None, "amount_minor", None, "payment amount beyond AMOUNT_MINOR_MAX",
                        "fix the payroll output")]
    return []


def _check_balanced(where, amount: np.ndarray) -> None:
    # chunked int64 sums combined as Python ints: no overflow whatever the batch size
    total = sum(int(amount[i:i + SUM_CHUNK_ROWS].sum()) for i in range(0, len(amount), SUM_CHUNK_ROWS))
    if total != 0:
        raise UnbalancedBatch([problem(where, None, "amount_minor", total, "postings of a batch must sum to zero "
                                       "(debits positive, credits negative)", "add the missing legs")])
