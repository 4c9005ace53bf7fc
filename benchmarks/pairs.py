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
from typing import Any, Callable

import numpy as np

from benchmarks import harness, workloads
from benchmarks.machine import package_version
from engine.money import decimal_str_to_minor
from engine.months import format_period, month_index

FIRST_MONTH = month_index(2025, 1)
MONTHS = 12
XSD_PATH = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "bank_exports", "xsd",
                        "pain.001.001.09.xsd")
# (isplata benefit code, OpenFisca variable, catalogue country, minor-unit exponent, currency)
RULES = (("ME_MO", "me_mo", "montenegro", 2, "EUR"), ("RS_NSP", "rs_nsp", "serbia", 0, "RSD"),
         ("UA_DSD", "ua_dsd", "ukraine", 2, "UAH"))


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
        reference = by_name.get("plain-Python reference")
        if reference is not None:
            row["reference_total_minor"] = int(reference.output[code].sum())
            if exact is not None:
                row["reference_mismatched_cells"] = int((reference.output[code] != exact).sum())
        openfisca = by_name.get("OpenFisca-core")
        if openfisca is not None:
            row.update(_openfisca_drift(openfisca.output[variable], exact, exponent))
        report[code] = row
    report["agree"] = all(_rule_agrees(report[code]) for code, *_ in RULES)
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


def entitlements_pair(households_count: int, reference_reps: int) -> Pair:
    households = workloads.make_households(households_count)
    sides = [isplata_entitlements_side(households), reference_entitlements_side(households, reference_reps),
             _openfisca_side(households)]
    return Pair("entitlements", "Means-tested rules (ME MO, RS NSP, UA DSD)",
                f"{households.households:,} households ({households.persons:,} persons) x {MONTHS} months "
                f"x 3 rules", households.households * MONTHS * 3, "household-months", sides,
                _entitlement_totals)


def isplata_entitlements_side(households) -> harness.Side:
    return harness.Side("isplata engine", skip="engine/entitlement.py has not landed yet")


def reference_entitlements_side(households, reps: int) -> harness.Side:
    return harness.Side("plain-Python reference", skip="tests/engine/reference_entitlement.py has not landed yet")


# ---- pain.001 -----------------------------------------------------------------------------------------------

def _sepaxml_side(payments, out_dir: str) -> harness.Side:
    name = "sepaxml"
    reason = missing("sepaxml")
    if reason:
        return harness.Side(name, skip=reason)
    from benchmarks.peers.sepaxml_writer import write_sepaxml

    folder = os.path.join(out_dir, "sepaxml")
    return harness.Side(name, run=lambda: write_sepaxml(payments, folder), setup=lambda: _fresh_dir(folder),
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
        amounts = [decimal_str_to_minor(a.text) for a in document.iterfind(f".//{ns}CdtTrfTxInf/{ns}Amt/*")]
        out["transactions"] += len(amounts)
        out["amount_minor"] += sum(amounts)
        out["ctrl_sum_minor"] += decimal_str_to_minor(document.find(f"{ns}*/{ns}GrpHdr/{ns}CtrlSum").text)
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
                             max_per_file=max(payments.count, 1))
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

    def run():
        ledger.append(rows)
        return ledger.totals()
    return harness.Side(name, run=run, setup=ledger.reset, version=package_version("psycopg") or "")


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
    postings = workloads.make_postings(count, FIRST_MONTH)
    cleanups: list = []
    sides = [isplata_ledger_side(postings, pg_url, cleanups), _rowwise_side(postings, pg_url, cleanups)]

    def cleanup():
        for drop in cleanups:
            drop()
    return Pair("ledger", "Ledger append on PostgreSQL, hash-chained",
                f"{count:,} balanced postings in one batch", count, "postings", sides, _ledger_check(postings),
                cleanup)


def isplata_ledger_side(postings, pg_url: str, cleanups: list) -> harness.Side:
    return harness.Side("isplata ledger", skip="ledgers/ append_batch has not landed yet")
