"""The payments an export receives, as columns, and every check made on them before a single byte is written.

Callers pass a pyarrow Table (or a mapping of column name -> numpy / pyarrow array / list): one row per payment,
no per-payment Python objects. `prepare_payments` casts the columns, cleans names and addresses for the file's
character set and collects every problem at once (InputError naming the payment by row and EndToEndId).
"""
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from bank_exports import checks
from bank_exports.text import clean_one, clean_text, is_text_dictionary
from engine.money import AMOUNT_MINOR_MAX
from formats.errors import InputError, Problem
from formats.i18n import N_

SOURCE = "payments"
CHANNELS = ("bank", "post")
REQUIRED = {"end_to_end_id": pa.string(), "amount_minor": pa.int64(), "channel": pa.string(),
            "name": pa.string()}
OPTIONAL = {
    "iban": pa.string(), "bic": pa.string(), "street": pa.string(), "house_number": pa.string(),
    "postcode": pa.string(), "town": pa.string(), "district": pa.string(), "region": pa.string(),
    "country": pa.string(), "remittance": pa.string(), "execution_date": pa.date32(),
    "debtor_iban": pa.string(), "family_name": pa.string(), "given_name": pa.string(),
    "tax_id": pa.string(), "phone": pa.string(),
}
# EPC / ISO usage limits (the XSD allows a 140-character Nm; EPC SCT and CBPR+ take 70), cut at a word boundary
TEXT_CHARS_MAX = {"name": 70, "street": 70, "house_number": 16, "postcode": 16, "town": 35, "district": 35,
                  "region": 35, "remittance": 140}
POSTAL_REQUIRED = ("street", "town", "postcode", "country")
PROBLEMS_PER_RULE_MAX = 200
# text columns that only clean_text reads: a dictionary of strings is kept as it is (a remittance text per payment
# from a few hundred distinct ones), not decoded into a string per payment
DICTIONARY_KEPT = ("remittance",)


@dataclass(frozen=True)
class Debtor:
    """The paying agency's account: name, IBAN and (optional) BIC of its bank."""
    name: str
    iban: str
    bic: str | None = None


@dataclass(frozen=True)
class Prepared:
    table: pa.Table        # the input columns, cast; text columns cleaned ("*_xml") for the file
    debtors: tuple[Debtor, ...]
    debtor_index: np.ndarray  # per payment: index into debtors
    execution_days: np.ndarray  # per payment: days since 1970-01-01
    amount_minor: np.ndarray  # per payment


def as_table(payments) -> pa.Table:
    """pa.Table or mapping of columns -> pa.Table with the known columns cast to their types."""
    table = payments if isinstance(payments, pa.Table) else pa.table(
        {name: pa.array(values) if not isinstance(values, (pa.Array, pa.ChunkedArray)) else values
         for name, values in dict(payments).items()})
    missing = [name for name in REQUIRED if name not in table.column_names]
    if missing:
        raise InputError([Problem(SOURCE, None, name, None, N_("required payment column missing"),
                                  N_("pass a column {name}", name=repr(name))) for name in missing])
    columns = {}
    for name, kind in {**REQUIRED, **OPTIONAL}.items():
        if name in table.column_names:
            columns[name] = _cast(table.column(name), name, kind)
        else:
            columns[name] = pa.nulls(table.num_rows, kind)
    return pa.table(columns)


def _cast(column, name: str, kind: pa.DataType):
    """The column as `kind`, its chunks kept: the few columns a kernel reads whole are made contiguous where they
    are read (checks.flat); combining every column here copied them all (1.7 GB of a national payroll's
    payments, read from Parquet in one chunk per row group)."""
    if column.type == kind or (name in DICTIONARY_KEPT and is_text_dictionary(column)
                               and column.type.value_type == kind):  # already of its type: no copy
        if isinstance(column, pa.ChunkedArray) and column.num_chunks == 1:
            return column.chunk(0)
        return column
    try:
        return pc.cast(column, kind)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise InputError([Problem(SOURCE, None, name, str(column.type), N_("cannot be read as {kind}: {exc}",
                                                                           kind=kind, exc=exc),
                                  N_("give {name} as {kind}", name=name, kind=kind))]) from exc


class _Collector:
    """Problems found so far; each rule reports at most PROBLEMS_PER_RULE_MAX rows plus a count of the rest."""

    def __init__(self, table: pa.Table):
        self.table = table
        self.problems: list[Problem] = []

    def rows(self, bad: np.ndarray, column: str, rule: str, fix: str, values=None) -> None:
        rows = np.flatnonzero(bad)
        if rows.size == 0:
            return
        e2e = self.table.column("end_to_end_id")
        shown = values if values is not None else self.table.column(column)
        for row in rows[:PROBLEMS_PER_RULE_MAX].tolist():
            value = shown[row].as_py()
            self.problems.append(Problem(SOURCE, row + 1, column, None if value is None else str(value),
                                         N_("payment {value}: {rule}", value=repr(e2e[row].as_py()), rule=rule), fix))
        if rows.size > PROBLEMS_PER_RULE_MAX:
            self.problems.append(Problem(SOURCE, None, column, None,
                                         N_("{value} more payments break: {rule}",
                                            value=rows.size - PROBLEMS_PER_RULE_MAX, rule=rule), fix))

    def whole(self, column: str | None, value, rule: str, fix: str) -> None:
        self.problems.append(Problem(SOURCE, None, column, None if value is None else str(value), rule, fix))

    def raise_if_any(self) -> None:
        if self.problems:
            raise InputError(self.problems)


def _mask(array) -> np.ndarray:
    return np.asarray(checks.flat(array).fill_null(False).to_numpy(zero_copy_only=False), dtype=bool)


def _check_ids(found: _Collector, table: pa.Table, masks: dict | None = None) -> None:
    masks = masks or _id_masks(table)
    found.rows(~masks["id_valid"], "end_to_end_id", checks.ID_RULE, "give every payment a valid EndToEndId")
    found.rows(masks["id_repeated"], "end_to_end_id", "EndToEndId used by more than one payment",
               "EndToEndIds must be unique forever; derive them from payroll and payment number")


def _id_masks(table: pa.Table) -> dict:
    e2e = table.column("end_to_end_id")
    if checks.strictly_ascending(e2e):  # a payroll's payments, sorted by EndToEndId: none repeats
        return {"id_valid": checks.ids_valid(e2e), "id_repeated": np.zeros(table.num_rows, bool)}
    counts = pc.value_counts(e2e.drop_null())
    repeated = pc.filter(counts.field("values"), pc.greater(counts.field("counts"), 1))
    return {"id_valid": checks.ids_valid(e2e), "id_repeated": _mask(pc.is_in(e2e, repeated))}


def _bank_masks(table: pa.Table) -> dict:
    return {"iban_valid": checks.ibans_valid(table.column("iban")), "bic_valid": checks.bics_valid(table.column("bic"))}


def _check_masks(table: pa.Table) -> dict:
    """The masks of the checks that need no cleaned column (ids, IBANs, BICs): what prepare_payments computes on
    a second thread while it cleans the text columns."""
    return {**_id_masks(table), **_bank_masks(table)}


def _check_amounts(found: _Collector, table: pa.Table) -> None:
    amount = table.column("amount_minor")
    found.rows(~_mask(pc.greater(amount, 0)), "amount_minor", "amount must be > 0",
               "drop payments of zero or less before export")
    found.rows(_mask(pc.greater(amount, AMOUNT_MINOR_MAX)), "amount_minor",
               f"amount above {AMOUNT_MINOR_MAX} minor units", "check the amount; it cannot be right")


def _check_channels(found: _Collector, table: pa.Table) -> tuple[np.ndarray, np.ndarray]:
    channel = table.column("channel")
    bank, post = _mask(pc.equal(channel, "bank")), _mask(pc.equal(channel, "post"))
    found.rows(~(bank | post), "channel", "channel must be 'bank' or 'post'", "fix the payee's channel")
    return bank, post


def _check_bank(found: _Collector, table: pa.Table, bank: np.ndarray, masks: dict | None = None) -> None:
    masks = masks or _bank_masks(table)
    iban = table.column("iban")
    bad_iban = bank & ~masks["iban_valid"]
    rows = np.flatnonzero(bad_iban)[:PROBLEMS_PER_RULE_MAX]
    texts = {int(row): checks.iban_problem_text(iban[int(row)].as_py()) for row in rows}
    for row, text in texts.items():  # schwifty words each refusal
        one = np.zeros(len(bank), dtype=bool)
        one[row] = True
        found.rows(one, "iban", text, "correct the payee's IBAN or pay by post")
    if np.count_nonzero(bad_iban) > len(rows):
        found.whole("iban", None, f"{np.count_nonzero(bad_iban) - len(rows)} more invalid IBANs",
                    "correct the payees' IBANs")
    bic = table.column("bic")
    found.rows(bank & _mask(pc.is_valid(bic)) & ~masks["bic_valid"], "bic", "invalid BIC",
               "correct the BIC (8 or 11 characters) or leave it empty")


def _check_post(found: _Collector, cleaned: dict, post: np.ndarray) -> None:
    for name in POSTAL_REQUIRED:
        found.rows(post & ~_mask(pc.is_valid(cleaned[name])), name,
                   f"postal payment without {name} (after transliteration)",
                   "complete the payee's postal address")
    country = cleaned["country"]
    found.rows(_mask(pc.is_valid(country)) & ~_mask(pc.match_substring_regex(country, r"^[A-Z]{2}$")),
               "country", "country must be an ISO 3166 alpha-2 code", "use e.g. ME, RS, UA")


def _clean_columns(table: pa.Table, charset: str, profile: str) -> dict[str, pa.Array]:
    cleaned = {name: clean_text(table.column(name), chars_max, charset, profile)
               for name, chars_max in TEXT_CHARS_MAX.items()}
    cleaned["country"] = pc.utf8_upper(pc.utf8_trim_whitespace(table.column("country")))
    cleaned["iban"] = checks.normalise_iban(table.column("iban"))
    cleaned["bic"] = pc.utf8_upper(pc.utf8_trim_whitespace(table.column("bic")))
    return cleaned


def _debtor_columns(found: _Collector, table: pa.Table, debtors: tuple[Debtor, ...]) -> np.ndarray:
    for debtor in debtors:
        if not checks.ibans_valid(pa.array([debtor.iban]))[0]:
            found.whole("debtor", debtor.iban, checks.iban_problem_text(debtor.iban), "fix the debtor IBAN")
        if debtor.bic and checks.bic_problem_text(debtor.bic):
            found.whole("debtor", debtor.bic, checks.bic_problem_text(debtor.bic), "fix the debtor BIC")
        if not clean_one(debtor.name, 140):
            found.whole("debtor", debtor.name, "debtor name empty after transliteration", "give a Latin name")
    column = table.column("debtor_iban")
    known = pa.array([checks.normalise_iban(pa.array([d.iban]))[0].as_py() for d in debtors], pa.string())
    index = pc.index_in(checks.normalise_iban(column), value_set=known)
    unknown = _mask(pc.is_valid(column)) & ~_mask(pc.is_valid(index))
    found.rows(unknown, "debtor_iban", "debtor account not among the debtors given", "pass that debtor too")
    return index.fill_null(0).to_numpy(zero_copy_only=False).astype(np.int64)


def prepare_payments(payments, debtors, execution_date: date, charset: str = "sepa",
                     profile: str = "sr") -> Prepared:
    """Cast, clean and check the payments; raises InputError listing every problem."""
    debtors = tuple(debtors) if isinstance(debtors, (list, tuple)) else (debtors,)
    assert debtors and all(isinstance(d, Debtor) for d in debtors)
    table = as_table(payments)
    found = _Collector(table)
    # the checks of ids, IBANs and BICs (hashing, regexes and a Numba kernel, without the GIL) on a second thread
    # while this one cleans the text columns (the transliteration of distinct values is Python); the problems
    # are collected in the same order as one after the other
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="checks") as checker:
        masks = checker.submit(_check_masks, table)
        cleaned = _clean_columns(table, charset, profile)
    masks = masks.result()
    _check_ids(found, table, masks)
    _check_amounts(found, table)
    bank, post = _check_channels(found, table)
    _check_bank(found, table, bank, masks)
    _check_post(found, cleaned, post)
    found.rows(~_mask(pc.is_valid(cleaned["name"])), "name", "payee name missing or empty after transliteration",
               "give the payee's name in Latin or Cyrillic letters")
    debtor_index = _debtor_columns(found, table, debtors)
    found.raise_if_any()
    days = pc.cast(table.column("execution_date").fill_null(execution_date), pa.int32())
    for name, column in cleaned.items():
        table = table.append_column(f"{name}_xml", column)
    # contiguous once here: each method's template reads it whole (row_template.string_columns)
    table = table.set_column(table.column_names.index("end_to_end_id"), "end_to_end_id",
                             checks.flat(table["end_to_end_id"]))
    return Prepared(table, debtors, debtor_index, days.to_numpy(zero_copy_only=False).astype(np.int64),
                    checks.flat(table["amount_minor"]).to_numpy(zero_copy_only=False))
