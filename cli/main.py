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
    db_explicit: bool = False  # given by --db or ISPLATA_DB rather than the default


def _set_db(ctx, _param, value):
    # `--db` is accepted after the command too (`isplata demo --db URL`): it overrides the group's value
    if value is not None:
        settings = ctx.find_object(Settings)
        settings.db, settings.db_explicit = value, True
    return value


def _db_option() -> click.Option:
    return click.Option(["--db"], default=None, expose_value=False, is_eager=False, callback=_set_db,
                        help="Ledger database URL (overrides the global --db and ISPLATA_DB).")


def _accept_db_everywhere(command: click.Command) -> None:
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            _accept_db_everywhere(sub)
    elif not any(param.name == "db" for param in command.params):
        command.params.append(_db_option())


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
        except Exception as exc:  # a database that is not one, read-only, full, unreachable: exit 2, no traceback
            from ledgers.store import database_problem

            problem = database_problem(exc, ctx.obj.db if ctx.obj else None)
            if problem is None:
                raise
            click.echo(f"error: {problem}", err=True)
            ctx.exit(problem.exit_code)


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
    source = ctx.get_parameter_source("db")
    ctx.obj = Settings(db=db, db_explicit=source is not None and source.name != "DEFAULT")


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
    _accept_db_everywhere(main)


_register_commands()
