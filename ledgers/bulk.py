"""Bulk movement of ledger columns between numpy and the database, one code path per backend.

Writing: PostgreSQL gets binary COPY streams packed by numba kernels, SQLite one executemany over column lists;
a row of large blobs is one COPY on PostgreSQL too (insert_blob_row).
Reading: the database aggregates each column into one value (PostgreSQL `string_agg(int8send(x))`, big-endian
bytes, references newline-joined; SQLite `group_concat(x)`, decimal text) that numpy parses in one call, so no
Python object is made per posting. Rows come back in scan order; callers sort by their key column (all columns
share the order).
"""
import warnings

import numpy as np

from ledgers.canonical import REF_WIDTH, ref_matrix
from ledgers.copy_binary import blob_row_chunks, copy_chunks, prefetched
from ledgers.kernels import split_lines

ROWS_PER_INSERT = 64  # x at most 11 values, far below SQLite's 32766 bound parameters
PG_SEND = {"<i2": ("int2send", ">i2"), "<i4": ("int4send", ">i4"), "<i8": ("int8send", ">i8")}


class CorruptColumns(ValueError):
    """The stored values cannot be read back as the canonical integers (e.g. text put into an integer column)."""


# ---- writing -----------------------------------------------------------------------------------------------

def insert_rows(raw, dialect: str, table: str, int_columns: dict, int_dtypes: dict, ref_column: str | None,
                refs_fixed: np.ndarray | None) -> None:
    """Insert equal-length numpy columns (plus optionally one S35 text column last) into `table`."""
    names = list(int_columns) + ([ref_column] if ref_column else [])
    if dialect == "postgresql":
        _copy_in(raw, table, names, int_columns, int_dtypes, refs_fixed)
    else:
        _executemany(raw, table, names, int_columns, refs_fixed)


def insert_blob_row(raw, dialect: str, table: str, ints: dict, blobs: dict) -> None:
    """Insert one row of integers (bigint columns: each goes on the wire as 8 bytes) and numpy arrays stored as
    their bytes (bytea / BLOB) into `table`.

    PostgreSQL: a binary COPY that streams the arrays in pieces. As parameters of an INSERT (%b), the 235 MB of
    a 10 M-right batch's expense columns were copied into one message before the server saw a byte, which the
    server then bound whole: 2.8 s against 1.6 s by COPY (medians of 4, client CPU 0.87 s against 0.11 s,
    server CPU 1.35 s against 1.03 s), with the ledger's lock held and the server waiting for the message."""
    names = ", ".join([*ints, *blobs])
    if dialect == "postgresql":
        with raw.cursor() as cur:
            with cur.copy(f"COPY {table} ({names}) FROM STDIN (FORMAT BINARY)") as copy:
                for chunk in blob_row_chunks([int(value) for value in ints.values()], list(blobs.values())):
                    copy.write(chunk)
        return
    marks = ", ".join("?" * (len(ints) + len(blobs)))
    raw.execute(f"INSERT INTO {table} ({names}) VALUES ({marks})",
                (*(int(value) for value in ints.values()), *(np.ascontiguousarray(blob).tobytes()
                                                          for blob in blobs.values())))


def _copy_in(raw, table, names, int_columns, int_dtypes, refs_fixed) -> None:
    # each column goes on the wire at its canonical width, packed from the caller's array (no copy when the
    # dtype is already canonical)
    columns = [np.ascontiguousarray(values, np.dtype(int_dtypes[name]).newbyteorder("=")) for name, values
               in int_columns.items()]
    text = ref_matrix(refs_fixed) if refs_fixed is not None else None
    with raw.cursor() as cur:
        with cur.copy(f"COPY {table} ({', '.join(names)}) FROM STDIN (FORMAT BINARY)") as copy:
            for chunk in prefetched(copy_chunks(columns, text)):
                copy.write(chunk)


def _executemany(raw, table, names, int_columns, refs_fixed) -> None:
    # A column with one value (batch_id, usually period) goes into the SQL as a literal, and each statement
    # inserts ROWS_PER_INSERT rows: fewer values to bind and fewer statement steps per row, which is most of
    # SQLite's insert time. Parameters are numbered: a statement's integers come first as one row-major block
    # straight from an int64 matrix, its references (bytes, NUL padding stripped, cast to TEXT) after them.
    count = len(next(iter(int_columns.values())))
    constant = {name: int(col[0]) for name, col in int_columns.items()
                if count > 1 and int(col.min()) == int(col.max())}
    varying = [name for name in int_columns if name not in constant]
    ints = np.stack([np.asarray(int_columns[name], np.int64) for name in varying], axis=1) if varying \
        else np.zeros((count, 0), np.int64)
    prefix = f"INSERT INTO {table} ({', '.join(names)}) VALUES "
    for start, rows in _statement_blocks(count):
        stop = start + (count - start) // rows * rows
        if stop == start:
            continue
        sql = prefix + ", ".join(_row_marks(int_columns, constant, refs_fixed is not None, row, rows)
                                 for row in range(rows))
        params = ints[start:stop].reshape((stop - start) // rows, rows * len(varying)).tolist()
        if refs_fixed is not None:
            refs = refs_fixed[start:stop].reshape(-1, rows).tolist()
            params = map(list.__add__, params, refs)
        raw.executemany(sql, params)


def _statement_blocks(count: int):
    """(start, rows per statement): full multi-row statements first, then single rows for the remainder."""
    full = count - count % ROWS_PER_INSERT
    return ((0, ROWS_PER_INSERT), (full, 1))


def _row_marks(int_columns, constant, has_refs: bool, row: int, rows: int) -> str:
    varying = len(int_columns) - len(constant)
    marks, position = [], row * varying
    for name in int_columns:
        if name in constant:
            marks.append(str(constant[name]))
        else:
            position += 1
            marks.append(f"?{position}")
    if has_refs:
        marks.append(f"CAST(?{rows * varying + row + 1} AS TEXT)")
    return f"({', '.join(marks)})"


# ---- reading -----------------------------------------------------------------------------------------------

def read_columns(raw, dialect: str, source_sql: str, params: tuple, int_columns: dict,
                 ref_column: str | None = None) -> dict:
    """Run `SELECT <cols> FROM (<source_sql>)` aggregated per column; returns numpy arrays (refs as S35)."""
    if dialect == "postgresql":
        return _read_pg(raw, source_sql, params, int_columns, ref_column)
    return _read_sqlite(raw, source_sql, params, int_columns, ref_column)


def _read_pg(raw, source_sql, params, int_columns, ref_column) -> dict:
    parts = [f"string_agg({PG_SEND[dtype][0]}({name}), ''::bytea)" for name, dtype in int_columns.items()]
    if ref_column:
        parts.append(PG_REFS_AGG.format(ref_column))
    with raw.cursor() as cur:
        cur.execute(f"SELECT count(*), {', '.join(parts)} FROM ({source_sql}) AS src", params, binary=True)
        row = cur.fetchone()
    count = int(row[0])
    out = {}
    for value, (name, dtype) in zip(row[1:], int_columns.items()):
        out[name] = np.frombuffer(value or b"", PG_SEND[dtype][1]).astype(dtype)
    if ref_column:
        out[ref_column] = _split_refs(row[-1], count)
    return _checked(out, count)


# One aggregate for all references: newline-joined text (references are printable ASCII; a stored newline makes
# the split count wrong, which is reported as corrupt). Cheaper on the server than bytes plus lengths.
PG_REFS_AGG = "convert_to(string_agg({0}, E'\\n'), 'UTF8')"
# A posting range is read with pairs of narrow columns packed into one integer (exactly reversible for every
# int2/int4 value): seven integer aggregates instead of nine, each row costs the server about a fifth less.
PG_POSTING_AGGS = (
    ("posting_id", "int8send(posting_id)", [("posting_id", ">i8")]),
    ("account_key", "int8send(account_key)", [("account_key", ">i8")]),
    ("right_id", "int8send(right_id)", [("right_id", ">i8")]),
    ("payee_id", "int8send(payee_id)", [("payee_id", ">i8")]),
    ("amount_minor", "int8send(amount_minor)", [("amount_minor", ">i8")]),
    ("period|month", "int8send((period::int8 << 32) | (month::int8 & 4294967295))",
     [("period", ">i4"), ("month", ">i4")]),
    ("account_kind|component", "int4send((account_kind::int4 << 16) | (component::int4 & 65535))",
     [("account_kind", ">i2"), ("component", ">i2")]),
)


def _read_pg_postings(raw, start: int, stop: int, batch_id: int) -> tuple[dict, int]:
    # The range is read whole and the batch's rows are counted beside it, which costs what filtering them costs
    # (one comparison a row either way): in a sound ledger they are the whole range, and the rows of other
    # batches in it are counted for verify's stray-row check without a scan of the whole table. Only when there
    # are such rows is the range read again with the filter, which leaves them out of the columns.
    row = _fetch_posting_aggs(raw, start, stop, batch_id, only_batch=False)
    others = int(row[1]) - int(row[0])
    if others:
        row = _fetch_posting_aggs(raw, start, stop, batch_id, only_batch=True)
    count = int(row[1])
    out = {}
    for value, (_, _, fields) in zip(row[2:], PG_POSTING_AGGS):
        # a packed pair is the big-endian high half followed by the low half: read as two fields of a record
        records = np.frombuffer(value or b"", np.dtype(fields))
        for name, dtype in fields:
            out[name] = records[name].astype(dtype.replace(">", "<"))
    out["payment_ref"] = _split_refs(row[-1], count)
    return _checked(out, count), others


def _fetch_posting_aggs(raw, start: int, stop: int, batch_id: int, only_batch: bool) -> tuple:
    """(rows of the batch, rows read, one aggregate per PG_POSTING_AGGS entry, the references) of a range."""
    parts = [f"string_agg({expression}, ''::bytea)" for _, expression, _ in PG_POSTING_AGGS]
    parts.append(PG_REFS_AGG.format("payment_ref"))
    where = "posting_id >= %s AND posting_id < %s" + (" AND batch_id = %s" if only_batch else "")
    params = (batch_id, start, stop) + ((batch_id,) if only_batch else ())
    with raw.cursor() as cur:
        cur.execute(f"SELECT count(*) FILTER (WHERE batch_id = %s), count(*), {', '.join(parts)} "
                    f"FROM ledger_postings WHERE {where}", params, binary=True)
        return cur.fetchone()


def _read_sqlite(raw, source_sql, params, int_columns, ref_column) -> dict:
    parts = [f"group_concat({name})" for name in int_columns]
    if ref_column:
        parts.append(f"CAST(group_concat({ref_column}, char(10)) AS BLOB)")
    row = raw.execute(f"SELECT count(*), {', '.join(parts)} FROM ({source_sql})", params).fetchone()
    count = int(row[0])
    out = {name: _parse_ints(value, count).astype(dtype) for value, (name, dtype) in zip(row[1:], int_columns.items())}
    if ref_column:
        out[ref_column] = _split_refs(row[-1], count)
    return _checked(out, count)


def read_posting_range(raw, dialect: str, start: int, stop: int, batch_id: int,
                       int_dtypes: dict) -> tuple[dict, int]:
    """Postings with start <= posting_id < stop of one batch, canonical columns in posting order, and the
    number of rows in that range that carry another batch id (none in a sound ledger).

    The batch filter turns a moved posting into a missing one, so batch_id is never read. SQLite: a rowid
    range is scanned in rowid order and rowids are unique, so posting_id need not be read either (each
    aggregate costs a function call per row). Were the scan order ever different, the digest would not
    match: a false alarm, never a missed change.
    """
    if dialect == "postgresql":
        # no uniqueness on posting_id here (BRIN index only): it is read and checked; batch_id is filtered
        columns, others = _read_pg_postings(raw, start, stop, batch_id)
        out = sort_by(columns, "posting_id")
        out["batch_id"] = np.full(len(out["posting_id"]), batch_id, np.int64)
        return {name: np.ascontiguousarray(out[name], dtype) for name, dtype in
                [*int_dtypes.items(), ("payment_ref", out["payment_ref"].dtype)]}, others
    names = [name for name in int_dtypes if name not in ("posting_id", "batch_id")]
    row = raw.execute(f"SELECT count(*), {', '.join(f'group_concat({name})' for name in names)}, "
                      "CAST(group_concat(payment_ref, char(10)) AS BLOB), (SELECT count(*) FROM ledger_postings "
                      "WHERE posting_id >= ?1 AND posting_id < ?2) FROM ledger_postings "
                      "WHERE posting_id >= ?1 AND posting_id < ?2 AND batch_id = ?3",
                      (start, stop, batch_id)).fetchone()
    count = int(row[0])
    out = {"posting_id": np.arange(start, start + count, dtype=np.int64),
           "batch_id": np.full(count, batch_id, np.int64)}
    out.update({name: _parse_ints(value, count) for name, value in zip(names, row[1:])})
    out = {name: out[name].astype(dtype) for name, dtype in int_dtypes.items()}
    out["payment_ref"] = _split_refs(row[-2], count)
    return _checked(out, count), int(row[-1]) - count


def _parse_ints(text, count: int) -> np.ndarray:
    """'1,-2,3' (group_concat of integers) -> int64 array; anything else (text, reals, NULL gaps) is corrupt."""
    if count == 0 or text is None:
        return np.zeros(0, np.int64)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # numpy warns (instead of failing) when it meets a non-integer
        try:
            values = np.fromstring(text, dtype=np.int64, sep=",")
        except (DeprecationWarning, ValueError) as exc:
            raise CorruptColumns(f"non-integer value in an integer column: {exc}") from exc
    return values


def _split_refs(blob, count: int) -> np.ndarray:
    """Newline-separated references (printable ASCII, so no newline inside) -> S35 array, in one kernel pass."""
    if count == 0:
        return np.zeros(0, f"S{REF_WIDTH}")
    matrix = np.zeros((count, REF_WIDTH), np.uint8)
    rows = split_lines(np.frombuffer(blob or b"", np.uint8), matrix)
    if rows != count:
        raise CorruptColumns(f"payment references do not split into one per posting of at most {REF_WIDTH} bytes")
    return matrix.view(f"S{REF_WIDTH}").reshape(count)


def _checked(out: dict, count: int) -> dict:
    for name, values in out.items():
        if len(values) != count:
            raise CorruptColumns(f"column {name} read back {len(values)} values for {count} rows")
    return out


def sort_by(columns: dict, key: str) -> dict:
    """Reorder every column by `key` (stable); a no-op copy-free path when already sorted."""
    keys = columns[key]
    if keys.size < 2 or bool(np.all(keys[1:] >= keys[:-1])):
        return columns
    order = np.argsort(keys, kind="stable")
    return {name: values[order] for name, values in columns.items()}
