"""Payroll ids, EndToEndIds and MsgIds: deterministic, parseable, within 35 SEPA-safe characters."""
import pytest

from engine.months import parse_period
from payroll import ids


def test_payroll_id_layout_and_parse_round_trip():
    identifier = ids.payroll_id("me", parse_period("2025-01"), 3)
    assert identifier == "ME-202501-03"
    assert ids.parse_payroll_id(identifier) == ("ME", parse_period("2025-01"), 3)
    assert ids.parse_payroll_id("ME-2025-01") is None
    assert ids.payroll_id("ua", parse_period("2031-12"), 123) == "UA-203112-123"


def test_payment_refs_are_unique_valid_and_point_back_to_their_payroll():
    refs = ids.payment_refs("RS-202604-01", 1200).to_pylist()
    assert refs[0] == "RS-202604-01-0000001" and refs[-1] == "RS-202604-01-0001200"
    assert len(set(refs)) == 1200 and all(ids.is_valid_ref(ref) for ref in refs)
    assert {ids.payroll_of_ref(ref) for ref in refs} == {"RS-202604-01"}
    assert ids.payroll_of_ref("NOTOURS-1") is None


def test_msg_ids_and_reference_rules():
    assert ids.msg_id("ME-202501-01", "bank", 2) == "ME-202501-01-B002"
    assert ids.msg_id("ME-202501-01", "post", 1) == "ME-202501-01-P001"
    assert not ids.is_valid_ref("A" * 36) and not ids.is_valid_ref("ME--1") and not ids.is_valid_ref("-ME")
    with pytest.raises(AssertionError):
        ids.payroll_id("MNE", parse_period("2025-01"), 1)
