"""The ``provider`` command (``provider.cli:main``): one module per command group."""

from __future__ import annotations

import click

from . import audit, clients, database, instance, keys, outbox, tokens, users


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Run and manage the OpenID Connect provider."""


main.add_command(instance.init)
main.add_command(instance.serve)
main.add_command(instance.check)
main.add_command(instance.purge)
main.add_command(users.users)
main.add_command(clients.clients)
main.add_command(keys.keys)
main.add_command(tokens.token)
main.add_command(tokens.families)
main.add_command(audit.audit)
main.add_command(outbox.logout)
main.add_command(database.db)

__all__ = ["main"]
