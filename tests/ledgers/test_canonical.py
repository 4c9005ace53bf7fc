"""Canonical bytes and hashes: every field counts, order counts, Merkle tree matches a plain-Python reference."""
import hashlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledgers import canonical as c


def columns(count: int, seed: int = 1) -> dict:
    rng = np.random.default_rng(seed)
    return {
        "posting_id": np.arange(1, count + 1), "batch_id": np.full(count, 3),
        "account_kind": rng.integers(1, 9, count), "account_key": rng.integers(0, 10**6, count),
        "right_id": rng.integers(0, 10**6, count), "payee_id": rng.integers(0, 10**6, count),
        "period": np.full(count, 660), "month": rng.integers(640, 661, count),
        "component": rng.integers(1, 11, count), "amount_minor": rng.integers(-10**6, 10**6, count),
        "payment_ref": c.refs_to_fixed(np.array([f"E2E-{i}" for i in range(count)])),
    }


def reference_postings_sha256(cols: dict) -> str:
    """Plain-Python restatement of the format: name, NUL, little-endian fixed-width values, column after column."""
    count = len(cols["posting_id"])
    digest = hashlib.sha256(b"postings\0" + count.to_bytes(8, "little"))
    for name, dtype in c.POSTING_COLUMNS:
        digest.update(name.encode() + b"\0")
        if dtype.startswith("S"):
            digest.update(b"".join(bytes(v).ljust(c.REF_WIDTH, b"\0") for v in cols[name]))
        else:
            width = int(dtype[2:])
            digest.update(b"".join(int(v).to_bytes(width, "little", signed=True) for v in cols[name]))
    return digest.hexdigest()


def test_postings_sha256_matches_reference_restatement():
    cols = columns(50)
    assert c.postings_sha256(cols) == reference_postings_sha256(cols)


@pytest.mark.parametrize("name", [name for name, _ in c.POSTING_COLUMNS])
def test_changing_any_column_changes_the_digest(name):
    cols = columns(20)
    before = c.postings_sha256(cols)
    changed = dict(cols)
    values = cols[name].copy()
    values[7] = b"E2E-X" if name == "payment_ref" else values[7] + 1
    changed[name] = values
    assert c.postings_sha256(changed) != before


def test_swapping_two_postings_changes_the_digest():
    cols = columns(20)
    swapped = {name: values.copy() for name, values in cols.items()}
    for name in cols:
        if name != "posting_id":
            swapped[name][[3, 4]] = swapped[name][[4, 3]]
    assert c.postings_sha256(swapped) != c.postings_sha256(cols)


def test_refs_accept_str_bytes_and_objects_alike():
    text = np.array(["AB-1", "", "Z" * 35])
    expected = np.array([b"AB-1", b"", b"Z" * 35], "S35")
    for given_refs in (text, text.astype("S"), text.astype(object), list(text)):
        assert np.array_equal(c.refs_to_fixed(given_refs), expected)


def test_refs_refuse_non_ascii_and_overlong():
    with pytest.raises(ValueError, match="ASCII"):
        c.refs_to_fixed(np.array(["Đorđe"]))
    with pytest.raises(ValueError, match="35"):
        c.refs_to_fixed(np.array(["X" * 36]))
    assert not c.refs_printable(c.refs_to_fixed(["bad\nref"]))
    assert c.refs_printable(c.refs_to_fixed(["good ref/1"]))


@given(st.lists(st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=35), max_size=40))
@settings(max_examples=60, deadline=None)
def test_refs_round_trip_through_lengths_and_concatenation(refs):
    fixed = c.refs_to_fixed(np.array(refs, dtype="U35") if refs else np.zeros(0, "U1"))
    lengths = np.array([len(r) for r in refs], np.int64)
    data = "".join(refs).encode()
    assert np.array_equal(c.refs_from_concat(lengths, data), fixed)


def reference_merkle_root(leaves: list[bytes]) -> bytes:
    """Level-by-level pairing with an odd last node promoted, restated without the module's helpers."""
    level = leaves
    while len(level) > 1:
        nxt = [hashlib.sha256(b"\x01" + level[i] + level[i + 1]).digest() for i in range(0, len(level) - 1, 2)]
        level = nxt + ([level[-1]] if len(level) % 2 else [])
    return level[0]


def payments(count: int):
    refs = c.refs_to_fixed(np.array([f"PAY-{i:05d}" for i in range(count)]))
    return refs, np.arange(count, dtype=np.int64) + 100, np.arange(count, dtype=np.int64) * 7 + 1


@pytest.mark.parametrize("count", [1, 2, 3, 5, 8, 13])
def test_merkle_root_and_every_path(count):
    refs, payee, amount = payments(count)
    leaves = [hashlib.sha256(b"\x00" + bytes(r).ljust(35, b"\0") + int(p).to_bytes(8, "little")
                             + int(a).to_bytes(8, "little", signed=True)).digest()
              for r, p, a in zip(refs, payee, amount)]
    root = c.merkle_root(refs, payee, amount)
    assert root == reference_merkle_root(leaves).hex()
    levels = c.merkle_levels(c.leaf_hashes(refs, payee, amount))
    for index in range(count):
        assert c.root_from_path(leaves[index], c.merkle_path(levels, index)).hex() == root


def test_merkle_root_changes_with_any_payment_field():
    refs, payee, amount = payments(6)
    root = c.merkle_root(refs, payee, amount)
    amount2 = amount.copy()
    amount2[5] += 1
    payee2 = payee.copy()
    payee2[0] += 1
    assert c.merkle_root(refs, payee, amount2) != root
    assert c.merkle_root(refs, payee2, amount) != root
    assert c.merkle_root(refs[::-1].copy(), payee, amount) != root
    assert c.merkle_root(refs[:0], payee[:0], amount[:0]) == c.EMPTY_MERKLE_ROOT


def test_batch_hash_depends_on_every_part():
    header = {name: 1 for name in c.HEADER_FIELDS} | {"kind": "approve", "source_id": "PR-1"}
    base = c.batch_hash(c.GENESIS_HASH, header, "aa" * 32, "bb" * 32)
    assert c.batch_hash("11" * 32, header, "aa" * 32, "bb" * 32) != base
    assert c.batch_hash(c.GENESIS_HASH, header | {"n_postings": 2}, "aa" * 32, "bb" * 32) != base
    assert c.batch_hash(c.GENESIS_HASH, header, "ab" * 32, "bb" * 32) != base
    assert c.batch_hash(c.GENESIS_HASH, header, "aa" * 32, "bc" * 32) != base


def test_optional_header_fields_change_the_hash_only_when_set():
    """Schema version 2 adds record_sha256 and events_head to a batch's header; a batch without them (every
    batch of version 1) hashes as before, so saved digests and proofs stay valid."""
    header = {name: 1 for name in c.HEADER_FIELDS} | {"kind": "approve", "source_id": "PR-1"}
    base = c.batch_hash(c.GENESIS_HASH, header, "aa" * 32, "bb" * 32)
    import hashlib, json
    old_form = hashlib.sha256(c.HASH_DOMAIN + bytes(32) + json.dumps(header, sort_keys=True, separators=(",", ":"))
                              .encode() + bytes.fromhex("aa" * 32) + bytes.fromhex("bb" * 32)).hexdigest()
    assert base == old_form
    assert c.batch_hash(c.GENESIS_HASH, header | {"record_sha256": "", "events_head": ""}, "aa" * 32,
                        "bb" * 32) == base
    assert c.batch_hash(c.GENESIS_HASH, header | {"record_sha256": "cc" * 32}, "aa" * 32, "bb" * 32) != base
    assert c.batch_hash(c.GENESIS_HASH, header | {"events_head": "dd" * 32}, "aa" * 32, "bb" * 32) != base


def test_event_hash_depends_on_every_part():
    base = c.event_hash(c.GENESIS_HASH, 1, "approved", "PR-1", '{"by": "ana"}', 5)
    assert c.event_hash("11" * 32, 1, "approved", "PR-1", '{"by": "ana"}', 5) != base
    assert c.event_hash(c.GENESIS_HASH, 2, "approved", "PR-1", '{"by": "ana"}', 5) != base
    assert c.event_hash(c.GENESIS_HASH, 1, "cancelled", "PR-1", '{"by": "ana"}', 5) != base
    assert c.event_hash(c.GENESIS_HASH, 1, "approved", "PR-2", '{"by": "ana"}', 5) != base
    assert c.event_hash(c.GENESIS_HASH, 1, "approved", "PR-1", '{"by": "bob"}', 5) != base
    assert c.event_hash(c.GENESIS_HASH, 1, "approved", "PR-1", '{"by": "ana"}', 6) != base


@pytest.mark.parametrize("length", [0, 1, 52, 55, 56, 63, 64, 65, 119, 120, 130])
def test_sha256_rows_matches_hashlib_row_by_row(length):
    messages = np.random.default_rng(length).integers(0, 256, (7, length), dtype=np.uint8)
    digests = c.sha256_rows(messages)
    assert digests.shape == (7, 32)
    assert [bytes(d) for d in digests] == [hashlib.sha256(bytes(m)).digest() for m in messages]


@pytest.mark.parametrize("length", [0, 1, 52, 55, 56, 63, 64, 65, 119, 120, 130, 1000])
def test_openssl_kernel_matches_hashlib_on_many_rows(length):
    from ledgers.kernels import openssl_rows_ready

    if not openssl_rows_ready():
        pytest.skip("no libcrypto with SHA256_Init here: sha256_rows uses hashlib")
    messages = np.random.default_rng(length).integers(0, 256, (c.OPENSSL_ROWS_MIN + 37, length), dtype=np.uint8)
    digests = c.sha256_rows(messages)
    assert [bytes(d) for d in digests] == [hashlib.sha256(bytes(m)).digest() for m in messages]
    assert np.array_equal(digests, c.sha256_rows_hashlib(messages))


def test_merkle_root_is_the_same_with_and_without_the_openssl_kernel(monkeypatch):
    rng = np.random.default_rng(11)
    count = 5_001  # odd: a promoted node on several levels
    refs = np.array([b"E2E-%d" % i for i in range(count)], "S35")
    payee, amount = rng.integers(1, 10**12, count), rng.integers(-10**9, 10**9, count)
    fast = c.merkle_root(refs, payee, amount)
    monkeypatch.setattr(c, "openssl_rows_ready", lambda: False)
    assert c.merkle_root(refs, payee, amount) == fast
    leaves = [hashlib.sha256(bytes(row)).digest() for row in
              np.frombuffer(c.leaf_records(refs, payee, amount), np.uint8).reshape(count, -1)]
    assert bytes(c.merkle_levels(np.frombuffer(b"".join(leaves), np.uint8).reshape(count, 32))[-1][0]).hex() == fast


def test_rows_unique_agrees_with_numpy():
    from ledgers.kernels import rows_unique

    rng = np.random.default_rng(5)
    for rows, width, alphabet in ((0, 35, 2), (1, 35, 2), (2000, 35, 256), (2000, 3, 2), (300, 1, 2)):
        matrix = rng.integers(0, alphabet, (rows, width)).astype(np.uint8)
        expected = len(np.unique(matrix.view(f"V{width}").reshape(-1))) == rows if rows else True
        assert rows_unique(matrix) == expected
    matrix = rng.integers(0, 256, (1000, 35)).astype(np.uint8)
    assert rows_unique(matrix)
    matrix[700] = matrix[3]
    assert not rows_unique(matrix)


def test_rows_outside_finds_the_first_bad_rows():
    from ledgers.kernels import rows_outside

    values = np.array([5, -1, 7, 11, 3, 12, -9], np.int64)
    found = np.empty(2, np.int64)
    assert rows_outside(values, 0, 10, found) == 2 and found.tolist() == [1, 3]
    found = np.empty(20, np.int64)
    count = rows_outside(values.astype(np.int32), 0, 10, found)
    assert found[:count].tolist() == [1, 3, 5, 6]
    assert rows_outside(np.zeros(0, np.int64), 0, 10, found) == 0
    assert rows_outside(np.array([-2**63, 2**63 - 1]), -2**63, 2**63 - 1, found) == 0


def test_split_lines_rebuilds_padded_references():
    from ledgers.kernels import split_lines

    def split(data: bytes, rows: int, width: int = 5):
        out = np.zeros((rows, width), np.uint8)
        return split_lines(np.frombuffer(data, np.uint8), out), out.view(f"S{width}").reshape(rows).tolist()

    assert split(b"ab\n\ncde", 3) == (3, [b"ab", b"", b"cde"])
    assert split(b"", 1) == (1, [b""])
    assert split(b"abcde\nx", 2) == (2, [b"abcde", b"x"])
    assert split(b"abcdef\nx", 2)[0] == -1  # wider than a row
    assert split(b"a\nb\nc", 2)[0] == -1     # more rows than expected
    assert split(b"a\nb", 3)[0] == 2         # fewer: the caller compares with its count


def test_leaf_hashes_hash_exactly_the_leaf_records():
    """leaf_hashes hashes the records in place; each hash is SHA-256 of that leaf's bytes of leaf_records, whatever
    the callers' dtypes and strides."""
    rng = np.random.default_rng(12)
    count = 301
    refs = np.array([b"E2E-%d" % i for i in range(2 * count)], "S35")[::2]
    payee = rng.integers(1, 2**31 - 1, 2 * count).astype(np.int32)[1::2]
    amount = rng.integers(-10**12, 10**12, count)
    records = np.frombuffer(c.leaf_records(refs, payee, amount), np.uint8).reshape(count, c.LEAF_DTYPE.itemsize)
    expected = b"".join(hashlib.sha256(bytes(row)).digest() for row in records)
    assert c.leaf_hashes(refs, payee, amount).tobytes() == expected
    assert records[:, 0].max() == 0 and records.shape[1] == 52


def test_the_openssl_kernel_has_one_specialisation_for_writable_and_read_only_rows():
    from ledgers.kernels import openssl_rows_ready, sha256_rows_openssl

    if not openssl_rows_ready():  # compiles it on writable rows (the self-check)
        pytest.skip("no libcrypto with SHA256_* here")
    rows = np.arange(6 * 40, dtype=np.int64).astype(np.uint8).reshape(6, 40)
    rows.flags.writeable = False  # a batch's rows come from read-only Arrow buffers
    out = np.zeros((6, 32), np.uint8)
    assert sha256_rows_openssl(rows, out)
    assert out.tobytes() == b"".join(hashlib.sha256(row.tobytes()).digest() for row in rows)
    assert len(sha256_rows_openssl.signatures) == 1
