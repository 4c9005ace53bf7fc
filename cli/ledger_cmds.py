"""`isplata db init` and the `isplata ledger` group: verify, digest, balance, export, prove, check-proof.

Each command opens the ledger at the global --db URL, calls one ledgers/ function and prints the result
(a table for people, one JSON document with --json). A failed check exits 1; bad input exits 2.
"""
import click

from cli.output import emit_json, output_file
from ledgers import open_ledger
from ledgers.export import Money
from ledgers.export import export as export_ledger
from ledgers.proofs import check_proof, load_proof, prove, write_proof
from ledgers.verify import verify
from payroll.errors import UserError
from payroll.language import N_, _, number, tr


def _hex_digest(_ctx, _param, value):
    # a digest that is not 64 hex digits is a typing error (exit 2), not a failed check (exit 1)
    if value is not None:
        value = value.strip().lower()
        if len(value) != 64 or any(c not in "0123456789abcdef" for c in value):
            raise click.BadParameter(_("a digest is 64 hexadecimal digits, as printed by `isplata ledger digest`"))
    return value


def _ledger(ctx):
    ledger = open_ledger(ctx.obj.db)
    try:
        ledger.require_schema()
    except UserError:
        ledger.close()
        raise
    return ledger


@click.group("db")
def db_group():
    """Database administration.

    \b
    Example:
      isplata --db sqlite:///isplata.db db init
    """


@db_group.command("init")
@click.option("--country", type=click.Choice(("me", "rs", "ua")),
              help="Bind the ledger to this country and its currency (else its first payroll fixes them).")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_context
def db_init(ctx, country, as_json):
    """Create the ledger schema (safe to run again) and record its version, and its country when given.

    A ledger holds one country's payments in one currency: once recorded, a register or catalogue of another
    country is refused (exit 2).

    \b
    Example:
      isplata --db postgresql://postgres@localhost/isplata db init --country rs
    """
    from payroll import country as countries
    from payroll.cycle import open_db  # the ledger schema and the payroll's own tables, both idempotent

    with open_db(ctx.obj.db, create=True) as ledger:
        binding = countries.bind_at_init(ledger.engine, country) if country else countries.current(ledger.engine)
        result = {"db": ctx.obj.db, "schema_version": ledger.schema_version(), "digest": ledger.digest(),
                  "country": binding and binding.country, "currency": binding and binding.currency}
    if as_json:
        emit_json(result)
    else:
        bound = _(", country {country}, currency {currency}", country=binding.country.upper(),
                  currency=binding.currency) if binding else ""
        click.echo(_("ledger ready at {db} (schema version {version}{bound})", db=ctx.obj.db,
                     version=result["schema_version"], bound=bound))


@click.group("ledger")
def ledger_group():
    """Inspect and audit the append-only ledger.

    \b
    Example:
      isplata ledger digest > digest.txt
      isplata ledger verify --digest "$(cat digest.txt)"
    """


@ledger_group.command("verify")
@click.option("--digest", "saved_digest", callback=_hex_digest, help="A digest saved earlier that the chain must still reach.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_context
def verify_cmd(ctx, saved_digest, as_json):
    """Recompute every batch hash from the first batch; exit 1 naming the first bad batch.

    Also rehashes the event chain and compares the payrolls, the holds and the ledger's country row with their
    chained copies: an edit of any of them fails verification too, naming the table, the row and the field.

    With --digest, the recomputed chain must also pass through that saved digest (catches a dropped batch).

    \b
    Example:
      isplata ledger verify --digest 3f9a...e1 --json
    """
    from cli.payroll_cmds import steps

    with _ledger(ctx) as ledger, steps(as_json, engine=True):
        result = verify(ledger, saved_digest)
    if as_json:
        emit_json(result.as_dict())
    elif result.ok:
        click.echo(_("ok: {batches} batches, {postings} postings, digest {digest}", batches=number(result.batches),
                     postings=number(result.postings), digest=result.digest))
    else:
        where = _(" at batch {batch}", batch=result.first_bad_batch) if result.first_bad_batch is not None else ""
        click.echo(_("FAILED{where}: {reason}", where=where, reason=tr(result.reason)), err=True)
        for finding in result.records[1:] if not where else result.records:
            click.echo(f"  {tr(finding)}", err=True)
    if not result.ok:
        ctx.exit(1)


@ledger_group.command("digest")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_context
def digest_cmd(ctx, as_json):
    """Print the chain head (the digest an auditor keeps).

    With --json also `events_head`, the hash of the last event: `ledger verify --digest` accepts it too, and it
    covers the events (cancellations, holds, releases) appended after the last batch.

    \b
    Example:
      isplata ledger digest
    """
    with _ledger(ctx) as ledger:
        digest, count, events_head = ledger.digest(), len(ledger.batches()), ledger.events_head()
    if as_json:
        emit_json({"digest": digest, "batches": count, "events_head": events_head})
    else:
        click.echo(digest)


@ledger_group.command("balance")
@click.option("--account", help="Account kind name, e.g. benefits_payable.")
@click.option("--key", type=int, help="Account key (payee id, right id or benefit code, by account).")
@click.option("--payee", "payee_id", type=int, help="Only postings of this payee.")
@click.option("--right", "right_id", type=int, help="Only postings of this right.")
@click.option("--benefit", help="Only postings of the rights of this benefit (its code, e.g. ME_DD).")
@click.option("--period", metavar="YYYY-MM", help="Only postings of this accounting period.")
@click.option("--as-of", "as_of", metavar="YYYY-MM",
              help="Accounting period: postings of this period and earlier (not the day they were booked).")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_context
def balance_cmd(ctx, account, key, payee_id, right_id, benefit, period, as_of, as_json):
    """Balances per account and key (debit positive, credit negative) in the currency, with names.

    \b
    Example:
      isplata ledger balance --account benefits_payable --payee 1042 --as-of 2025-03
      isplata ledger balance --benefit ME_DD --period 2025-02
    """
    from payroll import queries

    result = queries.balances(ctx.obj.db, account=account, key=key, payee_id=payee_id, right_id=right_id,
                              benefit=benefit, period=period, as_of=as_of)
    if as_json:
        emit_json(result)
        return
    currency = result["currency"] or _("minor units")
    for row in result["balances"]:
        amount = row.get("balance", row["balance_minor"])
        click.echo(f"{tr(row['account_name']):<36} {tr(row.get('key_name', row['key'])):>40} {amount:>18}")
    total = _("total ({currency})", currency=currency)
    click.echo(f"{total:<36} {'':>40} {result['total'] or result['total_minor']:>18}")


@ledger_group.command("export")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), callback=output_file,
              help="Output folder (new or existing; its parent must exist).")
@click.option("--format", "file_format", type=click.Choice(["parquet", "csv", "xlsx"], case_sensitive=False),
              default="parquet", show_default=True,
              help="parquet (auditors' exact columns), csv (a UTF-8 file with BOM per table) or xlsx (one "
                   "workbook, a sheet per table): amounts in the currency, names beside codes.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_context
def export_cmd(ctx, out_dir, file_format, as_json):
    """Write batches, postings, payments, events and codes (Parquet, CSV or XLSX) plus digest.json.

    \b
    Example:
      isplata ledger export --out audit-2025-03
      isplata ledger export --out audit-2025-03-xlsx --format xlsx
    """
    from cli.payroll_cmds import steps
    from payroll import queries

    with _ledger(ctx) as ledger, steps(as_json) as step:
        show = queries.ledger_display(ledger)
        money = Money(show.currency, show.exponent, show.benefits) if show is not None else None
        summary = export_ledger(ledger, out_dir, file_format.lower(), money, progress=step)
    if as_json:
        emit_json(summary)
    else:
        click.echo(_("exported {batches} batches, {postings} postings to {folder} ({format}); digest {digest}",
                     batches=number(summary["batches"]), postings=number(summary["postings"]), folder=out_dir,
                     format=summary["format"], digest=summary["digest"]))


@ledger_group.command("prove")
@click.argument("ref")
@click.option("--out", "out_file", required=True, type=click.Path(dir_okay=False), callback=output_file,
              help="Proof JSON file.")
@click.option("--batch", "batch_id", type=int, help="Batch holding the payment (default: the latest).")
@click.option("--json", "as_json", is_flag=True, help="Print a summary as JSON.")
@click.pass_context
def prove_cmd(ctx, ref, out_file, batch_id, as_json):
    """Write an inclusion proof for payment REF (its EndToEndId).

    \b
    Example:
      isplata ledger prove ISP-2025-03-000042 --out proof.json
    """
    with _ledger(ctx) as ledger:
        proof = prove(ledger, ref, batch_id)
    write_proof(proof, out_file)
    summary = {"payment_ref": ref, "batch_id": proof["batch"]["batch_id"], "digest": proof["digest"],
               "out": out_file}
    if as_json:
        emit_json(summary)
    else:
        click.echo(_("proof for {ref} (batch {batch}) written to {file}", ref=ref, batch=summary["batch_id"],
                     file=out_file))


@ledger_group.command("check-proof")
@click.argument("proof_file", type=click.Path(exists=True, dir_okay=False))
@click.option("--digest", required=True, callback=_hex_digest, help="The digest the auditor trusts.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_context
def check_proof_cmd(ctx, proof_file, digest, as_json):
    """Check a proof offline (no database) against a digest; exit 1 if it does not hold.

    \b
    Example:
      isplata ledger check-proof proof.json --digest 3f9a...e1
    """
    try:
        proof = load_proof(proof_file)
    except ValueError as exc:
        raise UserError(N_("{file} is not a JSON proof: {reason}", file=proof_file, reason=str(exc))) from exc
    ok, message = check_proof(proof, digest)
    if as_json:
        emit_json({"ok": ok, "message": message})
    else:
        click.echo((_("ok: {message}") if ok else _("FAILED: {message}")).format(message=tr(message)), err=not ok)
    if not ok:
        ctx.exit(1)


def register(group) -> None:
    group.add_command(db_group)
    group.add_command(ledger_group)
