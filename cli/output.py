"""What every command shares to print: one JSON document for --json, and whether progress bars show."""
import json
import sys

import click


def emit_json(payload) -> None:
    """Print one JSON document on stdout (the --json contract of DESIGN.md)."""
    click.echo(json.dumps(payload, indent=2, sort_keys=True, default=str))


def error_document(exc: Exception) -> dict:
    """What an error looks like under --json: {"error": message, "problems": [file, row, column, value, rule,
    fix, ...]}; the exit code is the same as without --json."""
    from dataclasses import asdict

    from payroll.errors import InputError

    if isinstance(exc, InputError):
        return {"error": f"{len(exc.problems)} problem(s) in the input", "problems": [asdict(p) for p in exc.problems]}
    message = exc.format_message() if isinstance(exc, click.ClickException) else str(exc)
    return {"error": message, "problems": []}


def quiet(as_json: bool) -> bool:
    """Progress bars only on a terminal and never in --json mode."""
    return as_json or not sys.stderr.isatty()


def output_file(_ctx, _param, value):
    """Click callback of an option naming a file (or a new folder) to write: the folder it goes in must exist
    (exit 2, nothing written), as export and reconcile refuse an --out whose parent is missing; a mistyped path
    never becomes new folders."""
    if value is not None:
        from payroll.session import check_out_file

        check_out_file(value)
    return value
