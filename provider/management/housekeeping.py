"""Housekeeping and audit: purge what can never be used again, read security events."""

from __future__ import annotations

from .. import clock, denylist
from ..accounts import interactions, throttle
from ..database import lift_statement_deadline, writing
from ..extensions import db
from ..models import (
    AuditEvent,
    IssuedAccessToken,
    LoginSession,
    LogoutDelivery,
    RefreshToken,
    RefreshTokenFamily,
    User,
)
from ..oauth import codes
from .errors import ManagementError

RETENTION = 30 * 24 * 3600  # ended sessions, dead families and finished deliveries


@writing
def purge() -> dict[str, int]:
    """Remove what can never be used again; returns how many rows went, per kind."""
    lift_statement_deadline()
    now = clock.now()
    old = now - RETENTION
    counts = {
        "issued_access_tokens": db.session.execute(db.delete(IssuedAccessToken).where(
            IssuedAccessToken.expires_at <= now)).rowcount,
        "refresh_token_families": db.session.execute(db.delete(RefreshTokenFamily).where(
            (RefreshTokenFamily.expires_at <= now) | (RefreshTokenFamily.revoked_at <= old)
        )).rowcount,
        "refresh_tokens": db.session.execute(db.delete(RefreshToken).where(
            RefreshToken.family_id.not_in(db.select(RefreshTokenFamily.id)))).rowcount,
        "spent_interactions": interactions.purge_spent(),
        # after the families: a redeemed code stays while its family may be replayed
        "authorization_codes": codes.purge_expired(),
        "login_sessions": db.session.execute(db.delete(LoginSession).where(
            (LoginSession.expires_at <= old) | (LoginSession.ended_at <= old))).rowcount,
        "logout_deliveries": db.session.execute(db.delete(LogoutDelivery).where(
            LogoutDelivery.status != "pending", LogoutDelivery.created_at <= old)).rowcount,
        "login_throttles": throttle.purge_stale(),
    }
    db.session.commit()
    counts["denied_access_tokens"] = denylist.purge_expired()  # its own backend and commit
    return counts


def audit_events(*, username: str | None = None, client_id: str | None = None,
                 event: str | None = None, limit: int = 100) -> list[dict]:
    """Security events, newest first, filtered by user, client and event name."""
    query = db.select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit)
    if username is not None:
        user = db.session.scalar(db.select(User).where(User.username == username))
        if user is None:
            raise ManagementError(f"no user {username!r}")
        query = query.where(AuditEvent.user_id == user.id)
    if client_id is not None:
        query = query.where(AuditEvent.client_id == client_id)
    if event is not None:
        query = query.where(AuditEvent.event == event)
    return [{"id": e.id, "at": e.at, "event": e.event, "user_id": e.user_id,
             "client_id": e.client_id, "family_id": e.family_id, "ip": e.ip,
             "user_agent": e.user_agent, **({"details": e.details} if e.details else {})}
            for e in db.session.scalars(query)]
