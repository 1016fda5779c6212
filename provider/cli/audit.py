"""``provider audit``: security events, newest first."""

from __future__ import annotations

import json

import click

from .. import management
from .operator_command import operator_command


@click.command()
@click.option("--user", "username", help="Only events of this username.")
@click.option("--client", "client_id", help="Only events of this client id.")
@click.option("--event", help="Only this event, e.g. refresh_token_reuse.")
@click.option("--limit", type=click.IntRange(1, 100000), default=100, show_default=True)
@operator_command()
def audit(username: str | None, client_id: str | None, event: str | None, limit: int) -> None:
    """Security events, newest first (JSON lines)."""
    for row in management.audit_events(username=username, client_id=client_id, event=event,
                                       limit=limit):
        click.echo(json.dumps(row))
