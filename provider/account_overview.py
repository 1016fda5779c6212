"""The signed-in user's own view of what can act on their account, and what they
can do about it: end a provider session, revoke an application's refresh tokens,
withdraw a remembered consent.

It sits beside ``management`` (the operator's actions) rather than in
``accounts``, because it ends sessions and families through ``oauth.logout`` and
``oauth.refresh_tokens``, and imports only point down. Every action takes the
acting user and touches only that user's rows: anything else is ``NotFound``
and changes nothing. Actions run in the caller's transaction and are audited.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import case, func

from . import audit, clock
from .extensions import db
from .models import Client, Consent, LoginSession, RefreshToken, RefreshTokenFamily, User
from .oauth.logout import end_login_session
from .oauth.refresh_tokens import revoke_families
from .oauth.scopes import describe

MAX_ID_LENGTH = 64  # sid and client_id columns


class NotFound(LookupError):
    """Not one of this user's sessions, applications or consents (or already gone)."""


@dataclass(frozen=True)
class ActiveSession:
    sid: str
    started_at: int
    expires_at: int
    ip: str | None
    user_agent: str | None
    current: bool


@dataclass(frozen=True)
class Grant:
    """One live refresh-token family: one sign-in of the application."""

    granted_at: int
    last_used_at: int
    offline: bool
    scope: list[str]
    ip: str | None
    user_agent: str | None


@dataclass(frozen=True)
class Application:
    client_id: str
    name: str
    grants: list[Grant]


@dataclass(frozen=True)
class RememberedConsent:
    client_id: str
    name: str
    scopes: list[tuple[str, str]]  # (scope, description in plain words)
    granted_at: int


@dataclass(frozen=True)
class Overview:
    sessions: list[ActiveSession]
    applications: list[Application]
    consents: list[RememberedConsent]


# --- reading -------------------------------------------------------------------------


def overview(user: User, current_sid: str | None) -> Overview:
    now = clock.now()
    sessions = active_sessions(user, current_sid, now)
    return Overview(sessions=sessions,
                    applications=applications(user, {s.sid for s in sessions}, now),
                    consents=consents(user))


def active_sessions(user: User, current_sid: str | None, now: int) -> list[ActiveSession]:
    """Provider sessions neither ended nor expired: this browser's first, then newest."""
    rows = db.session.scalars(db.select(LoginSession).where(
        LoginSession.user_id == user.id, LoginSession.ended_at.is_(None),
        LoginSession.expires_at > now).order_by(LoginSession.auth_time.desc()))
    found = [ActiveSession(sid=row.sid, started_at=row.auth_time, expires_at=row.expires_at,
                           ip=row.ip, user_agent=row.user_agent, current=row.sid == current_sid)
             for row in rows]
    return sorted(found, key=lambda s: not s.current)  # stable: keeps newest first


def applications(user: User, live_sids: set[str], now: int) -> list[Application]:
    """Applications holding refresh tokens that still work, by name.

    A family counts while it is neither revoked nor past its absolute expiry, has a
    token that has not idled out, and, unless it is ``offline_access``, its session
    is still live: a family that can no longer mint a token holds nothing.
    """
    rows = db.session.execute(
        db.select(RefreshTokenFamily, Client.name)
        .join(Client, Client.client_id == RefreshTokenFamily.client_id)
        .where(RefreshTokenFamily.user_id == user.id, RefreshTokenFamily.revoked_at.is_(None),
               RefreshTokenFamily.expires_at > now)).all()
    families = [(family, name) for family, name in rows
                if family.offline or family.sid in live_sids]
    usage = _token_usage([family.id for family, _ in families])
    grouped: dict[str, Application] = {}
    for family, name in families:
        last_issued, usable_until = usage.get(family.id, (None, None))
        if usable_until is None or usable_until <= now:
            continue
        app = grouped.setdefault(family.client_id, Application(family.client_id, name, []))
        app.grants.append(Grant(granted_at=family.created_at, last_used_at=last_issued,
                                offline=family.offline, scope=family.scope.split(),
                                ip=family.ip, user_agent=family.user_agent))
    for app in grouped.values():
        app.grants.sort(key=lambda g: g.last_used_at, reverse=True)
    return sorted(grouped.values(), key=lambda a: (a.name.casefold(), a.client_id))


def _token_usage(family_ids: list[str]) -> dict[str, tuple[int, int | None]]:
    """Per family: the newest token's ``issued_at`` (its last use, as every use
    rotates), and the latest expiry of a token not yet used."""
    if not family_ids:
        return {}
    unused_expiry = case((RefreshToken.consumed_at.is_(None), RefreshToken.expires_at))
    rows = db.session.execute(
        db.select(RefreshToken.family_id, func.max(RefreshToken.issued_at),
                  func.max(unused_expiry))
        .where(RefreshToken.family_id.in_(family_ids))
        .group_by(RefreshToken.family_id)).all()
    return {family_id: (issued, expiry) for family_id, issued, expiry in rows}


def consents(user: User) -> list[RememberedConsent]:
    rows = db.session.execute(
        db.select(Consent, Client.name)
        .join(Client, Client.client_id == Consent.client_id)
        .where(Consent.user_id == user.id)
        .order_by(func.lower(Client.name), Client.client_id)).all()
    return [RememberedConsent(client_id=consent.client_id, name=name,
                              scopes=describe(consent.scope), granted_at=consent.granted_at)
            for consent, name in rows]


# --- acting --------------------------------------------------------------------------


def end_session(user: User, sid: str) -> None:
    """End one of the user's sessions and what is bound to it, as a logout does."""
    login = db.session.get(LoginSession, sid) if _plausible(sid) else None
    if login is None or login.user_id != user.id or login.ended_at is not None:
        raise NotFound("no such session")
    result = end_login_session(login, reason="user_ended_session")
    if result.ended:  # of two concurrent ends, the one that ended it records it
        audit.record("session_ended_by_user", user_id=user.id, sid=login.sid,
                     families_revoked=result.families_revoked,
                     access_tokens_denied=result.access_tokens_denied)


def revoke_application(user: User, client_id: str) -> int:
    """Revoke every refresh-token family the user granted this client."""
    revoked = 0
    if _plausible(client_id):
        revoked = revoke_families("user_revoked", user_id=user.id, client_id=client_id)
    if revoked == 0:
        raise NotFound("this application holds no tokens for you")
    audit.record("tokens_revoked_by_user", user_id=user.id, client_id=client_id,
                 families_revoked=revoked)
    return revoked


def withdraw_consent(user: User, client_id: str) -> int:
    """Forget the consent (the next authorization asks again) and revoke the
    client's families for this user, which that consent let it obtain."""
    consent = None
    if _plausible(client_id):
        consent = db.session.scalar(db.select(Consent).where(
            Consent.user_id == user.id, Consent.client_id == client_id))
    if consent is None:
        raise NotFound("no such consent")
    scope = consent.scope
    db.session.delete(consent)
    revoked = revoke_families("consent_withdrawn", user_id=user.id, client_id=client_id)
    audit.record("consent_withdrawn", user_id=user.id, client_id=client_id, scope=scope,
                 families_revoked=revoked)
    return revoked


def _plausible(identifier: object) -> bool:
    return isinstance(identifier, str) and 0 < len(identifier) <= MAX_ID_LENGTH
