"""``provider clients``: register OAuth clients, rotate their secrets, disable them."""

from __future__ import annotations

import json
from typing import Any

import click

from .. import management
from .operator_command import operator_command


@click.group()
def clients() -> None:
    """Manage OAuth clients."""


@clients.command("create")
@click.option("--name", required=True)
@click.option("--redirect-uri", "redirect_uris", multiple=True, required=True)
@click.option("--public", is_flag=True, help="A public client (no secret, PKCE mandatory).")
@click.option("--scope", default="openid profile email offline_access", show_default=True)
@click.option("--grant-type", "grant_types", multiple=True)
@click.option("--auth-method")
@click.option("--post-logout-redirect-uri", "post_logout_redirect_uris", multiple=True)
@click.option("--trusted", is_flag=True, help="First-party client: consent is skipped.")
@click.option("--id-token-alg", help="id_token_signed_response_alg (default RS256).")
@click.option("--backchannel-logout-uri", help="Where logout tokens are POSTed at logout.")
@click.option("--backchannel-logout-session-required", is_flag=True,
              help="The client needs sid in logout tokens (it is always sent).")
@operator_command()
def clients_create(**options: Any) -> None:
    """Register a client; prints its client_id (and client_secret, once)."""
    click.echo(json.dumps(management.create_client(**options)))


@clients.command("rotate-secret")
@click.argument("client_id")
@operator_command()
def clients_rotate_secret(client_id: str) -> None:
    """Replace a confidential client's secret; prints the new one, once."""
    secret = management.rotate_client_secret(client_id)
    click.echo(json.dumps({"client_id": client_id, "client_secret": secret}))


@clients.command("disable")
@click.argument("client_id")
@operator_command()
def clients_disable(client_id: str) -> None:
    """Disable a client: no authorizations, no token requests."""
    management.disable_client(client_id)
    click.echo(f"disabled {client_id}")
