"""``provider logout deliveries``: the back-channel logout outbox, delivery by delivery."""

from __future__ import annotations

import json

import click

from .. import management
from .operator_command import operator_command


@click.group()
def logout() -> None:
    """Back-channel logout deliveries."""


@logout.command("deliveries")
@click.option("--status", type=click.Choice(["pending", "delivered", "failed"]))
@click.option("--limit", type=click.IntRange(1, 10000), default=100, show_default=True)
@operator_command()
def logout_deliveries(status: str | None, limit: int) -> None:
    """Each delivery's status, attempts and last error, newest first (JSON lines)."""
    for row in management.list_logout_deliveries(status, limit):
        click.echo(json.dumps(row))
