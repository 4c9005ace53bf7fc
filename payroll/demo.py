"""`isplata demo`: two months of the whole cycle on a synthetic register, with what a bank sends back, timed.

Generate a register, validate it, calculate (maker "ana"), approve (checker "marko"), export; then play the bank:
a camt.054 returning about 1 % of the bank payments (MD07 deceased, AC04 closed account and a mix of others), a
pain.002 rejecting a few payments of the first bank file, a camt.053 whose batch debits settle every file; then
reconcile them, advance the register a month (recording the deaths and the closed accounts reported), run the
next month (re-issues, arrears of retroactive decisions, overpayments raised after the deaths and recovered),
verify the ledger (and, with with_audit, recompute the first payroll from its inputs) and write an HTML report.
Every step is timed.
"""
import datetime as dt
import shutil
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv

from engine.months import format_period, month_first_date, parse_period
from formats.catalogue import load_catalogue
from formats.i18n import N_, join, number
from formats.labels import MoneyText
from ledgers.store import Ledger
from ledgers.verify import verify
from payroll import audit, cycle, payment_export, reconcile, report, session, warmup
from payroll.queries import money_text
from payroll.register import validate_register
from synthetic.bank_returns import BankReport, Settlement, write_camt053, write_camt054, write_pain002
from synthetic.next_month import advance_register
from synthetic.register import generate_register

MAKER, CHECKER = "ana", "marko"
RETURN_SHARE = 0.01
REJECTS = 5
RETURN_REASONS = ("AC04", "MD07", "AC01", "MS03", "AC06", "CUST")
RETURN_WEIGHTS = (0.35, 0.25, 0.15, 0.1, 0.1, 0.05)
REJECT_REASONS = ("AC01", "RC01", "AM05", "AC04", "MS02")


class Steps:
    """Times each step and keeps one line of what happened."""

    def __init__(self, progress):
        self.rows, self.progress, self.started = [], progress, time.perf_counter()

    def run(self, name: str, function, describe, hint: str = ""):
        self.progress(N_("{step}{hint}", step=name, hint=hint) if hint else name)
        start = time.perf_counter()
        result = function()
        self.rows.append({"step": name, "detail": describe(result), "seconds": round(time.perf_counter() - start, 3)})
        return result


def run_demo(rights: int = 100_000, workdir="isplata-demo", db_url: str | None = None, period: str = "2025-01",
             seed: int = 1, progress=session.noop, country: str = "me", with_audit: bool = False) -> dict:
    catalogue = load_catalogue(country=country)
    first_month = session.parse_period_arg(period)
    cycle.check_period_covered(first_month, period, catalogue)
    cycle.check_period_covered(first_month + 1, format_period(first_month + 1), catalogue)
    warmup.compile_due_in_background(catalogue, first_month)  # a first run: the entitlement kernel compiles from now
    work = Path(workdir).resolve()
    prepare_workdir(work, own_db=db_url is None)
    db = db_url or f"sqlite:///{work / 'isplata.db'}"
    session.open_db(db, create=True).close()  # the demo creates its ledger, as `db init` would
    store_dir = work / "payrolls"
    exponent = catalogue.minor_exponent
    fmt = lambda amount: MoneyText(f"{money_text(amount, exponent)} {catalogue.currency}", amount, exponent,
                                   catalogue.currency)
    steps = Steps(progress)
    first, second = work / "register" / period, work / "register" / format_period(parse_period(period) + 1)
    steps.run(N_("generate"), lambda: generate_register(first, rights, seed, period, country),
              lambda r: N_("{rights} rights, register {period} in {folder}", rights=number(rights), period=period,
                           folder=str(first.relative_to(work))))
    steps.run(N_("validate"), lambda: validate_register(first, country=country),
              lambda r: N_("{rights} rights valid", rights=number(r['rights'])) if isinstance(r.get('rights'), int)
              else N_("register valid"))
    month1 = month(steps, db, first, period, store_dir, work, fmt, country)
    files = steps.run(N_("bank returns"), lambda: simulate_bank(db, month1["payroll"], work / "returns" / period,
                                                            catalogue, seed),
                      lambda r: N_("camt.054 {returned} returned, pain.002 {rejected} rejected, camt.053 settles "
                                   "{settled} files", returned=r['returned'], rejected=r['rejected'],
                                   settled=len(r['settlements'])))
    reconciled = steps.run(N_("reconcile"), lambda: reconcile.reconcile(db, files["files"],
                                                                 out_dir=reconciled_folder(work, period)),
                           lambda r: N_("{matched} matched, {actions} register actions, returned {returned}, "
                                        "rejected {rejected}, settled {settled}", matched=number(r['matched']),
                                        actions=r['register_actions'], returned=fmt(r['returned_minor']),
                                        rejected=fmt(r['rejected_minor']), settled=fmt(r['settled_minor'])))
    steps.run(N_("advance register"), lambda: advance(first, second, reconciled, seed, period),
              lambda r: N_("{deaths} deaths and {closed} closed accounts recorded, register {period}",
                           deaths=r['deaths'], closed=r['closed'], period=format_period(parse_period(period) + 1)))
    month2 = month(steps, db, second, format_period(parse_period(period) + 1), store_dir, work, fmt, country)
    checked = steps.run(N_("ledger verify"), lambda: verify_ledger(db),
                        lambda r: N_("{state}: {batches} batches, {postings} postings",
                                     state=N_("ok") if r.ok else N_("BROKEN at batch {batch}", batch=r.first_bad_batch),
                                     batches=r.batches, postings=number(r.postings)))
    audited = {"ok": True}
    if with_audit:
        audited = steps.run(N_("audit recompute"), lambda: audit.recompute(db, month1["payroll"]),
                            lambda r: N_("{payroll} {state} ({postings} postings)", payroll=month1['payroll'],
                                         state=N_("equals the ledger") if r['ok'] else N_("DIFFERS"),
                                         postings=number(r['postings'])))
    html = work / f"report-{month2['payroll']}.html"
    steps.run(N_("report"), lambda: report.write_html(report.build_report(db, month2["payroll"]), html),
              lambda r: f"{Path(r).name}")
    return {"steps": steps.rows, "seconds": round(time.perf_counter() - steps.started, 3), "db": db,
            "workdir": str(work), "digest": checked.digest, "ok": bool(checked.ok and audited["ok"]),
            "report_html": str(html), "minor_exponent": exponent, "currency": catalogue.currency,
            "payrolls": [month1["payroll"], month2["payroll"]]}


def prepare_workdir(work: Path, own_db: bool) -> None:
    """A fresh run: the demo's own files (and its own SQLite database) from an earlier run are removed."""
    work.mkdir(parents=True, exist_ok=True)
    for name in ("register", "out", "returns", "reconciled", "payrolls"):
        shutil.rmtree(work / name, ignore_errors=True)
    if own_db:
        for path in work.glob("isplata.db*"):
            path.unlink()


FIRST_RUN_HINT = N_(" (the first run on a machine also compiles the engine's kernels, once)")


def month(steps: Steps, db: str, data: Path, period: str, store_dir: Path, work: Path, fmt, country: str) -> dict:
    summary = steps.run(N_("calculate {period}", period=period),
                        lambda: cycle.calculate(db, data, period, MAKER, store_dir=store_dir, country=country),
                        lambda s: describe_calculation(s, fmt), hint=FIRST_RUN_HINT)
    steps.run(N_("approve {period}", period=period), lambda: cycle.approve(db, summary["payroll"], CHECKER),
              lambda r: N_("{payroll} approved by {checker} (maker {maker}): {postings} postings",
                           payroll=summary['payroll'], checker=CHECKER, maker=MAKER, postings=number(r['postings'])))
    out = work / "out" / period
    out.mkdir(parents=True, exist_ok=True)  # export refuses a missing parent folder (a mistyped --out)
    steps.run(N_("export {period}", period=period), lambda: payment_export.export(db, summary["payroll"], out),
              lambda m: N_("{files} files, {payments} payments, CtrlSum {total}", files=len(m['files']),
                           payments=number(m['payments']), total=fmt(m['ctrl_sum_minor'])))
    return summary


def describe_calculation(summary: dict, fmt) -> str:
    totals = summary["totals_minor"]
    parts = [N_("{payroll}: {payments} payments, net {net}", payroll=summary['payroll'],
                payments=number(summary['payments']), net=fmt(summary['net_minor']))]
    labels = (("arrears", N_("arrears {amount}")), ("reissue", N_("re-issued {amount}")),
              ("overpayment", N_("overpaid {amount}")))
    for name, label in labels:
        if totals.get(name):
            parts.append(N_(label.msgid, amount=fmt(abs(totals[name]))))
    if totals.get("recovery"):
        parts.append(N_("recovered {amount}", amount=fmt(-totals['recovery'])))
    return join(parts)


def verify_ledger(db: str):
    with Ledger(db) as ledger:
        return verify(ledger)


# ---- the bank's side ---------------------------------------------------------------------------------------

def simulate_bank(db: str, payroll_id: str, out: Path, catalogue, seed: int) -> dict:
    """camt.054 returns (~1 % of bank payments), a pain.002 with a few rejects, a camt.053 settling every file."""
    record = session.payroll_record(db, payroll_id)
    assignments = session.read_assignments(db, record)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed + 7)
    bank = np.flatnonzero(pc.equal(assignments.column("channel"), "bank").to_numpy(zero_copy_only=False))
    chosen = rng.permutation(bank)
    n_returned = max(2, int(round(len(bank) * RETURN_SHARE)))
    first_msg = assignments.column("msg_id")[int(bank[0])].as_py() if len(bank) else None
    in_first = lambda rows: rows[np.asarray(pc.equal(assignments.column("msg_id").take(pa.array(rows)), first_msg)
                                            .to_numpy(zero_copy_only=False), bool)] if len(rows) else rows
    rejected_rows = in_first(chosen[n_returned:])[:REJECTS]
    returned_rows = chosen[:n_returned]
    booking = month_first_date(parse_period(record.period) + 1).replace(day=catalogue.payment.execution_day)
    report = lambda name: BankReport(f"{payroll_id}-{name}", dt.datetime.combine(booking, dt.time(18, 0)),
                                     catalogue.payment.debtor_iban, catalogue.currency, catalogue.minor_exponent)
    reasons = rng.choice(RETURN_REASONS, size=len(returned_rows), p=RETURN_WEIGHTS)
    reasons[:2] = ("MD07", "AC04")[:len(reasons[:2])]  # both always appear
    returned = entries(assignments, returned_rows, reasons)
    files = [out / "camt054-returns.xml", out / "pain002-rejects.xml", out / "camt053-statement.xml"]
    write_camt054(files[0], returned, report("R054"), booking)
    rejected = entries(assignments, rejected_rows, np.array([REJECT_REASONS[i % len(REJECT_REASONS)]
                                                             for i in range(len(rejected_rows))]))
    if len(rejected_rows):
        write_pain002(files[1], report("R002"), first_msg, rejected=rejected)
    else:
        files.pop(1)
    settlements = settlements_of(assignments, rejected_rows)
    write_camt053(files[-1], report("R053"), booking, settlements)
    return {"files": [str(f) for f in files], "returned": len(returned_rows), "rejected": len(rejected_rows),
            "settlements": settlements}


def entries(assignments: pa.Table, rows: np.ndarray, reasons: np.ndarray) -> pa.Table:
    chosen = assignments.take(pa.array(np.asarray(rows, np.int64)))
    return pa.table({"end_to_end_id": chosen.column("end_to_end_id"), "amount_minor": chosen.column("amount_minor"),
                     "reason_code": pa.array(reasons.astype(str).tolist(), pa.string()),
                     "msg_id": chosen.column("msg_id"), "pmt_inf_id": chosen.column("pmt_inf_id")})


def settlements_of(assignments: pa.Table, rejected_rows: np.ndarray) -> tuple:
    """Each file's batch debit: its total less what the bank rejected before executing it."""
    kept = np.ones(assignments.num_rows, bool)
    kept[np.asarray(rejected_rows, np.int64)] = False
    table = assignments.filter(pa.array(kept))
    grouped = table.group_by("msg_id").aggregate([("amount_minor", "sum"), ("amount_minor", "count")])
    grouped = grouped.sort_by("msg_id")
    return tuple(Settlement(msg, int(total), int(count)) for msg, total, count in
                 zip(*(grouped.column(c).to_pylist() for c in ("msg_id", "amount_minor_sum", "amount_minor_count"))))


# ---- the register office's side ---------------------------------------------------------------------------

def advance(first: Path, second: Path, reconciled: dict, seed: int, period: str) -> dict:
    """Next month's register with the deaths (MD07) and closed accounts the bank reported."""
    actions = [action for output in reconciled["outputs"] for action in read_actions(output["register_actions"])]
    death_day = month_first_date(parse_period(period)) - dt.timedelta(days=1)
    deaths = sorted({(int(a["person_id"]), death_day) for a in actions
                     if a["action"] == "record_death" and a["person_id"] not in (None, "")})
    closed = sorted({int(a["payee_id"]) for a in actions if a["action"] == "new_account_needed"})
    advance_register(first, second, seed, format_period(parse_period(period) + 1), deaths=deaths,
                     closed_accounts=closed)
    return {"deaths": len(deaths), "closed": len(closed)}


def read_actions(path) -> list[dict]:
    if not path or not Path(path).exists():
        return []
    table = pcsv.read_csv(path, convert_options=pcsv.ConvertOptions(strings_can_be_null=True))
    return table.to_pylist()


def reconciled_folder(work: Path, period: str) -> Path:
    """Reconcile's outputs for a month: a folder of their own, never beside the return files they answer."""
    folder = work / "reconciled" / period
    folder.mkdir(parents=True, exist_ok=True)
    return folder
