"""Commands for the instance as a whole: init, check, serve, purge."""

from __future__ import annotations

import json
import sys

import click
from flask import current_app

from .. import config as provider_config
from .. import management, metrics
from .operator_command import build_app, close_connections, operator_command


@click.command()
@click.option("--seed-demo", is_flag=True, help="Seed a demo user and clients into an empty "
              "database (never under an https issuer).")
@operator_command(app_context=False)
def init(seed_demo: bool) -> None:
    """Create or upgrade the schema, instance secrets and signing keys (idempotent)."""
    instance = provider_config.instance_path()
    created = provider_config.create_instance_secrets(instance, (provider_config.SECRET_KEY_FILE,))
    uninitialised = build_app(allow_uninitialised=True)
    with uninitialised.app_context():
        try:  # its connections close either way: it checked the key-encryption key too
            if provider_config.read_instance_secrets(uninitialised.config, instance) is None:
                if management.stored_key_count():
                    raise management.ManagementError(
                        "signing keys exist but the key-encryption key is missing: restore "
                        f"{instance / provider_config.KEK_FILE} or set "
                        "PROVIDER_KEY_ENCRYPTION_KEY; a new one would not open them")
                created += provider_config.create_instance_secrets(
                    instance, (provider_config.KEK_FILE,))
        finally:
            close_connections()
    for name in created:
        click.echo(f"created {instance / name} (mode 0600)")
    with build_app().app_context():
        try:
            for line in management.initialise(seed_demo=seed_demo):
                click.echo(line)
        finally:
            close_connections()


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=None, help="Default: $PORT or 5000.")
@click.option("--workers", type=click.IntRange(1, 64), default=2, show_default=True)
@operator_command(app_context=False)
def serve(host: str, port: int | None, workers: int) -> None:
    """Serve with granian (a production HTTP server): WORKERS processes."""
    from ..serving import serve as run_server

    app = build_app()
    with metrics.worker_directory():  # the workers' counts are summed there, this run only
        run_server(app, host=host, port=port or int(app.config["PORT"]), workers=workers)


@click.command()
@operator_command(allow_uninitialised=True, refuse_unsafe=False)
def check() -> None:
    """List every unsafe setting and deviation from RFC 9700; exit 1 on errors."""
    findings = management.check(current_app._get_current_object())
    for finding in findings:
        click.echo(str(finding))
    if not findings:
        click.echo("ok: no unsafe settings found")
    if any(f.severity == "error" for f in findings):
        sys.exit(1)


@click.command()
@operator_command()
def purge() -> None:
    """Remove expired codes, tokens, sessions and deny-list entries (the server also
    does this hourly in the background)."""
    click.echo(json.dumps(management.purge()))
