"""What the provider stored, read back for assertions: a client's token family, the
families by client, the live sign-in sessions, an authorization code's row."""

from __future__ import annotations

from flask import Flask

from provider import digests
from provider.extensions import db
from provider.models import AuthorizationCode, LoginSession, RefreshTokenFamily


def family_of(app: Flask, rp: dict) -> RefreshTokenFamily:
    with app.app_context():
        return db.session.scalar(db.select(RefreshTokenFamily).where(
            RefreshTokenFamily.client_id == rp["client_id"]))


def families(app: Flask) -> dict[str, str | None]:
    """Each client's family, by client id, with its revocation reason."""
    with app.app_context():
        return {f.client_id: f.revoked_reason for f in db.session.scalars(
            db.select(RefreshTokenFamily))}


def live_sessions(app: Flask) -> int:
    with app.app_context():
        return db.session.scalar(db.select(db.func.count()).select_from(LoginSession).where(
            LoginSession.ended_at.is_(None)))


def code_state(app: Flask, code: str) -> dict:
    """The stored row of ``code``, as plain values."""
    with app.app_context():
        row = db.session.scalar(db.select(AuthorizationCode).where(
            AuthorizationCode.code_digest == digests.digest(code)))
        assert row is not None
        return {"consumed_at": row.consumed_at, "issued_access_jti": row.issued_access_jti,
                "client_id": row.client_id}
