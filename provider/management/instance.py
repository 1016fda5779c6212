"""The instance as a whole: initialise schema and keys, check settings, count keys."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

import flask_migrate
from flask import Flask, current_app
from sqlalchemy import text

from ..config import Finding, is_loopback_host, unsafe_settings
from ..database import MIGRATIONS, advisory_lock_key
from ..extensions import db
from ..keys.lifecycle import ensure_signing_keys, key_transaction
from ..models import Client, SigningKey
from .demo import seed_demo_data


def initialise(seed_demo: bool = False) -> list[str]:
    """Upgrade the schema, ensure signing keys, optionally seed the demo."""
    lines = []
    with _one_upgrade_at_a_time():
        flask_migrate.upgrade(directory=str(MIGRATIONS))
    lines.append(f"database ready: {_safe_url(current_app.config['DATABASE_URL'])}")
    with key_transaction():  # a concurrent `provider init` waits, then creates nothing
        created = ensure_signing_keys()
    for key in created:
        lines.append(f"created signing key {key.kid} ({key.alg})")
    if seed_demo:
        lines.extend(seed_demo_data())
    return lines


@contextmanager
def _one_upgrade_at_a_time() -> Iterator[None]:
    """On PostgreSQL, one schema upgrade at a time across processes.

    Two ``provider init`` at once (one per container) would otherwise both find the
    same revision and both run its migration: one fails on the other's tables. The
    lock is session-level, on a connection of its own held around the upgrade,
    because Alembic runs and commits on its own connection, where a transaction's
    lock (``database.serialise``) could not span it. It is taken in a transaction
    that lifts the statement and lock deadlines (the wait lasts as long as the other
    upgrade) and is committed at once, so the connection then idles outside any
    transaction, where ``idle_in_transaction_session_timeout`` cannot end it, and the
    lock, mid-upgrade. It is released before the connection goes back to the pool.
    Nothing is done on SQLite, whose deployments are one host and one file.
    """
    if db.engine.dialect.name != "postgresql":
        yield
        return
    key = {"key": advisory_lock_key("schema-upgrade")}
    with db.engine.connect() as connection:
        connection.execute(text("SET LOCAL statement_timeout = 0"))
        connection.execute(text("SET LOCAL lock_timeout = 0"))
        connection.execute(text("SELECT pg_advisory_lock(:key)"), key)
        connection.commit()
        try:
            yield
        finally:
            connection.execute(text("SELECT pg_advisory_unlock(:key)"), key)
            connection.commit()


def _safe_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.password:
        return url.replace(f":{parts.password}@", ":***@")
    return url


def check(app: Flask) -> list[Finding]:
    findings = unsafe_settings(app.config)
    if app.config.get("PROVIDER_KEK") is None:
        findings.append(Finding("error", "instance", "not initialised: run `provider init`"))
        return findings
    for client in db.session.scalars(db.select(Client).where(Client.disabled.is_(False))):
        for uri in client.redirect_uris:
            parts = urlsplit(uri)
            if parts.scheme == "http" and not is_loopback_host(parts.hostname):
                findings.append(Finding("warning", f"client {client.client_id}",
                                        f"redirect URI {uri} is plain http (RFC 9700 §2.6)"))
    return findings


def stored_key_count() -> int:
    """Signing keys in the database; 0 before the schema exists."""
    if not db.inspect(db.engine).has_table(SigningKey.__tablename__):
        return 0
    return db.session.scalar(db.select(db.func.count()).select_from(SigningKey)) or 0
