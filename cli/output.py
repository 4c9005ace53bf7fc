"""What every command shares to print: one JSON document for --json, and whether progress bars show."""
import json
import sys

import click


def emit_json(payload) -> None:
    """Print one JSON document on stdout (the --json contract of DESIGN.md)."""
    click.echo(json.dumps(payload, indent=2, sort_keys=True, default=str))


def quiet(as_json: bool) -> bool:
    """Progress bars only on a terminal and never in --json mode."""
    return as_json or not sys.stderr.isatty()
