"""Inclusion proofs: show one payment is in the ledger, checkable offline against the auditor's digest.

A proof carries the payment (reference, payee, amount), its Merkle path to the batch's root, the batch header
with its previous hash and postings digest, and the header, postings digest and Merkle root of every later
batch. check_proof rebuilds the root from the leaf, the batch hash from the root, and the chain forward; the
proof holds only if the chain passes through the given digest. No database is needed to check it.
"""
import hashlib
import json

from formats.errors import UserError
from ledgers.canonical import (batch_hash, header_of, leaf_hashes, leaf_records, merkle_levels, merkle_path,
                               refs_to_fixed, root_from_path)
from ledgers.store import Ledger

PROOF_FORMAT = "isplata-inclusion-proof/1"


def prove(ledger: Ledger, payment_ref: str, batch_id: int | None = None) -> dict:
    """Proof that payment `payment_ref` is in batch `batch_id` (default: the latest batch that holds it)."""
    where = "payment_ref = ?" + (" AND batch_id = ?" if batch_id is not None else "")
    params = (payment_ref,) if batch_id is None else (payment_ref, int(batch_id))
    with ledger._reading() as raw:
        row = raw.execute(ledger._q(f"SELECT batch_id, leaf FROM ledger_payments WHERE {where} "
                                    "ORDER BY batch_id DESC LIMIT 1"), params).fetchone()
    if row is None:
        raise UserError(f"no payment {payment_ref!r} in the ledger" +
                        ("" if batch_id is None else f" batch {batch_id}"))
    found_batch, leaf = int(row[0]), int(row[1])
    payments = ledger.read_payments(found_batch)
    levels = merkle_levels(leaf_hashes(payments["payment_ref"], payments["payee_id"], payments["amount_minor"]))
    chain = [batch for batch in ledger.batches() if batch.batch_id >= found_batch]
    target = chain[0]
    return {
        "format": PROOF_FORMAT,
        "payment": {"payment_ref": payment_ref, "payee_id": int(payments["payee_id"][leaf]),
                    "amount_minor": int(payments["amount_minor"][leaf])},
        "leaf_index": leaf,
        "leaf_count": len(levels[0]),
        "path": merkle_path(levels, leaf),
        "batch": {**target.header(), "prev_hash": target.prev_hash, "postings_sha256": target.postings_sha256},
        "later_batches": [{**batch.header(), "postings_sha256": batch.postings_sha256,
                           "merkle_root": batch.merkle_root} for batch in chain[1:]],
        "digest": chain[-1].hash,
    }


def check_proof(proof: dict, digest: str) -> tuple[bool, str]:
    """(True, message) if the proof's payment is committed in a chain that reaches `digest`; else (False, why)."""
    try:
        return _check(proof, digest.strip().lower())
    except (KeyError, TypeError, ValueError) as exc:
        return False, f"malformed proof: {exc}"


def _check(proof: dict, digest: str) -> tuple[bool, str]:
    if proof.get("format") != PROOF_FORMAT:
        return False, f"not an {PROOF_FORMAT} document"
    payment = proof["payment"]
    leaf = hashlib.sha256(leaf_records(refs_to_fixed([payment["payment_ref"]]), [int(payment["payee_id"])],
                                       [int(payment["amount_minor"])])).digest()
    root = root_from_path(leaf, proof["path"]).hex()
    batch = proof["batch"]
    header = header_of(batch)
    current = batch_hash(batch["prev_hash"], header, batch["postings_sha256"], root)
    if current == digest:
        return True, f"payment {payment['payment_ref']} is in batch {batch['batch_id']}, the digest's batch"
    expected_id = int(batch["batch_id"]) + 1
    for later in proof["later_batches"]:
        if int(later["batch_id"]) != expected_id:
            return False, f"later batches are not consecutive at batch {later['batch_id']}"
        current = batch_hash(current, header_of(later), later["postings_sha256"],
                             later["merkle_root"])
        if current == digest:
            return True, (f"payment {payment['payment_ref']} is in batch {batch['batch_id']}; the chain reaches "
                          f"the digest at batch {later['batch_id']}")
        expected_id += 1
    return False, "the chain built from this proof never reaches the digest (forged or for another ledger)"


def load_proof(path) -> dict:
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def write_proof(proof: dict, path) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(proof, handle, indent=2, sort_keys=True)
        handle.write("\n")
