"""``provider users``: create, disable, enable and unlock end users."""

from __future__ import annotations

import json
import sys

import click

from .. import management
from .operator_command import operator_command


@click.group()
def users() -> None:
    """Manage end users."""


@users.command("create")
@click.argument("username")
@click.option("--password-stdin", is_flag=True, required=True,
              help="Read the password from standard input.")
@click.option("--email")
@click.option("--name")
@click.option("--role", "roles", multiple=True)
@operator_command()
def users_create(username: str, password_stdin: bool, email: str | None, name: str | None,
                 roles: tuple[str, ...]) -> None:
    """Create a user; the password is read from stdin."""
    password = sys.stdin.readline().rstrip("\r\n")
    user = management.create_user(username, password, email=email, name=name, roles=list(roles))
    click.echo(json.dumps({"username": user.username, "sub": user.id}))


@users.command("disable")
@click.argument("username")
@operator_command()
def users_disable(username: str) -> None:
    """Disable a user: no logins, no tokens, existing tokens refused."""
    management.set_user_disabled(username, True)
    click.echo(f"disabled {username}")


@users.command("enable")
@click.argument("username")
@operator_command()
def users_enable(username: str) -> None:
    """Enable a disabled user."""
    management.set_user_disabled(username, False)
    click.echo(f"enabled {username}")


@users.command("unlock")
@click.argument("username")
@operator_command()
def users_unlock(username: str) -> None:
    """Clear a user's login throttle (the back-off after failed sign-ins) at once."""
    management.unlock_user(username)
    click.echo(f"unlocked {username}")
