"""Read-only views of payrolls for the command line: list, show, lines, and the exact JSON contracts.

The contract functions cut a step's result down to (at least) the keys DESIGN.md fixes under "What scripts and
auditors can rely on"; extra keys may be added there, none removed or renamed.
"""
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow.parquet as pq

from formats import i18n, labels
from formats.amounts import decimal_amounts, format_amount
from formats.schemas import PAYROLL_LINES
from formats.i18n import N_
from payroll import session, store
from payroll.errors import Refused

CALCULATE_KEYS = ("payroll", "period", "currency", "rights", "payments", "net_minor", "totals_minor")
RECONCILE_KEYS = ("records", "matched", "unmatched", "already_seen", "rejected_minor", "returned_minor",
                  "settled_minor", "charges_minor", "not_ours", "statuses", "holds_placed")


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


LABELS = {"status": labels.status_label, "arrears": labels.arrears_label, "component": labels.component_label,
          "deduction": labels.deduction_label, "channel": labels.channel_label, "reason": labels.reason_label,
          "account": labels.account_label, "hold": labels.hold_label}


def label(domain: str, code: str) -> str:
    """A code of `domain` (component, deduction, channel, reason, account, hold) with its name."""
    return LABELS[domain](code)


def display_of(record: store.PayrollRecord, for_data: bool = False) -> Display:
    """The Display of a stored payroll: names from the catalogue it was calculated with (codes alone if that file
    is gone), locale of the active language (--lang, else the country's); `for_data`: the country's locale, for
    JSON and files that never change with the language."""
    i18n.note_country(record.country)
    locale = labels.locale_of(record.country) if for_data else labels.display_locale(record.country)
    return Display(record.currency, record.minor_exponent, locale,
                   labels.benefit_names_at(record.catalogue_path))


def labels_locale(payroll_id: str) -> str:
    """The display locale of a payroll by its id (its first two letters are the country)."""
    return labels.display_locale(payroll_id[:2])


def display_for(db_url: str, identifier: str) -> Display:
    return display_of(session.payroll_record(db_url, identifier))


def calculate_contract(summary: dict) -> dict:
    return {key: summary[key] for key in CALCULATE_KEYS}


def reconcile_contract(result: dict) -> dict:
    return {key: result[key] for key in RECONCILE_KEYS}


def list_payrolls(db_url: str, period: str | None = None) -> list[dict]:
    ledger = session.open_db(db_url)
    try:
        with ledger.engine.connect() as conn:
            records = store.list_payrolls(conn, period)
        return [{"payroll": r.payroll_id, "period": r.period, "status": session.status_of(ledger, r.payroll_id)["status"],
                 "created_by": r.created_by, "created_at": r.created_at, "rights": r.rights, "payments": r.payments,
                 "net_minor": r.net_minor, "currency": r.currency, "minor_exponent": r.minor_exponent}
                for r in records]
    finally:
        ledger.close()


def show_payroll(db_url: str, identifier: str) -> dict:
    ledger = session.open_db(db_url)
    try:
        with ledger.engine.connect() as conn:
            record = store.get_payroll(conn, identifier)
        status = session.status_of(ledger, identifier)
    finally:
        ledger.close()
    summary = session.summary_of(record)
    summary.update(status=status["status"], approved_by=status["approved_by"], data_folder=record.data_folder,
                   input_sha256=record.input_sha256, catalogue_path=record.catalogue_path,
                   catalogue_sha256=record.catalogue_sha256, lines_file=str(record.lines_path),
                   lines_sha256=record.lines_sha256, events=[{k: e[k] for k in ("kind", "payload", "created_us")}
                                                             for e in status["events"]])
    return summary


def provenance_rows(summary: dict) -> list[tuple]:
    """(name, value) rows of a payroll's status and inputs; the names are messages (formats.i18n.N_)."""
    rows = [(N_("status"), labels.status_label(summary["status"])), (N_("calculated by"), summary["created_by"]),
            (N_("approved by"), summary["approved_by"] or "-"), (N_("register"), summary["data_folder"]),
            (N_("catalogue"), summary["catalogue_path"]), (N_("catalogue sha256"), summary["catalogue_sha256"]),
            (N_("lines"), summary["lines_file"]), (N_("lines sha256"), summary["lines_sha256"])]
    rows += [(N_("sha256 {name}", name=name), digest) for name, digest in sorted(summary["input_sha256"].items())]
    return rows


def write_lines(db_url: str, identifier: str, out_file, file_format: str | None = None) -> dict:
    """Copy a payroll's lines (checked against their recorded SHA-256) to out_file: Parquet with exactly the
    DESIGN.md columns, or, for officers, CSV / XLSX with amounts in the currency, periods as YYYY-MM and the
    names of benefits, channels and components beside their codes (format by `file_format`, else the suffix)."""
    from formats import officer_files

    chosen = officer_files.format_of(out_file, file_format)
    record = session.payroll_record(db_url, identifier)
    lines = store.read_lines(record)
    assert lines.schema.equals(PAYROLL_LINES), "stored lines do not follow formats.schemas.PAYROLL_LINES"
    Path(out_file).parent.mkdir(parents=True, exist_ok=True)
    if chosen == "parquet":
        pq.write_table(lines, out_file)
    else:
        table = officer_lines(lines, display_of(record, for_data=True))  # files never follow --lang
        if chosen == "csv":
            officer_files.write_csv(table, out_file)
        else:
            officer_files.write_xlsx({"lines": table}, out_file)
    return {"payroll": identifier, "lines": lines.num_rows, "out": str(out_file), "format": chosen}


def officer_lines(lines, show: Display):
    """The payroll lines as an officer reads them: codes with names, amounts in currency units, periods YYYY-MM."""
    import pyarrow as pa

    from formats import officer_files

    month = officer_files.period_column(lines.column("month"))
    columns = {
        "payroll": lines.column("payroll"), "right_id": lines.column("right_id"),
        "benefit": lines.column("benefit"), "benefit_name": officer_files.named(lines.column("benefit"), show.benefits),
        "payee_id": lines.column("payee_id"), "channel": lines.column("channel"),
        "channel_name": officer_files.named(lines.column("channel"), labels.CHANNELS), "month": month,
        "component": lines.column("component"),
        "component_name": officer_files.named(lines.column("component"), labels.COMPONENTS),
        "amount": decimal_amounts(lines.column("amount_minor"), show.exponent),
        "currency": pa.array([show.currency] * lines.num_rows, pa.string()),
        "payment_ref": lines.column("payment_ref")}
    return pa.table(columns)


def ledger_display(ledger, for_data: bool = False) -> Display | None:
    """How an open ledger's amounts read: the currency, decimals, locale and benefit names of its latest payroll
    (a ledger holds one country's money); None while it holds no payroll. Creates nothing. `for_data`: amounts as
    text in JSON are in the country's locale, whatever the language of the run."""
    import sqlalchemy as sa

    if not sa.inspect(ledger.engine).has_table(store.payrolls.name):
        return None
    with ledger.engine.connect() as conn:
        records = store.list_payrolls(conn, None)
    return display_of(records[-1], for_data) if records else None


def period_option(text: str | None, option: str) -> int | None:
    """A YYYY-MM option as a month index (a YYYY-MM-DD date is read as its month); None when not given."""
    from engine.months import parse_period
    from formats.errors import InputError, Problem

    if text is None:
        return None
    try:
        return parse_period(text.strip()[:7])
    except ValueError as exc:
        raise InputError([Problem(option, None, None, text, str(exc), N_("write the accounting period as YYYY-MM"))])


def balances(db_url: str, account=None, key=None, payee_id=None, right_id=None, benefit=None, period=None,
             as_of=None) -> dict:
    """`ledger balance`: balances per account and key, filtered by right, payee, benefit and accounting period;
    `as_of` is an accounting period (every posting of that period and earlier), not the day of the run."""
    from engine.months import format_period
    from ledgers import open_ledger

    period_index, as_of_index = period_option(period, "--period"), period_option(as_of, "--as-of")
    with open_ledger(db_url) as ledger:
        ledger.require_schema()
        show = ledger_display(ledger, for_data=True)
        names = ledger.code_names("benefit")
        code = None
        if benefit is not None:
            code = next((c for c, name in names.items() if name == benefit), None)
            if code is None:
                raise Refused(N_("no benefit {benefit} in this ledger; its benefits: {value}",
                                 benefit=repr(benefit), value=', '.join(sorted(names.values())) or 'none yet'))
        rows = ledger.balances(account=account, key=key, payee_id=payee_id, right_id=right_id, period=period_index,
                               period_to=as_of_index, benefit_code=code)
    for row in rows:
        row["account_name"] = labels.ACCOUNTS.get(row["account"], row["account"])  # data: English (shown by tr)
        if row["account"] == "benefit_expense":
            benefit_code = names.get(row["key"], str(row["key"]))
            row["key_name"] = show.benefit(benefit_code) if show else benefit_code
        if show is not None:
            row["balance"] = show.money(row["balance_minor"], False)
    total = sum(row["balance_minor"] for row in rows)
    return {"as_of": None if as_of_index is None else format_period(as_of_index),
            "period": None if period_index is None else format_period(period_index), "balances": rows,
            "total_minor": total, "currency": show.currency if show else None,
            "total": show.money(total, False) if show else None}
