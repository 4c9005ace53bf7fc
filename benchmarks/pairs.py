"""The three pairs of the comparison, each built from one workload that every side receives unchanged:

- entitlements: Montenegro MO, Serbia NSP and Ukraine DSD for N households x 12 months (2025-01..2025-12), by
  isplata's engine, by the plain-Python reference of the tests, and by OpenFisca-core;
- pain001: N bank payments written as pain.001.001.09 by isplata's writer and by sepaxml, both files then
  validated with lxml against bank_exports/xsd/pain.001.001.09.xsd and their amounts summed back;
- ledger: N balanced postings appended to PostgreSQL by isplata's ledger and by a row-wise psycopg COPY with a
  per-row Python SHA-256 chain, each in a private schema dropped afterwards.

A side whose package is missing is kept with the reason (`Side.skip`) instead of failing the run; isplata's
sides are adapted here to the public API of engine/, formats/, bank_exports/ and ledgers/."""
import dataclasses
import datetime as dt
import importlib.util
import os
import shutil
import tempfile
import time
import uuid
from typing import Any, Callable

import numpy as np
import pyarrow.compute as pc
from urllib.parse import quote

from benchmarks import harness, workloads
from benchmarks.machine import package_version
from formats.amounts import parse_amount
from engine.months import format_period, month_index

FIRST_MONTH = month_index(2025, 1)
LAST_MONTH = month_index(2025, 12)
MONTHS = 12
XSD_PATH = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "bank_exports", "xsd",
                        "pain.001.001.09.xsd")
# (isplata benefit code, OpenFisca variable, catalogue country, minor-unit exponent, currency)
RULES = (("ME_MO", "me_mo", "me", 2, "EUR"), ("RS_NSP", "rs_nsp", "rs", 0, "RSD"),
         ("UA_DSD", "ua_dsd", "ua", 2, "UAH"))


@dataclasses.dataclass
class Pair:
    key: str
    title: str
    workload: str
    count: int
    unit: str
    sides: list[harness.Side]
    check: Callable[[list[harness.SideResult]], dict]
    cleanup: Callable[[], None] = lambda: None


def missing(*modules: str) -> str | None:
    """The reason a side cannot run, or None: the first module that cannot be imported."""
    for module in modules:
        try:
            found = importlib.util.find_spec(module) is not None
        except ModuleNotFoundError:
            found = False
        if not found:
            return f"{module} is not installed (pip install -e '.[bench]')"
    return None


def _unavailable(module: str, exc: Exception) -> str:
    return f"{module} not usable here: {type(exc).__name__}: {exc}"


# ---- entitlements -------------------------------------------------------------------------------------------

def _openfisca_side(households) -> harness.Side:
    name = "OpenFisca-core"
    reason = missing("openfisca_core", "openfisca_country_template")
    if reason:
        return harness.Side(name, skip=reason)
    from benchmarks.peers import openfisca_rules

    tbs = openfisca_rules.build_tax_benefit_system()  # like loading a catalogue: outside the clock
    months = [format_period(FIRST_MONTH + m) for m in range(MONTHS)]
    return harness.Side(name, run=lambda: openfisca_rules.compute(tbs, households, months),
                        version=package_version("openfisca-core") or "")


def _entitlement_totals(results: list[harness.SideResult]) -> dict:
    """Per benefit: each side's exact total in minor units; OpenFisca's float32 total and its drift."""
    by_name = {r.name: r for r in results if r.output is not None}
    ours = by_name.get("isplata engine")
    report = {}
    for code, variable, _country, exponent, currency in RULES:
        row: dict[str, Any] = {"currency": currency, "exponent": exponent}
        exact = None if ours is None else ours.output[code]
        if exact is not None:
            row["isplata_total_minor"] = int(exact.sum())
            row["isplata_paid_cells"] = int((exact > 0).sum())
        reference = next((r for name, r in by_name.items() if name.startswith("plain-Python reference")), None)
        if reference is not None:
            cells = reference.output[code]
            row["reference_households"] = int(cells.shape[1])
            row["reference_total_minor"] = int(cells.sum())
            if exact is not None:
                row["reference_mismatched_cells"] = int((cells != exact[:, :cells.shape[1]]).sum())
        openfisca = by_name.get("OpenFisca-core")
        if openfisca is not None:
            row.update(_openfisca_drift(openfisca.output[variable], exact, exponent))
        report[code] = row
    report["agree"] = all(_rule_agrees(report[code]) for code, *_ in RULES)
    if ours is not None:
        report["isplata_split_s"] = {k: round(v, 4) for k, v in ours.output["split"].items()}
    return report


def _openfisca_drift(values: np.ndarray, exact: np.ndarray | None, exponent: int) -> dict:
    scale = 10 ** exponent
    float32_total = float(values.sum(dtype=np.float32))  # what summing OpenFisca's output gives
    cells_minor = np.round(values.astype(np.float64) * scale).astype(np.int64)
    row = {"openfisca_dtype": str(values.dtype), "openfisca_float32_total": float32_total,
           "openfisca_cells_rounded_total_minor": int(cells_minor.sum())}
    if exact is not None:
        diff = cells_minor - exact
        row["openfisca_mismatched_cells"] = int((diff != 0).sum())
        row["openfisca_max_cell_diff_minor"] = int(np.abs(diff).max())
        row["openfisca_float32_total_drift_minor"] = int(round(float32_total * scale)) - int(exact.sum())
    return row


def _rule_agrees(row: dict) -> bool:
    """Exact sides must equal isplata to the minor unit; OpenFisca's per-cell values must too, once rounded."""
    if "isplata_total_minor" not in row:
        return False
    return (row.get("reference_mismatched_cells", 0) == 0 and row.get("openfisca_mismatched_cells", 0) == 0)


def entitlements_pair(households_count: int, reference_households: int, reference_reps: int) -> Pair:
    households = workloads.make_households(households_count)
    registers = _registers(households)
    sides = [isplata_entitlements_side(households, registers),
             reference_entitlements_side(households, registers, min(reference_households, households_count),
                                         reference_reps),
             _openfisca_side(households)]
    return Pair("entitlements", "Means-tested rules (ME MO, RS NSP, UA DSD)",
                f"{households.households:,} households ({households.persons:,} persons) x {MONTHS} months "
                f"x 3 rules", households.households * MONTHS * 3, "household-months", sides,
                _entitlement_totals)


def _income(households, code: str) -> np.ndarray:
    return {"ME_MO": households.income_eur_minor, "RS_NSP": households.income_rsd_minor,
            "UA_DSD": households.income_uah_minor}[code]


def _registers(households) -> list[tuple]:
    """Per rule: (code, catalogue, compiled catalogue, register tables) — loaded before any clock starts."""
    from engine.entitlement import compiled_range
    from formats.awards import award_limits
    from formats.catalogue import load_catalogue

    out = []
    for code, _variable, country, _exponent, _currency in RULES:
        catalogue = load_catalogue(country=country)
        compiled = catalogue.compile(*compiled_range(FIRST_MONTH, LAST_MONTH))
        award = int(award_limits(catalogue)[catalogue.benefit_codes.index(code)])
        out.append((code, catalogue, compiled, workloads.register_tables(households, code,
                                                                         _income(households, code), award)))
    return out


def isplata_entitlements_side(households, registers) -> harness.Side:
    """Arrow register tables -> engine arrays (formats/convert.py) -> due cells (engine/entitlement.py)."""
    from engine.entitlement import compute_due
    from formats.convert import register_arrays

    split = {"convert_s": 0.0, "compute_s": 0.0}  # of the last run, to show where isplata's time goes

    def run():
        out = {}
        split.update(convert_s=0.0, compute_s=0.0)
        for code, catalogue, compiled, tables in registers:
            start = time.perf_counter()
            arrays = register_arrays(tables, catalogue)
            middle = time.perf_counter()
            out[code] = compute_due(arrays, compiled, LAST_MONTH, FIRST_MONTH)
            split["convert_s"] += middle - start
            split["compute_s"] += time.perf_counter() - middle
        return out

    def dense(cells) -> np.ndarray:
        # rights are sorted by right id = household + 1 and each has one cell per month of the window
        return cells.due_minor.reshape(households.households, MONTHS).T

    def finish(out):
        return {code: dense(cells) for code, cells in out.items()} | {"split": dict(split)}
    return harness.Side("isplata engine", run=run, finish=finish)


def reference_entitlements_side(households, registers, limit: int, reps: int) -> harness.Side:
    """tests/engine/reference_entitlement.py: one plain-Python loop per right and month, on the first `limit`
    households (it is too slow for all of them in one run). Its member lookup scans every membership row (fine
    for the tests' tiny registers, quadratic here), so the adapter gives it a dict from household to its rows;
    everything else is the reference as written."""
    name = "plain-Python reference"
    try:
        reference_class = _load_reference()
    except Exception as exc:  # the tests folder is not shipped everywhere
        return harness.Side(name, skip=_unavailable("tests/engine/reference_entitlement.py", exc))

    class IndexedReference(reference_class):
        def __init__(self, persons, memberships, versions, catalogue):
            super().__init__(persons, memberships, versions, catalogue)
            self.by_household = {}
            for row in memberships:
                self.by_household.setdefault(row["household_id"], []).append(row)

        def members(self, household_id, beneficiary, month):
            self.memberships = self.by_household.get(household_id, [])
            return super().members(household_id, beneficiary, month)

    persons_count = int(households.size[:limit].sum())  # persons are grouped by household, in order
    first = lambda rights: rights.filter(pc.less_equal(rights["right_id"], limit))  # their versions, renewals too
    rows = [(code, catalogue, tables["persons"].slice(0, persons_count).to_pylist(),
             tables["households"].slice(0, persons_count).to_pylist(), first(tables["rights"]).to_pylist())
            for code, catalogue, _compiled, tables in registers]

    def run():
        out = {}
        for code, catalogue, persons, memberships, versions in rows:
            reference = IndexedReference(persons, memberships, versions, catalogue)
            out[code] = np.array([list(reference.window(right_id, FIRST_MONTH, LAST_MONTH).values())
                                  for right_id in range(1, limit + 1)], np.int64).T
        return out
    if limit < households.households:
        name += f" (first {limit:,} households)"
    return harness.Side(name, run=run, warm_up=False, reps_max=reps, count=limit * MONTHS * len(RULES))


def _load_reference():
    path = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests", "engine",
                        "reference_entitlement.py")
    spec = importlib.util.spec_from_file_location("isplata_reference_entitlement", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.Reference


# ---- pain.001 -----------------------------------------------------------------------------------------------

def _sepaxml_side(payments, out_dir: str) -> harness.Side:
    name = "sepaxml"
    reason = missing("sepaxml")
    if reason:
        return harness.Side(name, skip=reason)
    from benchmarks.peers.sepaxml_writer import as_lists, write_sepaxml

    folder = os.path.join(out_dir, "sepaxml")
    lists = as_lists(payments)
    return harness.Side(name, run=lambda: write_sepaxml(payments, folder, lists), setup=lambda: _fresh_dir(folder),
                        version=package_version("sepaxml") or "")


def _fresh_dir(folder: str) -> None:
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder)


def validate_files(paths: list[str]) -> dict:
    """Validates every file against the official XSD with lxml and sums its transactions back exactly."""
    from lxml import etree

    schema = etree.XMLSchema(etree.parse(XSD_PATH))
    ns = "{urn:iso:std:iso:20022:tech:xsd:pain.001.001.09}"
    out = {"files": len(paths), "valid": True, "errors": [], "transactions": 0, "amount_minor": 0,
           "ctrl_sum_minor": 0, "bytes": 0, "validate_s": 0.0}
    for path in paths:
        document = etree.parse(path, etree.XMLParser(huge_tree=True, resolve_entities=False, no_network=True))
        start = time.perf_counter()
        valid = schema.validate(document)
        out["validate_s"] += time.perf_counter() - start
        if not valid:
            out["valid"] = False
            out["errors"].append(f"{os.path.basename(path)}: {schema.error_log.last_error}")
        amounts = [parse_amount(a.text) for a in document.iterfind(f".//{ns}CdtTrfTxInf/{ns}Amt/*")]
        out["transactions"] += len(amounts)
        out["amount_minor"] += sum(amounts)
        out["ctrl_sum_minor"] += parse_amount(document.find(f"{ns}*/{ns}GrpHdr/{ns}CtrlSum").text)
        out["bytes"] += os.path.getsize(path)
    return out


def _pain001_check(payments) -> Callable[[list[harness.SideResult]], dict]:
    def check(results: list[harness.SideResult]) -> dict:
        expected = {"transactions": payments.count, "amount_minor": int(payments.amount_minor.sum())}
        report: dict[str, Any] = {"expected": expected}
        for result in results:
            if result.output is not None:
                report[result.name] = validate_files(result.output)
        written = [report[r.name] for r in results if r.output is not None]
        report["agree"] = results[0].output is not None and all(
            w["valid"] and w["transactions"] == expected["transactions"]
            and w["amount_minor"] == w["ctrl_sum_minor"] == expected["amount_minor"] for w in written)
        return report
    return check


def pain001_pair(count: int) -> Pair:
    payments = workloads.make_payments(count)
    out_dir = tempfile.mkdtemp(prefix="isplata-compare-pain001-")
    sides = [isplata_pain001_side(payments, out_dir), _sepaxml_side(payments, out_dir)]
    return Pair("pain001", "pain.001.001.09 credit transfers", f"{count:,} bank payments (EUR, one execution date)",
                count, "payments", sides, _pain001_check(payments), lambda: shutil.rmtree(out_dir, True))


def isplata_pain001_side(payments, out_dir: str) -> harness.Side:
    name = "isplata pain.001 writer"
    try:
        import pyarrow as pa

        from bank_exports.pain001 import Pain001Options, write_pain001
        from bank_exports.payments import Debtor
    except ImportError as exc:
        return harness.Side(name, skip=_unavailable("bank_exports.pain001", exc))
    table = pa.table({"end_to_end_id": payments.end_to_end_id, "amount_minor": payments.amount_minor,
                      "channel": pa.array(["bank"] * payments.count), "name": payments.name,
                      "iban": payments.iban, "bic": pa.array([payments.bic] * payments.count),
                      "remittance": payments.remittance})
    debtor = Debtor(payments.debtor_name, payments.debtor_iban, payments.debtor_bic)
    options = Pain001Options(msg_id_prefix=payments.msg_id, currency=payments.currency,
                             created_at=dt.datetime(2025, 7, 10, 8, 0), execution_date=payments.execution_date,
                             max_per_file=max(payments.count, 1),
                             validate=False)  # the same work as the peer: both files are validated after the clock
    folder = os.path.join(out_dir, "isplata")

    def run():
        result = write_pain001(table, folder, debtor, options)
        return [os.path.join(folder, written.name) for written in result.files]
    return harness.Side(name, run=run, setup=lambda: _fresh_dir(folder))


# ---- ledger -------------------------------------------------------------------------------------------------

def _rowwise_side(postings, pg_url: str, cleanups: list) -> harness.Side:
    name = "psycopg row-wise COPY + Python SHA-256 chain"
    try:
        from benchmarks.peers.rowwise_ledger import RowwiseLedger, posting_rows

        ledger = RowwiseLedger(pg_url)
    except Exception as exc:  # PostgreSQL unreachable: the side is reported as skipped, with the reason
        return harness.Side(name, skip=_unavailable("PostgreSQL", exc))
    cleanups.append(ledger.drop)
    rows = posting_rows(postings)
    return harness.Side(name, run=lambda: ledger.append(rows), setup=ledger.reset, collect=ledger.totals)


def _ledger_check(postings) -> Callable[[list[harness.SideResult]], dict]:
    def check(results: list[harness.SideResult]) -> dict:
        expected = (postings.count, int(postings.amount_minor.sum()), int(np.abs(postings.amount_minor).sum()))
        report: dict[str, Any] = {"expected": {"postings": expected[0], "sum_minor": expected[1],
                                               "sum_abs_minor": expected[2]}}
        for result in results:
            if result.output is not None:
                report[result.name] = dict(zip(("postings", "sum_minor", "sum_abs_minor"), result.output))
        stored = [tuple(report[r.name].values()) for r in results if r.output is not None]
        report["agree"] = results[0].output is not None and all(s == expected for s in stored)
        return report
    return check


def ledger_pair(count: int, pg_url: str) -> Pair:
    postings = workloads.make_postings(count, LAST_MONTH)
    cleanups: list = []
    sides = [isplata_ledger_side(postings, pg_url, cleanups), _rowwise_side(postings, pg_url, cleanups)]

    def cleanup():
        for drop in cleanups:
            drop()
    return Pair("ledger", "Ledger append on PostgreSQL, hash-chained",
                f"{count:,} balanced postings in one batch", count, "postings", sides, _ledger_check(postings),
                cleanup)


class _PrivateSchema:
    """A PostgreSQL schema of our own; `url` makes every connection of the ledger see only it."""

    def __init__(self, pg_url: str, prefix: str):
        import psycopg

        self.pg_url, self.name = pg_url, f"{prefix}_{uuid.uuid4().hex[:10]}"
        self.psycopg = psycopg
        sep = "&" if "?" in pg_url else "?"
        self.url = f"{pg_url}{sep}options={quote('-csearch_path=' + self.name)}"

    def execute(self, sql: str):
        with self.psycopg.connect(self.pg_url, autocommit=True) as conn:
            cursor = conn.execute(sql)
            return cursor.fetchall() if cursor.description else None

    def recreate(self) -> None:
        self.execute(f"DROP SCHEMA IF EXISTS {self.name} CASCADE")
        self.execute(f"CREATE SCHEMA {self.name}")

    def drop(self) -> None:
        self.execute(f"DROP SCHEMA IF EXISTS {self.name} CASCADE")


def isplata_ledger_side(postings, pg_url: str, cleanups: list) -> harness.Side:
    name = "isplata ledger"
    try:
        from ledgers import open_ledger

        schema = _PrivateSchema(pg_url, "bench_isplata")
        schema.recreate()
    except Exception as exc:  # an unusable ledger package or an unreachable server: reported, not hidden
        return harness.Side(name, skip=_unavailable("ledgers / PostgreSQL", exc))
    cleanups.append(schema.drop)
    columns = {"account_kind": postings.account_kind, "account_key": postings.account_key,
               "right_id": postings.right_id, "payee_id": postings.payee_id, "month": postings.month,
               "component": np.full(postings.count, workloads.DUE_COMPONENT), "amount_minor": postings.amount_minor}
    state = {}

    def setup():
        if "ledger" in state:
            state.pop("ledger").close()
        schema.recreate()
        state["ledger"] = open_ledger(schema.url)
        state["ledger"].init()

    def run():
        return state["ledger"].append_batch("approve", "bench-payroll", columns, period=postings.period)

    def collect():
        row = schema.execute(f"SELECT count(*), coalesce(sum(amount_minor), 0), coalesce(sum(abs(amount_minor)), 0)"
                             f" FROM {schema.name}.ledger_postings")[0]
        return tuple(int(x) for x in row)

    def close():
        if "ledger" in state:
            state.pop("ledger").close()
    cleanups.insert(0, close)
    return harness.Side(name, run=run, setup=setup, collect=collect)
