"""Reading a register snapshot: five tables from Parquet or CSV, typed to formats/schemas.py and validated, and the
optional tables (housing_costs, wage_bases: OPTIONAL_TABLES) read as empty when the snapshot has no file for them.

`read_register` is the only way payroll code gets register data: it loads every file, conforms it to its
schema (bad cells become Problems, not tracebacks), runs every rule of formats/register_checks.py and raises
one InputError listing all problems before anything is computed. `register_file_digests` fingerprints the
files so a payroll and its audit can prove which snapshot they read.
"""
import hashlib
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds

from formats import csv_input
from formats.errors import InputError
from formats.problem_log import PROBLEMS_PER_RULE_MAX, ProblemLog
from formats.register_checks import DICTIONARY_READABLE, UNCHECKED, blank_mask
from formats.rule_groups import RegisterChecks
from formats.schemas import OPTIONAL_TABLES, REGISTER
from formats.i18n import N_

SUFFIXES = (".parquet", ".csv")
# Formula kinds that read the household (members, size or income): their rights must name one.
HOUSEHOLD_KINDS = frozenset({"per_child", "household_table_minus_income", "equivalence_scale_minus_income",
                             "category_sum_minus_income_capped", "housing_cost_minus_share",
                             "per_child_reference_minus_income"})
ALL_TABLES = {**REGISTER, **OPTIONAL_TABLES}  # the optional ones (issue 17) read as empty when absent


class Register(dict):
    """The validated tables by name (persons, households, rights, payees, deductions, and the optional tables
    housing_costs and wage_bases, empty when the snapshot has no file for them).

    `source` maps each name to the file it was read from; `folder` is the snapshot folder. Columns read with
    `defer` are left out of their tables and decoded again by `deferred_column` from the file's bytes as they
    were validated (held in memory, compressed, until `release_deferred`).
    """

    def __init__(self, tables: dict[str, pa.Table], source: dict[str, Path], folder: Path,
                 deferred: dict | None = None, filled: dict | None = None):
        super().__init__(tables)
        self.source = dict(source)
        self.folder = folder
        self._deferred = dict(deferred or {})   # table -> Deferred
        self._filled = dict(filled or {})       # (table, column) -> filled_rows of the column as validated

    def filled_mask(self, name: str, column: str) -> np.ndarray | None:
        """filled_rows of column `column` of table `name` as validated (read_register's `filled`), or None when
        it was not asked for: what a caller needs of a deferred column early, without decoding it again."""
        return self._filled.get((name, column))

    def deferred_columns(self, name: str) -> tuple[str, ...]:
        return tuple(self._deferred[name].chunks) if name in self._deferred else ()

    def deferred_column(self, name: str, column: str) -> pa.ChunkedArray:
        """Column `column` of table `name` exactly as validated (the same bytes, decoded the same way)."""
        return self._deferred[name].column(column)

    def release_deferred(self) -> None:
        self._deferred.clear()


@dataclass
class Deferred:
    """A Parquet file's bytes as validated and the chunk lengths of the columns left out of its table: decoding
    the same bytes again gives the same column, chunk for chunk (the payments built of it are written the same)."""

    data: pa.Buffer
    chunks: dict[str, tuple[int, ...]]

    def column(self, column: str) -> pa.ChunkedArray:
        fragment = ds.ParquetFileFormat().make_fragment(pa.BufferReader(self.data))
        values = fragment.to_table(columns=[column], use_threads=True, memory_pool=table_pool()).column(0)
        if tuple(len(chunk) for chunk in values.chunks) != self.chunks[column]:  # a check that -O keeps
            raise RuntimeError(f"deferred column {column}: decoded in other chunks than validated")
        return values


@dataclass
class Loaded:
    """Tables conformed to their schemas (bad cells null) and the columns that cannot be trusted at all."""

    tables: dict[str, pa.Table] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)      # table name -> file name used in messages
    paths: dict[str, Path] = field(default_factory=dict)
    unusable: dict[str, set[str]] = field(default_factory=dict)  # missing or wholly wrong-typed columns
    deferrable: dict[str, Deferred] = field(default_factory=dict)  # tables read with `defer` (their columns as read)

    def usable(self, name: str, *columns: str) -> bool:
        return name in self.tables and not self.unusable[name].intersection(columns)


def read_register(folder, benefit_codes, household_benefits=frozenset(), *,
                  cap_per_rule: int = PROBLEMS_PER_RULE_MAX, drop: dict | None = None,
                  dictionaries: dict | None = None, defer: dict | None = None,
                  filled: dict | None = None) -> Register:
    """Read and validate the register in `folder`; raise InputError with every problem found.

    `benefit_codes` is a set of codes or a formats.catalogue.Catalogue; `household_benefits` are the codes whose
    rights must name a household (with a catalogue: also every benefit whose formula kind reads the household).
    `drop` ({table: columns}) names columns the caller never reads: they are checked like every other column and
    left out of the tables returned, their memory given back. Of them, one no rule reads (register_checks.UNCHECKED)
    is not even read from a Parquet file that stores it as text, the only type it could be refused for, and one
    only the empty-cell rule reads (register_checks.EMPTINESS_ONLY) is read as Parquet's dictionary (each distinct
    name tested once, never decoded row by row). `dictionaries` ({table: columns}) names kept columns the caller
    takes as dictionary arrays that way (only those of register_checks.DICTIONARY_READABLE, whose rules judge a
    dictionary as they judge text; from CSV every column is plain text).
    `defer` ({table: columns}) names kept columns the caller reads only at the end: of a Parquet file whose
    column is already of its schema's type (conform passes it unchanged), they are checked, left out of the
    table and held as the file's compressed bytes instead (Register.deferred_column decodes them again). Of them,
    one no rule reads (register_checks.UNCHECKED) that the file stores as its schema's text type is not even
    decoded to be checked: it cannot be wrong, and only its later decoding is ever read. `filled` ({table:
    columns}) names columns whose filled_rows the caller reads (Register.filled_mask), computed from the validated
    column before it is deferred or dropped.
    """
    codes, household_codes = benefit_sets(benefit_codes, household_benefits)
    log = ProblemLog(cap_per_rule)
    drop = {name: frozenset(columns) for name, columns in (drop or {}).items()}
    encoded = {name: drop.get(name, frozenset()) | frozenset((dictionaries or {}).get(name, ()))
               for name in set(drop) | set(dictionaries or {})}
    lean = {name: (drop.get(name, frozenset()) & UNCHECKED.get(name, frozenset()),
                   columns & DICTIONARY_READABLE.get(name, frozenset())) for name, columns in encoded.items()}
    defer = {name: frozenset(columns) - drop.get(name, frozenset()) for name, columns in (defer or {}).items()}
    held = {name: columns & UNCHECKED.get(name, frozenset()) for name, columns in defer.items() if columns}
    with RegisterChecks(codes, household_codes, cap_per_rule=cap_per_rule) as checks:  # each group of rules as soon as its tables are read
        loaded = load_tables(Path(folder), log, lean, held, on_table=checks.table_loaded)
        checks.finish(loaded, log)
    if log:
        raise InputError(sort_problems(log.problems()))
    deferred = deferred_columns(loaded, defer)
    masks = {(name, column): filled_rows(loaded.tables[name].column(column))
             for name, columns in (filled or {}).items() if name in loaded.tables
             for column in columns if column in loaded.tables[name].column_names}
    register = Register(loaded.tables, loaded.paths, Path(folder), deferred, masks)
    if drop or deferred:
        for name in register:
            columns = drop.get(name, frozenset()) | frozenset(register.deferred_columns(name))
            if columns:
                register[name] = register[name].drop_columns(sorted(columns & set(register[name].column_names)))
        del loaded
        table_pool().release_unused()
    return register


@contextmanager
def located(register):
    """InputErrors raised inside (by the conversion and the calculation, which know tables, not files) name the
    file each table was read from: rights.parquet, not rights."""
    try:
        yield
    except InputError as exc:
        source = getattr(register, "source", {})
        if not any(problem.file in source for problem in exc.problems):
            raise
        raise InputError([replace(problem, file=Path(source[problem.file]).name) if problem.file in source
                          else problem for problem in exc.problems]) from None


def deferred_columns(loaded: Loaded, defer: dict) -> dict:
    """{table: Deferred} for the columns of `defer` its file gave already in their schema's type (any other was
    converted by conform, and stays in the table)."""
    deferred = {}
    for name, held in loaded.deferrable.items():
        table = loaded.tables[name]
        # a column left unread (load_tables' `held`) has its chunks already: those of the columns read with it
        lengths = lambda column: held.chunks[column] if column not in table.column_names else \
            tuple(len(chunk) for chunk in table.column(column).chunks)
        chunks = {column: lengths(column) for column in sorted(defer[name]) if column in held.chunks}
        if chunks:
            deferred[name] = Deferred(held.data, chunks)
    return deferred


def filled_rows(column) -> np.ndarray:
    """Per row of a text column: neither null nor the empty string (numpy bool)."""
    return np.asarray(pc.fill_null(pc.not_equal(column, ""), False).to_numpy(zero_copy_only=False), bool)


def benefit_sets(benefit_codes, household_benefits) -> tuple[frozenset, frozenset]:
    """Codes and household codes from a plain set or from a catalogue (`.benefit_codes`, `.benefits[].kind`)."""
    codes = getattr(benefit_codes, "benefit_codes", benefit_codes)
    household = set(household_benefits)
    household |= {benefit.code for benefit in getattr(benefit_codes, "benefits", ()) if benefit.kind in HOUSEHOLD_KINDS}
    return frozenset(codes), frozenset(household)


def sort_problems(problems):
    order = {name: i for i, name in enumerate(ALL_TABLES)}
    return sorted(problems, key=lambda p: (order.get(Path(p.file).stem, len(order)), p.file,
                                           p.row if p.row is not None else 0))


def register_file_digests(folder) -> dict[str, str]:
    """sha256 (hex) of every register file present in `folder`, by file name."""
    digests = {}
    for name in ALL_TABLES:
        for suffix in SUFFIXES:
            path = Path(folder) / f"{name}{suffix}"
            if path.is_file():
                with open(path, "rb") as handle:
                    digests[path.name] = hashlib.file_digest(handle, "sha256").hexdigest()
    return digests


# ---- loading ------------------------------------------------------------------------------------------------

def load_tables(folder: Path, log: ProblemLog, lean: dict | None = None, held=None, on_table=None) -> Loaded:
    """Every table conformed to its schema; `lean` ({table: (skip, dictionary)}): nullable text columns no rule
    reads, not read from a Parquet file that stores them as text (then absent from the table), and text columns
    whose rules judge a dictionary as text (DICTIONARY_READABLE), kept as Parquet's dictionary (then of dictionary
    type: callers drop them or take them as codes).
    The Parquet files of the tables in `held` ({table: unread columns}, or a set of tables) are read from their
    bytes in memory, kept in `deferrable` with the columns the file gave in the type it was read as (those
    conform passes unchanged); of the table's unread columns (nullable text no rule reads: UNCHECKED), those
    the file stores once and as the schema's type are not read at all (absent from the table, deferrable with
    the chunk lengths of the columns read with them).
    `on_table(loaded, name)`, when given, is called once each table is in `loaded` or found missing or unreadable,
    in the order the tables are read (REGISTER, then OPTIONAL_TABLES)."""
    loaded, lean = Loaded(), lean or {}
    on_table = on_table or (lambda _loaded, _name: None)
    held = held if isinstance(held, dict) else {name: frozenset() for name in held or ()}
    if not folder.is_dir():
        log.add(str(folder), None, None, None, N_("register folder does not exist"),
                N_("give the folder that holds persons, households, rights, payees and deductions files"))
        return loaded
    for name, schema in REGISTER.items():
        _load_table(folder, name, schema, loaded, log, lean, held)
        on_table(loaded, name)
    for name, schema in OPTIONAL_TABLES.items():
        _load_optional(folder, name, schema, loaded, log)
        on_table(loaded, name)
    return loaded


def _load_table(folder: Path, name: str, schema: pa.Schema, loaded: Loaded, log: ProblemLog, lean: dict,
                held: dict) -> None:
    """One table of REGISTER into `loaded` (load_tables)."""
    path = find_file(folder, name, log)
    if path is None:
        return
    skip, dictionary = lean.get(name, (frozenset(), frozenset()))
    data = _file_bytes(path) if name in held and path.suffix == ".parquet" else None
    unread = _unread_held(data, schema, held.get(name, frozenset()) - dictionary)
    raw = _read_held(path, skip | unread, dictionary, data)
    if raw is None:
        data, unread, raw = None, frozenset(), read_raw(path, schema, log, skip, dictionary)
    if raw is None:
        return
    if unread and not raw.num_columns:  # nothing else read to take the chunks from: read them after all
        unread, raw = frozenset(), _read_held(path, skip, dictionary, data)
    if data is not None:  # the columns conform passes as they were read, and those not read at all (with
        names = raw.column_names  # the chunks of the columns read with them: one scan's batches)
        batches = tuple(len(chunk) for chunk in raw.column(0).chunks) if unread else ()
        loaded.deferrable[name] = Deferred(data, {
            column: () for column in names if names.count(column) == 1 and column in schema.names
            and raw.schema.field(column).type == schema.field(column).type} | dict.fromkeys(unread, batches))
    skip = skip | unread
    table, unusable = conform(raw, schema, path.name, log, skip, dictionary)
    loaded.tables[name], loaded.unusable[name] = table, unusable
    loaded.files[name], loaded.paths[name] = path.name, path


def _load_optional(folder: Path, name: str, schema: pa.Schema, loaded: Loaded, log: ProblemLog) -> None:
    """An optional table from its file, or empty (with its schema) when the snapshot has none."""
    present = [folder / f"{name}{suffix}" for suffix in SUFFIXES if (folder / f"{name}{suffix}").is_file()]
    raw = read_raw(present[0], schema, log) if len(present) == 1 else None
    if len(present) > 1:
        log.add(f"{name}.csv", None, None, None, "both Parquet and CSV present for one table",
                f"keep only one of {name}.parquet and {name}.csv")
    if raw is None:
        loaded.tables[name], loaded.unusable[name] = schema.with_metadata(None).empty_table(), set()
        loaded.files[name] = f"{name}.parquet"
        return
    table, unusable = conform(raw, schema, present[0].name, log)
    loaded.tables[name], loaded.unusable[name] = table, unusable
    loaded.files[name], loaded.paths[name] = present[0].name, present[0]


def find_file(folder: Path, name: str, log: ProblemLog) -> Path | None:
    present = [folder / f"{name}{suffix}" for suffix in SUFFIXES if (folder / f"{name}{suffix}").is_file()]
    if len(present) == 1:
        return present[0]
    if not present:
        log.add(f"{name}.parquet", None, None, None, N_("missing file"),
                N_("put {name}.parquet (or {name}.csv) into {folder}; an empty table needs its header",
                   name=name, folder=folder))
    else:
        log.add(f"{name}.csv", None, None, None, N_("both Parquet and CSV present for one table"),
                N_("keep only one of {name}.parquet and {name}.csv", name=name))
    return None


def _file_bytes(path: Path) -> pa.Buffer | None:
    """The whole file in memory, or None when it cannot be read (read_raw then reports it as usual)."""
    try:
        with pa.OSFile(str(path)) as handle:
            return handle.read_buffer()
    except (pa.ArrowException, OSError):
        return None


def _unread_held(data: pa.Buffer | None, schema: pa.Schema, columns) -> frozenset:
    """Of `columns` (nullable text no rule reads, to be deferred), those the Parquet file in `data` stores once
    and in the schema's own type: left unread, their later decoding gives exactly the column a full read would
    have validated (conform passes such a column unchanged). None of them when the file's footer cannot be read
    (the read then reports it as usual)."""
    if data is None or not columns:
        return frozenset()
    try:
        stored = ds.ParquetFileFormat().make_fragment(pa.BufferReader(data)).physical_schema
    except (pa.ArrowException, OSError, ValueError):
        return frozenset()
    return frozenset(column for column in columns if column in schema.names and stored.names.count(column) == 1
                     and schema.field(column).nullable and schema.field(column).type == pa.string()
                     and stored.field(column).type == pa.string())


def _read_held(path: Path, skip, dictionary, data: pa.Buffer | None) -> pa.Table | None:
    """A Parquet file read from its bytes `data`; None when there are none or they cannot be read (the file is
    then read by read_raw, which reports the problem as it does for any file)."""
    if data is None:
        return None
    try:
        return _read_parquet(path, skip, dictionary, data)
    except (pa.ArrowException, OSError, ValueError):
        return None


def read_raw(path: Path, schema: pa.Schema, log: ProblemLog, skip=frozenset(),
             dictionary=frozenset()) -> pa.Table | None:
    """The file as an Arrow table (CSV: all strings); unreadable files become one problem. Columns of `skip` that
    a Parquet file stores as text are left out (see skippable), those of `dictionary` read as dictionaries."""
    try:
        if path.suffix == ".parquet":
            return _read_parquet(path, skip, dictionary)
        return csv_input.read_csv_strings(path, csv_input.csv_header(path))
    except (pa.ArrowException, OSError, UnicodeDecodeError, ValueError) as exc:
        decoding = isinstance(exc, UnicodeDecodeError) or "utf8" in str(exc).lower().replace("-", "")
        fault = csv_input.utf8_fault(path) if decoding and path.suffix == ".csv" and path.is_file() else None
        if fault is not None:  # the row and column of the first byte that is not UTF-8
            row, column, value, byte = fault
            log.add(path.name, row, column, value, N_("not UTF-8 text (byte {byte})", byte=byte),
                    N_("save {name} as UTF-8 (a spreadsheet's \"CSV UTF-8\"), then run again", name=path.name))
            return None
        kind = "Parquet" if path.suffix == ".parquet" else "CSV (UTF-8, comma-separated, header line)"
        log.add(path.name, None, None, None, N_("file cannot be read as {kind}: {exc}", kind=kind, exc=exc),
                N_("write {name} again as valid {kind}", name=path.name, kind=kind))
        return None


def _read_parquet(path: Path, skip=frozenset(), dictionary=frozenset(), data: pa.Buffer | None = None) -> pa.Table:
    """pq.read_table (of the file's bytes `data` when given, see Deferred), with the table's buffers from jemalloc where pyarrow has it: the register is the largest
    and longest-lived allocation of a run, and read by many threads into mimalloc's per-thread heaps it takes
    about a third more resident memory (10M rights: 6.4 instead of 5.2 GiB for 4.7 GiB of tables)."""
    source = path if data is None else pa.BufferReader(data)
    dataset = ds.dataset(path, format="parquet") if data is None else \
        ds.ParquetFileFormat().make_fragment(source)
    file_schema = dataset.schema if data is None else dataset.physical_schema
    left_out, as_dictionary = skippable(file_schema, skip), skippable(file_schema, dictionary)
    if as_dictionary:
        file_format = ds.ParquetFileFormat(read_options=ds.ParquetReadOptions(dictionary_columns=sorted(as_dictionary)))
        dataset = ds.dataset(path, format=file_format) if data is None else file_format.make_fragment(source)
    columns = [name for name in file_schema.names if name not in left_out] if left_out else None
    return dataset.to_table(columns=columns, use_threads=True, memory_pool=table_pool())


def skippable(file_schema: pa.Schema, skip) -> frozenset:
    """The columns of `skip` a file stores as text, once each: conform would pass them unchanged and no rule
    reads them, so not reading them changes no problem found (any other type is read and judged as usual)."""
    names = file_schema.names
    return frozenset(name for name in skip if names.count(name) == 1 and _is_text(file_schema.field(name).type))


def _is_text(arrow_type: pa.DataType) -> bool:
    if pa.types.is_dictionary(arrow_type):
        arrow_type = arrow_type.value_type
    return pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type)


def table_pool() -> pa.MemoryPool:
    """The memory pool register tables are read into (release_unused() on it gives their memory back)."""
    try:
        return pa.jemalloc_memory_pool()
    except NotImplementedError:
        return pa.default_memory_pool()


def conform(raw: pa.Table, schema: pa.Schema, file: str, log: ProblemLog, skipped=frozenset(),
            dictionary=frozenset()) -> tuple[pa.Table, set[str]]:
    """Table with exactly the schema's columns and types (less the `skipped` columns not read; the text columns of
    `dictionary` read as dictionaries stay so); bad cells null and reported."""
    _report_unknown_columns(raw, schema, file, log)
    fields = [f for f in schema if f.name not in skipped or f.name in raw.column_names]
    columns, unusable = [], set()
    for schema_field in fields:
        column, usable = conform_column(raw, schema_field, file, log, schema_field.name in dictionary)
        columns.append(column)
        if not usable:
            unusable.add(schema_field.name)
    fields = [f.with_type(column.type) for f, column in zip(fields, columns)]
    return pa.Table.from_arrays(columns, schema=pa.schema(fields)), unusable


def _report_unknown_columns(raw: pa.Table, schema: pa.Schema, file: str, log: ProblemLog) -> None:
    known = set(schema.names)
    seen = set()
    for name in raw.column_names:
        if name in seen:
            log.add(file, None, name, None, N_("column appears twice"), N_("keep one column of each name"))
        elif name not in known:
            log.add(file, None, name, None, N_("unknown column"),
                    "remove it or rename it to one of: " + ", ".join(schema.names))
        seen.add(name)


def conform_column(raw: pa.Table, schema_field: pa.Field, file: str, log: ProblemLog,
                   keep_dictionary: bool = False) -> tuple[pa.Array, bool]:
    """(typed column, usable?) for one schema field; a text dictionary stays one when `keep_dictionary` (a
    string field whose rules judge a dictionary as text: register_checks.DICTIONARY_READABLE)."""
    name = schema_field.name
    if name not in raw.column_names:
        if not schema_field.nullable:
            log.add(file, None, name, None, N_("missing required column"), N_("add the column {name}", name=name))
        return pa.nulls(raw.num_rows, schema_field.type), schema_field.nullable
    source = raw.column(raw.column_names.index(name))  # chunked: columns no rule reads are never copied
    if pa.types.is_dictionary(source.type):
        if keep_dictionary and _is_text(source.type) and schema_field.type == pa.string():
            if not schema_field.nullable:
                _report_empty(source, name, file, log)
            return source, True
        source = source.cast(source.type.value_type)
    if source.type != schema_field.type:
        source = source.combine_chunks()
    typed, bad = to_type(source, schema_field.type, file, name, log)
    if typed is None:
        return pa.nulls(raw.num_rows, schema_field.type), False
    if bad is not None and bad.any():
        family = csv_input.type_family(schema_field.type)
        log.add_rows(file, np.flatnonzero(bad), name, source, csv_input.bad_cell_rule(schema_field.type),
                     N_("write {expected}", expected=csv_input.EXPECTED_TEXT.get(family, N_("text"))))
    if not schema_field.nullable:
        _report_empty(source, name, file, log)
    return typed, True


def _report_empty(source, name: str, file: str, log: ProblemLog) -> None:
    """Nulls in a required column; in a required text column also blank text (a name of spaces)."""
    is_text = _is_text(source.type)
    if not source.null_count and not is_text:
        return
    missing = blank_mask(source) if is_text else np.zeros(len(source), dtype=bool)
    if source.null_count:
        missing |= pc.is_null(source).to_numpy(zero_copy_only=False)
    log.add_rows(file, np.flatnonzero(missing), name, None, N_("required value is empty"),
                 N_("fill in {name} on every row", name=name))


def to_type(source: pa.Array, arrow_type: pa.DataType, file: str, name: str, log: ProblemLog):
    """(typed, mask of bad cells or None when there are none) or (None, None) for a column of the wrong type."""
    if source.type == arrow_type:
        return source, None
    if pa.types.is_string(source.type) or pa.types.is_large_string(source.type):
        return csv_input.text_to_type(source.cast(pa.string()), arrow_type)
    if pa.types.is_integer(source.type) and pa.types.is_integer(arrow_type):
        if pa.types.is_unsigned_integer(source.type):
            source = pc.cast(pc.min_element_wise(source, pa.scalar(2**63 - 1, source.type)), pa.int64())
        return csv_input.narrow_integers(source.cast(pa.int64()), arrow_type)
    if pa.types.is_date(source.type) and pa.types.is_date(arrow_type):
        return source.cast(arrow_type), np.zeros(len(source), dtype=bool)
    # anything else (floats for money above all) is refused rather than converted with a silent loss
    log.add(file, None, name, None, N_("wrong column type {type}", type=source.type), N_("store {name} as {arrow_type}",
                                                                           name=name, arrow_type=arrow_type))
    return None, None
