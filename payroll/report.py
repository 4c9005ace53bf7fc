"""A payroll's report: totals by benefit, municipality and channel, arrears and recoveries, deductions by kind,
change against the previous month, returns by reason; as data (JSON-able) and as an HTML page.

Everything comes from what the payroll recorded at calculation (its totals) and from the ledger's event stream
(reconciled files carry their returns by payroll and reason), so a report never recomputes anything.
"""
from pathlib import Path

from engine.months import format_period, parse_period
from payroll import cycle, store
from payroll.report_html import render_html


def build_report(db_url: str, identifier: str) -> dict:
    ledger = cycle.open_db(db_url)
    try:
        with ledger.engine.connect() as conn:
            record = store.get_payroll(conn, identifier)
            earlier = store.list_payrolls(conn, format_period(parse_period(record.period) - 1))
        status = cycle.status_of(ledger, identifier)["status"]
        previous = [p for p in earlier if p.country == record.country and
                    cycle.status_of(ledger, p.payroll_id)["status"] != "draft"]
        reconciled = ledger.events(kind="reconciled")
        returns = returns_by_reason(reconciled, identifier)
        statuses = statuses_said(reconciled, identifier)
    finally:
        ledger.close()
    totals = record.totals
    components = totals["totals_minor"]
    return {
        "payroll": record.payroll_id, "period": record.period, "status": status, "currency": record.currency,
        "minor_exponent": record.minor_exponent, "created_by": record.created_by, "created_at": record.created_at,
        "catalogue_sha256": record.catalogue_sha256, "rights": record.rights, "payments": record.payments,
        "net_minor": record.net_minor, "totals_minor": components,
        "by_benefit": totals["by_benefit_minor"], "by_channel": totals["by_channel_minor"],
        "by_municipality": totals.get("by_municipality_minor", {}),
        "arrears_recoveries": {"arrears paid": components.get("arrears", 0),
                               "overpayments raised": -components.get("overpayment", 0),
                               "recovered": -components.get("recovery", 0),
                               "re-issued": components.get("reissue", 0),
                               "carried forward": -components.get("carry_out", 0)},
        "deductions_by_kind": {kind: -components.get(kind, 0)
                               for kind in ("alimony", "damages", "recovery", "enforcement")},
        "previous": previous_month(previous),
        "returns_by_reason": returns,
        "statuses": statuses,
    }


def previous_month(records: list) -> dict | None:
    """The previous period's approved payrolls (a regular run and any supplementary ones) added up."""
    if not records:
        return None
    by_benefit: dict = {}
    for record in records:
        for benefit, amount in record.totals["by_benefit_minor"].items():
            by_benefit[benefit] = by_benefit.get(benefit, 0) + amount
    return {"payroll": " + ".join(r.payroll_id for r in records), "by_benefit": by_benefit,
            "net_minor": sum(r.net_minor for r in records)}


def returns_by_reason(events: list[dict], identifier: str) -> dict:
    """Returned and rejected amounts of this payroll's payments, per reason code, over all reconciled files."""
    totals: dict = {}
    for event in events:
        for reason, amount in event["payload"].get("returns_by_reason_minor", {}).get(identifier, {}).items():
            totals[reason] = totals.get(reason, 0) + amount
    return dict(sorted(totals.items()))


def statuses_said(events: list[dict], identifier: str) -> dict:
    """How many of this payroll's payments (or its files and blocks) each status that is not a rejection was
    said of (pain.002 ACSC, PDNG, Verification of Payee RVNM...), over all reconciled files."""
    prefix = identifier + "-"
    counts: dict = {}
    for event in events:
        for said in event["payload"].get("statuses", []):
            if (said.get("reference") or "").startswith(prefix):
                counts[said["status"]] = counts.get(said["status"], 0) + 1
    return dict(sorted(counts.items()))


def write_html(report: dict, path) -> str:
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(render_html(report), encoding="utf-8")
    return str(target)
