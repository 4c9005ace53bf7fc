"""Small vectorised helpers of the synthetic register: seeded generators, month and day arithmetic on numpy
arrays, Arrow columns from numpy (dates, integers, zero-padded digits, strings picked by index) and tables
conformed to a register schema."""
import datetime as dt

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc


# ---- small vectorised helpers ---------------------------------------------------------------------------

def seeded_rng(seed: int, *keys: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([int(seed), *map(int, keys)]))


def month_start_days(months) -> np.ndarray:
    """Month index (months since 1970-01) -> days since 1970-01-01 of its first day."""
    return np.asarray(months, dtype="int64").astype("datetime64[M]").astype("datetime64[D]").astype(np.int64)


def month_end_days(months) -> np.ndarray:
    return month_start_days(np.asarray(months, dtype=np.int64) + 1) - 1


def months_of_days(days) -> np.ndarray:
    return np.asarray(days, dtype="int64").astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)


def date_array(days: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    mask = None if valid is None else ~valid
    return pa.array(np.asarray(days, dtype=np.int32), mask=mask).view(pa.date32())


def int_array(values, arrow_type, valid=None) -> pa.Array:
    mask = None if valid is None else ~np.asarray(valid, dtype=bool)
    return pa.array(np.asarray(values).astype(arrow_type.to_pandas_dtype()), type=arrow_type, mask=mask)


def digit_strings(values, width: int) -> pa.Array:
    """Non-negative integers as zero-padded decimal strings."""
    return pc.utf8_lpad(pc.cast(pa.array(np.asarray(values, dtype=np.int64)), pa.string()), width, "0")


def pick_strings(strings, index: np.ndarray) -> pa.Array:
    return pa.array(list(strings), pa.string()).take(pa.array(np.asarray(index, dtype=np.int64)))


def weighted_choice(rng, n: int, weights) -> np.ndarray:
    weights = np.asarray(weights, dtype=float)
    return np.searchsorted(np.cumsum(weights / weights.sum()), rng.random(n), side="right").clip(0, len(weights) - 1)


def conformed_table(schema: pa.Schema, columns: dict) -> pa.Table:
    """A table of `schema` from the columns given; columns not generated (added later to the schema) are null."""
    length = len(next(iter(columns.values())))
    arrays = []
    for schema_field in schema:
        column = columns.get(schema_field.name)
        arrays.append(pa.nulls(length, schema_field.type) if column is None else column.cast(schema_field.type))
    return pa.Table.from_arrays(arrays, schema=schema)


def days_of(column, missing: int = -1) -> np.ndarray:
    return pc.fill_null(pc.cast(column, pa.int32()), missing).to_numpy(zero_copy_only=False).astype(np.int64)


def with_columns(table: pa.Table, schema: pa.Schema, columns: dict) -> pa.Table:
    """`table` with some columns replaced, conformed to `schema` (keeps non-null fields non-null)."""
    merged = {name: (columns[name] if name in columns else table[name].combine_chunks()) for name in schema.names}
    return conformed_table(schema, merged)


def as_days(value) -> int:
    if isinstance(value, dt.date):
        return (value - dt.date(1970, 1, 1)).days
    if isinstance(value, str):
        return (dt.date.fromisoformat(value) - dt.date(1970, 1, 1)).days
    return int(value)


def period_text(index: int) -> str:
    return f"{1970 + index // 12:04d}-{index % 12 + 1:02d}"


def rows_of(ids: np.ndarray, id_column) -> np.ndarray:
    """Row of each id in `id_column` (-1 where absent)."""
    found = pc.index_in(pa.array(np.asarray(ids, dtype=np.int64)), value_set=id_column)
    return pc.fill_null(found, -1).to_numpy(zero_copy_only=False).astype(np.int64)
