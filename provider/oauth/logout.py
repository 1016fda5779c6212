"""Ending a provider session (OIDC RP-Initiated Logout 1.0 §2-§3, Back-Channel
Logout 1.0 §2.7): what a logout revokes and whom it tells.

Families bound to the session end with it; the initiating client's
``offline_access`` families end too; other clients' offline families survive
unless ``PROVIDER_LOGOUT_REVOKES_OFFLINE``. With
``PROVIDER_LOGOUT_DENYLISTS_ACCESS_TOKENS`` (on by default) the session's
access tokens still alive go on the deny-list. Every client of the session
that registered a back-channel logout URI gets an outbox entry, delivered in
the background so the user's response never waits on a relying party.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from joserfc import jwt
from joserfc.errors import JoseError
from sqlalchemy.exc import IntegrityError

from .. import audit, clock, denylist
from ..extensions import db
from ..keys import SUPPORTED_ALGORITHMS, key_ring
from ..models import (
    AuthorizationCode,
    Client,
    IssuedAccessToken,
    LoginSession,
    LogoutDelivery,
    RefreshTokenFamily,
)
from .refresh_tokens import revoke_family


@dataclass(frozen=True)
class LogoutResult:
    sid: str
    families_revoked: int
    access_tokens_denied: int
    backchannel_clients: list[str]
    ended: bool = True  # False: a concurrent end of the same session came first


def end_login_session(login: LoginSession, initiating_client_id: str | None = None,
                      reason: str = "logout") -> LogoutResult:
    """End ``login`` and everything bound to it, in the caller's transaction.

    Of concurrent ends of one session only the one that ended it records the
    logout; the others still revoke and deny what they find (nothing, or what their
    initiating client adds), which repeats nothing.
    """
    now = clock.now()
    ended = _end(login, now)
    revoked = _revoke_session_families(login, initiating_client_id, reason)
    denied = _deny_session_access_tokens(login.sid, now, reason)
    notified = _enqueue_backchannel(login, now)
    if ended:
        audit.record("logout", user_id=login.user_id, client_id=initiating_client_id,
                     sid=login.sid, reason=reason, families_revoked=revoked,
                     access_tokens_denied=denied, backchannel_clients=notified)
    return LogoutResult(login.sid, revoked, denied, notified, ended)


def _end(login: LoginSession, now: int) -> bool:
    """Mark the session ended unless it is already, as one conditional UPDATE; True if
    this call ended it. First, so that a code exchange or re-login of the session
    (holding its row) finishes before the rest of the logout looks for what they made."""
    return bool(db.session.execute(
        db.update(LoginSession)
        .where(LoginSession.sid == login.sid, LoginSession.ended_at.is_(None))
        .values(ended_at=now)
        .execution_options(synchronize_session="fetch")).rowcount)


def _revoke_session_families(login: LoginSession, initiating_client_id: str | None,
                             reason: str) -> int:
    revoke_offline = bool(current_app.config["PROVIDER_LOGOUT_REVOKES_OFFLINE"])
    families = db.session.scalars(db.select(RefreshTokenFamily).where(
        RefreshTokenFamily.sid == login.sid, RefreshTokenFamily.revoked_at.is_(None))).all()
    if initiating_client_id:
        families += db.session.scalars(db.select(RefreshTokenFamily).where(
            RefreshTokenFamily.user_id == login.user_id,
            RefreshTokenFamily.client_id == initiating_client_id,
            RefreshTokenFamily.offline.is_(True),
            RefreshTokenFamily.revoked_at.is_(None))).all()
    count = 0
    # in id order, as every revoker takes them: two at once queue instead of deadlocking
    for family in sorted({f.id: f for f in families}.values(), key=lambda f: f.id):
        if family.offline and not revoke_offline and family.client_id != initiating_client_id:
            continue  # Back-Channel Logout 1.0 §2.7: offline access outlives the session
        count += revoke_family(family, reason)
    return count


def _deny_session_access_tokens(sid: str, now: int, reason: str) -> int:
    if not current_app.config["PROVIDER_LOGOUT_DENYLISTS_ACCESS_TOKENS"]:
        return 0
    alive = db.session.scalars(db.select(IssuedAccessToken).where(
        IssuedAccessToken.sid == sid, IssuedAccessToken.expires_at > now)
        .order_by(IssuedAccessToken.jti)).all()  # jti order, as revoke_family denies them
    for token in alive:
        denylist.deny(token.jti, token.expires_at, reason)
    return len(alive)


def session_client_ids(sid: str) -> set[str]:
    """Every client that obtained a code or a token in this session."""
    coded = db.session.scalars(db.select(AuthorizationCode.client_id).where(
        AuthorizationCode.sid == sid).distinct())
    tokened = db.session.scalars(db.select(IssuedAccessToken.client_id).where(
        IssuedAccessToken.sid == sid).distinct())
    return set(coded) | set(tokened)


def _enqueue_backchannel(login: LoginSession, now: int) -> list[str]:
    clients = db.session.scalars(db.select(Client).where(
        Client.client_id.in_(session_client_ids(login.sid)),
        Client.backchannel_logout_uri.is_not(None), Client.disabled.is_(False))).all()
    queued = []
    for client in clients:
        try:
            with db.session.begin_nested():  # one logout token per session and client
                db.session.add(LogoutDelivery(sid=login.sid, client_id=client.client_id,
                                              user_id=login.user_id, created_at=now,
                                              next_attempt_at=now))
            queued.append(client.client_id)
        except IntegrityError:
            pass
    return sorted(queued)


class InvalidHint(Exception):
    """The id_token_hint is not an ID token this provider issued."""


def verify_id_token_hint(token: str) -> dict:
    """Claims of an ID token we signed. Its expiry is deliberately not checked:
    RP-Initiated Logout 1.0 §2 accepts expired hints (the session may outlive it)."""
    if len(token) > 8192:
        raise InvalidHint("id_token_hint is too long")
    try:
        decoded = jwt.decode(token, key_ring().verification,
                             algorithms=list(SUPPORTED_ALGORITHMS))
    except (JoseError, ValueError, TypeError, KeyError):
        raise InvalidHint("id_token_hint is not signed by this provider") from None
    if str(decoded.header.get("typ", "JWT")).lower() != "jwt":
        raise InvalidHint("id_token_hint is not an ID token")
    claims = decoded.claims
    if claims.get("iss") != current_app.config["PROVIDER_ISSUER"] or not claims.get("aud"):
        raise InvalidHint("id_token_hint was issued by another provider")
    return claims


def hint_client_id(claims: dict) -> str | None:
    aud = claims["aud"]
    if isinstance(aud, list):
        return claims.get("azp") or (aud[0] if len(aud) == 1 else None)
    return aud
