"""``provider db copy``: the whole installation into another, empty database."""

from __future__ import annotations

import os

import click
from flask import current_app

from ..config import ConfigurationError
from ..config.database import normalise_database_url
from ..management.database_copy import copy_database, display_url
from .operator_command import CommandError, build_app, close_connections, operator_command

# The target comes from the environment, never an argument: ps and shell history would
# keep its password. It is the input of one command, not a setting of the provider, so
# it is read here rather than in provider/config/.
TARGET_VARIABLE = "PROVIDER_COPY_TARGET_URL"
URL_SPELLINGS = "sqlite:///PATH or postgresql://USER:PASSWORD@HOST/NAME"


@click.group("db")
def db() -> None:
    """The database as a whole."""


@db.command("copy")
@operator_command(app_context=False)
def copy() -> None:
    """Copy everything into the empty database at $PROVIDER_COPY_TARGET_URL.

    Stop every server first. The target is migrated, then given every row of the
    configured database (DATABASE_URL) in one transaction, leases excepted; a
    target that holds anything is refused. Redis state is not copied.
    """
    target_url = _target_url()
    with build_app().app_context():
        try:
            source = display_url(current_app.config["DATABASE_URL"])
            click.echo(f"copying {source} to {display_url(target_url)}")
            report = copy_database(target_url)
        finally:
            close_connections()
    width = max(len(name) for name in [*(name for name, _ in report.tables), *report.dropped])
    click.echo(f"{'table':<{width}}  {'rows':>8}")
    for name, rows in report.tables:
        click.echo(f"{name:<{width}}  {rows:>8}")
    for name in report.dropped:
        click.echo(f"{name:<{width}}  {'dropped':>8}  (the target's servers take their own)")
    click.echo(f"copied {sum(rows for _, rows in report.tables)} rows, row counts verified; "
               f"the target is at schema revision {report.revision}")
    click.echo(f"next: set DATABASE_URL to the target's URL (as in {TARGET_VARIABLE}), run "
               "`provider init` (it finds nothing to do), then start the servers")
    click.echo("not copied: Redis state (deny-list entries and counters kept in Redis "
               "when REDIS_URL is set) stays where it is")


def _target_url() -> str:
    """The target's SQLAlchemy URL from the environment, in DATABASE_URL's spellings."""
    raw = os.environ.get(TARGET_VARIABLE, "").strip()
    if not raw:
        raise CommandError(f"{TARGET_VARIABLE} is not set: export the target database's "
                           f"URL ({URL_SPELLINGS}) in it")
    try:
        return normalise_database_url(raw)
    except ConfigurationError:  # its message names DATABASE_URL, and never the value
        raise CommandError(f"{TARGET_VARIABLE} is not a database URL ({URL_SPELLINGS})"
                           ) from None
