"""Maintenance advances in a payroll: the claim on the debtor that each advance books, and its recovery.

An advance (a right of kind maintenance_advance, engine/advances.py) is paid to the child's carer like any
benefit. What approval recognises for it (its due and arrears) is also a claim on the debtor parent named by the
maintenance title in force in that month: posted in the same approval batch as `advance` (Dr advances
receivable, key the debtor's person_id; Cr advances recoverable). A reduction of an advance already booked (a
negative difference: the title was ended back in time, the family's income changed) takes the claim back from
the debtor it was booked on, never more than was booked for that right and month (read from the ledger).

Recovery: the debtor's claim still open in the ledger is recovered from every right whose beneficiary is the
debtor (a benefit is its beneficiary's income, whoever it is paid to), as a deduction `advance_recovery`
(engine.deductions: after the priority-1 orders, as alimony for a minor), posted Dr benefits payable / Cr advances
receivable: the money stays with the fund, nothing is forwarded. The balance comes from the ledger, so a second
payroll of the month or a later month never recovers more than is owed.
"""
from typing import NamedTuple

import numpy as np

from engine.advances import title_of_cells
from engine.months import month_first_date
from formats.keys import index_of
from payroll.ledger_state import LedgerState


class Claims(NamedTuple):
    """Advance claims booked or taken back by this payroll, one row per (right index, month)."""
    right: np.ndarray          # dense right index
    month: np.ndarray          # month index of the advance
    amount_minor: np.ndarray   # > 0: booked on the debtor; < 0: taken back
    debtor_id: np.ndarray      # person_id of the debtor


class RecoveryGroups(NamedTuple):
    """Per right the debtor claim it recovers (index into the balances, -1: none), and per debtor its balance."""
    group: np.ndarray          # int64 per right
    debtor_id: np.ndarray      # int64 per group
    balance_minor: np.ndarray  # int64 per group: still owed according to the ledger


def empty_claims() -> Claims:
    empty = np.zeros(0, np.int64)
    return Claims(empty, empty, empty, empty)


def advance_rights(arrays, catalogue) -> np.ndarray:
    """Per right: its benefit is a maintenance advance."""
    kinds = np.array([b.kind == "maintenance_advance" for b in catalogue.benefits] + [False])
    return kinds[np.asarray(arrays.right_benefit, np.int64)]


def claims_of(arrays, catalogue, state: LedgerState, period: int, diff_right, diff_month, diff_minor) -> Claims:
    """The claims this payroll books (positive differences of advance rights, on the title's debtor of their
    month) and takes back (negative differences, on the debtor booked for that right and month, at most what
    is booked)."""
    is_advance = advance_rights(arrays, catalogue)
    if not is_advance.any():
        return empty_claims()
    cells = np.flatnonzero(is_advance[diff_right] & (diff_minor != 0))
    right, month, amount = diff_right[cells], diff_month[cells], diff_minor[cells]
    end_day = (month_first_date(period + 1) - month_first_date(0)).days - 1
    booked = amount > 0
    title = title_of_cells(arrays, right[booked], month[booked], end_day)
    has = title >= 0
    debtor = arrays.titles.debtor_ids[title[has]] if has.any() else np.zeros(0, np.int64)
    back_right, back_month, back_amount, back_debtor = taken_back(arrays, state, right[~booked], month[~booked],
                                                                  amount[~booked])
    return Claims(np.concatenate([right[booked][has], back_right]), np.concatenate([month[booked][has], back_month]),
                  np.concatenate([amount[booked][has], back_amount]), np.concatenate([debtor, back_debtor]))


def taken_back(arrays, state: LedgerState, right, month, amount):
    """(right, month, -amount taken back, debtor) of negative differences against the claims the ledger booked
    for the same right and month (a right's claims of one month lie on one debtor: one title per child)."""
    booked_right = index_of(arrays.right_ids, state.advance_booked_right)  # -1: a right no longer in the register
    known = booked_right >= 0
    booked_key = (booked_right[known] << 20) | state.advance_booked_month[known]  # months < 2**17
    booked_minor, booked_debtor = state.advance_booked_minor[known], state.advance_booked_debtor[known]
    order = np.argsort(booked_key, kind="stable")
    booked_key, booked_minor, booked_debtor = booked_key[order], booked_minor[order], booked_debtor[order]
    key = (right.astype(np.int64) << 20) | month.astype(np.int64)
    position = np.clip(np.searchsorted(booked_key, key), 0, max(booked_key.shape[0] - 1, 0))
    found = booked_key[position] == key if booked_key.shape[0] else np.zeros(key.shape[0], bool)
    booked = np.where(found, booked_minor[position] if booked_key.shape[0] else 0, 0)
    back = np.minimum(-amount, np.maximum(booked, 0))
    keep = back > 0
    return right[keep], month[keep], -back[keep], booked_debtor[position[keep]]


def recovery_groups(arrays, version: np.ndarray, state: LedgerState, claims: Claims) -> RecoveryGroups:
    """Per right (by the beneficiary of its version in force) the open claim on that person, if any: the ledger's
    balance less what this payroll takes back (a claim taken back is never recovered in the same month)."""
    back = claims.amount_minor < 0
    debtor_id = np.union1d(state.advance_debtor, claims.debtor_id[back]).astype(np.int64)
    balance = np.zeros(debtor_id.shape[0], np.int64)
    np.add.at(balance, np.searchsorted(debtor_id, state.advance_debtor), state.advance_minor)
    np.add.at(balance, np.searchsorted(debtor_id, claims.debtor_id[back]), claims.amount_minor[back])
    owed = balance > 0
    debtor_id, balance = debtor_id[owed], balance[owed]
    group = np.full(arrays.n_rights, -1, np.int64)
    if debtor_id.shape[0] and arrays.n_rights:
        person_id = arrays.person_ids[arrays.ver_person[version]]
        position = np.clip(np.searchsorted(debtor_id, person_id), 0, debtor_id.shape[0] - 1)
        found = debtor_id[position] == person_id
        group[found] = position[found]
    return RecoveryGroups(group, debtor_id, balance)
