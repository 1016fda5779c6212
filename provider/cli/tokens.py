"""``provider token inspect`` and ``provider families show``: explain tokens and their families."""

from __future__ import annotations

import json
import sys

import click

from .. import clock, management
from .operator_command import CommandError, operator_command

MAX_TOKEN_INPUT = 65536
USAGE_ERROR = 2


@click.group()
def token() -> None:
    """Inspect tokens (the /debug page does the same in a browser)."""


@token.command("inspect")
@click.argument("value", metavar="[TOKEN]", required=False, default="-")
@click.option("--json", "as_json", is_flag=True, help="Print the verdict as JSON.")
def token_inspect(value: str, as_json: bool) -> None:
    """Decode TOKEN, verify it against the current JWKS and explain every problem.

    With TOKEN - or omitted, the token is read from the first line of stdin
    (which keeps it out of the shell history; a token starting with - goes
    there or after --). Exit status: 0 valid, 1 invalid, 2 usage error.
    """
    if value == "-":
        if sys.stdin.isatty():
            click.echo("Paste the token and press Enter:", err=True)
        value = sys.stdin.readline(MAX_TOKEN_INPUT + 1)
    if not value.strip():
        raise CommandError("no token given: pass TOKEN or pipe it on stdin", USAGE_ERROR)
    if len(value.strip()) > MAX_TOKEN_INPUT:
        raise CommandError(f"the token is longer than {MAX_TOKEN_INPUT} characters", USAGE_ERROR)
    sys.exit(0 if _print_verdict(value, as_json) else 1)


@operator_command()
def _print_verdict(value: str, as_json: bool) -> bool:
    """Inspect in the app (after the usage checks, which need none) and print the verdict."""
    from ..oauth.inspection import inspect_token, render_text

    verdict = inspect_token(value)
    text = json.dumps(verdict.as_dict(), indent=2) if as_json else render_text(
        verdict, clock.now())
    click.echo(text)
    return verdict.valid


@click.group()
def families() -> None:
    """Inspect refresh-token families."""


@families.command("show")
@click.argument("family_id")
@operator_command()
def families_show(family_id: str) -> None:
    """A family's lineage: each token's issue and use time (never a token or digest)."""
    click.echo(json.dumps(management.family_lineage(family_id), indent=2))
