"""The posting scheme: approval batches balance by construction and recognise due + arrears - overpayments;
export groups settle exactly the payments; the HTML report is self-contained."""
from collections import Counter

import numpy as np
import pyarrow as pa
import pytest

from formats.schemas import PAYROLL_LINES
from ledgers.schema import ACCOUNT
from payroll import postings

JAN, FEB = 19358, 19389  # 2023-01-01 and 2023-02-01 as days


def lines_table(rows):
    names = [field.name for field in PAYROLL_LINES]
    return pa.Table.from_pylist([dict(zip(names, row)) for row in rows], schema=PAYROLL_LINES)


LINES = lines_table([
    ("P", 1, "ME_MO", 10, "bank", FEB, "due", 5_000, "P-1"),
    ("P", 1, "ME_MO", 10, "bank", JAN, "arrears", 4_000, "P-1"),
    ("P", 1, "ME_MO", 10, "bank", FEB, "alimony", -2_000, "P-1"),
    ("P", 1, "ME_MO", 77, "post", FEB, "forwarded", 2_000, "P-2"),
    ("P", 2, "ME_DD", 11, "bank", JAN, "overpayment", -3_000, None),
    ("P", 2, "ME_DD", 11, "bank", FEB, "carry_out", -50, None),
    ("P", 2, "ME_DD", 11, "bank", FEB, "due", 50, None),
    ("P", 3, "ME_DD", 12, "post", FEB, "reissue", 700, "P-3"),
])
ORDERS = pa.table({"right_id": [1], "payee_id": [10], "kind": ["alimony"], "order_id": [5],
                   "creditor_payee_id": [77], "amount_minor": [2_000], "month": [np.int64(637)],
                   "payment_ref": ["P-1"]})


def test_approval_batch_balances_and_recognises_the_differences():
    batch = postings.approve_postings(LINES, ORDERS, {"ME_DD": 2, "ME_MO": 1})
    assert batch["amount_minor"].sum() == 0 and (batch["amount_minor"] != 0).all()
    expense = batch["account_kind"] == ACCOUNT["benefit_expense"]
    by_right = {int(r): int(batch["amount_minor"][expense & (batch["right_id"] == r)].sum()) for r in (1, 2, 3)}
    assert by_right == {1: 9_000, 2: 50 - 3_000, 3: 0}
    receivable = batch["account_kind"] == ACCOUNT["overpayments_receivable"]
    assert batch["account_key"][receivable].tolist() == [2] and batch["amount_minor"][receivable].sum() == 3_000
    creditor = batch["account_kind"] == ACCOUNT["deductions_payable"]
    assert batch["account_key"][creditor].tolist() == [77] and batch["amount_minor"][creditor].sum() == -2_000
    returned = batch["account_kind"] == ACCOUNT["returned_awaiting_reissue"]
    assert batch["amount_minor"][returned].sum() == 700


def test_export_groups_settle_each_payment_from_its_payable():
    groups = postings.sent_groups(LINES)
    sent = dict(zip(groups.column("payment_ref").to_pylist(), groups.column("amount_minor_sum").to_pylist()))
    assert sent == {"P-1": 7_000, "P-2": 2_000, "P-3": 700}
    batch = postings.export_postings(groups)
    assert batch["amount_minor"].sum() == 0
    transit = batch["account_kind"] == ACCOUNT["in_transit_post"]
    assert batch["amount_minor"][transit].tolist() == [-2_700]  # one credit for the channel's payments
    assert batch["amount_minor"][batch["account_kind"] == ACCOUNT["in_transit_bank"]].tolist() == [-7_000]
    assert batch["amount_minor"][batch["account_kind"] == ACCOUNT["deductions_payable"]].sum() == 2_000
    debits = batch["amount_minor"] > 0
    assert sorted(set(batch["payment_ref"][debits].tolist())) == [b"P-1", b"P-2", b"P-3"]
    assert (batch["right_id"][debits] > 0).all()  # a debit per payment and right
    assert (batch["payment_ref"][~debits] == b"").all() and (batch["right_id"][~debits] == 0).all()


def test_a_payment_of_two_rights_clears_each_rights_payable_and_transit_is_credited_per_channel():
    lines = lines_table([
        ("P", 4, "ME_MO", 20, "bank", FEB, "due", 3_000, "P-4"),
        ("P", 5, "ME_DD", 20, "bank", FEB, "due", 1_500, "P-4"),
        ("P", 5, "ME_DD", 20, "bank", JAN, "arrears", 500, "P-4"),
        ("P", 6, "ME_DD", 21, "post", FEB, "due", 900, "P-5"),
    ])
    batch = postings.export_postings(postings.sent_groups(lines))
    approve = postings.approve_postings(lines, ORDERS.slice(0, 0), {"ME_DD": 2, "ME_MO": 1})
    both = {name: np.concatenate([approve[name], batch[name]]) for name in ("account_kind", "account_key",
                                                                            "amount_minor")}
    payable = both["account_kind"] == ACCOUNT["benefits_payable"]
    assert {int(k): int(both["amount_minor"][payable & (both["account_key"] == k)].sum()) for k in (20, 21)} == \
        {20: 0, 21: 0}  # every payee's payable clears at export, as before
    rights = np.concatenate([approve["right_id"], batch["right_id"]])
    assert {int(r): int(both["amount_minor"][payable & (rights == r)].sum()) for r in (4, 5, 6)} == \
        {4: 0, 5: 0, 6: 0}  # and every right's
    debits = batch["amount_minor"] > 0
    assert sorted(set(batch["payment_ref"][debits].tolist())) == [b"P-4", b"P-5"]
    assert {ref: int(batch["amount_minor"][debits & (batch["payment_ref"] == ref)].sum())
            for ref in (b"P-4", b"P-5")} == {b"P-4": 5_000, b"P-5": 900}  # the sum of each payment's lines
    bank = batch["account_kind"] == ACCOUNT["in_transit_bank"]
    assert batch["amount_minor"][bank].tolist() == [-5_000]
    assert batch["amount_minor"][batch["account_kind"] == ACCOUNT["in_transit_post"]].tolist() == [-900]
    assert batch["amount_minor"].sum() == 0 and batch["amount_minor"].shape[0] == 3 + 2


def sums(batch: dict, keys: tuple) -> dict:
    out: dict = {}
    for row in zip(*(batch[name].tolist() for name in keys + ("amount_minor",))):
        out[row[:-1]] = out.get(row[:-1], 0) + row[-1]
    return {key: total for key, total in out.items() if total}


@pytest.mark.parametrize("credit_payments", [1, 2, 100_000])
def test_the_sent_batch_moves_every_balance_as_the_batch_per_payment_and_right(monkeypatch, credit_payments):
    monkeypatch.setattr(postings, "TRANSIT_CREDIT_PAYMENTS", credit_payments)
    rng = np.random.default_rng(7)
    rows = []
    for payment in range(40):
        payee, channel = int(rng.integers(1, 15)), ("bank", "post")[payment % 3 == 0]
        for right in sorted(rng.choice(np.arange(1, 60), int(rng.integers(1, 4)), replace=False).tolist()):
            rows.append(("P", right, "ME_DD", payee, channel, (FEB, JAN)[rng.random() < 0.2],
                         ("due", "arrears")[rng.random() < 0.1], int(rng.integers(1, 9_000)), f"P-{payment:03d}"))
            if rng.random() < 0.3:
                rows.append(("P", right, "ME_DD", payee, channel, JAN, "arrears", int(rng.integers(1, 500)),
                             f"P-{payment:03d}"))
            if rng.random() < 0.2:
                rows.append(("P", right, "ME_DD", payee, channel, FEB, "forwarded", int(rng.integers(1, 300)),
                             f"P-{payment:03d}"))
    groups = postings.sent_groups(lines_table(rows))
    new, old = postings.export_postings(groups), postings.export_postings_per_payment(groups)
    oldest = postings.export_postings_per_right(groups)
    assert new["amount_minor"].sum() == 0
    fewer = new["amount_minor"].shape[0] < old["amount_minor"].shape[0]
    assert fewer if credit_payments > 1 else new["amount_minor"].shape[0] == old["amount_minor"].shape[0]
    assert set(new["month"].tolist()) == set(old["month"].tolist()) == {637, 636}  # rights paid up to JAN or FEB
    for keys in (("account_kind", "account_key"), ("account_kind", "component"), ("account_kind",)):
        assert sums(new, keys) == sums(old, keys) == sums(oldest, keys)
    assert sums(new, ("account_kind", "account_key", "month")) == sums(old, ("account_kind", "account_key", "month"))

    def payable(batch):
        chosen = np.isin(batch["account_kind"], [ACCOUNT["benefits_payable"], ACCOUNT["deductions_payable"]])
        return {name: values[chosen] for name, values in batch.items()}
    for keys in (("account_kind", "account_key", "payment_ref"), ("account_kind", "payee_id"),
                 ("account_kind", "right_id"), ("account_kind", "right_id", "month", "payment_ref")):
        assert sums(payable(new), keys) == sums(payable(old), keys)  # per payment, payee and right as before
    transit = new["amount_minor"] < 0
    per_payment = old["amount_minor"] < 0  # the earlier scheme's credits: one per payment
    blocks = Counter(zip(old["account_kind"][per_payment].tolist(), old["month"][per_payment].tolist()))
    assert transit.sum() == sum(-(-count // credit_payments) for count in blocks.values())


def test_legs_refuse_non_positive_amounts():
    with pytest.raises(AssertionError):
        postings.legs(1, 0, 2, 0, np.array([5, 0]), "due", 1, 1, 600, "")


def random_paid_lines(seed: int, sorted_as_written: bool = True) -> list[tuple]:
    """Lines as calculate writes them (by payment; a payment's rights ascending, of one payee and channel), with
    forwarded lines, rights whose lines cancel out and months out of order inside a right."""
    rng = np.random.default_rng(seed)
    rows = []
    for payment in range(int(rng.integers(1, 30))):
        payee, channel = int(rng.integers(1, 9)), ("bank", "post")[int(rng.integers(0, 2))]
        for right in sorted(rng.choice(np.arange(1, 40), int(rng.integers(1, 4)), replace=False).tolist()):
            rows.append(("P", right, "ME_DD", payee, channel, FEB, "due", int(rng.integers(1_000, 2_000)),
                         f"P-{payment:03d}"))
            for _ in range(int(rng.integers(0, 5))):  # deductions never take more than the due
                component = ("due", "arrears", "forwarded", "alimony")[int(rng.integers(0, 4))]
                amount = int(rng.integers(1, 200)) * (-1 if component == "alimony" else 1)
                rows.append(("P", right, "ME_DD", payee, channel, (JAN, FEB)[int(rng.integers(0, 2))], component,
                             amount, f"P-{payment:03d}"))
        if rng.random() < 0.3:  # a right whose lines on this payment cancel out: no group
            rows += [("P", 100, "ME_DD", payee, channel, JAN, "carry_in", 40, f"P-{payment:03d}"),
                     ("P", 100, "ME_DD", payee, channel, FEB, "carry_out", -40, f"P-{payment:03d}")]
    if not sorted_as_written:
        order = rng.permutation(len(rows))
        rows = [rows[i] for i in order]
    return rows


def arrow_groups(rows) -> pa.Table:
    paid = postings._paid_lines(lines_table(rows))
    return postings._sent_groups_arrow(paid, postings.name_codes(paid.column("component"), ("forwarded",)) == 0)


@pytest.mark.parametrize("seed", range(12))
def test_the_one_pass_grouping_gives_the_groups_of_arrow_across_chunk_ends(seed):
    """engine.sent_groups passes the lines' chunks one after the other (a payment or a right may run across a
    chunk's end): its groups are those of the general Arrow grouping (the oracle), for lines in chunks cut
    anywhere; lines not as calculate writes them are grouped by Arrow itself."""
    rng = np.random.default_rng(seed)
    rows = random_paid_lines(seed, sorted_as_written=seed % 4 != 3)
    table = lines_table(rows)
    cuts = sorted(rng.choice(np.arange(1, len(rows)), min(len(rows) - 1, 3), replace=False).tolist()) \
        if len(rows) > 1 else []
    chunked = pa.Table.from_batches([table.slice(start, end - start).to_batches()[0] for start, end in
                                     zip([0] + cuts, cuts + [len(rows)]) if end > start])
    expected = arrow_groups(rows)
    grouped = postings._sent_group_arrays(postings._paid_lines(chunked))
    assert (grouped is None) == (seed % 4 == 3)  # shuffled lines: not as written, grouped by Arrow
    assert postings.sent_groups(chunked).equals(expected)
    got, want = postings.export_postings(postings.sent_groups(chunked)), postings.export_postings(expected)
    assert got.keys() == want.keys()
    for name in want:
        assert got[name].dtype == want[name].dtype and np.array_equal(got[name], want[name]), name


def test_a_negative_share_is_refused_by_the_one_pass_grouping():
    rows = [("P", 1, "ME_DD", 5, "bank", FEB, "due", 100, "P-1"), ("P", 1, "ME_DD", 5, "bank", FEB, "alimony", -150,
                                                                     "P-1")]
    with pytest.raises(postings.ConservationError, match="negative"):
        postings._sent_group_arrays(lines_table(rows))


def test_the_pass_stops_on_lines_not_as_calculate_writes_them():
    """An empty reference, references out of order, a second payee on a payment: NOT_AS_WRITTEN (the caller
    groups such lines the general way)."""
    from engine import sent_groups

    def run(refs, payees):
        n = len(refs)
        data = np.frombuffer("".join(refs).encode() or b"\0", np.uint8)
        offsets = np.cumsum([0] + [len(ref) for ref in refs]).astype(np.int32)
        state, current = sent_groups.new_state()
        outputs = [np.empty(n, dtype) for dtype in (np.int16, np.int64, np.int64, np.int8, np.int32, np.int64)]
        return sent_groups.group_sent_lines(
            offsets, data, np.arange(n, dtype=np.int64), np.array(payees, np.int64), np.zeros(n, np.int64),
            np.zeros(n, bool), np.full(n, 5, np.int64), np.zeros(n, np.int64), np.array([4, 5, 1], np.int64), True,
            state, current, *outputs, np.empty((n, sent_groups.REF_BYTES_MAX), np.uint8), np.empty(n, np.int64))

    assert run(["P-1", "P-1", "P-2"], [1, 1, 2]) == sent_groups.OK
    assert run(["P-1", "", "P-2"], [1, 1, 2]) == sent_groups.NOT_AS_WRITTEN
    assert run(["P-2", "P-1"], [1, 2]) == sent_groups.NOT_AS_WRITTEN
    assert run(["P-1", "P-1"], [1, 2]) == sent_groups.NOT_AS_WRITTEN


def test_a_first_run_groups_by_arrow_while_the_pass_compiles_elsewhere(monkeypatch):
    """While the warm-up compiles engine.sent_groups (a command's first run), the lines are grouped by Arrow without
    calling the pass, into the same groups; once it is ready (or with no background compile) the pass serves."""
    from engine import jit

    table = lines_table(random_paid_lines(5))
    expected = arrow_groups(random_paid_lines(5))
    monkeypatch.setattr(jit, "compiling_elsewhere", True)
    monkeypatch.setattr(jit, "is_ready", lambda dispatcher: False)
    assert postings._sent_group_arrays(postings._paid_lines(table)) is None
    assert postings.sent_groups(table).equals(expected)
    monkeypatch.setattr(jit, "is_ready", lambda dispatcher: True)
    assert postings._sent_group_arrays(postings._paid_lines(table)) is not None
    monkeypatch.setattr(jit, "compiling_elsewhere", False)
    monkeypatch.setattr(jit, "is_ready", lambda dispatcher: False)
    assert postings._sent_group_arrays(postings._paid_lines(table)) is not None
    assert postings.sent_groups(table).equals(expected)
