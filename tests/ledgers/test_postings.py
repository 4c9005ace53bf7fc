"""Batch preparation: codes, broadcasting, and every refusal reported before anything is written."""
import numpy as np
import pytest

from formats.errors import InputError
from ledgers import COMPONENT, PostingsBuilder, UnbalancedBatch, component_codes
from ledgers.postings import prepare_batch, prepare_batch_deferred


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


def _bad_values_batch():
    """A batch whose shape is sound and whose values break several rules at once."""
    builder = PostingsBuilder(660)
    builder.add_transfer(("benefit_expense", 1), ("benefits_payable", 2), [5, 7], "due", payment_ref=["A", "B"])
    columns = builder.arrays()
    columns["account_kind"][0] = 99
    columns["payment_ref"][1] = b"bad\tref"
    payments = {"payment_ref": ["A", "A"], "payee_id": [2, 2], "amount_minor": [5, 7]}
    return columns, payments


def test_deferred_checks_raise_what_prepare_batch_raises():
    columns, payments = _bad_values_batch()
    prepared, check = prepare_batch_deferred("approve", "PR-1", columns, payments, 660)  # shape sound: no raise
    assert prepared.n_postings == 4 and prepared.n_payments == 2
    with pytest.raises(InputError) as deferred:
        check()
    rules = [p.rule for p in deferred.value.problems]
    assert rules == ["unknown account kind", "references must be printable ASCII",
                     "payment references must be unique, non-empty printable ASCII"]
    with pytest.raises(InputError) as whole:
        prepare_batch("approve", "PR-1", columns, payments, 660)
    assert [str(p) for p in whole.value.problems] == [str(p) for p in deferred.value.problems]


def test_a_shape_problem_raises_at_once_with_every_value_problem_in_order():
    columns, payments = _bad_values_batch()
    with pytest.raises(InputError) as caught:
        prepare_batch_deferred("bogus", "PR-1", columns, payments, 660)
    assert [p.rule for p in caught.value.problems] == [
        "unknown batch kind", "unknown account kind", "references must be printable ASCII",
        "payment references must be unique, non-empty printable ASCII"]
    short = dict(payments, payee_id=[2])
    with pytest.raises(InputError) as caught:
        prepare_batch_deferred("approve", "PR-1", columns, short, 660)
    assert [p.rule for p in caught.value.problems] == [
        "unknown account kind", "references must be printable ASCII", "payment columns differ in length"]


def test_deferred_check_sets_the_debit_once_the_batch_balances():
    builder = PostingsBuilder(660)
    builder.add_transfer(("benefit_expense", 1), ("benefits_payable", 2), [5, 7], "due")
    prepared, check = prepare_batch_deferred("approve", "PR-1", builder, None, None)
    check()
    assert prepared.debit_minor == 12 == prepare_batch("approve", "PR-1", builder, None, None).debit_minor
    columns = builder.arrays()
    columns["amount_minor"][0] += 1
    _, check = prepare_batch_deferred("approve", "PR-1", columns, None, 660)
    with pytest.raises(UnbalancedBatch):
        check()
