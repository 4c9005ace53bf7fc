"""Sorting, de-duplicating and looking up int64 keys (ids, days) at national size without slow numpy paths.

On 25 million rows np.argsort takes seconds and np.lexsort ten, np.searchsorted with unsorted queries into a
large table misses the cache on every probe, while np.sort of plain integers takes a fifth of a second. So:
an order is found by sorting keys packed with their row number into one uint64 (a stable sort for the price of
np.sort, several passes from the least significant key when they do not fit together), data already in order
(registers are usually written sorted by their ids) is recognised in one linear pass, and ids are looked up in
a direct table when they are dense (as database ids are), else by binary search. Results equal those of
np.lexsort / np.unique / np.searchsorted exactly; tests compare them.
"""
import numpy as np

WORD_BITS = 64
DIRECT_SPAN_PER_ID = 4  # a direct lookup table may hold up to 4 slots per id (int32: 16 bytes per id)


def lex_order(*keys: np.ndarray) -> np.ndarray:
    """Stable order of rows by the integer `keys` (most significant first): np.lexsort(keys[::-1]), faster."""
    keys = [np.asarray(key) for key in keys]
    rows = len(keys[0])
    assert all(len(key) == rows for key in keys), "keys of one order have one length"
    if rows == 0:
        return np.zeros(0, dtype=np.int64)
    if is_lex_sorted(*keys):
        return np.arange(rows, dtype=np.int64)
    index_bits = _index_bits(rows)
    spans = [_span(key) for key in keys]
    prefix, used = 0, 0
    while prefix < len(keys) and used + spans[prefix][1] <= WORD_BITS - index_bits:
        used += spans[prefix][1]
        prefix += 1
    if prefix == 0:
        return _lsd_order(keys, spans)
    # one pass over the leading keys that fit; rows they leave tied (rare: twins, repeated ids) are settled
    # by the remaining keys, in place, since ties of the leading keys sit next to each other
    order, combined = _stable_pass(list(zip(keys[:prefix], spans[:prefix])), None, index_bits)
    if prefix == len(keys):
        return order
    same = combined[1:] == combined[:-1]
    if not same.any():
        return order
    tied = np.zeros(rows, dtype=bool)
    tied[1:] |= same
    tied[:-1] |= same
    positions = np.flatnonzero(tied)
    subset = order[positions]
    subset_keys = [key[subset] for key in keys]
    order[positions] = subset[_lsd_order(subset_keys, [_span(key) for key in subset_keys])]
    return order


def is_lex_sorted(*keys: np.ndarray) -> bool:
    """True when the rows are already in (non-decreasing) lexicographic order of `keys`."""
    decided = np.zeros(max(len(keys[0]) - 1, 0), dtype=bool)  # pair already increasing on an earlier key
    for key in keys:
        earlier, later = key[:-1], key[1:]
        if np.any(~decided & (later < earlier)):
            return False
        decided |= later > earlier
    return True


def _index_bits(rows: int) -> int:
    return max((rows - 1).bit_length(), 1)


def _span(key: np.ndarray) -> tuple[int, int]:
    """(smallest value, bits needed for value - smallest)."""
    if len(key) == 0:
        return 0, 0
    low, high = int(key.min()), int(key.max())
    return low, (high - low).bit_length()


def _lsd_order(keys: list, spans: list) -> np.ndarray:
    """Stable passes from the least significant key, as many keys per pass as fit into one word."""
    index_bits = _index_bits(len(keys[0]))
    room = WORD_BITS - index_bits
    groups, current, used = [], [], 0
    for key, span in zip(reversed(keys), reversed(spans)):
        if current and used + span[1] > room:
            groups.append(current)
            current, used = [], 0
        current.insert(0, (key, span))
        used += span[1]
    groups.append(current)
    order = None
    for group in groups:  # least significant first: each stable pass keeps the order of the previous ones
        order, _ = _stable_pass(group, order, index_bits)
    return order


def _stable_pass(group: list, order, index_bits: int) -> tuple[np.ndarray, np.ndarray | None]:
    """(`order` (None = rows as they are) stably sorted by the group's combined key, the sorted combined keys)."""
    rows = len(group[0][0])
    if sum(bits for _, (_, bits) in group) > WORD_BITS - index_bits:  # a key too wide to pack: plain argsort
        key = group[0][0] if order is None else group[0][0][order]
        position = np.argsort(key, kind="stable")
        return (position if order is None else order[position]), None
    packed = np.zeros(rows, dtype=np.uint64)
    for key, (low, bits) in group:
        taken = key if order is None else key[order]
        # subtract in int64 (wraps for spans beyond int64, which the uint64 view undoes exactly)
        offset = (taken.astype(np.int64, copy=False) - np.int64(low)).view(np.uint64)
        packed <<= np.uint64(bits)
        packed |= offset
    packed <<= np.uint64(index_bits)
    packed |= np.arange(rows, dtype=np.uint64)
    packed.sort()
    position = (packed & np.uint64((1 << index_bits) - 1)).view(np.int64)
    packed >>= np.uint64(index_bits)
    return (position if order is None else order[position]), packed


def sorted_distinct(values: np.ndarray) -> np.ndarray:
    """np.unique of int64 values (sorted distinct), without sorting values that are already increasing."""
    values = np.asarray(values, dtype=np.int64)
    if len(values) < 2:
        return values
    ordered = values if np.all(values[1:] >= values[:-1]) else np.sort(values)
    keep = np.ones(len(ordered), dtype=bool)
    keep[1:] = ordered[1:] != ordered[:-1]
    return ordered[keep]


def repeated_values(values: np.ndarray) -> np.ndarray:
    """Sorted distinct values that occur more than once (empty when all are distinct)."""
    values = np.asarray(values)
    if len(values) < 2 or np.all(values[1:] > values[:-1]):
        return values[:0]
    ordered = np.sort(values)
    repeated = ordered[1:][ordered[1:] == ordered[:-1]]
    keep = np.ones(len(repeated), dtype=bool)
    keep[1:] = repeated[1:] != repeated[:-1]
    return repeated[keep]


def index_of(sorted_ids: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """Position of each of `ids` in the sorted distinct int64 `sorted_ids`, -1 where absent (int64)."""
    ids = np.asarray(ids, dtype=np.int64)
    count = len(sorted_ids)
    if count == 0:
        return np.full(len(ids), -1, dtype=np.int64)
    low, high = int(sorted_ids[0]), int(sorted_ids[-1])
    span = high - low + 1
    if span > DIRECT_SPAN_PER_ID * count + 1024:  # sparse ids: binary search, for queries in sorted order
        order = lex_order(ids)  # unsorted probes into a large table miss the cache each time: ~40x slower
        queries = ids[order]
        position = np.minimum(np.searchsorted(sorted_ids, queries), count - 1)
        found = np.empty(len(ids), dtype=np.int64)
        found[order] = np.where(sorted_ids[position] == queries, position, -1)
        return found
    # ids - low wraps for far-away ids, but then it is never below `span` as an unsigned number: one comparison
    # (or one clip) tells ids inside [low, high] from all others
    relative = (ids - np.int64(low)).view(np.uint64)
    if span == count:  # contiguous ids: the offset is the position
        return np.where(relative < np.uint64(span), relative.view(np.int64), -1)
    table = np.full(span + 1, -1, dtype=np.int32 if count < 2**31 else np.int64)  # the last slot: absent
    table[sorted_ids - np.int64(low)] = np.arange(count, dtype=table.dtype)
    return table[np.minimum(relative, np.uint64(span))].astype(np.int64)
