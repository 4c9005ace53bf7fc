"""`isplata rules show`: the rule catalogue as an officer checks it: every benefit with its kind and status
(priced, or no amount with the reason), every dated value with its amount, source and status, the bases derived
values follow, and the notes where sources disagree. It opens no database, so it takes no --db."""
import click


@click.group(name="rules")
def rules_group():
    """The rule catalogues: benefits, dated values, their sources and statuses.

    \b
    Example:
      isplata rules show --country ua --benefit UA_DSD
    """


@rules_group.command(name="show")
@click.option("--country", type=click.Choice(["me", "rs", "ua"]),
              help="Show the bundled catalogue of this country (default: all three).")
@click.option("--rules", type=click.Path(dir_okay=False), help="Show this rule catalogue (TOML) instead.")
@click.option("--benefit", metavar="CODE", help="Show only this benefit (e.g. ME_MO).")
@click.option("--json", "as_json", is_flag=True, help="Print the same as one JSON document (stable keys).")
def show_cmd(country, rules, benefit, as_json):
    """List the benefits of a catalogue (code, name, kind, priced or no amount with the reason) and, per parameter,
    every dated value with its amount in the currency, its source and its status (confirmed, reported, derived,
    assumption).

    \b
    Example:
      isplata rules show --country me
      isplata rules show --country ua --benefit UA_INV_DYTYNSTVA --json
    """
    from payroll.catalogue_view import catalogues_for, rules_document

    document = rules_document(catalogues_for(country, rules), benefit)
    if as_json:
        from cli.output import emit_json
        emit_json(document)
        return
    for catalogue in document["catalogues"]:
        print_catalogue(catalogue, with_bases=benefit is None)


def print_catalogue(catalogue: dict, with_bases: bool) -> None:
    benefits = catalogue["benefits"]
    priced = sum(b["status"] == "priced" for b in benefits)
    click.echo(f"{catalogue['name']} ({catalogue['country']}, {catalogue['currency']}) {catalogue['path']}")
    click.echo(f"{len(benefits)} benefit(s): {priced} priced, {len(benefits) - priced} with no amount")
    if with_bases and catalogue["bases"]:
        click.echo("\nbases (amounts derived from them follow every change):")
        for name, lines in catalogue["bases"].items():
            echo_lines(name, lines)
    for benefit in benefits:
        echo_benefit(benefit)
    click.echo("")


def echo_benefit(benefit: dict) -> None:
    status = "priced" if benefit["status"] == "priced" else f"no amount: {benefit['unpriced']}"
    click.echo(f"\n{benefit['code']}  {benefit['name']}  [{benefit['kind']}]  {status}")
    if benefit["note"]:
        click.echo(f"  note: {benefit['note']}")
    for name, lines in benefit["parameters"].items():
        echo_lines(name, lines)


def echo_lines(name: str, lines: list) -> None:
    click.echo(f"  {name}")
    for line in lines:
        source = f"  source: {line['ref']}" if line["ref"] else ""
        click.echo(f"    from {line['valid_from']}  {', '.join(line['values'])}  ({line['status']}){source}")
        if line["base"]:
            percents = ", ".join(f"{p / 100:g} %" for p in line["percent_bp"])
            click.echo(f"      derived: {percents} of base {line['base']}")
        for key in ("reason", "note"):
            if line[key]:
                click.echo(f"      {key}: {line[key]}")


def register(main: click.Group) -> None:
    main.add_command(rules_group)
