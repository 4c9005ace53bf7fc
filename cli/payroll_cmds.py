"""The monthly cycle's commands: calculate, approve, export, reconcile, payroll list|show|lines, report, audit, demo.

Each command parses its options, calls one payroll/ function and prints the result (a rich table, or exactly the
DESIGN.md JSON contract with --json). Business rules live in payroll/; errors arrive as payroll.errors
exceptions, which cli.main turns into a message and exit code 2. A failed check (reconciliation exceptions, an
audit difference) exits 1.
"""
import contextlib
import sys
from pathlib import Path

import click
from rich.console import Console
from rich.markup import escape
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table



def payroll_module(name: str):
    """Payroll modules load on first use, so `isplata --help` and other groups start fast."""
    import importlib

    return importlib.import_module(f"payroll.{name}")


class _Lazy:
    def __init__(self, name: str):
        self._name = name

    def __getattr__(self, attribute):
        return getattr(payroll_module(self._name), attribute)


audit, cycle, demo, queries, reconciling, report = (
    _Lazy(name) for name in ("audit", "cycle", "demo", "queries", "reconcile", "report"))
console = Console(stderr=True)
out = Console()


@contextlib.contextmanager
def steps(as_json: bool):
    """A spinner naming the current step, on a terminal only; yields the callback payroll functions call."""
    from cli.main import quiet

    if quiet(as_json):
        yield lambda description: None
        return
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=console,
                  transient=True) as progress:
        task = progress.add_task("starting", total=None)
        yield lambda description: progress.update(task, description=description)


def db_of(ctx) -> str:
    return ctx.obj.db


def totals_table(title: str, rows: list[tuple], headers=("", "amount")) -> Table:
    table = Table(title=title, title_justify="left")
    for i, header in enumerate(headers):
        table.add_column(header, justify="left" if i == 0 else "right")
    for row in rows:
        table.add_row(*[escape(str(cell)) for cell in row])
    return table


def print_summary(summary: dict) -> None:
    """Totals of a calculated payroll: per component, per benefit and per channel."""
    fmt = lambda amount: queries.money_text(amount, summary["minor_exponent"])
    out.print(f"[bold]payroll {escape(summary['payroll'])}[/bold]  period {escape(summary['period'])}  "
              f"{summary['rights']:,} rights  {summary['payments']:,} payments  "
              f"net [bold]{fmt(summary['net_minor'])} {summary['currency']}[/bold]")
    out.print(totals_table("by component", [(k, fmt(v)) for k, v in summary["totals_minor"].items()]))
    out.print(totals_table("net by benefit", [(k, fmt(v)) for k, v in summary["by_benefit_minor"].items()]))
    out.print(totals_table("net by channel", [(k, fmt(v)) for k, v in summary["by_channel_minor"].items()]))


@click.command()
@click.option("--data", "data", required=True, type=click.Path(file_okay=False),
              help="Folder of the register snapshot (persons, households, rights, payees, deductions).")
@click.option("--period", required=True, metavar="YYYY-MM", help="The payroll month.")
@click.option("--by", "by", required=True, help="Name of the officer who calculates (the maker).")
@click.option("--rules", type=click.Path(dir_okay=False), help="Rule catalogue TOML (default: Montenegro).")
@click.option("--store", type=click.Path(file_okay=False),
              help="Folder for payroll lines (default: ISPLATA_STORE, else next to a SQLite db).")
@click.option("--reopen", metavar="YYYY-MM",
              help="Allow a month the period rule refuses (the same month as --period); needs --reason, recorded.")
@click.option("--reason", help="Why the month is reopened (recorded as a `reopened` event).")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_context
def calculate(ctx, data, period, by, rules, store, reopen, reason, as_json):
    """Calculate a draft payroll for a period: validate, compute, store lines; nothing is posted.

    The first payroll of a ledger may be for any month its catalogue covers; after that only the month after
    the latest approved payroll, or that month again (a supplementary payroll). Any other month is refused
    unless --reopen MONTH --reason TEXT says why (recorded).

    \b
    Example:
      isplata calculate --data ./register --period 2025-01 --by ana
      isplata calculate --data ./register --period 2024-11 --by ana --reopen 2024-11 --reason "court ruling 12/24"
    """
    with steps(as_json) as step:
        summary = cycle.calculate(db_of(ctx), data, period, by, rules=rules, store_dir=store, progress=step,
                                  reopen=reopen, reason=reason)
    if as_json:
        from cli.main import emit_json
        emit_json(queries.calculate_contract(summary))
        return
    print_summary(summary)
    out.print(f"next: a second officer runs [bold]isplata approve {escape(summary['payroll'])} --by NAME[/bold]")


@click.command()
@click.argument("payroll_id")
@click.option("--by", "by", required=True, help="Name of the approving officer (never the one who calculated).")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_context
def approve(ctx, payroll_id, by, as_json):
    """Approve a draft payroll and post its batch to the ledger (maker-checker).

    A payroll already approved is refused (exit 2) naming who approved it and when.

    \b
    Example:
      isplata approve ME-202501-01 --by marko
    """
    with steps(as_json) as step:
        result = cycle.approve(db_of(ctx), payroll_id, by, progress=step)
    if as_json:
        from cli.main import emit_json
        emit_json(result)
        return
    out.print(f"payroll {escape(payroll_id)} approved by {escape(by)}: batch {result['batch_id']}, "
              f"{result['postings']:,} postings, hash {result['batch_hash'][:16]}…")
    out.print(f"next: [bold]isplata export {escape(payroll_id)} --out DIR[/bold]")


@click.command()
@click.argument("payroll_id")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False),
              help="Folder for the pain.001 files, postal list and manifest.json.")
@click.option("--json", "as_json", is_flag=True,
              help="Print manifest.json (same keys, each file with its kind). Top-level payments "
                   "and ctrl_sum_minor count the pain.001 files only; the postal list repeats the CHK file.")
@click.option("--execution-date", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="Requested execution date YYYY-MM-DD (default: the catalogue's payment day, moved to the "
                   "previous business day of the country). Recorded: exporting again keeps it.")
@click.pass_context
def export(ctx, payroll_id, out_dir, as_json, execution_date):
    """Write an approved payroll's payment files and post the payments as sent (idempotent).

    \b
    Example:
      isplata export ME-202501-01 --out ./out/2025-01
      isplata export ME-202501-01 --out ./out/2025-01 --execution-date 2025-02-14
    """
    day = execution_date.date() if execution_date else None
    with steps(as_json) as step:
        manifest = cycle.export(db_of(ctx), payroll_id, out_dir, progress=step, execution_date=day)
    if as_json:
        from cli.main import emit_json
        emit_json(cycle.export_json(manifest))
        return
    exponent = manifest["minor_exponent"]
    rows = [(f["name"], f["channel"], f["nb_of_txs"], queries.money_text(f["ctrl_sum_minor"], exponent),
             f["sha256"][:16] + "…") for f in manifest["files"]]
    out.print(totals_table(escape(f"export of {payroll_id} to {out_dir}"), rows,
                           ("file", "channel", "payments", "control sum", "sha256")))
    note = "written" if manifest["new_postings"] else "already exported: same files, no new postings"
    out.print(escape(f"{manifest['payments']:,} payments, {queries.money_text(manifest['ctrl_sum_minor'], exponent)} "
                     f"{manifest['currency']} ({note})"))


@click.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--register-out", type=click.Path(dir_okay=False),
              help="Also write this run's list for the register office (deaths, closed accounts), all files "
                   "together, to this file.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False),
              help="Folder for each file's outputs (default: next to each file).")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_context
def reconcile(ctx, files, register_out, out_dir, as_json):
    """Match bank and post returns (pain.002, camt.054, camt.053, pacs.004, postal CSV) to payments.

    Each file is posted once, in one transaction with its holds and event; its register actions and exceptions
    go to <file stem>-<sha256[:12]>-register-actions.csv and -reconcile-exceptions.csv (never overwritten by
    another file's reconcile). Exits 1 when a record matches no payment or disagrees with it.

    \b
    Example:
      isplata reconcile returns/camt054.xml returns/pain002.xml returns/camt053.xml
    """
    with steps(as_json) as step:
        result = reconciling.reconcile(db_of(ctx), list(files), register_out=register_out, progress=step,
                                       out_dir=out_dir)
    if as_json:
        from cli.main import emit_json
        emit_json(queries.reconcile_contract(result))
    else:
        exponent = result["minor_exponent"]
        rows = [(key, result[key]) for key in ("records", "matched", "unmatched", "already_seen")]
        rows += [(key, queries.money_text(result[key], exponent))
                 for key in ("rejected_minor", "returned_minor", "settled_minor")]
        out.print(totals_table("reconciliation", rows, ("", "")))
        for output in result["outputs"]:
            if output["reconciled_before"]:
                out.print(escape(f"{Path(output['file']).name} was already reconciled at "
                                 f"{output['reconciled_before']}: nothing posted again"))
        if result["register_actions"]:
            files_out = [o["register_actions"] for o in result["outputs"] if o["n_register_actions"]]
            out.print(escape(f"{result['register_actions']} actions for the register office in "
                             f"{', '.join(files_out)}"))
        if result["statuses"]:
            said = ", ".join(f"{code} {count}" for code, count in sorted(result["statuses"].items()))
            out.print(escape(f"statuses recorded: {said}"))
        if result["holds_placed"]:
            out.print(f"{result['holds_placed']} holds placed (release with `isplata hold release`)")
        if result["not_ours"]:
            files_out = [o["not_ours"] for o in result["outputs"] if o["n_not_ours"]]
            out.print(escape(f"{result['not_ours']} entries not ours (other movements of the account) listed in "
                             f"{', '.join(files_out)}"))
        if result["exceptions"]:
            files_out = [o["exceptions"] for o in result["outputs"] if o["n_exceptions"]]
            out.print(f"[red]{len(result['exceptions'])} exceptions[/red] written to "
                      f"{escape(', '.join(files_out))}")
    if result["exceptions"]:
        sys.exit(1)


@click.group(name="payroll")
def payroll_group():
    """List payrolls, show one, or write its lines as Parquet.

    \b
    Example:
      isplata payroll list --period 2025-01
    """


@payroll_group.command(name="list")
@click.option("--period", metavar="YYYY-MM", help="Only this period.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_context
def payroll_list(ctx, period, as_json):
    """List the payrolls with their status.

    \b
    Example:
      isplata payroll list --period 2025-01
    """
    rows = queries.list_payrolls(db_of(ctx), period)
    if as_json:
        from cli.main import emit_json
        emit_json(rows)
        return
    table = totals_table("payrolls", [], ("payroll", "period", "status", "by", "rights", "payments", "net"))
    for row in rows:
        table.add_row(*(escape(str(cell)) for cell in (
            row["payroll"], row["period"], row["status"], row["created_by"], f"{row['rights']:,}",
            f"{row['payments']:,}", queries.money_text(row["net_minor"], row["minor_exponent"]))))
    out.print(table)


@payroll_group.command(name="show")
@click.argument("payroll_id")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_context
def payroll_show(ctx, payroll_id, as_json):
    """Show one payroll: status, inputs and their SHA-256, totals.

    \b
    Example:
      isplata payroll show ME-202501-01
    """
    summary = queries.show_payroll(db_of(ctx), payroll_id)
    if as_json:
        from cli.main import emit_json
        emit_json(summary)
        return
    print_summary(summary)
    out.print(totals_table("status and inputs", [(k, v) for k, v in queries.provenance_rows(summary)], ("", "")))


@payroll_group.command(name="lines")
@click.argument("payroll_id")
@click.option("--out", "out_file", required=True, type=click.Path(dir_okay=False),
              help="Parquet file to write (DESIGN.md payroll lines columns).")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_context
def payroll_lines(ctx, payroll_id, out_file, as_json):
    """Write a payroll's lines (one row per amount) to a Parquet file.

    \b
    Example:
      isplata payroll lines ME-202501-01 --out lines.parquet
    """
    written = queries.write_lines(db_of(ctx), payroll_id, out_file)
    if as_json:
        from cli.main import emit_json
        emit_json(written)
        return
    out.print(escape(f"{written['lines']:,} lines of {payroll_id} written to {out_file}"))


@click.group(name="hold")
def hold_group():
    """List the holds reconciliation placed (MD07 on a right, a closed account on a payee's bank channel), or
    release one.

    \b
    Example:
      isplata hold list
      isplata hold release 3 --by marko --note "death report withdrawn by the register office"
    """


@hold_group.command(name="list")
@click.option("--all", "show_all", is_flag=True, help="Also the holds already released.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_context
def hold_list(ctx, show_all, as_json):
    """List the holds in force (with --all, also released ones).

    \b
    Example:
      isplata hold list --all
    """
    rows = payroll_module("reconcile").list_holds(db_of(ctx), released=show_all)
    if as_json:
        from cli.main import emit_json
        emit_json(rows)
        return
    table = totals_table("holds", [], ("hold", "kind", "right", "payee", "reason", "payment", "placed")
                         + (("released",) if show_all else ()))
    for row in rows:
        cells = [str(row["hold_id"]), row["kind"], "-" if row["right_id"] < 0 else str(row["right_id"]),
                 str(row["payee_id"]), row["reason_code"], row["payment_ref"], row["created_at"]]
        table.add_row(*(escape(str(cell)) for cell in cells), *(("yes" if row["released"] else "no",) if show_all else ()))
    out.print(table)


@hold_group.command(name="release")
@click.argument("hold_id", type=int)
@click.option("--by", required=True, help="Who releases the hold (recorded with the release).")
@click.option("--note", required=True, help="Why, e.g. the register's correction (recorded).")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_context
def hold_release(ctx, hold_id, by, note, as_json):
    """Release a hold: the next calculation pays the right (or the payee's bank channel) again.

    \b
    Example:
      isplata hold release 3 --by marko --note "death report withdrawn by the register office"
    """
    released = payroll_module("reconcile").release_hold(db_of(ctx), hold_id, by, note)
    if as_json:
        from cli.main import emit_json
        emit_json(released)
        return
    target = f"right {released['right_id']}" if released["right_id"] >= 0 else f"payee {released['payee_id']}"
    out.print(escape(f"hold {hold_id} ({released['kind']}, {released['reason_code']}, {target}) released by {by}"))


@click.command(name="report")
@click.argument("payroll_id")
@click.option("--html", "html_file", type=click.Path(dir_okay=False), help="Also write a self-contained HTML page.")
@click.option("--json", "as_json", is_flag=True, help="Print the report data as JSON.")
@click.pass_context
def report_cmd(ctx, payroll_id, html_file, as_json):
    """Summarise a payroll: by benefit, municipality, channel, deductions, returns, change on last month.

    \b
    Example:
      isplata report ME-202501-01 --html report.html
    """
    data = report.build_report(db_of(ctx), payroll_id)
    if html_file:
        report.write_html(data, html_file)
    if as_json:
        from cli.main import emit_json
        emit_json(data)
        return
    fmt = lambda amount: queries.money_text(amount, data["minor_exponent"])
    out.print(f"[bold]payroll {escape(data['payroll'])}[/bold] {escape(data['period'])} ({escape(data['status'])}): "
              f"{data['payments']:,} payments, net {fmt(data['net_minor'])} {escape(data['currency'])}")
    for title, key in (("by benefit", "by_benefit"), ("by channel", "by_channel"),
                       ("arrears and recoveries", "arrears_recoveries"), ("deductions by kind", "deductions_by_kind"),
                       ("returns by reason", "returns_by_reason")):
        if data[key]:
            out.print(totals_table(title, [(k, fmt(v)) for k, v in data[key].items()]))
        else:
            out.print(f"{title}: none")
    if data.get("statuses"):  # what banks said that is not a rejection (e.g. RVNM name mismatch)
        out.print(escape("statuses from the banks: " + ", ".join(f"{code} {count}"
                                                                for code, count in data["statuses"].items())))
    previous = data["previous"]
    if previous:
        change = data["net_minor"] - previous["net_minor"]
        out.print(f"previous month ({escape(previous['payroll'])}): net {fmt(previous['net_minor'])}, change {fmt(change)}")
    if html_file:
        out.print(escape(f"HTML report written to {html_file}"))


@click.group(name="audit")
def audit_group():
    """Auditor's checks on posted payrolls.

    \b
    Example:
      isplata audit recompute ME-202501-01
    """


@audit_group.command(name="recompute")
@click.argument("payroll_id")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_context
def audit_recompute(ctx, payroll_id, as_json):
    """Recompute a payroll from its recorded inputs and compare with the ledger (exit 1 on any difference).

    \b
    Example:
      isplata audit recompute ME-202501-01
    """
    with steps(as_json) as step:
        result = audit.recompute(db_of(ctx), payroll_id, progress=step)
    if as_json:
        from cli.main import emit_json
        emit_json(result)
    elif result["ok"]:
        out.print(f"[green]ok[/green]: {escape(payroll_id)} recomputed from its inputs equals the ledger to the "
                  "minor unit "
                  f"({result['lines']:,} lines, {result['postings']:,} postings compared)")
    else:
        out.print(f"[red]{len(result['differences'])} differences[/red] in {escape(payroll_id)}:")
        for difference in result["differences"][:20]:
            out.print(escape(f"  {difference}"))
        if "note" in result:
            out.print(escape(f"note: {result['note']}"))
    if not result["ok"]:
        sys.exit(1)


@click.command(name="demo")
@click.option("--rights", default=100_000, show_default=True, help="Rights in the synthetic register.")
@click.option("--workdir", default="isplata-demo", show_default=True, type=click.Path(file_okay=False),
              help="Folder for the register, files, returns and (unless --db) the SQLite database.")
@click.option("--period", default="2025-01", show_default=True, metavar="YYYY-MM", help="First payroll month.")
@click.option("--seed", default=1, show_default=True, help="Seed of the synthetic register.")
@click.option("--audit", "with_audit", is_flag=True, help="Also recompute the first payroll from its inputs.")
@click.option("--json", "as_json", is_flag=True, help="Print the steps as JSON.")
@click.pass_context
def demo_cmd(ctx, rights, workdir, period, seed, with_audit, as_json):
    """Run two months of the whole cycle on a synthetic register, with bank returns, and time every step.

    Uses its own SQLite database inside WORKDIR unless --db (or ISPLATA_DB) is given.

    \b
    Example:
      isplata demo --rights 100000
      isplata demo --rights 10000 --db postgresql://postgres@127.0.0.1:5432/test
    """
    db = ctx.obj.db if ctx.obj.db_explicit else None  # the demo's own SQLite file unless a database was named
    with steps(as_json) as step:
        result = demo.run_demo(rights=rights, workdir=workdir, db_url=db, period=period, seed=seed,
                               progress=step, with_audit=with_audit)
    if as_json:
        from cli.main import emit_json
        emit_json(result)
        return
    table = Table(title=f"isplata demo: {rights:,} rights, two months, database {result['db']}",
                  title_justify="left")
    for header in ("step", "what happened", "seconds"):
        table.add_column(header, justify="right" if header == "seconds" else "left")
    for row in result["steps"]:
        table.add_row(escape(row["step"]), escape(row["detail"]), f"{row['seconds']:.2f}")
    table.add_row("[bold]total[/bold]", "", f"[bold]{result['seconds']:.2f}[/bold]")
    out.print(table)
    first, second = result["payrolls"]
    out.print(escape(f"ledger digest {result['digest']}\nfiles, returns and the register office's list are in "
                     f"{workdir}; "
              f"open {result['report_html']} in a browser\nthen try: isplata --db {result['db']} payroll show "
              f"{second} · report {second} · audit recompute {first} · ledger verify"))
    if not result["ok"]:
        sys.exit(1)


def register(group) -> None:
    for command in (calculate, approve, export, reconcile, payroll_group, hold_group, report_cmd, audit_group,
                    demo_cmd):
        group.add_command(command)
