"""Numba kernels of the register conversion (formats/convert.py, formats/ordered_register.py): one pass per table
in the engine's order (persons, memberships, versions) that writes the loose arrays and the packed matrices, the
codes of text columns, dense lookups of ids; and for the general path, rows already grouped by a key ordered by
the other keys within each group by insertion sort, equal to a stable lexicographic sort and a fraction of its
cost.
"""
import numpy as np

from numba import types

from engine.entitlement import NO_DAY, NO_MONTH, civil_month as _civil_month
from engine.jit import (BOOL_RO, I16_OUT, I16_RO, I32_2D_OUT, I32_OUT, I32_RO, I64_2D_OUT, I64_OUT, I64_RO, I8_OUT,
                        U64_RO, U8_RO, helper, kernel)

GROUP_SORT_MAX = 64  # insertion sort within a group up to this many rows; larger groups take the general sort


def grouped_order(group, first, second, third) -> np.ndarray | None:
    """np.lexsort((third, second, first, group)) when the rows are already grouped by `group` (non-decreasing)
    and no group has more than GROUP_SORT_MAX rows; None otherwise (the caller sorts in general)."""
    order = np.empty(len(group), dtype=np.int64)
    if grouped_order_kernel(group, first, second, third, GROUP_SORT_MAX, order):
        return order
    return None


@kernel
def grouped_order_kernel(group, first, second, third, group_rows_max, order):
    """Fill `order` and return True when `group` is non-decreasing and its runs are at most group_rows_max rows;
    return False (order undefined) otherwise. Within a run a stable insertion sort by (first, second, third)."""
    assert first.shape[0] == group.shape[0] and second.shape[0] == group.shape[0]
    assert third.shape[0] == group.shape[0] and order.shape[0] == group.shape[0]
    n = group.shape[0]
    begin = 0
    while begin < n:
        end = begin + 1
        while end < n and group[end] == group[begin]:
            end += 1
        if (end < n and group[end] < group[begin]) or end - begin > group_rows_max:
            return False
        for i in range(begin, end):
            row, j = i, i
            # shift the rows with a larger key one place up; equal keys stay before (stable)
            while j > begin and _after(order[j - 1], row, first, second, third):
                order[j] = order[j - 1]
                j -= 1
            order[j] = row
        begin = end
    return True


@helper
def _after(a, b, first, second, third):
    """Row a sorts strictly after row b by (first, second, third)."""
    assert a >= 0
    assert b >= 0
    if first[a] != first[b]:
        return first[a] > first[b]
    if second[a] != second[b]:
        return second[a] > second[b]
    return third[a] > third[b]


# ---- one pass per table: the register's columns read once, the loose arrays and the packed matrices written ----
# formats/convert.py takes these when a table is in the order the engine keeps (registers are written sorted by
# their ids) and every id it names is known; any other table goes the general way (sorts, binary searches, the
# Problems of bad input). Ids are looked up by subtraction from the first id (dense ids: `table` empty) or in a
# direct table (`table[id - low]`, -1 where absent). An input column of length 0 is a column that is all null
# (absent): every row reads its fill value. Days become months through a day -> month table (`months`, day
# `month_low` first) and the civil calendar outside it (engine.entitlement.civil_month).


@helper
def _month_of(day, months, month_low):
    """Month index of a day (days since 1970-01-01); NO_DAY stays NO_MONTH (engine.entitlement.months_of_days)."""
    assert months.shape[0] > 0
    assert month_low < 0
    if day == NO_DAY:
        return NO_MONTH
    slot = np.int64(day) - month_low
    if 0 <= slot < months.shape[0]:
        return months[slot]
    return _civil_month(day)


@helper
def _lookup(value, low, span, table):
    """Dense index of id `value` among sorted distinct ids from `low` spanning `span` (-1: not one of them)."""
    assert span >= 0
    assert table.shape[0] == 0 or table.shape[0] == span
    slot = value - low
    if slot < 0 or slot >= span:
        return np.int64(-1)
    if table.shape[0] == 0:
        return slot
    return np.int64(table[slot])


@helper
def _day_at(days, i):
    """Row i of a date column (days), NO_DAY where the column is all null (length 0)."""
    assert i >= 0
    assert days.ndim == 1
    return days[i] if days.shape[0] else NO_DAY


@helper
def _flag_at(flags, i):
    assert i >= 0
    assert flags.ndim == 1
    return flags[i] if flags.shape[0] else False


@kernel(types.int64(I64_RO))
def increasing_runs_kernel(ids):
    """Number of runs of equal ids when `ids` never decreases, else -1 (branch-free: runs are short)."""
    assert ids.ndim == 1
    assert ids.shape[0] >= 0
    if ids.shape[0] == 0:
        return 0
    runs, decreasing = 1, 0
    for i in range(1, ids.shape[0]):
        runs += ids[i] != ids[i - 1]
        decreasing |= ids[i] < ids[i - 1]
    return -1 if decreasing else runs


@kernel(types.void(I64_RO, I64_OUT))
def run_values_kernel(ids, out):
    """The id of each run of equal ids, in order (out: one slot per run; written branch-free, each row over its
    run's slot)."""
    assert ids.ndim == 1
    assert out.ndim == 1
    runs = 0
    for i in range(ids.shape[0]):
        runs += i == 0 or ids[i] != ids[i - 1]
        out[runs - 1] = ids[i]


CODE_LENGTHS = 64  # string_codes_kernel's candidate table: by length (this many) and last byte
KEY_BYTES = 8      # names of up to 8 bytes are compared as one integer


@kernel(types.int64(I32_RO, U8_RO, I64_RO, U8_RO, I16_RO, U64_RO, I16_OUT))
def string_codes_kernel(offsets, data, name_offsets, name_data, candidates, name_keys, out):
    """out[i] = position of string i (Arrow offsets and data) among the names (same layout), -1 if none; returns
    the number of strings not among the names. `candidates[length * 256 + last byte]` is the one name of that
    length and last byte (-1: none, -2: several, then the names are searched); a string of up to KEY_BYTES is
    then compared with it as one integer (`name_keys`: the names' bytes, little-endian)."""
    assert offsets.shape[0] == out.shape[0] + 1
    assert candidates.shape[0] == CODE_LENGTHS * 256 and name_keys.shape[0] == name_offsets.shape[0] - 1
    unknown = 0
    key_end_max = data.shape[0] - KEY_BYTES  # the last string start with eight bytes of data from it
    for i in range(out.shape[0]):
        begin, end = offsets[i], offsets[i + 1]
        length = end - begin
        code = -2
        if 0 < length < CODE_LENGTHS:
            code = candidates[length * 256 + data[end - 1]]
        if code == -2:
            code = _search_name(data, begin, end, name_offsets, name_data)
        elif code >= 0:
            if length <= KEY_BYTES:
                if key_end_max >= begin:  # eight bytes readable: a fixed read, masked to the string's length
                    key = np.uint64(0)
                    for k in range(KEY_BYTES):
                        key |= np.uint64(data[begin + k]) << np.uint64(8 * k)
                    key &= np.uint64(0xFFFFFFFFFFFFFFFF) >> np.uint64(8 * (KEY_BYTES - length))
                else:
                    key = np.uint64(0)
                    for k in range(length):
                        key |= np.uint64(data[begin + k]) << np.uint64(8 * k)
                if key != name_keys[code]:
                    code = -1
            elif not _same_bytes(data, begin, name_data, name_offsets[code], length - 1):
                code = -1
        out[i] = code
        unknown += code < 0
    return unknown


@kernel(types.int64(I32_RO, U8_RO, I16_RO, U64_RO, I16_OUT))
def short_codes_kernel(offsets, data, candidates, name_keys, out):
    """string_codes_kernel's usual case in fewer steps: out[i] = position of string i among the names when it is
    of 1 to KEY_BYTES bytes and the only name of its length and last byte (`candidates`) has its bytes; -1
    otherwise, also where string_codes_kernel would search (several such names, longer strings). Returns the
    number of -1: when not 0 the caller runs string_codes_kernel, which decides those. The strings with eight
    bytes of data from their start (all but the last few: Arrow's offsets never decrease) are read in a loop
    without branches on the data, eight bytes at once, which the compiler vectorises; the last few byte by byte.
    Those eight are read at unsigned positions: a signed one is checked for a negative index (counted from the
    end) on every read, which took more than half the time."""
    assert offsets.shape[0] == out.shape[0] + 1 and offsets[0] >= 0  # Arrow's offsets: from 0 up, never down
    assert candidates.shape[0] == CODE_LENGTHS * 256 and KEY_BYTES == 8
    n = out.shape[0]
    key_end_max = data.shape[0] - KEY_BYTES  # the last string start with eight bytes of data from it
    split = n
    while split > 0 and offsets[split - 1] > key_end_max:
        split -= 1
    missing = 0
    for i in range(split):
        begin, end = np.uint64(offsets[i]), np.uint64(offsets[i + 1])
        length = np.int64(end - begin)
        code = -1
        if 0 < length <= KEY_BYTES:
            code = candidates[length * 256 + data[end - np.uint64(1)]]
            key = (np.uint64(data[begin]) | (np.uint64(data[begin + np.uint64(1)]) << np.uint64(8))
                   | (np.uint64(data[begin + np.uint64(2)]) << np.uint64(16))
                   | (np.uint64(data[begin + np.uint64(3)]) << np.uint64(24))
                   | (np.uint64(data[begin + np.uint64(4)]) << np.uint64(32))
                   | (np.uint64(data[begin + np.uint64(5)]) << np.uint64(40))
                   | (np.uint64(data[begin + np.uint64(6)]) << np.uint64(48))
                   | (np.uint64(data[begin + np.uint64(7)]) << np.uint64(56)))
            key &= np.uint64(0xFFFFFFFFFFFFFFFF) >> np.uint64(8 * (KEY_BYTES - length))
            if code >= 0 and key != name_keys[code]:
                code = -1
        code = max(code, -1)  # -2: several names of that length and last byte, string_codes_kernel searches
        out[i] = code
        missing += code < 0
    for i in range(split, n):
        begin, end = offsets[i], offsets[i + 1]
        length = end - begin
        code = -1
        if 0 < length <= KEY_BYTES:
            code = candidates[length * 256 + data[end - 1]]
            key = np.uint64(0)
            for k in range(length):
                key |= np.uint64(data[begin + k]) << np.uint64(8 * k)
            if code >= 0 and key != name_keys[code]:
                code = -1
        code = max(code, -1)  # -2: several names of that length and last byte, string_codes_kernel searches
        out[i] = code
        missing += code < 0
    return missing


@helper
def _same_bytes(data, begin, name_data, name_begin, length):
    """data[begin:begin + length] == name_data[name_begin:name_begin + length]."""
    assert length >= 0
    assert begin >= 0
    for k in range(length):
        if data[begin + k] != name_data[name_begin + k]:
            return False
    return True


@helper
def _search_name(data, begin, end, name_offsets, name_data):
    """Position of data[begin:end] among the names, -1 if none."""
    assert end >= begin
    assert name_offsets.shape[0] >= 1
    for n in range(name_offsets.shape[0] - 1):
        if name_offsets[n + 1] - name_offsets[n] == end - begin \
                and _same_bytes(data, begin, name_data, name_offsets[n], end - begin):
            return n
    return -1


@kernel(types.boolean(I64_RO, I32_RO, I32_RO, BOOL_RO, BOOL_RO, I32_RO, types.int64, types.boolean,
                      I64_OUT, I32_OUT, I32_OUT, I32_OUT, I32_OUT, I32_2D_OUT))
def persons_kernel(ids, birth, death, disabled, without_care, months, month_low, pack,
                   person_ids, birth_day, birth_month, death_day, death_month, person32):
    """Persons in increasing id order: the loose columns (engine.entitlement.RegisterArrays) and, with `pack`,
    person32, whose columns then serve as the loose birth month, death day and death month (formats.
    ordered_register's views: those three outputs are not written, length 0 will do). False (outputs undefined)
    when the ids do not increase: the general path sorts and reports."""
    n = ids.shape[0]
    assert person_ids.shape[0] == n and birth_day.shape[0] == n
    assert (pack and person32.shape[0] == n and person32.shape[1] == 5) or (
        not pack and birth_month.shape[0] == n and death_day.shape[0] == n and death_month.shape[0] == n)
    for i in range(n):
        if i > 0 and ids[i] <= ids[i - 1]:
            return False
        person_ids[i] = ids[i]
        born, died = _day_at(birth, i), _day_at(death, i)
        born_month, died_month = _month_of(born, months, month_low), _month_of(died, months, month_low)
        birth_day[i] = born
        if not pack:
            birth_month[i], death_day[i], death_month[i] = born_month, died, died_month
        else:
            person32[i, 0], person32[i, 1], person32[i, 2], person32[i, 3] = born, born_month, died, died_month
            person32[i, 4] = (1 if _flag_at(disabled, i) else 0) | (2 if _flag_at(without_care, i) else 0)
    return True


MEMBER_WINDOW = 7  # a membership's place is counted among the 7 rows either side: households of up to 8 rows
MEMBER_BLOCK_ROWS = 1 << 14  # members_kernel's work is per block of this many rows (and the rest of a household)
# members_kernel's work: an int64 matrix of MEMBER_WORK_ROWS rows (these) x (a block's rows + 2 x MEMBER_WINDOW)
W_GROUP, W_KEY, W_START, W_PLACE = range(4)
MEMBER_WORK_ROWS = 4


@kernel(types.boolean(I64_RO, I64_RO, I16_RO, I32_RO, I32_RO, types.int64, types.int64, I32_RO, I32_RO, I32_RO,
                      types.int64, types.int64, types.boolean, I64_OUT, I32_OUT, I8_OUT,
                      I32_OUT, I32_OUT, I32_2D_OUT, I64_2D_OUT))
def members_kernel(household, person, role, from_day, to_day, person_low, person_span, person_table, birth_day,
                   months, month_low, group_rows_max, pack, offsets, member_person, member_role, from_month,
                   to_month, member32, work):
    """Memberships grouped by household id (ids never decreasing, the household index is the run number): each
    household's rows ordered by (birth day, person index, member_from), ties in file order (np.lexsort's order),
    written with their months and, with `pack`, member32. False (outputs undefined) when a household
    id decreases, a household has more than group_rows_max rows or a person id is not a person's: the general
    path sorts and reports. With `pack` the loose columns are member32's (formats.ordered_register's views): the
    four loose outputs are not written (length 0 will do).

    A row's place: its household's first row plus its household's rows ahead of it, counted among MEMBER_WINDOW
    rows either side in a fixed loop without branches that the compiler vectorises (a loop per household
    mispredicted its end on most households: half as long again); a larger household is counted again whole.
    Block by block, whole households each (_place_members); `work` holds a block's rows."""
    n, window = household.shape[0], MEMBER_WINDOW
    runs_total = offsets.shape[0] - 1
    assert person.shape[0] == n and role.shape[0] == n and runs_total >= 0
    assert work.shape[0] == MEMBER_WORK_ROWS
    assert work.shape[1] >= min(n, MEMBER_BLOCK_ROWS + group_rows_max) + 2 * window
    assert (pack and member32.shape[0] == n and member32.shape[1] == 4) or (
        not pack and member_person.shape[0] == n and member_role.shape[0] == n and from_month.shape[0] == n
        and to_month.shape[0] == n)
    if n and birth_day.shape[0] == 0:  # memberships of persons there are none of
        return False
    capacity, begin, runs = work.shape[1] - 2 * window, 0, -1
    key, start, place = work[W_KEY], work[W_START], work[W_PLACE]
    while begin < n:
        end = min(begin + MEMBER_BLOCK_ROWS, n)
        while end < n and household[end] == household[end - 1]:  # the block ends with a household
            end += 1
        if end - begin > capacity:  # a household longer than group_rows_max
            return False
        runs = _place_members(household, person, from_day, person_low, person_span, person_table, birth_day,
                              group_rows_max, begin, end, runs, offsets, work)
        if runs < -1:
            return False
        for i in range(end - begin):
            k, p, first_day, row = begin + place[window + i], key[window + i] & 0xFFFFFFFF, start[window + i], begin + i
            assert begin <= k < end  # a place within the block: the writes below run without bounds checks
            first, last = _month_of(first_day, months, month_low), _month_of(_day_at(to_day, row), months, month_low)
            if not pack:
                member_person[k], member_role[k], from_month[k], to_month[k] = p, role[row], first, last
            else:
                member32[k, 0], member32[k, 1], member32[k, 2], member32[k, 3] = p, role[row], first, last
        begin = end
    offsets[runs_total] = n
    return runs + 1 == runs_total


@helper
def _place_members(household, person, from_day, person_low, person_span, person_table, birth_day, group_rows_max,
                   begin, end, runs, offsets, work):
    """members_kernel's block begin:end (whole households): each row's household run number, sort key (birth day
    and person index as one number), member_from and place within the block into `work` (from column
    MEMBER_WINDOW on, the columns either side padded with group -1), each household's first row into `offsets`.
    Returns the run number of the block's last household, -2 when the rows are not as members_kernel takes them."""
    window, m = MEMBER_WINDOW, end - begin
    assert 0 < m <= work.shape[1] - 2 * window
    assert offsets.shape[0] >= 1
    group, key, start, place = work[W_GROUP], work[W_KEY], work[W_START], work[W_PLACE]
    for w in range(window):  # padding: rows of no household
        group[w], key[w], start[w] = -1, 0, 0
        group[m + window + w], key[m + window + w], start[m + window + w] = -1, 0, 0
    unusual = False  # a household id decreasing or a person id not a person's, told once the block is read
    for i in range(m):
        row = begin + i
        unusual |= row > 0 and household[row] < household[row - 1]
        runs += row == 0 or household[row] != household[row - 1]
        p = _lookup(person[row], person_low, person_span, person_table)
        unusual |= p < 0
        p = max(p, 0)  # a row of person 0 meanwhile (there is one: the caller refuses persons without any)
        group[window + i], key[window + i] = runs, (np.int64(birth_day[p]) << 32) + p
        start[window + i] = _day_at(from_day, row)
    if unusual or runs + 1 >= offsets.shape[0]:
        return -2
    for i in range(m - 1, -1, -1):  # backwards, branch-free: a household's first row is written last
        offsets[group[window + i]] = begin + i
    for i in range(m):  # from 0 and with j from a constant distance: the loop the compiler vectorises
        g, k, s = group[window + i], key[window + i], start[window + i]
        at = i
        for d in range(1, MEMBER_WINDOW + 1):  # a row before it in the file that sorts after it
            j = window + i - d
            at -= (group[j] == g) & ((key[j] > k) | ((key[j] == k) & (start[j] > s)))
        for d in range(1, MEMBER_WINDOW + 1):  # a row after it in the file that sorts before it
            j = window + i + d
            at += (group[j] == g) & ((key[j] < k) | ((key[j] == k) & (start[j] < s)))
        place[window + i] = at
    for g in range(group[window], runs + 1):
        first = offsets[g] - begin
        last = (offsets[g + 1] - begin) if g < runs else m
        if last - first > group_rows_max:
            return -2
        if last - first > window + 1:
            _place_whole_group(key, start, place, first + window, last + window)
    return runs


@helper
def _place_whole_group(key, start, place, begin, end):
    """_place_members' places of the rows begin:end of `work` (a household past the window), among all its rows."""
    assert begin <= end
    assert end <= place.shape[0]
    for i in range(begin, end):
        k, s, at = key[i], start[i], begin - MEMBER_WINDOW
        for j in range(begin, end):  # ties in (key, start) in file order
            at += (key[j] < k) | ((key[j] == k) & ((start[j] < s) | ((j < i) & (start[j] == s))))
        place[i] = at


@kernel(types.int64(I64_RO, types.int64, types.int64, I32_RO, I32_OUT))
def lookup_kernel(ids, low, span, table, out):
    """out[i] = dense index of ids[i] (_lookup), -1 where unknown; returns the number of unknown ids."""
    assert out.shape[0] == ids.shape[0]
    assert span >= 0
    misses = 0
    for i in range(ids.shape[0]):
        index = _lookup(ids[i], low, span, table)
        out[i] = index
        misses += index < 0
    return misses


@helper
def _int_at(values, i, fill):
    """Row i of an integer column, `fill` where the column is all null (length 0)."""
    assert i >= 0
    assert values.ndim == 1
    return np.int64(values[i]) if values.shape[0] else np.int64(fill)


@kernel(types.int64(I64_RO, I32_RO, I32_RO, I16_RO))
def version_runs_kernel(right_id, valid_from, version, benefit):
    """The number of rights when the version rows are sorted by (right id, valid_from, version), every benefit
    code is known (>= 0) and the versions of a right name one benefit; else -1 (the general path)."""
    n = right_id.shape[0]
    assert valid_from.shape[0] in (0, n) and version.shape[0] == n
    assert benefit.shape[0] == n
    runs = 0
    for i in range(n):
        if benefit[i] < 0:
            return -1
        if i == 0 or right_id[i] > right_id[i - 1]:
            runs += 1
            continue
        if right_id[i] < right_id[i - 1] or benefit[i] != benefit[i - 1]:
            return -1
        day, day_before = _day_at(valid_from, i), _day_at(valid_from, i - 1)
        if day < day_before or (day == day_before and version[i] < version[i - 1]):
            return -1
    return runs


@kernel(types.int64(I64_RO, I32_RO, I32_RO, I32_RO, I32_RO, I32_RO, I16_RO, I64_RO, I16_RO, I16_RO, I64_RO, I64_RO,
                    I16_RO, BOOL_RO, BOOL_RO, BOOL_RO, I32_RO, I32_RO, I32_RO, I32_RO, types.int64, I64_RO, BOOL_RO,
                    types.boolean, types.boolean,
                    I64_OUT, I16_OUT, I64_OUT, I32_OUT, I32_OUT, I32_OUT, I32_OUT, I32_OUT, I32_OUT, I32_OUT, I64_OUT,
                    I16_OUT, I16_OUT, I64_OUT, I32_OUT, I64_OUT, I16_OUT, I32_2D_OUT, I64_2D_OUT))
def versions_kernel(right_id, version, valid_from, valid_to, decided_on, applied_on, benefit, income, grade,
                    birth_order, amount, other, subgroup, mo_family, single_parent, unable_to_work, person, household,
                    payee, months, month_low, grade_max, decided_amount, amount_null, pack,
                    right_ids, right_benefit, version_offsets, ver_right, ver_number, from_day, to_day, from_month,
                    to_month, decided_day, income_minor, grade_out, birth_order_out, amount_minor, applied_day,
                    other_minor, subgroup_out, ver32, ver64):
    """Version rows already in the engine's order (version_runs_kernel >= 0): the loose columns and, with `pack`,
    ver32 / ver64 (engine.entitlement.pack_fields). Applied days default to the decision day. Returns the number
    of rows formats.convert._check_formula_inputs would report (grade outside the benefit's table, a decided
    amount missing where `amount_null`, a negative amount): when not 0 the caller runs that check. With `pack` the
    version number, grade, birth order, subgroup and the three amounts are not written loose (length 0 will do):
    formats.ordered_register reads them as views of ver32 / ver64."""
    n = right_id.shape[0]
    assert ver_right.shape[0] == n and person.shape[0] == n and household.shape[0] == n and payee.shape[0] == n
    assert (pack and ver32.shape[0] == n and ver32.shape[1] == 13 and ver64.shape[0] == n and ver64.shape[1] == 3) \
        or (not pack and ver_number.shape[0] == n and income_minor.shape[0] == n and grade_out.shape[0] == n
            and birth_order_out.shape[0] == n and amount_minor.shape[0] == n and other_minor.shape[0] == n
            and subgroup_out.shape[0] == n)
    runs, suspect = -1, 0
    for i in range(n):
        if i == 0 or right_id[i] != right_id[i - 1]:
            runs += 1
            right_ids[runs], right_benefit[runs], version_offsets[runs] = right_id[i], benefit[i], i
        b = benefit[i]
        first, last = _day_at(valid_from, i), _day_at(valid_to, i)
        first_month, last_month = _month_of(first, months, month_low), _month_of(last, months, month_low)
        decided = _day_at(decided_on, i)
        applied = applied_on[i] if applied_on.shape[0] else decided
        gross, fixed, paid = _int_at(income, i, 0), _int_at(amount, i, 0), _int_at(other, i, 0)
        level, order, group = _int_at(grade, i, 1), _int_at(birth_order, i, 1), _int_at(subgroup, i, 0)
        if (grade_max[b] > 0 and (np.int16(level) < 1 or np.int16(level) > grade_max[b])) \
                or (amount_null and decided_amount[b]) or gross < 0 or fixed < 0 or paid < 0:
            suspect += 1
        ver_right[i], from_day[i], to_day[i] = runs, first, last
        from_month[i], to_month[i], decided_day[i], applied_day[i] = first_month, last_month, decided, applied
        if not pack:
            ver_number[i], income_minor[i], amount_minor[i], other_minor[i] = version[i], gross, fixed, paid
            grade_out[i], birth_order_out[i], subgroup_out[i] = level, order, group
        else:
            flags = (1 if _flag_at(mo_family, i) else 0) | (2 if _flag_at(single_parent, i) else 0) \
                | (4 if _flag_at(unable_to_work, i) else 0)
            ver32[i, 0], ver32[i, 1], ver32[i, 2], ver32[i, 3] = version[i], person[i], household[i], first
            ver32[i, 4], ver32[i, 5], ver32[i, 6], ver32[i, 7] = last, first_month, last_month, decided
            ver32[i, 8], ver32[i, 9], ver32[i, 10] = np.int16(level), np.int16(order), flags
            ver32[i, 11], ver32[i, 12] = _month_of(applied, months, month_low), np.int16(group)
            ver64[i, 0], ver64[i, 1], ver64[i, 2] = gross, fixed, paid
    version_offsets[runs + 1] = n
    return suspect
