"""The `isplata` command group: global options, the error-to-exit-code contract, and command registration.

Exit codes: 0 success, 1 a check failed (verification, reconciliation exceptions), 2 bad input or usage.
"""
import json
import sys
from dataclasses import dataclass

import click

from payroll.errors import InputError, UserError

DB_DEFAULT = "sqlite:///isplata.db"


@dataclass
class Settings:
    db: str


class IsplataGroup(click.Group):
    """Turns user errors into a clean message on stderr and exit code 2, never a traceback."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except InputError as exc:
            click.echo(exc.render(limit=200), err=True)
            ctx.exit(exc.exit_code)
        except UserError as exc:
            click.echo(f"error: {exc}", err=True)
            ctx.exit(exc.exit_code)


@click.group(cls=IsplataGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--db", envvar="ISPLATA_DB", default=DB_DEFAULT, show_default=True,
              help="Ledger database URL (sqlite:///FILE or postgresql://...); also ISPLATA_DB.")
@click.version_option(package_name="isplata")
@click.pass_context
def main(ctx, db):
    """isplata: the monthly payment cycle of social-protection benefits.

    \b
    Example (the whole cycle on a synthetic register):
      isplata demo
    """
    ctx.obj = Settings(db=db)


def emit_json(payload) -> None:
    """Print one JSON document on stdout (the --json contract of DESIGN.md)."""
    click.echo(json.dumps(payload, indent=2, sort_keys=True, default=str))


def quiet(as_json: bool) -> bool:
    """Progress bars only on a terminal and never in --json mode."""
    return as_json or not sys.stderr.isatty()


def _register_commands() -> None:
    from cli import ledger_cmds, payroll_cmds, register_cmds

    for module in (register_cmds, ledger_cmds, payroll_cmds):
        module.register(main)


_register_commands()
