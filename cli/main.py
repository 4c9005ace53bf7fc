"""The `isplata` command group: global options, the error-to-exit-code contract, and command registration.

Exit codes: 0 success, 1 a check failed (verification, reconciliation exceptions), 2 bad input or usage.
"""
import errno
import sys
from dataclasses import dataclass

import click

from cli.output import emit_json, error_document
from payroll import language as i18n
from payroll.errors import InputError, UserError
from payroll.language import N_, _

DB_DEFAULT = "sqlite:///isplata.db"
OUTPUT_ERRNOS = (errno.ENOSPC, errno.EDQUOT, errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOENT, errno.ENOTDIR,
                 errno.EEXIST, errno.EISDIR)


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


def _set_lang(_ctx, _param, value):
    # `--lang` is accepted after the command too, like --db; the group's value is set first, a command's wins
    if value is not None:
        try:
            i18n.set_language(value)
        except ValueError as exc:
            raise click.BadParameter(str(exc)) from exc
    return value


def _lang_option() -> click.Option:
    return click.Option(["--lang"], default=None, expose_value=False, is_eager=True, callback=_set_lang,
                        metavar="LANG", help=f"Language of tables and messages ({', '.join(i18n.LANGUAGES)}); "
                                             "overrides the global --lang and ISPLATA_LANG.")


def _db_option() -> click.Option:
    return click.Option(["--db"], default=None, expose_value=False, is_eager=False, callback=_set_db,
                        help="Ledger database URL (overrides the global --db and ISPLATA_DB).")


JSON_MODE = "isplata.json"  # ctx.meta key: the command was given --json, so an error is printed as JSON too

# `isplata --help` lists the commands in the order of the monthly cycle (DESIGN.md), not alphabetically
CYCLE_ORDER = ("demo", "generate", "validate", "db", "calculate", "approve", "export", "reconcile", "hold",
               "payroll", "report", "explain", "audit", "ledger", "rules", "simulate")


def _note_json(ctx, _param, value):
    if value:
        ctx.meta[JSON_MODE] = True
    return value


def _accept_db_everywhere(command: click.Command) -> None:
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            _accept_db_everywhere(sub)
        return
    if not any(param.name == "db" for param in command.params):
        command.params.append(_db_option())

    for param in command.params:
        if param.name == "as_json" and param.callback is None:
            param.callback = _note_json


def _accept_lang_everywhere(command: click.Command) -> None:
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            _accept_lang_everywhere(sub)
    elif not any(param.name == "lang" for param in command.params):
        command.params.append(_lang_option())


class IsplataGroup(click.Group):
    """Turns user errors into a clean message on stderr and exit code 2, never a traceback; under --json the
    message is one JSON document on stdout instead. Lists its commands in the order of the cycle."""

    def list_commands(self, ctx):
        names = super().list_commands(ctx)
        return [n for n in CYCLE_ORDER if n in names] + sorted(n for n in names if n not in CYCLE_ORDER)

    def invoke(self, ctx):
        tokens = [*getattr(ctx, "_protected_args", ()), *ctx.args]
        as_json = lambda: bool(ctx.meta.get(JSON_MODE)) or "--json" in tokens
        try:
            return super().invoke(ctx)
        except (UserError, click.UsageError) as exc:
            if isinstance(exc, click.ClickException) and not as_json():
                raise
            text = exc.render(limit=200) if isinstance(exc, InputError) else error_line(exc)
            report_error(as_json(), error_document(exc), text)
            ctx.exit(exc.exit_code)
        except OSError as exc:  # an output the officer named cannot be written: disk full, read-only, no folder
            if exc.errno not in OUTPUT_ERRNOS:
                raise
            click.echo(_("error: cannot write {file}: {reason}; free space or choose a folder you can write, then "
                         "run the command again", file=exc.filename or _("an output file"), reason=exc.strerror),
                       err=True)
            ctx.exit(2)
        except Exception as exc:  # a database that is not one, read-only, full, unreachable: exit 2, no traceback
            from ledgers.store import database_problem

            problem = database_problem(exc, ctx.obj.db if ctx.obj else None)
            if problem is None:
                raise
            report_error(as_json(), {"error": str(problem), "problems": []}, error_line(problem))
            ctx.exit(problem.exit_code)


def error_line(exc: Exception) -> str:
    """'error: ...' in the active language (a refusal raised with a translatable message is shown translated)."""
    message = exc.args[0] if len(exc.args) == 1 and isinstance(exc.args[0], str) else str(exc)
    return _("error: {message}", message=i18n.tr(message))


def report_error(as_json: bool, document: dict, text: str) -> None:
    """An error as one JSON document on stdout under --json, else as text on stderr."""
    if as_json:
        emit_json(document)
    else:
        click.echo(text, err=True)


@click.group(cls=IsplataGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--db", envvar="ISPLATA_DB", default=DB_DEFAULT, show_default=True,
              help="Ledger database URL (sqlite:///FILE or postgresql://...); also ISPLATA_DB.")
@click.option("--lang", envvar="ISPLATA_LANG", default=None, metavar="LANG",
              help="Language of tables and messages: en, me (Montenegrin), sr-Cyrl, sr-Latn, uk; also "
                   "ISPLATA_LANG; default: the language of the catalogue's country. JSON, Parquet and exit codes "
                   "never change with it.")
@click.version_option(package_name="isplata")
@click.pass_context
def main(ctx, db, lang):
    """isplata: the monthly payment cycle of social-protection benefits.

    \b
    Example (the whole cycle on a synthetic register):
      isplata demo
    """
    source = ctx.get_parameter_source("db")
    i18n.reset()
    try:
        i18n.set_language(lang)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--lang") from exc
    refuse_optimized()
    ctx.obj = Settings(db=db, db_explicit=source is not None and source.name != "DEFAULT")


def refuse_optimized() -> None:
    """UserError (exit 2) before any command runs when Python strips assert statements (-O, PYTHONOPTIMIZE): the
    kernels that compute, post and write money check their bounds and invariants with assert (Numba compiles the
    bytecode, so without them an index out of range reads or writes unchecked memory)."""
    if sys.flags.optimize > 0:
        raise UserError(N_("Python runs with -O or PYTHONOPTIMIZE, which strips the checks isplata relies on (the "
                           "assert statements of the kernels that compute and write money): nothing was done; run "
                           "`isplata` without -O and with PYTHONOPTIMIZE unset"))


def _register_commands() -> None:
    from cli import explain_cmds, ledger_cmds, payroll_cmds, register_cmds

    for module in (register_cmds, ledger_cmds, payroll_cmds, explain_cmds):
        module.register(main)
    _accept_db_everywhere(main)
    __import__("cli.simulate_cmds").simulate_cmds.register(main)  # after: simulate opens no database, takes no --db
    __import__("cli.rules_cmds").rules_cmds.register(main)  # after: rules show opens no database, takes no --db
    _accept_lang_everywhere(main)


_register_commands()
