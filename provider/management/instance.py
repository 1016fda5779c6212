"""The instance as a whole: initialise schema and keys, check settings, count keys."""

from __future__ import annotations

from urllib.parse import urlsplit

import flask_migrate
from flask import Flask, current_app

from ..config import Finding, is_loopback_host, unsafe_settings
from ..database import MIGRATIONS, begin_write
from ..extensions import db
from ..keys.lifecycle import ensure_signing_keys
from ..models import Client, SigningKey
from .demo import seed_demo_data


def initialise(seed_demo: bool = False) -> list[str]:
    """Upgrade the schema, ensure signing keys, optionally seed the demo."""
    lines = []
    flask_migrate.upgrade(directory=str(MIGRATIONS))
    lines.append(f"database ready: {_safe_url(current_app.config['DATABASE_URL'])}")
    begin_write()
    created = ensure_signing_keys()
    db.session.commit()
    for key in created:
        lines.append(f"created signing key {key.kid} ({key.alg})")
    if seed_demo:
        lines.extend(seed_demo_data())
    return lines


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
