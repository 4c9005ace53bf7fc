"""Canonical bytes of the ledger and the hashes built on them: postings digest, Merkle tree, batch hash.

Everything an auditor needs to recompute a batch hash or check an inclusion proof lives here and needs no
database: postings are hashed column by column as little-endian fixed-width numpy arrays (payment references
as 35 NUL-padded ASCII bytes), the batch header as canonical JSON, and the batch hash chains the previous
batch hash, the header, the postings digest and the Merkle root of the batch's payments. Changing any of
these changes every later hash, so the head hash (the digest) vouches for the whole ledger.
"""
import hashlib
import json

import numpy as np

from ledgers.kernels import openssl_rows_ready, refs_well_formed, scatter_refs, sha256_rows_openssl

HASH_DOMAIN = b"isplata-ledger/1\n"
GENESIS_HASH = "0" * 64
REF_WIDTH = 35  # EndToEndId max length (ISO 20022 Max35Text)

# Column order and width are part of the format: changing either changes every hash.
POSTING_COLUMNS = (
    ("posting_id", "<i8"), ("batch_id", "<i8"), ("account_kind", "<i2"), ("account_key", "<i8"),
    ("right_id", "<i8"), ("payee_id", "<i8"), ("period", "<i4"), ("month", "<i4"),
    ("component", "<i2"), ("amount_minor", "<i8"), ("payment_ref", f"S{REF_WIDTH}"),
)
POSTING_INT_COLUMNS = tuple(name for name, dtype in POSTING_COLUMNS if dtype[1] == "i")
HEADER_FIELDS = ("batch_id", "kind", "source_id", "period", "booked_on", "created_us", "first_posting",
                 "n_postings", "n_payments", "debit_minor")
# Schema version 2: a batch may also commit to the record it posts (an approval: the SHA-256 of the payroll's
# row) and to the head of the event chain when it was written. They enter the header only when set, so every
# batch written without them (all of schema version 1) keeps its hash, and old digests and proofs stay valid.
OPTIONAL_HEADER_FIELDS = ("record_sha256", "events_head")
EVENT_DOMAIN = b"isplata-event/1\n"
LEAF_DTYPE = np.dtype([("tag", "u1"), ("ref", f"S{REF_WIDTH}"), ("payee_id", "<i8"), ("amount_minor", "<i8")])
EMPTY_MERKLE_ROOT = hashlib.sha256(b"isplata-merkle-empty").hexdigest()


def refs_to_fixed(refs) -> np.ndarray:
    """Any array of ASCII references (str, bytes or object) -> NUL-padded S35; ValueError if not ASCII or too long."""
    values = np.asarray(refs)
    if values.dtype.kind == "O":
        values = values.astype("U")
    if values.dtype.kind == "U":
        # UTF-32 code units viewed as integers: ASCII check and narrowing to bytes without a Python loop
        count, width = values.size, values.dtype.itemsize // 4
        codes = np.ascontiguousarray(values.reshape(-1)).view(np.uint32).reshape(count, width)
        if codes.size and int(codes.max()) > 127:
            raise ValueError("payment references must be ASCII")
        values = np.ascontiguousarray(codes.astype(np.uint8)).view(f"S{width}").reshape(count)
    if values.dtype.kind != "S":
        raise ValueError(f"payment references must be strings, got {values.dtype}")
    if values.dtype.itemsize > REF_WIDTH:
        longest = int(np.char.str_len(values).max()) if values.size else 0
        if longest > REF_WIDTH:
            raise ValueError(f"payment references are at most {REF_WIDTH} characters (found {longest})")
    return values.astype(f"S{REF_WIDTH}", copy=False)


def ref_matrix(refs_fixed: np.ndarray) -> np.ndarray:
    """S35 array -> (n, 35) uint8 view, the form kernels and checks work on."""
    return np.ascontiguousarray(refs_fixed).view(np.uint8).reshape(len(refs_fixed), REF_WIDTH)


def refs_printable(refs_fixed: np.ndarray) -> bool:
    """True if every reference is printable ASCII followed only by NUL padding (no NUL inside, no newline)."""
    return bool(refs_well_formed(ref_matrix(refs_fixed)))


def refs_from_concat(lengths: np.ndarray, data: bytes) -> np.ndarray:
    """Rebuild the S35 array from per-row byte lengths and the concatenated bytes (the database read path)."""
    matrix = np.zeros((len(lengths), REF_WIDTH), np.uint8)
    if not scatter_refs(np.asarray(lengths, np.int64), np.frombuffer(data, np.uint8), matrix):
        raise ValueError("payment reference bytes do not match their lengths")
    return matrix.view(f"S{REF_WIDTH}").reshape(len(lengths))


def canonical_columns(columns: dict) -> dict:
    """Cast every posting column to its canonical dtype (a copy only where the dtype differs)."""
    out = {}
    for name, dtype in POSTING_COLUMNS:
        out[name] = np.ascontiguousarray(np.asarray(columns[name]).astype(dtype, copy=False))
    return out


def postings_sha256(columns: dict) -> str:
    """SHA-256 over the canonical columns in the fixed order, each prefixed by its name and row count."""
    canon = canonical_columns(columns)
    count = len(canon["posting_id"])
    digest = hashlib.sha256(b"postings\0" + count.to_bytes(8, "little"))
    for name, _ in POSTING_COLUMNS:
        assert len(canon[name]) == count, name
        digest.update(name.encode() + b"\0")
        digest.update(memoryview(canon[name]).cast("B"))
    return digest.hexdigest()


def header_of(batch: dict) -> dict:
    """The hashed header fields of a batch (or proof entry): HEADER_FIELDS, and the optional ones when set."""
    header = {name: batch[name] for name in HEADER_FIELDS}
    header.update({name: batch[name] for name in OPTIONAL_HEADER_FIELDS if batch.get(name)})
    return header


def header_bytes(header: dict) -> bytes:
    """Canonical JSON of the batch header (sorted keys, no spaces, ASCII)."""
    return canonical_json(header_of(header))


def canonical_json(value) -> bytes:
    """Sorted keys, no spaces, ASCII: the one byte form of every JSON document that is hashed."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def record_sha256(row: dict) -> str:
    """SHA-256 of a table row (column -> value) as canonical JSON: what a batch commits to for a payroll."""
    return hashlib.sha256(b"isplata-record/1\n" + canonical_json(row)).hexdigest()


def event_hash(prev_hash: str, event_id: int, kind: str, subject: str, payload: str, created_us: int) -> str:
    """Hash of one event chained to the previous one; the payload is hashed as the stored JSON text."""
    content = {"event_id": int(event_id), "kind": kind, "subject": subject, "payload": payload,
               "created_us": int(created_us)}
    return hashlib.sha256(EVENT_DOMAIN + bytes.fromhex(prev_hash) + canonical_json(content)).hexdigest()


def batch_hash(prev_hash: str, header: dict, postings_digest: str, merkle_root: str) -> str:
    digest = hashlib.sha256(HASH_DOMAIN)
    digest.update(bytes.fromhex(prev_hash))
    digest.update(header_bytes(header))
    digest.update(bytes.fromhex(postings_digest))
    digest.update(bytes.fromhex(merkle_root))
    return digest.hexdigest()


# ---- Merkle tree over a batch's payments ---------------------------------------------------------------------

OPENSSL_ROWS_MIN = 64  # below this, hashlib's per-row calls cost less than a first look for libcrypto


def sha256_rows(messages: np.ndarray) -> np.ndarray:
    """SHA-256 of every row of a (rows, width) uint8 matrix -> (rows, 32) uint8: OpenSSL called row by row from a
    kernel (ledgers.kernels), or hashlib (one call per row over a slice of one buffer) when that is unavailable.
    Both are OpenSSL's SHA-256; tests hold them byte-identical."""
    data = np.ascontiguousarray(messages, np.uint8)
    rows, width = data.shape
    if rows >= OPENSSL_ROWS_MIN and openssl_rows_ready():
        out = np.empty((rows, 32), np.uint8)
        if sha256_rows_openssl(data, out):
            return out
    return sha256_rows_hashlib(data)


def sha256_rows_hashlib(data: np.ndarray) -> np.ndarray:
    """sha256_rows through hashlib alone (the reference the kernel is tested against)."""
    rows, width = data.shape
    view, sha256 = memoryview(data.reshape(-1)), hashlib.sha256
    starts = range(0, rows * width, width) if width else [0] * rows
    digests = b"".join([sha256(view[start:start + width]).digest() for start in starts])
    return np.frombuffer(digests, np.uint8).reshape(rows, 32)


def leaf_records(refs_fixed: np.ndarray, payee_id: np.ndarray, amount_minor: np.ndarray) -> bytes:
    """Leaf preimages as one buffer of 52-byte records: 0x00 | ref (35, NUL-padded) | payee_id | amount_minor."""
    return _leaf_array(refs_fixed, payee_id, amount_minor).tobytes()


def _leaf_array(refs_fixed, payee_id, amount_minor) -> np.ndarray:
    records = np.zeros(len(refs_fixed), LEAF_DTYPE)  # packed: the records are the array's memory, back to back
    records["ref"] = refs_fixed
    records["payee_id"] = payee_id
    records["amount_minor"] = amount_minor
    return records


def leaf_hashes(refs_fixed, payee_id, amount_minor) -> np.ndarray:
    """SHA-256 of every leaf record, (n, 32) uint8 (the records hashed in place: no copy of them as bytes)."""
    records = _leaf_array(refs_fixed, payee_id, amount_minor)
    return sha256_rows(records.view(np.uint8).reshape(-1, LEAF_DTYPE.itemsize))


def merkle_levels(leaves: np.ndarray) -> list[np.ndarray]:
    """All levels bottom-up as (n, 32) arrays; an odd last node is promoted unchanged (no duplication, so no
    CVE-2012-2459 style second preimage). Inner node = SHA-256(0x01 | left | right)."""
    levels = [leaves]
    while len(levels[-1]) > 1:
        level = levels[-1]
        pairs = len(level) // 2
        messages = np.empty((pairs, 65), np.uint8)
        messages[:, 0] = 1
        messages[:, 1:] = level[:2 * pairs].reshape(pairs, 64)
        parents = sha256_rows(messages)
        if len(level) % 2:
            parents = np.concatenate([parents, level[-1:]])
        levels.append(parents)
    return levels


def merkle_root(refs_fixed, payee_id, amount_minor) -> str:
    if len(refs_fixed) == 0:
        return EMPTY_MERKLE_ROOT
    return bytes(merkle_levels(leaf_hashes(refs_fixed, payee_id, amount_minor))[-1][0]).hex()


def merkle_path(levels: list[np.ndarray], index: int) -> list[dict]:
    """Sibling hashes from the leaf up; 'side' says where the sibling sits."""
    path = []
    for level in levels[:-1]:
        sibling = index ^ 1
        if sibling < len(level):
            path.append({"side": "left" if sibling < index else "right", "hash": bytes(level[sibling]).hex()})
        index //= 2
    return path


def _parent(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def root_from_path(leaf: bytes, path: list[dict]) -> bytes:
    """The offline side: plain hashlib, so a proof is checked independently of the kernel that built it."""
    node = leaf
    for step in path:
        sibling = bytes.fromhex(step["hash"])
        if step["side"] == "left":
            node = _parent(sibling, node)
        elif step["side"] == "right":
            node = _parent(node, sibling)
        else:
            raise ValueError(f"proof step side must be left or right, got {step['side']!r}")
    return node
