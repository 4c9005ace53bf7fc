"""Read-only views of payrolls for the command line: list, show, lines, and the exact JSON contracts.

The contract functions cut a step's result down to (at least) the keys DESIGN.md fixes under "What scripts and
auditors can rely on"; extra keys may be added there, none removed or renamed.
"""
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow.parquet as pq

from formats import labels
from formats.amounts import format_amount
from formats.schemas import PAYROLL_LINES
from payroll import cycle, store

CALCULATE_KEYS = ("payroll", "period", "currency", "rights", "payments", "net_minor", "totals_minor")
RECONCILE_KEYS = ("records", "matched", "unmatched", "already_seen", "rejected_minor", "returned_minor",
                  "settled_minor")


def money_text(amount_minor: int, exponent: int) -> str:
    text = format_amount(int(amount_minor), exponent)
    whole, dot, fraction = text.partition(".")
    sign = "-" if whole.startswith("-") else ""
    return f"{sign}{int(whole.lstrip('-') or 0):,}{dot}{fraction}"


@dataclass(frozen=True)
class Display:
    """How a person reads one payroll's codes and amounts: benefits by catalogue name, amounts in the currency
    as the catalogue country's locale writes them, reasons, components and channels by their meaning."""
    currency: str
    exponent: int
    locale: str = labels.FALLBACK_LOCALE
    benefits: dict = field(default_factory=dict)

    def money(self, amount_minor: int, with_currency: bool = True) -> str:
        return labels.money_label(amount_minor, self.exponent, self.currency if with_currency else None,
                                  self.locale)

    def benefit(self, code: str) -> str:
        return labels.benefit_label(code, self.benefits)

    def label(self, domain: str, code: str) -> str:
        return self.benefit(code) if domain == "benefit" else label(domain, code)


LABELS = {"component": labels.component_label, "deduction": labels.deduction_label, "channel": labels.channel_label,
          "reason": labels.reason_label, "account": labels.account_label, "hold": labels.hold_label}


def label(domain: str, code: str) -> str:
    """A code of `domain` (component, deduction, channel, reason, account, hold) with its name."""
    return LABELS[domain](code)


def display_of(record: store.PayrollRecord) -> Display:
    """The Display of a stored payroll: names from the catalogue it was calculated with (codes alone if that file
    is gone), locale from its country."""
    return Display(record.currency, record.minor_exponent, labels.locale_of(record.country),
                   labels.benefit_names_at(record.catalogue_path))


def display_for(db_url: str, identifier: str) -> Display:
    return display_of(cycle.payroll_record(db_url, identifier))


def calculate_contract(summary: dict) -> dict:
    return {key: summary[key] for key in CALCULATE_KEYS}


def reconcile_contract(result: dict) -> dict:
    return {key: result[key] for key in RECONCILE_KEYS}


def list_payrolls(db_url: str, period: str | None = None) -> list[dict]:
    ledger = cycle.open_db(db_url)
    try:
        with ledger.engine.connect() as conn:
            records = store.list_payrolls(conn, period)
        return [{"payroll": r.payroll_id, "period": r.period, "status": cycle.status_of(ledger, r.payroll_id)["status"],
                 "created_by": r.created_by, "created_at": r.created_at, "rights": r.rights, "payments": r.payments,
                 "net_minor": r.net_minor, "currency": r.currency, "minor_exponent": r.minor_exponent}
                for r in records]
    finally:
        ledger.close()


def show_payroll(db_url: str, identifier: str) -> dict:
    ledger = cycle.open_db(db_url)
    try:
        with ledger.engine.connect() as conn:
            record = store.get_payroll(conn, identifier)
        status = cycle.status_of(ledger, identifier)
    finally:
        ledger.close()
    summary = cycle.summary_of(record)
    summary.update(status=status["status"], approved_by=status["approved_by"], data_folder=record.data_folder,
                   input_sha256=record.input_sha256, catalogue_path=record.catalogue_path,
                   catalogue_sha256=record.catalogue_sha256, lines_file=str(record.lines_path),
                   lines_sha256=record.lines_sha256, events=[{k: e[k] for k in ("kind", "payload", "created_us")}
                                                             for e in status["events"]])
    return summary


def provenance_rows(summary: dict) -> list[tuple]:
    rows = [("status", summary["status"]), ("calculated by", summary["created_by"]),
            ("approved by", summary["approved_by"] or "-"), ("register", summary["data_folder"]),
            ("catalogue", summary["catalogue_path"]), ("catalogue sha256", summary["catalogue_sha256"]),
            ("lines", summary["lines_file"]), ("lines sha256", summary["lines_sha256"])]
    rows += [(f"sha256 {name}", digest) for name, digest in sorted(summary["input_sha256"].items())]
    return rows


def write_lines(db_url: str, identifier: str, out_file) -> dict:
    """Copy a payroll's lines (checked against their recorded SHA-256) to out_file as Parquet."""
    record = cycle.payroll_record(db_url, identifier)
    lines = store.read_lines(record)
    assert lines.schema.equals(PAYROLL_LINES), "stored lines do not follow formats.schemas.PAYROLL_LINES"
    Path(out_file).parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(lines, out_file)
    return {"payroll": identifier, "lines": lines.num_rows, "out": str(out_file)}
