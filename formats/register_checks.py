"""Every rule a register snapshot must satisfy, checked column-wise over whole tables.

Each check computes a boolean mask or an index array with pyarrow.compute / numpy and hands the offending rows
to the ProblemLog; no Python loop runs per row except to build the problems that are reported. A check runs only
when the columns it reads were loaded (a missing column is reported once, not again by every rule using it).
"""
import datetime as dt

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from engine.money import AMOUNT_MINOR_MAX
from formats.bank_ids import invalid_bics, invalid_ibans
from formats.problem_log import ProblemLog
from formats.schemas import CHANNELS, DEDUCTION_KINDS, DEDUCTION_PRIORITY, HOUSEHOLD_ROLES, PAYEE_KINDS, REGISTER

DATE_MIN = dt.date(1900, 1, 1)   # older dates are typos in a register of living beneficiaries
DATE_MAX = dt.date(2199, 12, 31)  # legacy "open-ended" sentinels such as 9999-12-31 must be empty instead
RATE_BP_FULL = 10_000            # 100 % in basis points: no deduction takes more than the whole gross
THIRD_PARTY_KINDS = tuple(kind for kind in DEDUCTION_KINDS if kind != "overpayment")  # forwarded to a creditor
POSTAL_ADDRESS_COLUMNS = ("street", "town", "postcode")


def check_register(loaded, benefit_codes: frozenset, household_benefits: frozenset, log: ProblemLog) -> None:
    """Run every rule over the loaded tables, adding problems to `log`."""
    checks = Checks(loaded, log)
    checks.date_ranges()
    checks.persons()
    checks.households()
    checks.rights(benefit_codes, household_benefits)
    checks.payees()
    checks.deductions()


def rows_where(mask) -> np.ndarray:
    """0-based rows where an Arrow boolean mask is true (null counts as false)."""
    if isinstance(mask, pa.ChunkedArray):
        mask = mask.combine_chunks()
    return np.flatnonzero(pc.fill_null(mask, False).to_numpy(zero_copy_only=False))


def duplicate_rows(*keys: pa.Array) -> np.ndarray:
    """Rows whose key (one or more int or date columns) already appeared on an earlier row; null keys skipped."""
    valid = np.ones(len(keys[0]), dtype=bool)
    for key in keys:
        valid &= pc.is_valid(key).to_numpy(zero_copy_only=False)
    rows = np.flatnonzero(valid)
    values = [as_int64(key)[rows] for key in keys]
    if len(values) == 1:
        return np.sort(rows[_later_duplicates(values)])
    # lexsort over several keys costs seconds at national size: sort one 64-bit mix of the keys instead and
    # settle the few rows that share a mix (true duplicates, or rare collisions) exactly
    mixed = _mix(values)
    order = np.argsort(mixed)  # candidates only: order within equal mixes is settled below
    same = mixed[order][1:] == mixed[order][:-1]
    shared = np.zeros(len(order), dtype=bool)
    shared[1:] |= same
    shared[:-1] |= same
    candidates = np.sort(order[shared])
    found = _later_duplicates([value[candidates] for value in values])
    return np.sort(rows[candidates[found]])


def _later_duplicates(values: list) -> np.ndarray:
    """Positions whose key equals an earlier position's; stable order leaves the first occurrence out."""
    order = np.argsort(values[0], kind="stable") if len(values) == 1 else np.lexsort(values[::-1])
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
            mixed = (mixed ^ value.astype(np.uint64)) * np.uint64(0x9E3779B97F4A7C15)
            mixed ^= mixed >> np.uint64(29)
    return mixed


def as_int64(key: pa.Array) -> np.ndarray:
    """An int or date column as int64 numpy (nulls as 0: callers mask them)."""
    if pa.types.is_date32(key.type):
        key = pc.cast(key, pa.int32())
    return pc.fill_null(key, 0).to_numpy(zero_copy_only=False).astype(np.int64, copy=False)


def sorted_distinct(values: np.ndarray) -> np.ndarray:
    """np.unique by sorting (numpy 2's hash-based unique is many times slower on 10^5 ids)."""
    ordered = np.sort(values)
    keep = np.ones(len(ordered), dtype=bool)
    keep[1:] = ordered[1:] != ordered[:-1]
    return ordered[keep]


def dangling_rows(ids: pa.Array, targets: np.ndarray) -> np.ndarray:
    """Rows whose non-null id is not among the sorted int64 `targets`."""
    valid = pc.is_valid(ids).to_numpy(zero_copy_only=False)
    values = pc.fill_null(ids, 0).to_numpy(zero_copy_only=False).astype(np.int64, copy=False)
    position = np.minimum(np.searchsorted(targets, values), max(len(targets) - 1, 0))
    found = targets[position] == values if len(targets) else np.zeros(len(values), dtype=bool)
    return np.flatnonzero(valid & ~found)


def outside_rows(values: pa.Array, low: int, high: int) -> np.ndarray:
    return rows_where(pc.or_(pc.less(values, low), pc.greater(values, high)))


class Checks:
    """The rules, grouped by file; each method reads only columns that loaded."""

    def __init__(self, loaded, log: ProblemLog):
        self.loaded, self.log = loaded, log
        self._columns: dict[tuple[str, str], pa.Array] = {}
        self._ids: dict[tuple[str, str], np.ndarray] = {}

    def col(self, name: str, column: str) -> pa.Array:
        key = (name, column)
        if key not in self._columns:
            self._columns[key] = self.loaded.tables[name].column(column).combine_chunks()
        return self._columns[key]

    def report(self, name, rows, column, rule, fix) -> None:
        """Problems for `rows` of table `name`, each showing its cell of `column`."""
        self.log.add_rows(self.loaded.files[name], rows, column, self.col(name, column), rule, fix)

    def ids(self, name: str, column: str) -> np.ndarray | None:
        """Sorted distinct non-null ids of a referenced table, or None when it could not be loaded."""
        if not self.loaded.usable(name, column):
            return None
        key = (name, column)
        if key not in self._ids:
            self._ids[key] = sorted_distinct(self.col(name, column).drop_null().to_numpy().astype(np.int64))
        return self._ids[key]

    # ---- shared rules -----------------------------------------------------------------------------------

    def date_ranges(self) -> None:
        for name, schema in REGISTER.items():
            if name not in self.loaded.tables:
                continue
            for schema_field in schema:
                if pa.types.is_date(schema_field.type) and self.loaded.usable(name, schema_field.name):
                    rows = outside_rows(self.col(name, schema_field.name), DATE_MIN, DATE_MAX)
                    self.report(name, rows, schema_field.name, "date outside 1900-01-01 .. 2199-12-31",
                                "correct the date; leave an end date empty when it is open-ended")

    def unique(self, name: str, *columns: str) -> None:
        if self.loaded.usable(name, *columns):
            rows = duplicate_rows(*(self.col(name, column) for column in columns))
            label = " and ".join(columns)
            self.report(name, rows, columns[-1], f"duplicate {label}",
                        f"give every row its own {label} (an earlier row has the same)")

    def dangling(self, name, column, target, target_column, what) -> None:
        targets = self.ids(target, target_column)
        if targets is not None and self.loaded.usable(name, column):
            rows = dangling_rows(self.col(name, column), targets)
            self.report(name, rows, column, f"{what} not found in {target}",
                        f"add the {target_column} to {self.loaded.files[target]} or correct {column}")

    def ends_before_start(self, name, start, end) -> None:
        if self.loaded.usable(name, start, end):
            rows = rows_where(pc.less(self.col(name, end), self.col(name, start)))
            self.report(name, rows, end, f"{end} is before {start}",
                        f"make {end} the same day as {start} or later, or leave it empty")

    def within(self, name, column, low, high, rule, fix) -> None:
        if self.loaded.usable(name, column):
            self.report(name, outside_rows(self.col(name, column), low, high), column, rule, fix)

    def known(self, name, column, allowed, what) -> None:
        if self.loaded.usable(name, column):
            values = self.col(name, column)
            rows = rows_where(pc.and_(pc.is_valid(values),
                                      pc.invert(pc.is_in(values, value_set=pa.array(sorted(allowed), pa.string())))))
            shown = ", ".join(sorted(allowed)) if len(allowed) <= 40 else f"{len(allowed)} known codes"
            self.report(name, rows, column, f"unknown {what}", f"use one of: {shown}")

    def amount(self, name, column, low=0) -> None:
        self.within(name, column, low, AMOUNT_MINOR_MAX,
                    f"amount outside {low} .. {AMOUNT_MINOR_MAX} minor units",
                    "write the amount in minor units (cents), not negative and not absurdly large")

    # ---- per file -------------------------------------------------------------------------------------------

    def persons(self) -> None:
        self.unique("persons", "person_id")
        self.ends_before_start("persons", "birth_date", "death_date")

    def households(self) -> None:
        self.known("households", "role", HOUSEHOLD_ROLES, "household role")
        self.ends_before_start("households", "member_from", "member_to")
        self.dangling("households", "person_id", "persons", "person_id", "person_id")
        self.unique("households", "household_id", "person_id", "member_from")

    def rights(self, benefit_codes: frozenset, household_benefits: frozenset) -> None:
        self.unique("rights", "right_id", "version")
        self.within("rights", "version", 1, 2**31 - 1, "version must be 1 or more", "number versions 1, 2, 3 ...")
        self.known("rights", "benefit", benefit_codes, "benefit code")
        self.dangling("rights", "person_id", "persons", "person_id", "beneficiary person_id")
        self.dangling("rights", "payee_id", "payees", "payee_id", "payee_id")
        self.dangling("rights", "household_id", "households", "household_id", "household_id")
        self.ends_before_start("rights", "valid_from", "valid_to")
        self.overlapping_versions()
        self.amount("rights", "income_minor")
        self.amount("rights", "amount_minor")
        self.one_benefit_per_right()
        self.within("rights", "grade", 1, 2**15 - 1, "grade must be 1 or more", "grades are 1-based")
        self.within("rights", "birth_order", 1, 2**15 - 1, "birth_order must be 1 or more", "1 = first child")
        self.household_missing(household_benefits)

    def overlapping_versions(self) -> None:
        """Versions of one right, ordered by valid_from, must each end before the next starts."""
        if not self.loaded.usable("rights", "right_id", "valid_from", "valid_to"):
            return
        right = self.col("rights", "right_id")
        start = pc.cast(self.col("rights", "valid_from"), pa.int32())
        rows = np.flatnonzero(pc.and_(pc.is_valid(right), pc.is_valid(start)).to_numpy(zero_copy_only=False))
        right_id = right.to_numpy(zero_copy_only=False)[rows]
        start_days = start.to_numpy(zero_copy_only=False)[rows]
        end = pc.fill_null(pc.cast(self.col("rights", "valid_to"), pa.int32()), np.iinfo(np.int32).max)
        end_days = end.to_numpy(zero_copy_only=False)[rows]
        order = np.lexsort((start_days, right_id))
        same_right = right_id[order][1:] == right_id[order][:-1]
        overlaps = same_right & (start_days[order][1:] <= end_days[order][:-1])
        self.report("rights", np.sort(rows[order[1:][overlaps]]), "valid_from", "versions of one right overlap",
                    "end the earlier version (valid_to) the day before this version's valid_from")

    def one_benefit_per_right(self) -> None:
        """A new version changes the facts of a right, never its benefit (that is a new right)."""
        if not self.loaded.usable("rights", "right_id", "benefit"):
            return
        right = pc.fill_null(self.col("rights", "right_id"), -1).to_numpy(zero_copy_only=False)
        benefit = self.col("rights", "benefit")
        order = np.lexsort((np.arange(len(right)), right))
        ordered = pc.take(benefit, pa.array(order))
        differs = pc.fill_null(pc.not_equal(ordered[1:], ordered[:-1]), False).to_numpy(zero_copy_only=False)
        rows = order[1:][(right[order][1:] == right[order][:-1]) & (right[order][1:] >= 0) & differs]
        self.report("rights", np.sort(rows), "benefit", "versions of one right name different benefits",
                    "keep the benefit of the right's first row; a different benefit is a new right_id")

    def household_missing(self, household_benefits: frozenset) -> None:
        if not household_benefits or not self.loaded.usable("rights", "benefit", "household_id"):
            return
        needs = pc.is_in(self.col("rights", "benefit"), value_set=pa.array(sorted(household_benefits), pa.string()))
        rows = rows_where(pc.and_(needs, pc.is_null(self.col("rights", "household_id"))))
        self.report("rights", rows, "benefit", "household benefit without household_id",
                    "fill in household_id with the beneficiary's household")

    def payees(self) -> None:
        self.unique("payees", "payee_id")
        self.known("payees", "channel", CHANNELS, "payment channel")
        self.known("payees", "kind", PAYEE_KINDS, "payee kind")
        self.channel_requirements()
        self.bank_ids()
        if self.loaded.usable("payees", "country"):
            rows = rows_where(pc.invert(pc.match_substring_regex(self.col("payees", "country"), r"^[A-Z]{2}$")))
            self.report("payees", rows, "country", "country is not an ISO 3166 alpha-2 code",
                        "write two capital letters, e.g. ME, RS, UA")

    def channel_requirements(self) -> None:
        if not self.loaded.usable("payees", "channel"):
            return
        channel = self.col("payees", "channel")
        if self.loaded.usable("payees", "iban"):
            rows = rows_where(pc.and_(pc.equal(channel, "bank"), pc.is_null(self.col("payees", "iban"))))
            self.report("payees", rows, "channel", "bank payee without IBAN",
                        "fill in iban, or set channel to post and give a postal address")
        for column in POSTAL_ADDRESS_COLUMNS:
            if self.loaded.usable("payees", column):
                text = self.col("payees", column)
                empty = pc.or_kleene(pc.is_null(text), pc.equal(pc.utf8_trim_whitespace(text), ""))
                rows = rows_where(pc.and_(pc.equal(channel, "post"), empty))
                self.report("payees", rows, "channel", f"postal payee without {column}",
                            f"fill in {column}: the post needs street, town and postcode")

    def bank_ids(self) -> None:
        if self.loaded.usable("payees", "iban"):
            for reason, rows in invalid_ibans(self.col("payees", "iban")).items():
                self.report("payees", rows, "iban", f"invalid IBAN: {reason}",
                            "give the IBAN in electronic form (capitals, no spaces) as printed by the bank")
        if self.loaded.usable("payees", "bic"):
            for reason, rows in invalid_bics(self.col("payees", "bic")).items():
                self.report("payees", rows, "bic", f"invalid BIC: {reason}",
                            "give the 8 or 11 character BIC of the bank, or leave it empty")

    def deductions(self) -> None:
        self.unique("deductions", "order_id")
        self.known("deductions", "kind", DEDUCTION_KINDS, "deduction kind")
        self.priority_matches_kind()
        self.amount_basis()
        self.amount("deductions", "fixed_minor")
        self.amount("deductions", "outstanding_minor")
        self.within("deductions", "percent_bp", 0, RATE_BP_FULL, "percent_bp outside 0 .. 10000",
                    "write the share in basis points: 10000 = 100 %, 2000 = 20 %")
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
        self.report("deductions", rows, "priority", "priority does not match the deduction kind",
                    f"the law fixes the order: {order}")

    def amount_basis(self) -> None:
        """An order takes either a fixed monthly amount or a share of the gross, never both or neither."""
        if not self.loaded.usable("deductions", "fixed_minor", "percent_bp"):
            return
        fixed = pc.is_valid(self.col("deductions", "fixed_minor"))
        percent = pc.is_valid(self.col("deductions", "percent_bp"))
        self.report("deductions", rows_where(pc.and_(fixed, percent)), "percent_bp",
                    "both fixed_minor and percent_bp given", "keep one of fixed_minor and percent_bp")
        neither = pc.and_(pc.invert(fixed), pc.invert(percent))
        self.report("deductions", rows_where(neither), "fixed_minor", "neither fixed_minor nor percent_bp given",
                    "give a monthly fixed_minor or a percent_bp")

    def creditor_required(self) -> None:
        if not self.loaded.usable("deductions", "kind", "creditor_payee_id"):
            return
        third_party = pc.is_in(self.col("deductions", "kind"), value_set=pa.array(THIRD_PARTY_KINDS))
        rows = rows_where(pc.and_(third_party, pc.is_null(self.col("deductions", "creditor_payee_id"))))
        self.report("deductions", rows, "kind", "deduction paid on to a creditor without creditor_payee_id",
                    "fill in creditor_payee_id: alimony, damages and enforcement are forwarded to a creditor")
