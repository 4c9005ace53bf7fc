"""Batch preparation: codes, broadcasting, and every refusal reported before anything is written."""
import numpy as np
import pytest

from formats.errors import InputError
from ledgers import COMPONENT, PostingsBuilder, UnbalancedBatch, component_codes
from ledgers.postings import prepare_batch


def test_builder_transfer_is_balanced_and_broadcasts():
    builder = PostingsBuilder(660)
    builder.add_transfer(("benefit_expense", 2), ("benefits_payable", np.array([5, 6, 7])),
                         np.array([100, 200, 300]), "due", right_id=np.array([1, 2, 3]), payee_id=np.array([5, 6, 7]),
                         payment_ref="REF-1")
    columns = builder.arrays()
    assert len(builder) == 6
    assert columns["amount_minor"].tolist() == [100, 200, 300, -100, -200, -300]
    assert columns["account_key"].tolist() == [2, 2, 2, 5, 6, 7]
    assert columns["month"].tolist() == [660] * 6
    assert set(columns["component"].tolist()) == {COMPONENT["due"]}
    prepared = prepare_batch("approve", "PR-1", builder, None, None)
    assert prepared.period == 660 and prepared.debit_minor == 600 and prepared.n_postings == 6


def test_component_names_and_codes():
    expected = [COMPONENT["due"], COMPONENT["payment"], COMPONENT["due"]]
    assert component_codes(["due", "payment", "due"]).tolist() == expected
    with pytest.raises(ValueError, match="unknown component"):
        component_codes(["bonus"])


def test_unbalanced_batch_names_the_difference():
    builder = PostingsBuilder(660)
    builder.add("benefit_expense", 1, [100, 50], "due")
    builder.add("benefits_payable", 9, [-100], "due")
    with pytest.raises(UnbalancedBatch) as caught:
        prepare_batch("approve", "PR-1", builder, None, None)
    assert caught.value.problems[0].value == "50"


def test_all_problems_collected():
    postings = {"account_kind": np.array([4, 99]), "account_key": np.array([1, -1]),
                "component": np.array([1, 1]), "amount_minor": np.array([10**14, -10**14]),
                "payment_ref": np.array(["ok", "bad\tref"])}
    with pytest.raises(InputError) as caught:
        prepare_batch("bogus", "", postings, None, 660)
    rules = " | ".join(p.rule for p in caught.value.problems)
    for expected in ("unknown batch kind", "source id", "unknown account kind", "AMOUNT_MINOR_MAX",
                     "account keys", "printable ASCII"):
        assert expected in rules


def test_payments_must_be_unique():
    builder = PostingsBuilder(660)
    builder.add_transfer(("benefit_expense", 1), ("benefits_payable", 2), [5], "due")
    payments = {"payment_ref": ["A", "A"], "payee_id": [2, 2], "amount_minor": [5, 5]}
    with pytest.raises(InputError, match="unique"):
        prepare_batch("approve", "PR-1", builder, payments, None)
