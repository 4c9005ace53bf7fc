"""The register conversion's one pass per table (formats/convert.py): a table in the order the engine keeps
(registers are written sorted by their ids) whose ids are all known is read once, column by column from Arrow's
memory, by a kernel of engine/register_columns.py that writes the loose arrays and, with `pack`, the packed
matrices; anything else (out of order, unknown ids or codes, ids too sparse for a direct lookup, an unexpected
column type) raises Unusual and formats/convert.py takes its general path, which sorts, searches and reports the
Problems of bad input. The results equal the general path's exactly (tests/formats/test_convert_one_pass.py).
"""
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from engine import jit
from engine.entitlement import (M_FROM_MONTH, M_PERSON, M_ROLE, M_TO_MONTH, NO_DAY, P_BIRTH_MONTH, P_DEATH_DAY,
                                P_DEATH_MONTH, V_AMOUNT, V_GRADE, V_INCOME, V_NUMBER, V_ORDER, V_OTHER, V_SUBGROUP,
                                months_of_days)
from engine.register_columns import (CODE_LENGTHS, GROUP_SORT_MAX, KEY_BYTES, MEMBER_BLOCK_ROWS, MEMBER_WINDOW,
                                     MEMBER_WORK_ROWS, increasing_runs_kernel, lookup_kernel, members_kernel,
                                     persons_kernel, run_values_kernel, short_codes_kernel, string_codes_kernel,
                                     version_runs_kernel, versions_kernel)
from formats.keys import DIRECT_SPAN_PER_ID
from formats.schemas import HOUSEHOLD_ROLES


_BESIDE = []  # one worker thread, made on first use
_BESIDE_LOCK = threading.Lock()


def beside(function, *args):
    """function(*args) started on the conversion's worker thread (a Future)."""
    with _BESIDE_LOCK:
        if not _BESIDE:
            _BESIDE.append(ThreadPoolExecutor(1, thread_name_prefix="register-conversion"))
    return _BESIDE[0].submit(function, *args)


class Unusual(Exception):
    """A table the one-pass conversion leaves to the general path (out of order, unknown ids or codes, an
    unexpected column type)."""


ONE_PASS_KERNELS = (increasing_runs_kernel, lookup_kernel, members_kernel, persons_kernel, run_values_kernel,
                    short_codes_kernel, string_codes_kernel, version_runs_kernel, versions_kernel)
_READY = []


def kernels_ready() -> bool:
    """True unless a background process compiles the kernels (engine.jit.compiling_elsewhere: a command's first run
    on a machine, payroll/warmup.py) and one of the one-pass kernels is neither compiled in this process nor cached
    on disk yet: the conversion then takes the general path at once instead of compiling them (~3 s) on the
    command's critical path, and the warm-up compiles them, last, for the next run. Both paths give the same
    arrays. Elsewhere the first call compiles them."""
    if not _READY and (not jit.compiling_elsewhere or all(jit.is_ready(kernel) for kernel in ONE_PASS_KERNELS)):
        _READY.append(True)
    return bool(_READY)


def one_pass(convert, *args):
    """convert(*args), None when it finds the table unusual or the one-pass kernels are not compiled yet."""
    if not kernels_ready():
        return None
    try:
        return convert(*args)
    except Unusual:
        return None


def persons_in_order(table, pack, matrices) -> dict:
    rows = table.num_rows
    ids = _key_values(table, "person_id")
    loose = 0 if pack else rows  # with pack, person32's columns serve as these (_packed_column)
    out = dict(person_ids=np.empty(rows, np.int64), person_birth_day=np.empty(rows, np.int32),
               person_birth_month=np.empty(loose, np.int32), person_death_day=np.empty(loose, np.int32),
               person_death_month=np.empty(loose, np.int32), person_disabled=_fresh_bools(table, "disabled"),
               person_without_care=_fresh_bools(table, "without_parental_care"))
    person32 = np.empty((rows if pack else 0, 5), np.int32)
    months, month_low = _month_table()
    if not persons_kernel(ids, _day_values(table, "birth_date"), _day_values(table, "death_date"),
                          out["person_disabled"], out["person_without_care"], months, month_low, pack,
                          out["person_ids"], out["person_birth_day"], out["person_birth_month"],
                          out["person_death_day"], out["person_death_month"], person32):
        raise Unusual("person ids not increasing")
    if pack:
        matrices["person32"] = person32
        out.update(person_birth_month=_packed_column(person32, P_BIRTH_MONTH, np.int32),
                   person_death_day=_packed_column(person32, P_DEATH_DAY, np.int32),
                   person_death_month=_packed_column(person32, P_DEATH_MONTH, np.int32))
    return out


def household_ids_in_order(households, rights) -> tuple[np.ndarray, np.ndarray]:
    """(household ids, dense household index of each rights row, -1 where none) when the memberships are grouped
    by household id in increasing order and the rights name no other household."""
    ids = _key_values(households, "household_id")
    runs = increasing_runs_kernel(ids)
    if runs < 0:
        raise Unusual("memberships not grouped by household")
    household_ids = np.empty(runs, np.int64)
    run_values_kernel(ids, household_ids)
    column = column_of(rights, "household_id")
    if column is None:
        raise Unusual("rights without household_id")
    right_household = _dense_index(household_ids, _int_values(rights, "household_id", np.int64, 0, rights.num_rows))
    if column.null_count:
        right_household[pc.is_null(column).to_numpy(zero_copy_only=False)] = -1
    if np.count_nonzero(right_household < 0) != column.null_count:
        raise Unusual("a right names a household without members")
    return household_ids, right_household


def members_in_order(table, household_ids, person_ids, birth_day, pack, matrices, roles=None) -> dict:
    """`roles`: the role codes being made on the worker thread (a Future), None to make them here."""
    rows = table.num_rows
    person_low, person_span, person_table = _lookup_table(person_ids)
    months, month_low = _month_table()
    loose = 0 if pack else rows  # with pack, member32's columns serve as these (_packed_column)
    out = dict(member_offsets=np.empty(len(household_ids) + 1, np.int64), member_person=np.empty(loose, np.int32),
               member_role=np.empty(loose, np.int8), member_from_month=np.empty(loose, np.int32),
               member_to_month=np.empty(loose, np.int32))
    member32 = np.empty((rows if pack else 0, 4), np.int32)
    work = np.empty((MEMBER_WORK_ROWS, member_work_columns(rows)), np.int64)
    if not members_kernel(_key_values(table, "household_id"), _key_values(table, "person_id"),
                          string_codes(table.column("role"), HOUSEHOLD_ROLES) if roles is None else roles.result(),
                          _day_values(table, "member_from"),
                          _day_values(table, "member_to"), person_low, person_span, person_table,
                          np.ascontiguousarray(birth_day, np.int32), months, month_low, GROUP_SORT_MAX, pack,
                          out["member_offsets"], out["member_person"], out["member_role"], out["member_from_month"],
                          out["member_to_month"], member32, work):
        raise Unusual("memberships out of order, in a large household or of an unknown person")
    if pack:
        matrices["member32"] = member32
        out.update(member_person=_packed_column(member32, M_PERSON, np.int32),
                   member_role=_packed_column(member32, M_ROLE, np.int8),
                   member_from_month=_packed_column(member32, M_FROM_MONTH, np.int32),
                   member_to_month=_packed_column(member32, M_TO_MONTH, np.int32))
    return out


def member_work_columns(rows: int) -> int:
    """Columns of members_kernel's work for `rows` memberships: a block and the rest of its last household, padded
    by MEMBER_WINDOW either side (half a MB whatever the register's size)."""
    return min(rows, MEMBER_BLOCK_ROWS + GROUP_SORT_MAX) + 2 * MEMBER_WINDOW


def payee_ids_in_order(table) -> np.ndarray:
    ids = _key_values(table, "payee_id")
    if increasing_runs_kernel(ids) != len(ids):
        raise Unusual("payee ids not increasing")
    return ids.copy()


def versions_in_order(table, catalogue, person_ids, household_ids, right_household, payee_ids, pack,
                      matrices) -> tuple[dict, np.ndarray | None]:
    """(the version columns, the rows' benefit codes when formats.convert's formula-input check has rows to
    report, else None)."""
    rows = table.num_rows
    right_id, version = _key_values(table, "right_id"), _int_values(table, "version", np.int32, 0, rows)
    valid_from = _day_values(table, "valid_from")
    benefit = string_codes(table.column("benefit"), catalogue.benefit_codes)
    rights = version_runs_kernel(right_id, valid_from, version, benefit)
    if rights < 0:
        raise Unusual("versions out of order or of several benefits")
    person = _dense_index(person_ids, _key_values(table, "person_id"))
    payee = _dense_index(payee_ids, _key_values(table, "payee_id"))
    if (person < 0).any() or (payee < 0).any():
        raise Unusual("a version of an unknown person or payee")
    if right_household is None:
        right_household = _dense_index(household_ids, _int_values(table, "household_id", np.int64, 0, rows))
        right_household[pc.is_null(table.column("household_id")).to_numpy(zero_copy_only=False)] = -1
    decided_on = _day_values(table, "decided_on")
    applied_on = _day_values(table, "applied_on")
    applied_column = column_of(table, "applied_on")
    if len(applied_on) and applied_column.null_count:  # a missing application date is the decision's
        decided_full = decided_on if len(decided_on) else np.full(rows, NO_DAY, np.int32)
        applied_on = np.where(pc.is_null(applied_column).to_numpy(zero_copy_only=False), decided_full,
                              applied_on).astype(np.int32)
    amount_column = column_of(table, "amount_minor")
    amount_nulls = rows if amount_column is None else amount_column.null_count
    benefits = benefit_list(catalogue)
    grade_max = np.array([grade_count(benefit) for benefit in benefits] + [0], dtype=np.int64)
    decided_amount = np.array([benefit.decided_amount for benefit in benefits] + [False])
    loose = 0 if pack else rows  # with pack, ver32's and ver64's columns serve as these (_packed_column)
    out = dict(right_ids=np.empty(rights, np.int64), right_benefit=np.empty(rights, np.int16),
               version_offsets=np.empty(rights + 1, np.int64), ver_right=np.empty(rows, np.int32),
               ver_number=np.empty(loose, np.int32), ver_person=person, ver_household=right_household, ver_payee=payee,
               ver_from_day=np.empty(rows, np.int32), ver_to_day=np.empty(rows, np.int32),
               ver_from_month=np.empty(rows, np.int32), ver_to_month=np.empty(rows, np.int32),
               ver_decided_day=np.empty(rows, np.int32), ver_income_minor=np.empty(loose, np.int64),
               ver_grade=np.empty(loose, np.int16), ver_birth_order=np.empty(loose, np.int16),
               ver_amount_minor=np.empty(loose, np.int64), ver_mo_family=_fresh_bools(table, "mo_family"),
               ver_single_parent=_fresh_bools(table, "single_parent"),
               ver_unable_to_work=_fresh_bools(table, "unable_to_work"),
               ver_consent=_fresh_bools(table, "consent_full_recovery"), ver_applied_day=np.empty(rows, np.int32),
               ver_agency_fault=_fresh_bools(table, "agency_fault"), ver_other_minor=np.empty(loose, np.int64),
               ver_subgroup=np.empty(loose, np.int16))
    ver32, ver64 = np.empty((rows if pack else 0, 13), np.int32), np.empty((rows if pack else 0, 3), np.int64)
    months, month_low = _month_table()
    suspect = versions_kernel(
        right_id, version, valid_from, _day_values(table, "valid_to"), decided_on, applied_on, benefit,
        _int_values(table, "income_minor", np.int64), _int_values(table, "grade", np.int16, 1),
        _int_values(table, "birth_order", np.int16, 1), _int_values(table, "amount_minor", np.int64),
        _int_values(table, "other_payment_minor", np.int64), _int_values(table, "subgroup", np.int16),
        out["ver_mo_family"], out["ver_single_parent"], out["ver_unable_to_work"], person, right_household, payee,
        months, month_low, grade_max, decided_amount, amount_nulls == rows, pack,
        *(out[name] for name in ("right_ids", "right_benefit", "version_offsets", "ver_right", "ver_number",
                                 "ver_from_day", "ver_to_day", "ver_from_month", "ver_to_month", "ver_decided_day",
                                 "ver_income_minor", "ver_grade", "ver_birth_order", "ver_amount_minor",
                                 "ver_applied_day", "ver_other_minor", "ver_subgroup")), ver32, ver64)
    if pack:
        matrices.update(ver32=ver32, ver64=ver64)
        out.update(ver_number=_packed_column(ver32, V_NUMBER, np.int32),
                   ver_grade=_packed_column(ver32, V_GRADE, np.int16),
                   ver_birth_order=_packed_column(ver32, V_ORDER, np.int16),
                   ver_subgroup=_packed_column(ver32, V_SUBGROUP, np.int16),
                   ver_income_minor=_packed_column(ver64, V_INCOME, np.int64),
                   ver_amount_minor=_packed_column(ver64, V_AMOUNT, np.int64),
                   ver_other_minor=_packed_column(ver64, V_OTHER, np.int64))
    return out, (benefit if suspect or 0 < amount_nulls < rows else None)


def _packed_column(matrix: np.ndarray, column: int, dtype) -> np.ndarray:
    """Column `column` of a packed matrix as a loose RegisterArrays field of `dtype`: a read-only view, so each value
    is written once (the kernels wrote it there). A narrower dtype reads each value's low bytes (little-endian:
    its first bytes), which hold it whole: the kernels stored the narrow value sign-extended (np.int16(grade),
    a role code). Read-only: a write to the loose field would change the kernels' copy too, so none is allowed."""
    dtype = np.dtype(dtype)
    if dtype == matrix.dtype:
        view = matrix[:, column]
    elif sys.byteorder == "little":
        view = matrix.view(dtype)[:, column * (matrix.dtype.itemsize // dtype.itemsize)]
    else:  # the low bytes come last: a narrowed copy
        view = matrix[:, column].astype(dtype)
    view.flags.writeable = False
    return view


MONTH_TABLE_DAYS = (-25_567, 47_482)  # 1900-01-01 to 2099-12-31: a day -> month table of 290 KB


def _month_table(cache={}) -> tuple[np.ndarray, int]:
    """(month index of every day of MONTH_TABLE_DAYS, its first day), computed once."""
    if not cache:
        low, high = MONTH_TABLE_DAYS
        cache["months"] = months_of_days(np.arange(low, high + 1, dtype=np.int32))
    return cache["months"], MONTH_TABLE_DAYS[0]


def _lookup_table(sorted_ids: np.ndarray) -> tuple[int, int, np.ndarray]:
    """(first id, span, direct table) for register_columns' _lookup: an empty table when the ids are dense."""
    count = len(sorted_ids)
    if count == 0:
        return 0, 0, np.zeros(0, np.int32)
    low, span = int(sorted_ids[0]), int(sorted_ids[-1]) - int(sorted_ids[0]) + 1
    if span == count:
        return low, span, np.zeros(0, np.int32)
    if span > DIRECT_SPAN_PER_ID * count + 1024 or count >= 2**31:
        raise Unusual("sparse ids")
    table = np.full(span, -1, np.int32)
    table[sorted_ids - np.int64(low)] = np.arange(count, dtype=np.int32)
    return low, span, table


def _dense_index(sorted_ids: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """int32 dense index of each id among the sorted distinct ids, -1 where absent."""
    low, span, table = _lookup_table(sorted_ids)
    out = np.empty(len(ids), np.int32)
    lookup_kernel(ids, low, span, table, out)
    return out


def _key_values(table, name) -> np.ndarray:
    """An id column without nulls, as int64."""
    column = column_of(table, name)
    if column is None or column.null_count:
        raise Unusual(f"{name} with nulls")
    return _int_values(table, name, np.int64, 0, table.num_rows)


def _int_values(table, name, dtype, fill=0, rows=0) -> np.ndarray:
    """An integer column as `dtype` (Arrow's memory itself where it can), nulls as `fill`; all null or absent:
    `rows` fills (the kernels read a column of length 0 as all fill)."""
    column = column_of(table, name)
    if column is None or column.null_count == len(column):
        return np.full(rows, fill, dtype=dtype)
    if column.null_count:
        return pc.fill_null(column.cast(pa.int64()), fill).to_numpy().astype(dtype)
    expected = pa.from_numpy_dtype(dtype)
    parts = [_buffer_view(chunk, dtype) if chunk.type == expected else
             chunk.cast(pa.int64()).to_numpy().astype(dtype) for chunk in column.chunks]
    return _joined(parts, dtype)


def _day_values(table, name) -> np.ndarray:
    """A date column as int32 days (Arrow's memory itself where it can), nulls as NO_DAY; length 0 when all null
    or absent."""
    column = column_of(table, name)
    if column is None or column.null_count == len(column):
        return np.zeros(0, np.int32)
    if not pa.types.is_date32(column.type):
        raise Unusual(f"{name} is not date32")
    if column.null_count:
        return pc.fill_null(column.cast(pa.int32()), int(NO_DAY)).to_numpy().astype(np.int32, copy=False)
    return _joined([_buffer_view(chunk, np.int32) for chunk in column.chunks], np.int32)


def _fresh_bools(table, name) -> np.ndarray:
    """A boolean column unpacked into a new array (False for nulls), the caller's to keep."""
    column = column_of(table, name)
    if column is None or column.null_count == len(column):
        return np.zeros(table.num_rows, dtype=np.bool_)
    if column.null_count:
        column = pc.fill_null(column, False)
    if not pa.types.is_boolean(column.type):
        raise Unusual(f"{name} is not boolean")
    parts = [_unpacked_bits(chunk) for chunk in column.chunks]
    return parts[0] if len(parts) == 1 else np.concatenate(parts)


def _unpacked_bits(chunk) -> np.ndarray:
    """A boolean chunk without nulls as a new bool array (Arrow packs eight values a byte, least significant
    bit first)."""
    rows, offset = len(chunk), chunk.offset
    buffer = chunk.buffers()[1]
    if rows == 0 or buffer is None:
        return np.zeros(rows, np.bool_)
    bits = np.unpackbits(np.frombuffer(buffer, np.uint8, count=(offset + rows + 7) // 8), count=offset + rows,
                         bitorder="little")
    return (bits[offset:] if offset else bits).view(np.bool_)


def _buffer_view(chunk, dtype) -> np.ndarray:
    """The values of a chunk without nulls as a (read-only) view of its Arrow buffer."""
    buffer = chunk.buffers()[1]
    if buffer is None:
        return np.zeros(0, dtype)
    return np.frombuffer(buffer, dtype=dtype, count=chunk.offset + len(chunk))[chunk.offset:]


def _joined(parts, dtype) -> np.ndarray:
    if not parts:
        return np.zeros(0, dtype)
    return parts[0] if len(parts) == 1 else np.concatenate(parts)


def code_tables(names) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The string-code kernels' view of `names`: (offsets, bytes, the candidate per length and last byte (-2 where
    two names share them), each name's first KEY_BYTES bytes as a little-endian key)."""
    encoded = [name.encode() for name in names]
    name_offsets = np.zeros(len(encoded) + 1, np.int64)
    np.cumsum([len(name) for name in encoded], out=name_offsets[1:])
    name_data = np.frombuffer(b"".join(encoded) or b"\0", np.uint8)
    candidates = np.full(CODE_LENGTHS * 256, -1, np.int16)
    for position, name in enumerate(encoded):
        if 0 < len(name) < CODE_LENGTHS:
            slot = len(name) * 256 + name[-1]
            candidates[slot] = position if candidates[slot] == -1 else -2
    name_keys = np.array([int.from_bytes(name[:KEY_BYTES], "little") for name in encoded], np.uint64)
    return name_offsets, name_data, candidates, name_keys


def string_codes(column, names) -> np.ndarray:
    """int16 position of each value among `names`; unknown values or nulls are left to the general path."""
    if column.null_count:
        raise Unusual("null codes")
    name_offsets, name_data, candidates, name_keys = code_tables(names)
    out = np.empty(len(column), np.int16)
    start = 0
    for chunk in column.chunks:
        end = start + len(chunk)
        if pa.types.is_dictionary(chunk.type):
            codes = string_codes(pa.chunked_array([chunk.dictionary]), names)
            out[start:end] = codes[chunk.indices.to_numpy(zero_copy_only=False)]
        elif pa.types.is_string(chunk.type):
            _, offsets, data = chunk.buffers()
            offsets = np.frombuffer(offsets, np.int32, count=chunk.offset + len(chunk) + 1)[chunk.offset:]
            data = np.zeros(1, np.uint8) if data is None else np.frombuffer(data, np.uint8)
            if short_codes_kernel(offsets, data, candidates, name_keys, out[start:end]) and string_codes_kernel(
                    offsets, data, name_offsets, name_data, candidates, name_keys, out[start:end]):
                raise Unusual("unknown codes")
        else:
            raise Unusual("codes not strings")
        start = end
    return out


def column_of(table, name):
    """The column `name`, None when the table has none (looked up in the schema: Table.column_names makes a list
    of every name each time, and a register conversion asks dozens of times)."""
    found = table.schema.get_all_field_indices(name)
    if not found:
        return None
    return table.column(found[0]) if len(found) == 1 else table.column(name)


def benefit_list(catalogue) -> list:
    """catalogue.benefit(code) of every benefit code, in order, without a search per code."""
    first = {}
    for benefit in catalogue.benefits:
        first.setdefault(benefit.code, benefit)
    return [first[code] for code in catalogue.benefit_codes]


def grade_count(benefit) -> int:
    dated = benefit.parameters.get("amount_by_grade") if benefit.kind == "graded_flat" else None
    return len(dated[0][1]) if dated else 0
