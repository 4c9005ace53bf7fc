"""A payroll's sign-off report: who calculated and approved it and when, the ledger digest after its batch,
recipients and amounts per benefit and per municipality, the change against the previous month (rights started,
stopped and changed, the largest individual changes), arrears and recoveries, deductions by kind, holds in force,
returns by reason with their meaning, the source and status of every catalogue value in force; as data (JSON-able) and as an HTML page a finance director signs.

Everything comes from what the payroll recorded (its totals and its lines, checked against their SHA-256), the
register files it recorded (for the municipalities' counts, only while they still hash as recorded) and the
ledger's batches and event stream, so a report never recomputes an amount.
"""
import datetime as dt
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from engine.months import format_period, month_first_date, parse_period
from formats import labels
from formats.i18n import N_
from payroll import session, store
from payroll.errors import Refused
from payroll.report_html import render_html

LARGEST_CHANGES = 10
PDF_CONVERTERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
PDF_SECONDS_MAX = 120


def build_report(db_url: str, identifier: str) -> dict:
    ledger = session.open_db(db_url)
    try:
        with ledger.engine.connect() as conn:
            record = store.get_payroll(conn, identifier)
            earlier = store.list_payrolls(conn, format_period(parse_period(record.period) - 1))
            holds = store.read_holds(conn, record.hold_mark).to_pylist()
        status = session.status_of(ledger, identifier)
        previous = [p for p in earlier if p.country == record.country and
                    session.status_of(ledger, p.payroll_id)["status"] in session.POSTED_STATUSES]
        reconciled = ledger.events(kind="reconciled")
        returns = returns_by_reason(reconciled, identifier)
        statuses = statuses_said(reconciled, identifier)
        batch = ledger.find_batch("approve", identifier)
        digest_now = ledger.digest()
    finally:
        ledger.close()
    report = base_report(record, status["status"], previous, returns, statuses)
    report.update(sign_off(record, status, batch, digest_now))
    nets = right_nets(record)
    report["recipients_by_benefit"] = recipient_counts(nets)
    report["municipalities"] = municipality_rows(record, nets)
    report["rights_change"] = rights_change(nets, [right_nets(p) for p in previous])
    report["holds"] = [{key: hold[key] for key in ("hold_id", "kind", "right_id", "payee_id", "reason_code",
                                                   "payment_ref", "created_at")} for hold in holds]
    report["names"] = names_of(record)
    report["sources"] = sources_of(record, sorted(report["by_benefit"]))
    return report


def sources_of(record: store.PayrollRecord, codes: list) -> dict | None:
    """Per benefit paid: the parameter values in force in the period with their source and status, read from the
    catalogue the payroll was calculated with (None when that file is gone or no longer hashes as recorded)."""
    from formats.catalogue import load_catalogue
    from formats.errors import InputError
    from payroll.catalogue_view import sources_in_force

    try:
        catalogue = load_catalogue(record.catalogue_path)
    except InputError:
        return None
    if catalogue.sha256 != record.catalogue_sha256:
        return None
    day = month_first_date(parse_period(record.period))
    return {code: sources_in_force(catalogue, code, day) for code in codes if code in catalogue.benefit_codes}


def base_report(record: store.PayrollRecord, status: str, previous: list, returns: dict, statuses: dict) -> dict:
    totals = record.totals
    components = totals["totals_minor"]
    return {
        "payroll": record.payroll_id, "period": record.period, "status": status, "currency": record.currency,
        "country": record.country, "minor_exponent": record.minor_exponent, "created_by": record.created_by,
        "created_at": record.created_at, "catalogue_sha256": record.catalogue_sha256, "rights": record.rights,
        "payments": record.payments, "net_minor": record.net_minor, "totals_minor": components,
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


def sign_off(record: store.PayrollRecord, status: dict, batch, digest_now: str) -> dict:
    """Who calculated and approved (and when), and the ledger digest after the approval batch."""
    approved = [e for e in status["events"] if e["kind"] == "approved"]
    exported = [e for e in status["events"] if e["kind"] == "exported"]
    return {"approved_by": status["approved_by"],
            "approved_at": moment(approved[0]["created_us"]) if approved else None,
            "exported_at": moment(exported[0]["created_us"]) if exported else None,
            "batch_id": batch.batch_id if batch is not None else None,
            "ledger_digest_after": batch.hash if batch is not None else None,
            "ledger_digest_now": digest_now}


def moment(created_us: int) -> str:
    return dt.datetime.fromtimestamp(created_us / 1_000_000, dt.timezone.utc).isoformat(timespec="seconds")


def names_of(record: store.PayrollRecord) -> dict:
    """The catalogue's benefit names (codes alone when the catalogue file is gone) and the display locale."""
    return {"benefits": labels.benefit_names_at(record.catalogue_path), "locale": labels.locale_of(record.country)}


def right_nets(record: store.PayrollRecord) -> pa.Table:
    """Per right paid: its benefit and the net it contributed to payments (lines on a payment, summed)."""
    lines = store.read_lines(record, columns=["right_id", "benefit", "amount_minor", "payment_ref"])
    paid = lines.filter(pc.is_valid(lines.column("payment_ref")))
    grouped = paid.group_by(["right_id", "benefit"]).aggregate([("amount_minor", "sum")])
    return grouped.rename_columns(["right_id", "benefit", "net_minor"])


def recipient_counts(nets: pa.Table) -> dict:
    counts = nets.group_by("benefit").aggregate([("right_id", "count")]).to_pylist()
    return {row["benefit"]: row["right_id_count"] for row in sorted(counts, key=lambda r: r["benefit"])}


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


def rights_change(now: pa.Table, before: list[pa.Table]) -> dict:
    """Per benefit: rights started (paid now, not last month), stopped (the reverse) and changed (a different
    net); and the largest individual changes. Empty when there is no previous month."""
    if not before:
        return {"by_benefit": {}, "largest": []}
    earlier = pa.concat_tables(before).group_by(["right_id", "benefit"]).aggregate([("net_minor", "sum")])
    earlier = earlier.rename_columns(["right_id", "benefit", "net_before_minor"])
    joined = now.join(earlier, keys=["right_id", "benefit"], join_type="full outer")
    right = joined.column("right_id").to_numpy()
    benefit = np.asarray(joined.column("benefit").to_pylist(), dtype=object)
    has_now, has_before = (pc.is_valid(joined.column(c)).to_numpy(zero_copy_only=False)
                           for c in ("net_minor", "net_before_minor"))
    net_now = pc.fill_null(joined.column("net_minor"), 0).to_numpy()
    net_before = pc.fill_null(joined.column("net_before_minor"), 0).to_numpy()
    kinds = {"started": has_now & ~has_before, "stopped": has_before & ~has_now,
             "changed": has_now & has_before & (net_now != net_before)}
    by_benefit = {}
    for code in sorted(set(benefit.tolist())):
        mine = benefit == code
        by_benefit[code] = {kind: int(np.count_nonzero(mask & mine)) for kind, mask in kinds.items()}
    change = net_now - net_before
    order = np.lexsort((right, -np.abs(change)))[:LARGEST_CHANGES]
    largest = [{"right_id": int(right[i]), "benefit": benefit[i], "before_minor": int(net_before[i]),
                "now_minor": int(net_now[i]), "change_minor": int(change[i])} for i in order if change[i]]
    return {"by_benefit": by_benefit, "largest": largest}


def municipality_rows(record: store.PayrollRecord, nets: pa.Table) -> dict:
    """{municipality: {recipients, net_minor}}: sums from the payroll's totals, counts of the rights paid by
    their beneficiary's municipality in the recorded register (None when those files no longer hash as
    recorded, so a count is never taken from another register)."""
    sums = record.totals.get("by_municipality_minor", {})
    counts = municipality_counts(record, nets)
    return {place: {"recipients": None if counts is None else counts.get(place, 0), "net_minor": amount}
            for place, amount in sorted(sums.items())}


def municipality_counts(record: store.PayrollRecord, nets: pa.Table) -> dict | None:
    from formats.register import register_file_digests

    folder = Path(record.data_folder)
    needed = {name for name in record.input_sha256 if name.split(".")[0] in ("rights", "persons")}
    if not folder.is_dir() or len(needed) != 2:
        return None
    found = register_file_digests(folder)
    if any(found.get(name) != record.input_sha256[name] for name in needed):
        return None
    files = {name.split(".")[0]: folder / name for name in needed}
    if any(path.suffix != ".parquet" for path in files.values()):
        return None
    last_day = month_first_date(parse_period(record.period) + 1) - dt.timedelta(days=1)
    rights = pq.read_table(files["rights"], columns=["right_id", "version", "person_id", "valid_from"])
    rights = rights.filter(pc.less_equal(rights.column("valid_from"), pa.scalar(last_day, pa.date32())))
    rights = rights.sort_by([("right_id", "ascending"), ("version", "descending")])
    first = np.ones(rights.num_rows, bool)
    ids = rights.column("right_id").to_numpy()
    first[1:] = ids[1:] != ids[:-1]  # the latest version in force by the month's end, per right
    rights = rights.filter(pa.array(first)).select(["right_id", "person_id"])
    persons = pq.read_table(files["persons"], columns=["person_id", "municipality"])
    placed = nets.select(["right_id"]).join(rights, "right_id").join(persons, "person_id")
    counts = placed.group_by("municipality").aggregate([("right_id", "count")]).to_pylist()
    return {row["municipality"]: row["right_id_count"] for row in counts}


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


def pdf_converter() -> str | None:
    """The first headless browser found on PATH that prints HTML to PDF (Chromium or Chrome), or None."""
    for name in PDF_CONVERTERS:
        found = shutil.which(name)
        if found:
            return found
    return None


def write_pdf(report: dict, path) -> str:
    """The same page as write_html, printed to an A4 PDF by a headless Chromium; returns the converter used.
    Refused (exit 2, nothing written) when no converter is installed or the conversion fails."""
    converter = pdf_converter()
    if converter is None:
        raise Refused(N_("--pdf needs a headless Chromium or Chrome on PATH (looked for {value}); install one "
                         "(Debian: apt-get install chromium) or write --html and print that to PDF",
                         value=', '.join(PDF_CONVERTERS)))
    target = Path(path).resolve()
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="isplata-report-") as folder:
        page = Path(folder) / "report.html"
        page.write_text(render_html(report), encoding="utf-8")
        command = [converter, "--headless", "--no-sandbox", "--disable-gpu", "--no-pdf-header-footer",
                   f"--user-data-dir={folder}/profile", f"--print-to-pdf={target}", page.as_uri()]
        done = subprocess.run(command, capture_output=True, text=True, timeout=PDF_SECONDS_MAX, check=False)
    if done.returncode != 0 or not target.is_file() or target.stat().st_size == 0:
        raise Refused(N_("{converter} could not print the report to {target} (exit {returncode}): {said}; write "
                         "--html instead and print that", converter=converter, target=target,
                         returncode=done.returncode, said=done.stderr.strip()[-300:]))
    return converter
