"""Money invariants of payroll.compute and payroll.postings raise ConservationError (kept under python -O, unlike
assert): a payment whose lines do not sum to its net, lines out of payment order, a non-positive posting."""
import subprocess
import sys

import numpy as np
import pytest

from engine.payroll_kernel import ConservationError
from payroll import postings
from payroll.compute import check_payments_equal_lines
from payroll.lines import LineColumns


def columns(payment, amount):
    n = len(payment)
    zeros = np.zeros(n, np.int64)
    return LineColumns(zeros, zeros, zeros.astype(np.int8), zeros, zeros.astype(np.int8),
                       np.array(amount, np.int64), np.array(payment, np.int64))


def test_payments_equal_their_lines():
    check_payments_equal_lines(columns([0, 0, 1, -1], [500, -100, 70, -3]), np.array([400, 70]))
    with pytest.raises(ConservationError, match="payment 1 nets 71 but its lines sum to 70"):
        check_payments_equal_lines(columns([0, 0, 1, -1], [500, -100, 70, -3]), np.array([400, 71]))
    with pytest.raises(ConservationError, match="out of payment order"):
        check_payments_equal_lines(columns([0, -1, 1], [5, 1, 7]), np.array([5, 7]))
    with pytest.raises(ConservationError, match="without lines"):
        check_payments_equal_lines(columns([0], [5]), np.array([5, 7]))


def test_postings_refuse_non_positive_amounts():
    with pytest.raises(ConservationError, match="only positive amounts"):
        postings.legs(1, 0, 2, 0, np.array([5, 0]), "due", 1, 1, 600, "")


def test_checks_survive_python_O():
    code = ("import numpy as np; from payroll.compute import check_payments_equal_lines;"
            "from tests.payroll.test_compute_invariants import columns\n"
            "try:\n    check_payments_equal_lines(columns([0], [5]), np.array([6]))\n"
            "except AssertionError as exc:\n    print(type(exc).__name__)")
    out = subprocess.run([sys.executable, "-O", "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "ConservationError"
