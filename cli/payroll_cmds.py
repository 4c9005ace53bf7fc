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
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from cli.output import output_file
from payroll.language import _, note_country, number, tr


def payroll_module(name: str):
    """Payroll modules load on first use, so `isplata --help` and other groups start fast."""
    import importlib

    return importlib.import_module(f"payroll.{name}")


class _Lazy:
    def __init__(self, name: str):
        self._name = name

    def __getattr__(self, attribute):
        return getattr(payroll_module(self._name), attribute)


COUNTRIES = ("me", "rs", "ua")   # the bundled catalogues (payroll.register.COUNTRIES; kept here so --help is fast)
audit, cycle, demo, lifecycle, queries, reconciling, report = (
    _Lazy(name) for name in ("audit", "cycle", "demo", "lifecycle", "queries", "reconcile", "report"))
console = Console(stderr=True)
out = Console()


@contextlib.contextmanager
def steps(as_json: bool, engine: bool = False):
    """A spinner naming the current step, on a terminal only; yields the callback payroll functions call:
    progress(description) or, where the work is countable, progress(description, completed, total), which shows
    a bar with the count. With `engine`, says first (on stderr, unless --json) when the engine's kernels are
    about to compile, on a terminal or not, and starts compiling those it can in the background (payroll.warmup)."""
    from cli.output import quiet

    if engine:
        payroll_module("warmup").compile_in_background()
    if engine and not as_json:
        notice = payroll_module("warmup").compile_notice()
        if notice:
            console.print(f"[yellow]{notice}[/yellow]", soft_wrap=True)
    if quiet(as_json):
        yield lambda description, completed=None, total=None: None
        return
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), TextColumn("{task.fields[count]}"),
                  TimeElapsedColumn(), console=console, transient=True) as progress:
        task = progress.add_task(_("starting"), total=None, count="")

        def update(description, completed=None, total=None):
            count = f"{number(completed or 0)}/{number(total)}" if total else ""
            progress.update(task, description=tr(description), completed=completed or 0, total=total or None,
                            count=count)
        yield update


def payroll_country(_ctx, _param, value):
    """A payroll id names its country ('UA-202501-01'): messages default to its language from the start."""
    if value and len(value) > 3 and value[2] == "-":
        note_country(value[:2])
    return value


def db_of(ctx) -> str:
    return ctx.obj.db


def totals_table(title: str, rows: list[tuple], headers=("", "amount")) -> Table:
    """A table with its title and headers in the active language (callers pass them through `_`)."""
    table = Table(title=title, title_justify="left")
    for i, header in enumerate(headers):
        table.add_column(header, justify="left" if i == 0 else "right")
    for row in rows:
        table.add_row(*[escape(str(cell)) for cell in row])
    return table


def print_summary(summary: dict, show) -> None:
    """Totals of a calculated payroll: per component, per benefit and per channel, codes with their names."""
    fmt = lambda amount: show.money(amount, False)
    heading = ("", _("amount ({currency})", currency=summary["currency"]))
    out.print(_("[bold]payroll {payroll}[/bold]  period {period}  {rights} rights  {payments} payments  "
                "net [bold]{net}[/bold]", payroll=escape(summary["payroll"]), period=escape(summary["period"]),
                rights=number(summary["rights"]), payments=number(summary["payments"]),
                net=show.money(summary["net_minor"])))
    for title, key, domain in ((_("by component"), "totals_minor", "component"),
                               (_("net by benefit"), "by_benefit_minor", "benefit"),
                               (_("net by channel"), "by_channel_minor", "channel")):
        out.print(totals_table(title, [(show.label(domain, k), fmt(v)) for k, v in summary[key].items()], heading))


@click.command()
@click.option("--data", "data", required=True, type=click.Path(file_okay=False),
              help="Folder of the register snapshot (persons, households, rights, payees, deductions).")
@click.option("--period", required=True, metavar="YYYY-MM", help="The payroll month.")
@click.option("--by", "by", required=True, help="Name of the officer who calculates (the maker).")
@click.option("--rules", type=click.Path(dir_okay=False),
              help="Rule catalogue TOML (default: the catalogue of the country the register records, else "
                   "Montenegro).")
@click.option("--country", type=click.Choice(COUNTRIES),
              help="Use the bundled catalogue of this country (overrides the register's; --rules wins).")
@click.option("--store", type=click.Path(file_okay=False),
              help="Folder for payroll lines (default: ISPLATA_STORE, else next to a SQLite db).")
@click.option("--reopen", metavar="YYYY-MM",
              help="Allow a month the period rule refuses (the same month as --period); needs --reason, recorded.")
@click.option("--reason", help="Why the month is reopened (recorded as a `reopened` event).")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_context
def calculate(ctx, data, period, by, rules, country, store, reopen, reason, as_json):
    """Calculate a draft payroll for a period: validate, compute, store lines; nothing is posted.

    The catalogue follows the register (its register.json names the country); the ledger accepts only the
    country and currency it was bound to at `db init --country` or by its first payroll. The first payroll of a
    ledger may be for any month its catalogue covers; after that only the month after the latest approved
    payroll, or that month again (a supplementary payroll). Any other month is refused unless --reopen MONTH
    --reason TEXT says why (recorded).

    \b
    Example:
      isplata calculate --data ./register --period 2025-01 --by ana
      isplata calculate --data ./register --period 2024-11 --by ana --reopen 2024-11 --reason "court ruling 12/24"
    """
    with steps(as_json, engine=True) as step:
        summary = cycle.calculate(db_of(ctx), data, period, by, rules=rules, store_dir=store, progress=step,
                                  country=country, reopen=reopen, reason=reason)
    if as_json:
        from cli.output import emit_json
        emit_json(queries.calculate_contract(summary))
        return
    print_summary(summary, queries.display_for(db_of(ctx), summary["payroll"]))
    out.print(_("next: a second officer runs [bold]isplata approve {payroll} --by NAME[/bold]",
                payroll=escape(summary["payroll"])))


@click.command()
@click.argument("payroll_id", callback=payroll_country)
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
    with steps(as_json, engine=True) as step:
        result = cycle.approve(db_of(ctx), payroll_id, by, progress=step)
    if as_json:
        from cli.output import emit_json
        emit_json(result)
        return
    out.print(_("payroll {payroll} approved by {by}: batch {batch}, {postings} postings, hash {hash}…",
                payroll=escape(payroll_id), by=escape(by), batch=result["batch_id"],
                postings=number(result["postings"]), hash=result["batch_hash"][:16]))
    out.print(_("next: [bold]isplata export {payroll} --out DIR[/bold]", payroll=escape(payroll_id)))


@click.command()
@click.argument("payroll_id", callback=payroll_country)
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
    with steps(as_json, engine=True) as step:
        manifest = cycle.export(db_of(ctx), payroll_id, out_dir, progress=step, execution_date=day)
    if as_json:
        from cli.output import emit_json
        emit_json(cycle.export_json(manifest))
        return
    exponent = manifest["minor_exponent"]
    money = queries.display_for(db_of(ctx), payroll_id)
    rows = [(f["name"], queries.label("channel", f["channel"]) if f["channel"] else "-", number(f["nb_of_txs"]),
             money.money(f["ctrl_sum_minor"], False),
             f["sha256"][:16] + "…") for f in manifest["files"]]
    out.print(totals_table(escape(_("export of {payroll} to {folder}", payroll=payroll_id, folder=out_dir)), rows,
                           (_("file"), _("channel"), _("payments"), _("control sum"), "sha256")))
    note = _("written") if manifest["new_postings"] else _("already exported: same files, no new postings")
    out.print(escape(_("{payments} payments, {amount} ({note})", payments=number(manifest["payments"]),
                       amount=money.money(manifest["ctrl_sum_minor"]), note=note)))


@click.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--register-out", type=click.Path(dir_okay=False),
              help="Also write this run's list for the register office (deaths, closed accounts), all files "
                   "together, to this file.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False),
              help="Folder for each file's outputs (default: the working directory; never next to the return file).")
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
    with steps(as_json, engine=True) as step:
        result = reconciling.reconcile(db_of(ctx), list(files), register_out=register_out, progress=step,
                                       out_dir=out_dir)
    if as_json:
        from cli.output import emit_json
        emit_json(queries.reconcile_contract(result))
    else:
        exponent = result["minor_exponent"]
        print_reconciled(result)
    if result["exceptions"]:
        sys.exit(1)


def reconcile_rows(result: dict) -> list[tuple]:
    exponent = result["minor_exponent"]
    names = {"records": _("records"), "matched": _("matched"), "unmatched": _("unmatched"),
             "already_seen": _("already seen"), "rejected_minor": _("rejected"), "returned_minor": _("returned"),
             "settled_minor": _("settled"), "charges_minor": _("bank charges on returns")}
    return [(names[key], number(result[key]) if not key.endswith("_minor")
             else queries.money_text(result[key], exponent)) for key in names
            if key != "charges_minor" or result.get(key)]


def print_reconciled(result: dict) -> None:
    """What a reconciliation did, in the active language: counts, amounts, and where its outputs are."""
    out.print(totals_table(_("reconciliation"), reconcile_rows(result), ("", "")))
    for output in result["outputs"]:
        if output["reconciled_before"]:
            out.print(escape(_("{file} was already reconciled at {when}: nothing posted again",
                               file=Path(output["file"]).name, when=output["reconciled_before"])))
    listed = lambda key, count: ", ".join(o[key] for o in result["outputs"] if o[count])
    if result["register_actions"]:
        out.print(escape(_("{count} actions for the register office in {files}", count=result["register_actions"],
                           files=listed("register_actions", "n_register_actions"))))
    if result["statuses"]:
        said = ", ".join(f"{code} {count}" for code, count in sorted(result["statuses"].items()))
        out.print(escape(_("statuses recorded: {statuses}", statuses=said)))
    if result["holds_placed"]:
        out.print(_("{count} holds placed (release with `isplata hold release`)", count=result["holds_placed"]))
    if result["not_ours"]:
        out.print(escape(_("{count} entries not ours (other movements of the account) listed in {files}",
                           count=result["not_ours"], files=listed("not_ours", "n_not_ours"))))
    if result["exceptions"]:
        out.print(_("[red]{count} exceptions[/red] written to {files}", count=len(result["exceptions"]),
                    files=escape(listed("exceptions", "n_exceptions"))))


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
        from cli.output import emit_json
        emit_json(rows)
        return
    table = totals_table(_("payrolls"), [], (_("payroll"), _("period"), _("status"), _("by"), _("rights"),
                                             _("payments"), _("net")))
    for row in rows:
        table.add_row(*(escape(str(cell)) for cell in (
            row["payroll"], row["period"], queries.label("status", row["status"]), row["created_by"],
            number(row["rights"]), number(row["payments"]),
            queries.money_text(row["net_minor"], row["minor_exponent"]))))
    out.print(table)


@payroll_group.command(name="show")
@click.argument("payroll_id", callback=payroll_country)
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
        from cli.output import emit_json
        emit_json(summary)
        return
    print_summary(summary, queries.display_for(db_of(ctx), payroll_id))
    out.print(totals_table(_("status and inputs"), [(tr(k), v) for k, v in queries.provenance_rows(summary)],
                           ("", "")))


@payroll_group.command(name="lines")
@click.argument("payroll_id", callback=payroll_country)
@click.option("--out", "out_file", required=True, type=click.Path(dir_okay=False), callback=output_file,
              help="File to write: .parquet (DESIGN.md payroll lines columns), .csv or .xlsx (for officers).")
@click.option("--format", "file_format", type=click.Choice(["parquet", "csv", "xlsx"], case_sensitive=False),
              help="parquet (exact contract columns), csv (UTF-8 with BOM) or xlsx; default: the --out suffix.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_context
def payroll_lines(ctx, payroll_id, out_file, file_format, as_json):
    """Write a payroll's lines (one row per amount) to Parquet, or to CSV / XLSX with amounts in the currency,
    periods as YYYY-MM and names beside the codes.

    \b
    Example:
      isplata payroll lines ME-202501-01 --out lines.parquet
      isplata payroll lines ME-202501-01 --out lines.xlsx
    """
    written = queries.write_lines(db_of(ctx), payroll_id, out_file, file_format)
    if as_json:
        from cli.output import emit_json
        emit_json(written)
        return
    out.print(escape(_("{lines} lines of {payroll} written to {file} ({format})", lines=number(written["lines"]),
                       payroll=payroll_id, file=out_file, format=written["format"])))


@payroll_group.command(name="cancel")
@click.argument("payroll_id", callback=payroll_country)
@click.option("--by", "by", required=True, help="Name of the officer who cancels (recorded).")
@click.option("--reason", required=True, help="Why the draft is cancelled (recorded).")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_context
def payroll_cancel(ctx, payroll_id, by, reason, as_json):
    """Cancel a draft payroll: it can then never be approved or exported (an appended, chained event).

    Only a draft (or a superseded draft) can be cancelled; an approved payroll is corrected by the next one.

    \b
    Example:
      isplata payroll cancel ME-202501-01 --by ana --reason "wrong register snapshot"
    """
    result = lifecycle.cancel(db_of(ctx), payroll_id, by, reason)
    if as_json:
        from cli.output import emit_json
        emit_json(result)
        return
    out.print(_("payroll {payroll} cancelled by {by}: {reason}", payroll=escape(payroll_id),
                by=escape(result["cancelled_by"]), reason=escape(reason)))


@click.group(name="hold")
def hold_group():
    """List, place and release holds: reconciliation's (MD07 on a right, a closed account on a payee's bank
    channel) and officers' (on a right, or on every payment to a payee). A release needs a second officer.

    \b
    Example:
      isplata hold list
      isplata hold place --right 1042 --by ana --reason "death reported by phone, awaiting the register"
      isplata hold release 3 --by marko --note "death report withdrawn by the register office"
    """


@hold_group.command(name="place")
@click.option("--right", "right_id", type=int, help="Hold this right (its payments stop from the next calculation).")
@click.option("--payee", "payee_id", type=int, help="Hold every payment to this payee.")
@click.option("--by", "by", required=True, help="Name of the officer who places the hold (recorded).")
@click.option("--reason", required=True, help="Why (recorded).")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_context
def hold_place(ctx, right_id, payee_id, by, reason, as_json):
    """Stop payments before export: the next calculation leaves the right (or the payee's rights) unpaid and
    carried until a second officer releases the hold.

    \b
    Example:
      isplata hold place --payee 2093 --by ana --reason "guardian changed, awaiting the court decision"
    """
    if (right_id is None) == (payee_id is None):
        raise click.UsageError(_("name exactly one of --right ID or --payee ID"))
    hold = lifecycle.place_hold(db_of(ctx), by, reason, right_id=right_id, payee_id=payee_id)
    if as_json:
        from cli.output import emit_json
        emit_json(hold)
        return
    target = (_("right {id}", id=hold["right_id"]) if hold["kind"] == "right"
              else _("payee {id}", id=hold["payee_id"]))
    out.print(_("hold {hold} placed on {target} by {by}; a second officer releases it with "
                "[bold]isplata hold release {hold} --by NAME --note TEXT[/bold]", hold=hold["hold_id"], target=target,
                by=escape(hold["placed_by"])))


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
        from cli.output import emit_json
        emit_json(rows)
        return
    table = totals_table(_("holds"), [], (_("hold"), _("kind"), _("right"), _("payee"), _("reason"), _("payment"),
                                          _("placed")) + ((_("released"),) if show_all else ()))
    for row in rows:
        cells = [str(row["hold_id"]), queries.label("hold", row["kind"]),
                 "-" if row["right_id"] < 0 else str(row["right_id"]), str(row["payee_id"]),
                 queries.label("reason", row["reason_code"]), row["payment_ref"], row["created_at"]]
        released = (_("yes") if row["released"] else _("no"),) if show_all else ()
        table.add_row(*(escape(str(cell)) for cell in cells), *released)
    out.print(table)


@hold_group.command(name="release")
@click.argument("hold_id", type=int)
@click.option("--by", required=True, help="Who releases the hold (recorded; never the officer who placed it).")
@click.option("--note", required=True, help="Why, e.g. the register's correction (recorded).")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_context
def hold_release(ctx, hold_id, by, note, as_json):
    """Release a hold: the next calculation pays the right (or the payee) again. Maker-checker: the releasing
    officer must not be the one who placed the hold (reconciliation's holds are placed by "reconcile").

    \b
    Example:
      isplata hold release 3 --by marko --note "death report withdrawn by the register office"
    """
    released = payroll_module("reconcile").release_hold(db_of(ctx), hold_id, by, note)
    if as_json:
        from cli.output import emit_json
        emit_json(released)
        return
    target = (_("right {id}", id=released["right_id"]) if released["right_id"] >= 0
              else _("payee {id}", id=released["payee_id"]))
    out.print(escape(_("hold {hold} ({kind}, {reason}, {target}) released by {by}", hold=hold_id,
                       kind=queries.label("hold", released["kind"]),
                       reason=queries.label("reason", released["reason_code"]), target=target, by=by)))


@click.command(name="report")
@click.argument("payroll_id", callback=payroll_country)
@click.option("--html", "html_file", type=click.Path(dir_okay=False), callback=output_file,
              help="Also write the sign-off report as one self-contained HTML page (prints on A4).")
@click.option("--pdf", "pdf_file", type=click.Path(dir_okay=False), callback=output_file,
              help="Also write the same report as PDF (needs a headless Chromium or Chrome; exit 2 if none).")
@click.option("--json", "as_json", is_flag=True, help="Print the report data as JSON.")
@click.pass_context
def report_cmd(ctx, payroll_id, html_file, pdf_file, as_json):
    """The sign-off report of a payroll: who calculated and approved it, the ledger digest, recipients and amounts
    by benefit and municipality, change on last month, arrears, recoveries, holds, returns by reason.

    \b
    Example:
      isplata report ME-202501-01 --html report.html --pdf report.pdf
    """
    data = report.build_report(db_of(ctx), payroll_id)
    converter = report.write_pdf(data, pdf_file) if pdf_file else None
    if html_file:
        report.write_html(data, html_file)
    if as_json:
        from cli.output import emit_json
        emit_json({**data, "html": html_file, "pdf": pdf_file, "pdf_converter": converter})
        return
    print_report(data)
    if html_file:
        out.print(escape(_("HTML report written to {file}", file=html_file)))
    if pdf_file:
        out.print(escape(_("PDF report written to {file} by {converter}", file=pdf_file, converter=converter)))


def print_report(data: dict) -> None:
    """The report's tables on the terminal, codes shown with their names."""
    show = queries.Display(data["currency"], data["minor_exponent"], queries.labels_locale(data["payroll"]),
                           data["names"]["benefits"])
    out.print(_("[bold]payroll {payroll}[/bold] {period} ({status}): {payments} payments, net {net}; calculated by "
                "{maker}, approved by {checker}", payroll=escape(data["payroll"]), period=escape(data["period"]),
                status=escape(queries.label("status", data["status"])), payments=number(data["payments"]),
                net=show.money(data["net_minor"]), maker=escape(data["created_by"]),
                checker=escape(data["approved_by"] or "-")))
    for title, key, domain in ((_("by benefit"), "by_benefit", "benefit"), (_("by channel"), "by_channel", "channel"),
                               (_("arrears and recoveries"), "arrears_recoveries", "arrears"),
                               (_("deductions by kind"), "deductions_by_kind", "deduction"),
                               (_("returns by reason"), "returns_by_reason", "reason")):
        if data[key]:
            rows = [(show.label(domain, k), show.money(v, False)) for k, v in data[key].items()]
            out.print(totals_table(title, rows, ("", _("amount ({currency})", currency=data["currency"]))))
        else:
            out.print(_("{title}: none", title=title))
    if data.get("statuses"):  # what banks said that is not a rejection (e.g. RVNM name mismatch)
        said = ", ".join(f"{code} {count}" for code, count in data["statuses"].items())
        out.print(escape(_("statuses from the banks: {statuses}", statuses=said)))
    previous = data["previous"]
    if previous:
        change = data["net_minor"] - previous["net_minor"]
        out.print(_("previous month ({payroll}): net {net}, change {change}", payroll=escape(previous["payroll"]),
                    net=show.money(previous["net_minor"]), change=show.money(change)))
    if data["ledger_digest_after"]:
        out.print(_("ledger digest after batch {batch}: {digest}", batch=data["batch_id"],
                    digest=data["ledger_digest_after"]))


@click.group(name="audit")
def audit_group():
    """Auditor's checks on posted payrolls.

    \b
    Example:
      isplata audit recompute ME-202501-01
    """


@audit_group.command(name="recompute")
@click.argument("payroll_id", callback=payroll_country)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_context
def audit_recompute(ctx, payroll_id, as_json):
    """Recompute a payroll from its recorded inputs and compare with the ledger (exit 1 on any difference).

    \b
    Example:
      isplata audit recompute ME-202501-01
    """
    with steps(as_json, engine=True) as step:
        result = audit.recompute(db_of(ctx), payroll_id, progress=step)
    if as_json:
        from cli.output import emit_json
        emit_json(result)
    elif result["ok"]:
        out.print(_("[green]ok[/green]: {payroll} recomputed from its inputs equals the ledger to the minor unit "
                    "({lines} lines, {postings} postings compared)", payroll=escape(payroll_id),
                    lines=number(result["lines"]), postings=number(result["postings"])))
    else:
        out.print(_("[red]{count} differences[/red] in {payroll}:", count=len(result["differences"]),
                    payroll=escape(payroll_id)))
        for difference in result["differences"][:20]:
            out.print(escape(f"  {tr(difference)}"))
        if "note" in result:
            out.print(escape(_("note: {note}", note=tr(result["note"]))))
    if not result["ok"]:
        sys.exit(1)


@click.command(name="demo")
@click.option("--rights", default=100_000, show_default=True, help="Rights in the synthetic register.")
@click.option("--workdir", default="isplata-demo", show_default=True, type=click.Path(file_okay=False),
              help="Folder for the register, files, returns and (unless --db) the SQLite database.")
@click.option("--period", default="2025-01", show_default=True, metavar="YYYY-MM", help="First payroll month.")
@click.option("--seed", default=1, show_default=True, help="Seed of the synthetic register.")
@click.option("--country", type=click.Choice(COUNTRIES), default="me", show_default=True,
              help="Country whose register, catalogue, currency and banks the demo uses.")
@click.option("--audit", "with_audit", is_flag=True, help="Also recompute the first payroll from its inputs.")
@click.option("--json", "as_json", is_flag=True, help="Print the steps as JSON.")
@click.pass_context
def demo_cmd(ctx, rights, workdir, period, seed, country, with_audit, as_json):
    """Run two months of the whole cycle on a synthetic register, with bank returns, and time every step.

    Uses its own SQLite database inside WORKDIR unless --db (or ISPLATA_DB) is given.

    \b
    Example:
      isplata demo --rights 100000
      isplata demo --country ua --rights 10000 --workdir demo-ua
      isplata demo --rights 10000 --db postgresql://postgres@127.0.0.1:5432/test
    """
    db = ctx.obj.db if ctx.obj.db_explicit else None  # the demo's own SQLite file unless a database was named
    with steps(as_json, engine=True) as step:
        result = demo.run_demo(rights=rights, workdir=workdir, db_url=db, period=period, seed=seed,
                               progress=step, country=country, with_audit=with_audit)
    if as_json:
        from cli.output import emit_json
        emit_json(result)
        return
    print_demo(result, country, rights, workdir)
    if not result["ok"]:
        sys.exit(1)


def print_demo(result: dict, country: str, rights: int, workdir: str) -> None:
    table = Table(title=_("isplata demo ({country}): {rights} rights, two months, database {db}",
                          country=country.upper(), rights=number(rights), db=result["db"]), title_justify="left")
    for header, justify in ((_("step"), "left"), (_("what happened"), "left"), (_("seconds"), "right")):
        table.add_column(header, justify=justify)
    for row in result["steps"]:
        table.add_row(escape(tr(row["step"])), escape(tr(row["detail"])), number(row["seconds"], 2))
    table.add_row(f"[bold]{_('total')}[/bold]", "", f"[bold]{number(result['seconds'], 2)}[/bold]")
    out.print(table)
    first, second = result["payrolls"]
    out.print(escape(_("ledger digest {digest}\nfiles, returns and the register office's list are in {folder}; open "
                       "{report} in a browser\nthen try: isplata --db {db} payroll show {second} · report {second} · "
                       "audit recompute {first} · ledger verify", digest=result["digest"], folder=workdir,
                       report=result["report_html"], db=result["db"], first=first, second=second)))


def register(group) -> None:
    for command in (calculate, approve, export, reconcile, payroll_group, hold_group, report_cmd, audit_group,
                    demo_cmd):
        group.add_command(command)
