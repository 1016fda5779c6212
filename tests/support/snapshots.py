"""Database states for tests: the template instance every test copies (initialised
once per run), and snapshots of what is stored, to show that a refused or no-op
request changed nothing."""

from __future__ import annotations

import shutil
from pathlib import Path

from flask import Flask
from sqlalchemy import func

from provider import create_app, management
from provider.config import create_instance_secrets
from provider.extensions import db
from provider.models import (
    AuthorizationCode,
    Client,
    Consent,
    DeniedAccessToken,
    LoginSession,
    RefreshToken,
    RefreshTokenFamily,
    User,
)
from tests.support.settings import CHEAP_HASHING

# the tables a refused authorization, token, UserInfo or form request could change
REFUSABLE_MODELS = (AuthorizationCode, Client, Consent, DeniedAccessToken, LoginSession, User)


def make_template_instance(path: Path) -> Path:
    """Initialise an instance in ``path``: secrets, schema, signing keys."""
    create_instance_secrets(path)
    app = create_app({"PROVIDER_INSTANCE_PATH": str(path), **CHEAP_HASHING})
    with app.app_context():
        management.initialise()
        db.engine.dispose()
    return path


def make_template_database(instance: Path, url: str) -> None:
    """Initialise the database at ``url`` for the instance in ``instance``: schema and
    signing keys, encrypted with that instance's key-encryption key."""
    app = create_app({"PROVIDER_INSTANCE_PATH": str(instance), "DATABASE_URL": url,
                      **CHEAP_HASHING})
    with app.app_context():
        management.initialise()
        db.engine.dispose()


def copy_template_instance(template: Path, path: Path) -> Path:
    shutil.copytree(template, path)
    return path


def snapshot(app: Flask) -> dict:
    """Row counts of every table, plus the revoked families and used refresh tokens
    (updates that counts alone would miss)."""
    with app.app_context():
        counts = {table.name: db.session.execute(
            db.select(db.func.count()).select_from(table)).scalar_one()
            for table in db.metadata.sorted_tables}
        counts["revoked families"] = db.session.scalar(db.select(db.func.count()).where(
            RefreshTokenFamily.revoked_at.is_not(None)))
        counts["used refresh tokens"] = db.session.scalar(db.select(db.func.count()).where(
            RefreshToken.consumed_at.is_not(None)))
    return counts


def refusal_snapshot(app: Flask) -> dict:
    """Row counts of every table that a request could change, plus consumed codes
    (not audit events or sign-in throttle counters, which a refusal may write)."""
    with app.app_context():
        counts = {model.__tablename__: db.session.scalar(
            db.select(func.count()).select_from(model)) for model in REFUSABLE_MODELS}
        counts["consumed_codes"] = db.session.scalar(
            db.select(func.count()).select_from(AuthorizationCode)
            .where(AuthorizationCode.consumed_at.is_not(None)))
        counts["disabled_users"] = db.session.scalar(
            db.select(func.count()).select_from(User).where(User.disabled.is_(True)))
        counts["disabled_clients"] = db.session.scalar(
            db.select(func.count()).select_from(Client).where(Client.disabled.is_(True)))
    return counts
