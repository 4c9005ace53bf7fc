"""Every rule a register snapshot must satisfy, checked column-wise over whole tables.

Each check computes a boolean mask or an index array with pyarrow.compute / numpy and hands the offending rows
to the ProblemLog; no Python loop runs per row except to build the problems that are reported. A check runs only
when the columns it reads were loaded (a missing column is reported once, not again by every rule using it).
formats/rule_groups.py runs the rules, group by group, on threads (check_register).
"""
import datetime as dt
import threading

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from formats.bank_ids import fast_valid_ibans, invalid_bics, invalid_ibans
from formats.bounds import AMOUNT_MINOR_MAX, ID_MAX
from formats.i18n import N_
from formats.keys import index_of, is_lex_sorted, lex_order, repeated_values, sorted_distinct
from formats.problem_log import ProblemLog, ProblemRecorder
from formats.text_scan import blank_candidates
from formats.schemas import (CHANNELS, DEDUCTION_KINDS, DEDUCTION_PRIORITY, HOUSEHOLD_ROLES, OPTIONAL_TABLES,
                             PAYEE_KINDS, REGISTER, SUBGROUP_MAX)

DATE_MIN = dt.date(1900, 1, 1)   # older dates are typos in a register of living beneficiaries
DATE_MAX = dt.date(2199, 12, 31)  # legacy "open-ended" sentinels such as 9999-12-31 must be empty instead
RATE_BP_FULL = 10_000            # 100 % in basis points: no deduction takes more than the whole gross
THIRD_PARTY_KINDS = tuple(kind for kind in DEDUCTION_KINDS if kind != "overpayment")  # forwarded to a creditor
POSTAL_ADDRESS_COLUMNS = ("street", "town", "postcode")
# Nullable text columns no rule reads: stored as text they cannot be wrong, so a caller that does not keep them
# need not read them (formats.register.read_register's drop). tests/formats/test_register_lean.py holds the rules to it.
UNCHECKED = {"persons": frozenset({"patronymic", "tax_id"}),
             "payees": frozenset({"house_number", "district", "region", "tax_id", "phone"})}
# Required text columns whose one rule is conform's "required value is empty": no rule here reads them, so they may
# be read as Parquet dictionaries (each distinct name tested once) for a caller that drops them or takes them so.
EMPTINESS_ONLY = {"persons": frozenset({"family_name", "given_name", "municipality"}), "payees": frozenset({"name"})}
# Required text columns whose rules are the empty-cell rule and `known` (one of a fixed list of codes): both judge a
# Parquet dictionary as they judge text, so a caller that takes the column as codes may read it as one (the
# household role: 25 M memberships at 10 M rights, four distinct values, decoded row by row as text otherwise).
CODES_ONLY = {"households": frozenset({"role"})}
# what read_register may read as Parquet dictionaries
DICTIONARY_READABLE = {name: EMPTINESS_ONLY.get(name, frozenset()) | CODES_ONLY.get(name, frozenset())
                       for name in set(EMPTINESS_ONLY) | set(CODES_ONLY)}


class SharedIds:
    """Sorted distinct ids per (table, column), made once for the groups of rules that ask for them, also when two
    threads ask at once (the second waits for the first's)."""

    def __init__(self):
        self._lock = threading.Lock()
        self._entries: dict[tuple[str, str], list] = {}

    def get(self, key: tuple[str, str], make) -> np.ndarray:
        with self._lock:
            entry = self._entries.setdefault(key, [threading.Lock(), None])
        with entry[0]:
            if entry[1] is None:
                entry[1] = make()
            return entry[1]


def rows_where(mask) -> np.ndarray:
    """0-based rows where an Arrow boolean mask is true (null counts as false)."""
    if not pc.any(mask).as_py():  # the usual case, decided without building a numpy mask
        return np.zeros(0, dtype=np.int64)
    return np.flatnonzero(_numpy(pc.fill_null(mask, False)))


def _numpy(values) -> np.ndarray:
    """An Arrow array or chunked array without nulls as numpy."""
    if isinstance(values, pa.ChunkedArray):
        if values.num_chunks == 1:
            values = values.chunk(0)
        elif values.num_chunks == 0:
            return np.zeros(0, dtype=values.type.to_pandas_dtype())
        else:
            return np.concatenate([chunk.to_numpy(zero_copy_only=False) for chunk in values.chunks])
    return values.to_numpy(zero_copy_only=False)


def duplicate_rows(*keys: pa.Array) -> np.ndarray:
    """Rows whose key (one or more int or date columns) already appeared on an earlier row; null keys skipped."""
    valid = np.ones(len(keys[0]), dtype=bool)
    for key in keys:
        if key.null_count:
            valid &= _numpy(pc.is_valid(key))
    rows = np.flatnonzero(valid) if not valid.all() else None
    values = [as_int64(key) if rows is None else as_int64(key)[rows] for key in keys]
    if is_lex_sorted(*values):  # files sorted by their key (the usual export): duplicates sit side by side
        same = np.ones(max(len(values[0]) - 1, 0), dtype=bool)
        for value in values:
            same &= value[1:] == value[:-1]
        found = np.flatnonzero(same) + 1
        return found if rows is None else rows[found]
    # one 64-bit mix of the keys, sorted (fast): rows whose mix repeats are the candidates (true duplicates,
    # or rare collisions), settled exactly; usually there are none and nothing else is sorted
    mixed = values[0] if len(values) == 1 else _mix(values)
    repeated = repeated_values(mixed)
    if len(repeated) == 0:
        return np.zeros(0, dtype=np.int64)
    candidates = np.flatnonzero(np.isin(mixed, repeated))
    found = _later_duplicates([value[candidates] for value in values])
    found = np.sort(candidates[found])
    return found if rows is None else rows[found]


def _later_duplicates(values: list) -> np.ndarray:
    """Positions whose key equals an earlier position's; stable order leaves the first occurrence out."""
    order = lex_order(*values)
    same = np.ones(max(len(order) - 1, 0), dtype=bool)
    for value in values:
        sorted_value = value[order]
        same &= sorted_value[1:] == sorted_value[:-1]
    return order[1:][same]


def _mix(values: list) -> np.ndarray:
    """One uint64 per row from several int64 keys (multiply-xorshift; equal keys give equal mixes)."""
    mixed = np.zeros(len(values[0]), dtype=np.uint64)
    with np.errstate(over="ignore"):
        for value in values:
            mixed ^= value.astype(np.uint64)
            mixed *= np.uint64(0x9E3779B97F4A7C15)
            mixed ^= mixed >> np.uint64(29)
    return mixed


def as_int64(key) -> np.ndarray:
    """An int or date column as int64 numpy (nulls as 0: callers mask them)."""
    if pa.types.is_date32(key.type):
        key = pc.cast(key, pa.int32())
    if key.null_count:
        key = pc.fill_null(key, 0)
    return _numpy(key).astype(np.int64, copy=False)


def dangling_rows(ids, targets: np.ndarray) -> np.ndarray:
    """Rows whose non-null id is not among the sorted int64 `targets`."""
    missing = index_of(targets, as_int64(ids)) < 0
    if ids.null_count:
        missing &= _numpy(pc.is_valid(ids))
    return np.flatnonzero(missing)


def outside_rows(values, low: int, high: int) -> np.ndarray:
    return rows_where(pc.or_(pc.less(values, low), pc.greater(values, high)))


# First bytes a string of only whitespace can start with: ASCII controls and space, DEL, and the lead bytes
# of U+0085/U+00A0 (C2), U+1680 (E1), U+2000..U+205F (E2) and U+3000 (E3). Only such strings are asked.
_SPACE_LEAD = np.zeros(256, dtype=bool)
_SPACE_LEAD[:0x21] = True
_SPACE_LEAD[[0x7F, 0xC2, 0xE1, 0xE2, 0xE3]] = True


def blank_mask(text) -> np.ndarray:
    """Per row: the string is empty or only whitespace (pc.utf8_is_space); null is not blank.

    Reads the offsets and first bytes of the Arrow buffers, so only the few strings that are empty or start
    with a space-like byte go through pyarrow's per-character test."""
    chunks = text.chunks if isinstance(text, pa.ChunkedArray) else [text]
    if not chunks:
        return np.zeros(0, dtype=bool)
    return np.concatenate([_blank_chunk(chunk) for chunk in chunks])


def _blank_chunk(chunk: pa.Array) -> np.ndarray:
    if pa.types.is_dictionary(chunk.type):  # each distinct value once; a null row (index past the end) is not blank
        values = np.append(_blank_chunk(chunk.dictionary), False)
        return values[np.asarray(pc.fill_null(chunk.indices.cast(pa.int64()), len(chunk.dictionary)), np.intp)]
    if pa.types.is_string(chunk.type) or pa.types.is_large_string(chunk.type):
        rows = np.flatnonzero(blank_candidates(chunk, _SPACE_LEAD))
    else:
        rows = np.arange(len(chunk))
    blank = np.zeros(len(chunk), dtype=bool)
    if len(rows):
        text = chunk.take(pa.array(rows, pa.int64()))
        found = pc.or_(pc.equal(pc.utf8_length(text), 0), pc.utf8_is_space(text))
        blank[rows] = pc.fill_null(found, False).to_numpy(zero_copy_only=False)
    return blank


class Checks:
    """The rules, grouped by file; each method reads only columns that loaded."""

    def __init__(self, loaded, log: ProblemLog | ProblemRecorder, ids: SharedIds | None = None):
        self.loaded, self.log = loaded, log
        self._ids = SharedIds() if ids is None else ids

    def col(self, name: str, column: str) -> pa.ChunkedArray:
        """A column as loaded (chunked: pyarrow.compute reads it without a copy)."""
        return self.loaded.tables[name].column(column)

    def report(self, name, rows, column, rule, fix) -> None:
        """Problems for `rows` of table `name`, each showing its cell of `column`."""
        self.log.add_rows(self.loaded.files[name], rows, column, self.col(name, column), rule, fix)

    def ids(self, name: str, column: str) -> np.ndarray | None:
        """Sorted distinct non-null ids of a referenced table, or None when it could not be loaded."""
        if not self.loaded.usable(name, column):
            return None
        return self._ids.get((name, column), lambda: sorted_distinct(as_int64(self.col(name, column).drop_null())))

    # ---- shared rules -----------------------------------------------------------------------------------

    def date_ranges(self) -> None:
        for name, schema in {**REGISTER, **OPTIONAL_TABLES}.items():
            if name not in self.loaded.tables:
                continue
            for schema_field in schema:
                if pa.types.is_date(schema_field.type) and self.loaded.usable(name, schema_field.name):
                    rows = outside_rows(self.col(name, schema_field.name), DATE_MIN, DATE_MAX)
                    self.report(name, rows, schema_field.name, N_("date outside 1900-01-01 .. 2199-12-31"),
                                N_("correct the date; leave an end date empty when it is open-ended"))

    def unique(self, name: str, *columns: str) -> None:
        if self.loaded.usable(name, *columns):
            rows = duplicate_rows(*(self.col(name, column) for column in columns))
            label = " and ".join(columns)
            self.report(name, rows, columns[-1], N_("duplicate {label}", label=label),
                        N_("give every row its own {label} (an earlier row has the same)", label=label))

    def dangling(self, name, column, target, target_column, what) -> None:
        targets = self.ids(target, target_column)
        if targets is not None and self.loaded.usable(name, column):
            rows = dangling_rows(self.col(name, column), targets)
            self.report(name, rows, column, N_("{what} not found in {target}", what=what, target=target),
                        N_("add the {target_column} to {file} or correct {column}",
                           target_column=target_column, file=self.loaded.files[target], column=column))

    def ends_before_start(self, name, start, end) -> None:
        if self.loaded.usable(name, start, end):
            rows = rows_where(pc.less(self.col(name, end), self.col(name, start)))
            self.report(name, rows, end, N_("{end} is before {start}", end=end, start=start),
                        N_("make {end} the same day as {start} or later, or leave it empty", end=end, start=start))

    def within(self, name, column, low, high, rule, fix) -> None:
        if self.loaded.usable(name, column):
            self.report(name, outside_rows(self.col(name, column), low, high), column, rule, fix)

    def ledger_id(self, name, column) -> None:
        """An id the ledger posts (right, payee, creditor payee) within the ledger's bounds (formats.bounds)."""
        self.within(name, column, 1, ID_MAX, N_("{column} outside 1 .. {id_max} (the ledger's id bounds)",
                                                column=column, id_max=format(ID_MAX, ",")),
                    N_("use the register's id; ids are 1 or more and at most 10^15"))

    def known(self, name, column, allowed, what) -> None:
        if self.loaded.usable(name, column):
            values = self.col(name, column)
            rows = rows_where(pc.and_(pc.is_valid(values),
                                      pc.invert(pc.is_in(values, value_set=pa.array(sorted(allowed), pa.string())))))
            shown = ", ".join(sorted(allowed)) if len(allowed) <= 40 else f"{len(allowed)} known codes"
            self.report(name, rows, column, N_("unknown {what}", what=what), N_("use one of: {shown}", shown=shown))

    def amount(self, name, column, low=0) -> None:
        self.within(name, column, low, AMOUNT_MINOR_MAX,
                    N_("amount outside {low} .. {amount_minor_max} minor units",
                       low=low, amount_minor_max=AMOUNT_MINOR_MAX),
                    N_("write the amount in minor units (cents), not negative and not absurdly large"))

    # ---- per file -------------------------------------------------------------------------------------------

    def persons(self) -> None:
        self.unique("persons", "person_id")
        self.ends_before_start("persons", "birth_date", "death_date")

    def households(self) -> None:
        self.known("households", "role", HOUSEHOLD_ROLES, N_("household role"))
        self.ends_before_start("households", "member_from", "member_to")
        self.dangling("households", "person_id", "persons", "person_id", "person_id")
        self.unique("households", "household_id", "person_id", "member_from")

    def rights(self, benefit_codes: frozenset, household_benefits: frozenset) -> None:
        self.unique("rights", "right_id", "version")
        self.ledger_id("rights", "right_id")
        self.ledger_id("rights", "payee_id")
        self.within("rights", "version", 1, 2**31 - 1, N_("version must be 1 or more"),
                    N_("number versions 1, 2, 3 ..."))
        self.known("rights", "benefit", benefit_codes, N_("benefit code"))
        self.dangling("rights", "person_id", "persons", "person_id", N_("beneficiary person_id"))
        self.dangling("rights", "payee_id", "payees", "payee_id", "payee_id")
        self.dangling("rights", "household_id", "households", "household_id", "household_id")
        self.ends_before_start("rights", "valid_from", "valid_to")
        self.ends_before_start("rights", "applied_on", "decided_on")  # a decision follows its application
        self.overlapping_versions()
        self.amount("rights", "income_minor")
        self.amount("rights", "amount_minor")
        self.one_benefit_per_right()
        self.within("rights", "grade", 1, 2**15 - 1, N_("grade must be 1 or more"), N_("grades are 1-based"))
        self.within("rights", "birth_order", 1, 2**15 - 1, N_("birth_order must be 1 or more"),
                    N_("1 = first child"))
        self.amount("rights", "other_payment_minor")
        self.within("rights", "subgroup", 1, SUBGROUP_MAX, f"subgroup outside 1 .. {SUBGROUP_MAX}",
                    "1 = subgroup A, 2 = subgroup B; leave it empty when the beneficiary has none")
        self.household_missing(household_benefits)

    def valid_rows(self, *columns: pa.ChunkedArray) -> np.ndarray:
        """Rows where every one of `columns` is non-null."""
        if not any(column.null_count for column in columns):
            return np.arange(len(columns[0]))
        valid = np.ones(len(columns[0]), dtype=bool)
        for column in columns:
            if column.null_count:
                valid &= _numpy(pc.is_valid(column))
        return np.flatnonzero(valid)

    def overlapping_versions(self) -> None:
        """Versions of one right, ordered by valid_from, must each end before the next starts."""
        self.overlapping("rights", "right_id", "versions of one right overlap",
                         "end the earlier version (valid_to) the day before this version's valid_from")

    def overlapping(self, name: str, key: str, rule: str, fix: str) -> None:
        """Rows of one key, ordered by valid_from, must each end before the next starts."""
        if not self.loaded.usable(name, key, "valid_from", "valid_to"):
            return
        right, start, end = (self.col(name, column) for column in (key, "valid_from", "valid_to"))
        rows = self.valid_rows(right, start)
        right_id, start_days, end_days = as_int64(right)[rows], as_int64(start)[rows], as_int64(end)[rows]
        if end.null_count:
            end_days[~_numpy(pc.is_valid(end))[rows]] = np.iinfo(np.int64).max  # open-ended
        order = lex_order(right_id, start_days)
        right_id, start_days, end_days = right_id[order], start_days[order], end_days[order]
        overlaps = (right_id[1:] == right_id[:-1]) & (start_days[1:] <= end_days[:-1])
        self.report(name, np.sort(rows[order[1:][overlaps]]), "valid_from", rule, fix)

    def one_benefit_per_right(self) -> None:
        """A new version changes the facts of a right, never its benefit (that is a new right)."""
        if not self.loaded.usable("rights", "right_id", "benefit"):
            return
        right = self.col("rights", "right_id")
        rows = self.valid_rows(right)
        right_id = as_int64(right)[rows]
        position = lex_order(right_id)  # stable: a right's rows in file order
        sorted_id = right_id[position]
        pairs = np.flatnonzero(sorted_id[1:] == sorted_id[:-1])  # a row and the right's row before it
        if len(pairs) == 0:
            return
        order = rows[position]
        later, earlier = order[1:][pairs], order[:-1][pairs]
        benefit = self.col("rights", "benefit")
        differs = pc.not_equal(pc.take(benefit, pa.array(later)), pc.take(benefit, pa.array(earlier)))
        rows = later[_numpy(pc.fill_null(differs, False))]
        self.report("rights", np.sort(rows), "benefit", N_("versions of one right name different benefits"),
                    N_("keep the benefit of the right's first row; a different benefit is a new right_id"))

    def household_missing(self, household_benefits: frozenset) -> None:
        if not household_benefits or not self.loaded.usable("rights", "benefit", "household_id"):
            return
        needs = pc.is_in(self.col("rights", "benefit"), value_set=pa.array(sorted(household_benefits), pa.string()))
        rows = rows_where(pc.and_(needs, pc.is_null(self.col("rights", "household_id"))))
        self.report("rights", rows, "benefit", N_("household benefit without household_id"),
                    N_("fill in household_id with the beneficiary's household"))

    def payees(self) -> None:
        self.unique("payees", "payee_id")
        self.ledger_id("payees", "payee_id")
        self.known("payees", "channel", CHANNELS, N_("payment channel"))
        self.known("payees", "kind", PAYEE_KINDS, N_("payee kind"))
        self.channel_requirements()
        self.bank_ids()
        if self.loaded.usable("payees", "country"):
            rows = rows_where(pc.invert(pc.match_substring_regex(self.col("payees", "country"), r"^[A-Z]{2}$")))
            self.report("payees", rows, "country", N_("country is not an ISO 3166 alpha-2 code"),
                        N_("write two capital letters, e.g. ME, RS, UA"))

    def channel_requirements(self) -> None:
        if not self.loaded.usable("payees", "channel"):
            return
        channel = self.col("payees", "channel")
        if self.loaded.usable("payees", "iban"):
            rows = rows_where(pc.and_(pc.equal(channel, "bank"), pc.is_null(self.col("payees", "iban"))))
            self.report("payees", rows, "channel", N_("bank payee without IBAN"),
                        N_("fill in iban, or set channel to post and give a postal address"))
        post = None
        for column in POSTAL_ADDRESS_COLUMNS:
            if self.loaded.usable("payees", column):
                if post is None:
                    post = _numpy(pc.fill_null(pc.equal(channel, "post"), False))
                text = self.col("payees", column)
                empty = blank_mask(text)
                if text.null_count:
                    empty |= _numpy(pc.is_null(text))
                self.report("payees", np.flatnonzero(post & empty), "channel", N_("postal payee without {column}",
                                                                                  column=column),
                            N_("fill in {column}: the post needs street, town and postcode", column=column))

    def bank_ids(self) -> None:
        if self.loaded.usable("payees", "iban"):
            # the column-wise test on every IBAN (no hashing of millions of distinct strings); only the few
            # it does not pass go to invalid_ibans, which asks schwifty for the reason (or lets them pass)
            ibans = self.col("payees", "iban")
            rows = self.valid_rows(ibans)
            present = (ibans.take(pa.array(rows)) if ibans.null_count else ibans).combine_chunks()
            doubtful = rows[~fast_valid_ibans(present).to_numpy(zero_copy_only=False)]
            del present
            if len(doubtful):
                for reason, found in invalid_ibans(ibans.take(pa.array(doubtful))).items():
                    self.report("payees", doubtful[found], "iban", N_("invalid IBAN: {reason}", reason=reason),
                                N_("give the IBAN in electronic form (capitals, no spaces) as printed by the bank"))
        if self.loaded.usable("payees", "bic"):
            for reason, rows in invalid_bics(self.col("payees", "bic")).items():
                self.report("payees", rows, "bic", N_("invalid BIC: {reason}", reason=reason),
                            N_("give the 8 or 11 character BIC of the bank, or leave it empty"))

    def deductions(self) -> None:
        self.unique("deductions", "order_id")
        self.ledger_id("deductions", "order_id")  # the orders files key what each order took by it
        self.ledger_id("deductions", "creditor_payee_id")
        self.known("deductions", "kind", DEDUCTION_KINDS, N_("deduction kind"))
        self.priority_matches_kind()
        self.amount_basis()
        self.amount("deductions", "fixed_minor")
        self.amount("deductions", "outstanding_minor")
        self.within("deductions", "percent_bp", 0, RATE_BP_FULL, N_("percent_bp outside 0 .. 10000"),
                    N_("write the share in basis points: 10000 = 100 %, 2000 = 20 %"))
        self.dangling("deductions", "right_id", "rights", "right_id", "right_id")
        self.dangling("deductions", "creditor_payee_id", "payees", "payee_id", "creditor_payee_id")
        self.creditor_required()
        self.ends_before_start("deductions", "valid_from", "valid_to")

    def priority_matches_kind(self) -> None:
        if not self.loaded.usable("deductions", "kind", "priority"):
            return
        kinds = pa.array(list(DEDUCTION_PRIORITY), pa.string())
        expected = pc.take(pa.array(list(DEDUCTION_PRIORITY.values()), pa.int16()),
                           pc.index_in(self.col("deductions", "kind"), value_set=kinds))
        rows = rows_where(pc.not_equal(self.col("deductions", "priority"), expected))
        order = ", ".join(f"{priority} {kind}" for kind, priority in DEDUCTION_PRIORITY.items())
        self.report("deductions", rows, "priority", N_("priority does not match the deduction kind"),
                    N_("the law fixes the order: {order}", order=order))

    def amount_basis(self) -> None:
        """An order takes either a fixed monthly amount or a share of the gross, never both or neither."""
        if not self.loaded.usable("deductions", "fixed_minor", "percent_bp"):
            return
        fixed = pc.is_valid(self.col("deductions", "fixed_minor"))
        percent = pc.is_valid(self.col("deductions", "percent_bp"))
        self.report("deductions", rows_where(pc.and_(fixed, percent)), "percent_bp",
                    N_("both fixed_minor and percent_bp given"), N_("keep one of fixed_minor and percent_bp"))
        neither = pc.and_(pc.invert(fixed), pc.invert(percent))
        self.report("deductions", rows_where(neither), "fixed_minor", N_("neither fixed_minor nor percent_bp given"),
                    N_("give a monthly fixed_minor or a percent_bp"))

    def creditor_required(self) -> None:
        if not self.loaded.usable("deductions", "kind", "creditor_payee_id"):
            return
        third_party = pc.is_in(self.col("deductions", "kind"), value_set=pa.array(THIRD_PARTY_KINDS))
        rows = rows_where(pc.and_(third_party, pc.is_null(self.col("deductions", "creditor_payee_id"))))
        self.report("deductions", rows, "kind", N_("deduction paid on to a creditor without creditor_payee_id"),
                    N_("fill in creditor_payee_id: alimony, damages and enforcement are forwarded to a creditor"))

    def maintenance_titles(self) -> None:
        """Titles name known persons (child and debtor, never the same), run forward, and one title is in force
        per child at a time (the advance and the claim on the debtor follow the title in force)."""
        if "maintenance_titles" not in self.loaded.tables:
            return
        name = "maintenance_titles"
        self.unique(name, "title_id")
        self.ledger_id(name, "debtor_id")  # the ledger keys the debtor's receivable by this id
        self.dangling(name, "child_id", "persons", "person_id", "child_id")
        self.dangling(name, "debtor_id", "persons", "person_id", "debtor_id")
        self.amount(name, "monthly_minor")
        self.ends_before_start(name, "valid_from", "valid_to")
        if self.loaded.usable(name, "child_id", "debtor_id"):
            rows = rows_where(pc.equal(self.col(name, "child_id"), self.col(name, "debtor_id")))
            self.report(name, rows, "debtor_id", "the debtor is the child",
                        "give the person_id of the parent who owes the maintenance in debtor_id")
        self.overlapping(name, "child_id", "two maintenance titles of one child in force at once",
                         "end the earlier title (valid_to) the day before this one's valid_from")

    def register_facts(self) -> None:
        """housing_costs (per household) and wage_bases (per person): dated amounts of known keys, no overlaps."""
        for name, key, target, amount in (("housing_costs", "household_id", "households", "cost_minor"),
                                          ("wage_bases", "person_id", "persons", "base_minor")):
            if name not in self.loaded.tables:
                continue
            self.dangling(name, key, target, key, key)
            self.ends_before_start(name, "valid_from", "valid_to")
            self.amount(name, amount)
            self.overlapping(name, key, f"two rows of one {key} in force on one day",
                             "end the earlier row (valid_to) the day before the later row's valid_from")
