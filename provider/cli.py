"""The ``provider`` command: init, serve, check, users, clients, keys.

Bad input ends in one line on stderr and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from functools import wraps
from typing import Any

import click
from flask import Flask

from . import config as provider_config
from .keys.encryption import KeyDecryptionError


class CommandError(click.ClickException):
    def show(self, file=None) -> None:
        click.echo(f"provider: {self.message}", err=True)


def _app(allow_uninitialised: bool = False, refuse_unsafe: bool = True) -> Flask:
    from . import create_app

    return create_app(allow_uninitialised=allow_uninitialised, refuse_unsafe=refuse_unsafe)


def handles_errors(command: Callable[..., Any]) -> Callable[..., Any]:
    """Turn expected failures into a one-line message and exit status 1."""

    @wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from .management import ManagementError

        try:
            return command(*args, **kwargs)
        except (provider_config.ConfigurationError, ManagementError, KeyDecryptionError) as exc:
            raise CommandError(str(exc)) from None
        except Exception as exc:  # the database or the file system said no
            raise CommandError(f"{type(exc).__name__}: {str(exc).splitlines()[0]}") from None

    return wrapper


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Run and manage the OpenID Connect provider."""


@main.command()
@click.option("--seed-demo", is_flag=True, help="Seed a demo user and clients into an empty "
              "database (never under an https issuer).")
@handles_errors
def init(seed_demo: bool) -> None:
    """Create or upgrade the schema, instance secrets and signing keys (idempotent)."""
    from . import management

    instance = provider_config.instance_path()
    created = provider_config.create_instance_secrets(instance, (provider_config.SECRET_KEY_FILE,))
    if provider_config.read_instance_secrets(_app(allow_uninitialised=True).config,
                                             instance) is None:
        with _app(allow_uninitialised=True).app_context():
            if management.stored_key_count():
                raise management.ManagementError(
                    "signing keys exist but the key-encryption key is missing: restore "
                    f"{instance / provider_config.KEK_FILE} or set PROVIDER_KEY_ENCRYPTION_KEY; "
                    "a new one would not open them")
        created += provider_config.create_instance_secrets(instance, (provider_config.KEK_FILE,))
    for name in created:
        click.echo(f"created {instance / name} (mode 0600)")
    app = _app()
    with app.app_context():
        for line in management.initialise(seed_demo=seed_demo):
            click.echo(line)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=None, help="Default: $PORT or 5000.")
@click.option("--workers", type=click.IntRange(1, 64), default=2, show_default=True)
@click.option("--threads", type=click.IntRange(1, 64), default=8, show_default=True,
              help="Request threads per worker process (past 10 they queue for the "
                   "database connection pool).")
@handles_errors
def serve(host: str, port: int | None, workers: int, threads: int) -> None:
    """Serve with gunicorn (a production WSGI server): WORKERS processes of THREADS threads."""
    from .serving import serve as run_server

    app = _app()
    run_server(app, host=host, port=port or int(app.config["PORT"]), workers=workers,
               threads=threads)


@main.command()
@handles_errors
def check() -> None:
    """List every unsafe setting and deviation from RFC 9700; exit 1 on errors."""
    from . import management

    app = _app(allow_uninitialised=True, refuse_unsafe=False)
    with app.app_context():
        findings = management.check(app)
    for finding in findings:
        click.echo(str(finding))
    if not findings:
        click.echo("ok: no unsafe settings found")
    if any(f.severity == "error" for f in findings):
        sys.exit(1)


@main.group()
def users() -> None:
    """Manage end users."""


@users.command("create")
@click.argument("username")
@click.option("--password-stdin", is_flag=True, required=True,
              help="Read the password from standard input.")
@click.option("--email")
@click.option("--name")
@click.option("--role", "roles", multiple=True)
@handles_errors
def users_create(username: str, password_stdin: bool, email: str | None, name: str | None,
                 roles: tuple[str, ...]) -> None:
    """Create a user; the password is read from stdin."""
    from . import management

    password = sys.stdin.readline().rstrip("\r\n")
    app = _app()
    with app.app_context():
        user = management.create_user(username, password, email=email, name=name,
                                      roles=list(roles))
        click.echo(json.dumps({"username": user.username, "sub": user.id}))


@users.command("disable")
@click.argument("username")
@handles_errors
def users_disable(username: str) -> None:
    """Disable a user: no logins, no tokens, existing tokens refused."""
    from . import management

    with _app().app_context():
        management.set_user_disabled(username, True)
    click.echo(f"disabled {username}")


@users.command("enable")
@click.argument("username")
@handles_errors
def users_enable(username: str) -> None:
    """Enable a disabled user."""
    from . import management

    with _app().app_context():
        management.set_user_disabled(username, False)
    click.echo(f"enabled {username}")


@users.command("unlock")
@click.argument("username")
@handles_errors
def users_unlock(username: str) -> None:
    """Clear a user's login throttle (the back-off after failed sign-ins) at once."""
    from . import management

    with _app().app_context():
        management.unlock_user(username)
    click.echo(f"unlocked {username}")


@main.group()
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
@handles_errors
def clients_create(**options: Any) -> None:
    """Register a client; prints its client_id (and client_secret, once)."""
    from . import management

    with _app().app_context():
        created = management.create_client(**options)
    click.echo(json.dumps(created))


@clients.command("rotate-secret")
@click.argument("client_id")
@handles_errors
def clients_rotate_secret(client_id: str) -> None:
    """Replace a confidential client's secret; prints the new one, once."""
    from . import management

    with _app().app_context():
        secret = management.rotate_client_secret(client_id)
    click.echo(json.dumps({"client_id": client_id, "client_secret": secret}))


@clients.command("disable")
@click.argument("client_id")
@handles_errors
def clients_disable(client_id: str) -> None:
    """Disable a client: no authorizations, no token requests."""
    from . import management

    with _app().app_context():
        management.disable_client(client_id)
    click.echo(f"disabled {client_id}")


@main.command()
@handles_errors
def purge() -> None:
    """Remove expired codes, tokens, sessions and deny-list entries (the server also
    does this hourly in the background)."""
    from . import management

    with _app().app_context():
        counts = management.purge()
    click.echo(json.dumps(counts))


@main.command()
@click.option("--user", "username", help="Only events of this username.")
@click.option("--client", "client_id", help="Only events of this client id.")
@click.option("--event", help="Only this event, e.g. refresh_token_reuse.")
@click.option("--limit", type=click.IntRange(1, 100000), default=100, show_default=True)
@handles_errors
def audit(username: str | None, client_id: str | None, event: str | None, limit: int) -> None:
    """Security events, newest first (JSON lines)."""
    from . import management

    with _app().app_context():
        for row in management.audit_events(username=username, client_id=client_id,
                                           event=event, limit=limit):
            click.echo(json.dumps(row))


@main.group()
def logout() -> None:
    """Back-channel logout deliveries."""


@logout.command("deliveries")
@click.option("--status", type=click.Choice(["pending", "delivered", "failed"]))
@click.option("--limit", type=click.IntRange(1, 10000), default=100, show_default=True)
@handles_errors
def logout_deliveries(status: str | None, limit: int) -> None:
    """Each delivery's status, attempts and last error, newest first (JSON lines)."""
    from . import management

    with _app().app_context():
        for row in management.list_logout_deliveries(status, limit):
            click.echo(json.dumps(row))


@main.group()
def families() -> None:
    """Inspect refresh-token families."""


@families.command("show")
@click.argument("family_id")
@handles_errors
def families_show(family_id: str) -> None:
    """A family's lineage: each token's issue and use time (never a token or digest)."""
    from . import management

    with _app().app_context():
        lineage = management.family_lineage(family_id)
    click.echo(json.dumps(lineage, indent=2))


@main.group()
def token() -> None:
    """Inspect tokens (the /debug page does the same in a browser)."""


class TokenUsageError(click.UsageError):
    def show(self, file=None) -> None:
        click.echo(f"provider: {self.message}", err=True)


MAX_TOKEN_INPUT = 65536


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
        raise TokenUsageError("no token given: pass TOKEN or pipe it on stdin")
    if len(value.strip()) > MAX_TOKEN_INPUT:
        raise TokenUsageError(f"the token is longer than {MAX_TOKEN_INPUT} characters")
    sys.exit(0 if _inspect_token(value, as_json) else 1)


@handles_errors
def _inspect_token(value: str, as_json: bool) -> bool:
    from . import clock
    from .oauth.inspection import inspect_token, render_text

    with _app().app_context():
        verdict = inspect_token(value)
        text = json.dumps(verdict.as_dict(), indent=2) if as_json else render_text(
            verdict, clock.now())
    click.echo(text)
    return verdict.valid


@main.group()
def keys() -> None:
    """Inspect and rotate signing keys."""


@keys.command("rotate")
@click.option("--force", is_flag=True, help="Promote next keys even if published too briefly; "
              "relying parties with a cached JWKS then reject the new tokens until it expires.")
@handles_errors
def keys_rotate(force: bool) -> None:
    """Promote each next key once published longer than the JWKS max-age."""
    from . import management

    with _app().app_context():
        for line in management.rotate_keys(force):
            click.echo(line)


@keys.command("revoke")
@click.argument("kid")
@handles_errors
def keys_revoke(kid: str) -> None:
    """Emergency: remove a key from the JWKS at once (its tokens stop verifying)."""
    from . import management

    with _app().app_context():
        for line in management.revoke_signing_key(kid):
            click.echo(line)


@keys.command("rewrap")
@handles_errors
def keys_rewrap() -> None:
    """Re-encrypt every stored private key under the current key-encryption key."""
    from . import management

    with _app().app_context():
        count = management.rewrap_signing_keys()
    click.echo(f"re-encrypted {count} signing keys under the current key-encryption key")


@keys.command("list")
@handles_errors
def keys_list() -> None:
    """List signing keys (public facts only: kid, algorithm, state, dates)."""
    from . import management

    with _app().app_context():
        for row in management.list_keys():
            click.echo(json.dumps(row))
