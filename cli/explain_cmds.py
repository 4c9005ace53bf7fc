"""`isplata explain RIGHT_ID --period YYYY-MM [--payroll ID]`: why one right was paid what it was paid.

Calls payroll.explain (which reads only the payroll's recorded inputs) and prints its months, deductions and
payments as tables, codes with their names, or the same as one JSON document with --json.
"""
import click
from rich.markup import escape
from rich.table import Table

from cli.payroll_cmds import db_of, out, payroll_module, steps


def month_table(result: dict, show) -> Table:
    table = Table(title=escape(f"right {result['right_id']}: {show.benefit(result['benefit'])}, months from "
                               f"{result['window_start']} to {result['period']}"), title_justify="left")
    for header in ("month", "version in force", "members counted", "due", "already recognised", "paid now",
                   "as"):
        table.add_column(header, justify="left" if header in ("month", "version in force", "as") else "right")
    for month in result["months"]:
        version = month["version"]
        in_force = "none" if version is None else f"v{version['version']} from {version['valid_from']}"
        counted = sum(1 for member in month["members"] if member["counted"])
        table.add_row(month["month"], in_force, str(counted), show.money(month["due_minor"], False),
                      show.money(month["recognised_minor"] + month["legacy_paid_minor"], False),
                      show.money(month["difference_minor"], False),
                      show.label("component", month["component"]) if month["component"] else "-")
    return table


def print_explanation(result: dict, show) -> None:
    out.print(f"[bold]{escape(result['payroll'])}[/bold] ({result['status']}), right {result['right_id']}: "
              + escape(f"{show.benefit(result['benefit'])}{' — held, paid nothing' if result['held'] else ''}"))
    out.print(month_table(result, show))
    shown, cited = None, None
    for month in result["months"]:
        out.print(escape(f"{month['month']}: {month['formula']}"))
        sources = payroll_module("explain").sources_text(month["parameters"])
        if sources and sources != cited:  # said again only when a value in force changes its source
            out.print(escape(f"    sources: {sources}"))
        cited = sources or cited
        household = [(m["person_id"], m["counted"], m["categories"]) for m in month["members"]]
        if household == shown:  # a long window repeats its household month after month: say so once
            if household:
                out.print("    household as the month before")
            continue
        shown = household
        for member in month["members"]:
            out.print(escape(f"    person {member['person_id']} ({member['role']}, born {member['born']}): "
                             f"{'counted' if member['counted'] else 'not counted'}, {member['why']}"))
    if result["deductions"]:
        table = Table(title="deductions", title_justify="left")
        for header in ("kind", "amount", "cap", "payment"):
            table.add_column(header, justify="right" if header == "amount" else "left")
        for row in result["deductions"]:
            table.add_row(row["name"], show.money(row["amount_minor"], False), row["cap"], row["payment_ref"] or "-")
        out.print(table)
    for payment in result["payments"]:
        out.print(escape(f"payment {payment['payment_ref']} to payee {payment['payee_id']} by "
                         f"{show.label('channel', payment['channel'])}: {show.money(payment['net_minor'])} — "
                         f"{payment['fate']}"))
    if not result["payments"]:
        out.print("no payment: nothing of this right was paid out in this payroll")


@click.command(name="explain")
@click.argument("right_id", type=int)
@click.option("--period", required=True, metavar="YYYY-MM", help="The payroll month to explain.")
@click.option("--payroll", "payroll_id", help="Which payroll of the month (default: its latest run).")
@click.option("--json", "as_json", is_flag=True, help="Print the explanation as JSON.")
@click.pass_context
def explain_cmd(ctx, right_id, period, payroll_id, as_json):
    """Why this amount? One right, every month of its window: version, household, parameters, formula, what was
    recognised, arrears or overpayment, deductions with their caps, the payment and its fate.

    Reads only the payroll's recorded inputs (refused if they changed), so it answers the same a year later.

    \b
    Example:
      isplata explain 1042 --period 2025-02
      isplata explain 1042 --period 2025-02 --payroll ME-202502-02 --json
    """
    with steps(as_json, engine=True) as step:
        result = payroll_module("explain").explain(db_of(ctx), right_id, period, payroll_id, progress=step)
    if as_json:
        from cli.main import emit_json
        emit_json(result)
        return
    queries = payroll_module("queries")
    show = queries.Display(result["currency"], result["minor_exponent"],
                           queries.labels_locale(result["payroll"]), {result["benefit"]: result["benefit_name"]})
    print_explanation(result, show)


def register(group) -> None:
    group.add_command(explain_cmd)
