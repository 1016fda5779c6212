"""``provider keys``: list, rotate, revoke and re-encrypt signing keys."""

from __future__ import annotations

import json

import click

from .. import management
from .operator_command import operator_command


@click.group()
def keys() -> None:
    """Inspect and rotate signing keys."""


@keys.command("rotate")
@click.option("--force", is_flag=True, help="Promote next keys even if published too briefly; "
              "relying parties with a cached JWKS then reject the new tokens until it expires.")
@operator_command()
def keys_rotate(force: bool) -> None:
    """Promote each next key once published longer than the JWKS max-age."""
    for line in management.rotate_keys(force):
        click.echo(line)


@keys.command("revoke")
@click.argument("kid")
@operator_command()
def keys_revoke(kid: str) -> None:
    """Emergency: remove a key from the JWKS at once (its tokens stop verifying)."""
    for line in management.revoke_signing_key(kid):
        click.echo(line)


@keys.command("rewrap")
@operator_command()
def keys_rewrap() -> None:
    """Re-encrypt every stored private key under the current key-encryption key."""
    count = management.rewrap_signing_keys()
    click.echo(f"re-encrypted {count} signing keys under the current key-encryption key")


@keys.command("list")
@operator_command()
def keys_list() -> None:
    """List signing keys (public facts only: kid, algorithm, state, dates)."""
    for row in management.list_keys():
        click.echo(json.dumps(row))
