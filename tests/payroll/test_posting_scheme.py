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
