"""`isplata generate` and `isplata validate`: make a synthetic register snapshot, check a real one.

Both call one payroll.register function and print its summary (a short table, or JSON with --json). validate
prints every problem of a bad snapshot (file, row, column, value, rule, fix) and exits 2.
"""
import click
from rich.markup import escape
from rich.console import Console
from rich.table import Table

from payroll import register as register_steps
from payroll.errors import InputError
from payroll.language import _, note_country, number

console = Console(stderr=True)
out = Console()


def counts_table(title: str, counts: dict, label: str, name=str) -> Table:
    table = Table(title=title, title_justify="left")
    table.add_column(label)
    table.add_column(_("count"), justify="right")
    for key, count in sorted(counts.items(), key=lambda item: (-item[1], item[0])):
        table.add_row(escape(name(key)), number(count))
    return table


def print_summary(summary: dict) -> None:
    counts = {key: number(summary[key]) for key in ("rights", "right_versions", "persons", "households", "payees",
                                                    "deductions")}
    out.print(_("{rights} rights ({right_versions} versions), {persons} persons, {households} households, "
                "{payees} payees, {deductions} deduction orders", **counts))
    out.print(counts_table(_("rights per benefit"), summary["rights_by_benefit"], _("benefit")))
    from payroll.queries import label

    out.print(counts_table(_("payees per channel"), summary["payees_by_channel"], _("channel"),
                           lambda channel: label("channel", channel)))


@click.command("generate")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False),
              help="Folder to write the register into (created if missing).")
@click.option("--rights", "rights", type=int, default=10_000, show_default=True, help="Number of rights.")
@click.option("--seed", type=int, default=1, show_default=True, help="Random seed: same seed, same files.")
@click.option("--period", metavar="YYYY-MM", help="The month the snapshot is taken in (with --advance: "
                                                    "default the month after the source's).")
@click.option("--country", type=click.Choice(register_steps.COUNTRIES), default="me", show_default=True,
              help="Country whose benefits, names, banks and addresses are used (--advance keeps the source's).")
@click.option("--advance", "advance_from", type=click.Path(exists=True, file_okay=False),
              help="Instead of a new register, write the next month of the register in this folder "
                   "(new decisions, terminations, retroactive versions, deaths).")
@click.option("--death", "deaths", multiple=True, metavar="PERSON_ID:YYYY-MM-DD",
              help="With --advance: record this death (repeatable).")
@click.option("--close-account", "closed_accounts", multiple=True, type=int, metavar="PAYEE_ID",
              help="With --advance: this payee's bank account was closed; pay through the post (repeatable).")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
def generate_cmd(out_dir, rights, seed, period, country, advance_from, deaths, closed_accounts, as_json):
    """Generate a realistic synthetic register snapshot (Parquet), deterministic for a seed.

    \b
    Example:
      isplata generate --out reg-2025-03 --rights 100000 --seed 7 --period 2025-03 --country me
      isplata generate --out reg-2025-04 --advance reg-2025-03 --seed 7 --death 1042:2025-04-09
    """
    from cli.output import emit_json, quiet

    def run():
        return register_steps.generate(out_dir, rights, seed, period, country, advance_from, deaths,
                                       closed_accounts)

    if quiet(as_json):
        summary = run()
    else:
        what = (_("advancing {folder}", folder=advance_from) if advance_from
                else _("generating {rights} rights", rights=number(rights)))
        with console.status(f"{what} ..."):
            summary = run()
    if as_json:
        emit_json(summary)
        return
    note_country(summary["country"])
    out.print(_("[bold]register {period}[/bold] ({country}, seed {seed}) written to {folder} in {seconds} s",
                period=escape(str(summary["period"])), country=escape(summary["country"].upper()), seed=seed,
                folder=escape(str(summary["out_dir"])), seconds=number(summary["seconds"], 1)))
    print_summary(summary)


@click.command("validate")
@click.option("--data", "data_dir", required=True, type=click.Path(file_okay=False),
              help="Folder of the register snapshot (persons, households, rights, payees, deductions).")
@click.option("--rules", type=click.Path(dir_okay=False),
              help="Rule catalogue TOML (default: the catalogue of the country the register records, else "
                   "Montenegro).")
@click.option("--country", type=click.Choice(register_steps.COUNTRIES),
              help="Use the bundled catalogue of this country (overrides the register's; --rules wins).")
@click.option("--json", "as_json", is_flag=True, help="Print the summary, or the problems, as JSON.")
@click.pass_context
def validate_cmd(ctx, data_dir, rules, country, as_json):
    """Check a register snapshot; print every problem (exit 2) or a summary.

    Every file is read and every rule checked before anything is reported, so one run lists all problems:
    file, row, column, value, the rule broken and how to fix it.

    \b
    Example:
      isplata validate --data reg-2025-03
      isplata validate --data my-register --rules rules/serbia.toml --json
    """
    from cli.output import emit_json

    try:
        summary = register_steps.validate_register(data_dir, rules, country)
    except InputError as exc:
        report_problems(exc, as_json)
        ctx.exit(exc.exit_code)
    if as_json:
        emit_json({"ok": True, **summary})
        return
    note_country(summary.get("country"))
    out.print(_("[bold]ok[/bold]: {data} is valid under {rules}", data=escape(str(summary["data"])),
                rules=escape(str(summary["rules"]))))
    print_summary(summary)


def report_problems(exc: InputError, as_json: bool) -> None:
    from cli.output import emit_json, error_document  # the error document of every command, and "ok" as before

    if as_json:
        emit_json({"ok": False, **error_document(exc)})
    else:
        click.echo(exc.render(), err=True)


def register(group) -> None:
    group.add_command(generate_cmd)
    group.add_command(validate_cmd)
