"""`isplata simulate`: what a rule change would cost, per month and benefit and per municipality, without a ledger.

The command parses its options, calls payroll.simulate.simulate and prints tables (benefits by name, amounts in
currency units), the JSON result, or also writes the HTML page. It opens no database, so it takes no --db.
"""
import click
from rich.console import Console
from rich.table import Table

from cli.output import output_file
from payroll.language import _, babel_locale, number

out = Console()


@click.command(name="simulate")
@click.option("--data", "data", required=True, type=click.Path(file_okay=False),
              help="Folder of the register snapshot; its rights are taken as they stand.")
@click.option("--period", required=True, metavar="YYYY-MM", help="First month costed.")
@click.option("--rules", required=True, type=click.Path(dir_okay=False), help="The new rule catalogue (TOML).")
@click.option("--months", type=int, default=12, show_default=True,
              help="How many months from --period on (a budget year by default).")
@click.option("--base-rules", type=click.Path(dir_okay=False),
              help="Today's catalogue (default: the bundled catalogue of the new catalogue's country).")
@click.option("--country", help="Country of today's bundled catalogue (me, rs, ua); must be the new one's.")
@click.option("--html", "html_file", type=click.Path(dir_okay=False), callback=output_file,
              help="Also write the result as one self-contained HTML page with bar charts.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def simulate_cmd(data, period, rules, months, base_rules, country, html_file, as_json):
    """What a rule change would cost: due under today's and the new catalogue, the difference, and the rights that
    gain, lose or stop, per month and benefit and per municipality. Writes no ledger and opens no database.

    \b
    Example (the next 12 months under an indexation):
      isplata simulate --data ./register --period 2026-01 --rules indexation-2026.toml --html cost.html
    """
    from payroll import simulate, simulate_html

    result = simulate.simulate(data, period, rules, months=months, base_rules=base_rules, country=country)
    if html_file:
        simulate_html.write_html(result, html_file)
    if as_json:
        from cli.output import emit_json
        emit_json(result)
        return
    print_result(result)
    if html_file:
        out.print(_("HTML page written to {file}", file=html_file))


def print_result(result: dict) -> None:
    from payroll.queries import Display

    names = result["names"]
    show = Display(result["currency"], result["minor_exponent"], babel_locale(result.get("country")),
                   names["benefits"])
    totals = result["totals"]
    out.print(_("[bold]cost of the new rules[/bold] {new}  against {base}  months {first} to {last}: today {today}, "
                "new {amount}, difference [bold]{difference}[/bold]", new=result["new_rules"]["path"],
                base=result["base_rules"]["path"], first=result["period"], last=result["last_period"],
                today=show.money(totals["base_minor"]), amount=show.money(totals["new_minor"]),
                difference=show.money(totals["diff_minor"])))
    months = {}
    for row in result["by_month_benefit"]:
        months.setdefault(row["month"], [0, 0])
        months[row["month"]][0] += row["base_minor"]
        months[row["month"]][1] += row["new_minor"]
    benefits = [(show.benefit(r["benefit"]), r) for r in result["by_benefit"]]
    places = [(r["municipality"], r) for r in result["by_municipality"]]
    out.print(cost_table(_("by benefit (all months)"), _("benefit"), show, benefits))
    out.print(cost_table(_("rights by benefit (over all months: gain, lose, stop)"), _("benefit"), show, benefits,
                         COUNT_KEYS))
    out.print(cost_table(_("by month"), _("month"), show, [(month, {"base_minor": base, "new_minor": new,
                                                                    "diff_minor": new - base})
                                                           for month, (base, new) in months.items()]))
    out.print(cost_table(_("by municipality (all months)"), _("municipality"), show, places))
    out.print(cost_table(_("rights by municipality"), _("municipality"), show, places, COUNT_KEYS))


AMOUNT_KEYS = ("base_minor", "new_minor", "diff_minor")
COUNT_KEYS = ("rights", "gain", "lose", "stop")


def cost_table(title: str, heading: str, show, rows: list[tuple[str, dict]], keys=AMOUNT_KEYS) -> Table:
    """One column per key: amounts in currency units or counts, never cut short (a narrow terminal folds the
    names instead)."""
    headers = {"base_minor": _("today ({currency})", currency=show.currency),
               "new_minor": _("new ({currency})", currency=show.currency), "diff_minor": _("difference"),
               "rights": _("rights"), "gain": _("gain"), "lose": _("lose"), "stop": _("stop")}
    cells = [[label, *(show.money(row[key], False) if key.endswith("_minor") else number(row[key]) for key in keys)]
             for label, row in rows]
    table = Table(title=title, title_justify="left")
    table.add_column(heading, justify="left", overflow="fold", min_width=12)
    for i, key in enumerate(keys, start=1):
        width = max([len(headers[key])] + [len(cell[i]) for cell in cells])
        table.add_column(headers[key], justify="right", no_wrap=True, min_width=width)
    for cell in cells:
        table.add_row(*cell)
    return table


def register(group) -> None:
    group.add_command(simulate_cmd)
