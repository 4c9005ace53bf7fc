"""Inclusion proofs: accepted offline against the digest, refused when forged or against another ledger."""
import copy
import json

import pytest

from formats.errors import UserError
from ledgers.proofs import check_proof, prove


@pytest.fixture
def chain(ledger, approve):
    return [approve(ledger, 660 + index, 11, seed=index) for index in range(3)]


def test_proof_holds_against_the_head_and_against_the_batch_hash(ledger, chain):
    proof = prove(ledger, "ISP-661-1-7")
    assert proof["batch"]["batch_id"] == 2 and len(proof["later_batches"]) == 1
    ok, message = check_proof(json.loads(json.dumps(proof)), ledger.digest())
    assert ok, message
    assert check_proof(proof, chain[1].hash)[0]  # an auditor who saved the digest right after batch 2
    assert not check_proof(proof, chain[0].hash)[0]  # a digest from before the payment cannot vouch for it


def test_every_leaf_of_an_odd_tree_proves(ledger, chain):
    for right in range(1, 12):
        assert check_proof(prove(ledger, f"ISP-662-2-{right}"), ledger.digest())[0]


@pytest.mark.parametrize("forge", [
    lambda p: p["payment"].update(amount_minor=p["payment"]["amount_minor"] + 1),
    lambda p: p["payment"].update(payee_id=p["payment"]["payee_id"] + 1),
    lambda p: p["payment"].update(payment_ref="ISP-661-1-8"),
    lambda p: p["path"][0].update(hash="00" * 32),
    lambda p: p["path"][0].update(side="left" if p["path"][0]["side"] == "right" else "right"),
    lambda p: p["batch"].update(n_postings=p["batch"]["n_postings"] + 1),
    lambda p: p["later_batches"][0].update(postings_sha256="11" * 32),
    lambda p: p.pop("path"),
], ids=["amount", "payee", "ref", "sibling", "side", "header", "later", "malformed"])
def test_forged_proof_is_refused(ledger, chain, forge):
    proof = copy.deepcopy(prove(ledger, "ISP-661-1-3"))
    forge(proof)
    ok, message = check_proof(proof, ledger.digest())
    assert not ok and message


def test_unknown_payment(ledger, chain):
    with pytest.raises(UserError, match="no payment"):
        prove(ledger, "NOPE")
