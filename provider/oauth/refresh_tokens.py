"""Refresh tokens: families, atomic rotation, the grace window, and reuse
that revokes the family (RFC 6749 §6, RFC 9700 §4.14.2, OIDC Core §11).

A family starts at the authorization-code exchange with a random token.
Every successor is derived from the token it replaces, as an HMAC under a
server key, so a repeat of the same token within the grace window can be
answered with the very same successor without storing any token in the clear.

Rotation claims the presented token with one conditional UPDATE; of any number
of concurrent refreshes with one token exactly one claims it. The others are
repeats: inside the grace window (same client, successor not yet used) they
get the same successor back; outside it they revoke the whole family, and that
revocation is committed although the request fails.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from flask import current_app, has_request_context, request

from .. import audit, clock, denylist, digests, metrics
from ..extensions import db
from ..models import (
    Client,
    IssuedAccessToken,
    LoginSession,
    RefreshToken,
    RefreshTokenFamily,
    User,
)
from .tokens import IssuedTokens, LoginContext

SUCCESSOR_CONTEXT = b"provider refresh-token successor v1"
MAX_TOKEN_LENGTH = 512


@dataclass
class RefreshGrant:
    """A presented refresh token that may be exchanged.

    ``replay`` is true for a repeat inside the grace window: its successor
    already exists and is handed back unchanged.
    """

    token: RefreshToken
    family: RefreshTokenFamily
    user: User
    successor: str
    replay: bool

    # what Authlib's RefreshTokenGrant asks of a token
    def check_client(self, client: Client) -> bool:
        return client.client_id == self.family.client_id

    def get_scope(self) -> str:
        return self.family.scope


def _successor_key() -> bytes:
    key = current_app.extensions.get("provider_refresh_successor_key")
    if key is None:
        secret = current_app.config["SECRET_KEY"].encode()
        key = hmac.new(secret, SUCCESSOR_CONTEXT, hashlib.sha256).digest()
        current_app.extensions["provider_refresh_successor_key"] = key
    return key


def successor_of(token: str) -> str:
    mac = hmac.new(_successor_key(), token.encode("utf-8", "surrogatepass"), hashlib.sha256)
    return base64.urlsafe_b64encode(mac.digest()).decode().rstrip("=")


# --- issuing -------------------------------------------------------------------------


def start_family(*, client: Client, user: User, scope: str, login: LoginContext,
                 authorization_code_id: int | None) -> RefreshTokenFamily:
    now = clock.now()
    family = RefreshTokenFamily(
        id=secrets.token_hex(16),
        client_id=client.client_id,
        user_id=user.id,
        scope=scope,
        offline="offline_access" in scope.split(),
        sid=login.sid,
        auth_time=login.auth_time,
        authorization_code_id=authorization_code_id,
        created_at=now,
        expires_at=now + int(current_app.config["PROVIDER_REFRESH_ABSOLUTE_TTL"]),
    )
    if has_request_context():  # shown on the user's sessions page
        family.ip = request.remote_addr
        family.user_agent = (request.user_agent.string or "")[:400] or None
    db.session.add(family)
    db.session.flush()  # the family row must exist before its first token (foreign key)
    return family


def store_refresh_token(family: RefreshTokenFamily, value: str,
                        parent: RefreshToken | None) -> RefreshToken:
    now = clock.now()
    idle = int(current_app.config["PROVIDER_REFRESH_IDLE_TTL"])
    token = RefreshToken(
        token_digest=digests.digest(value),
        family_id=family.id,
        client_id=family.client_id,
        parent_id=parent.id if parent is not None else None,
        issued_at=now,
        expires_at=min(now + idle, family.expires_at),  # rotation never extends the family
    )
    db.session.add(token)
    return token


def record_access_token(issued: IssuedTokens, *, client: Client, user: User,
                        family_id: str | None, sid: str | None) -> None:
    db.session.add(IssuedAccessToken(jti=issued.access_jti, family_id=family_id, sid=sid,
                                     client_id=client.client_id, user_id=user.id,
                                     expires_at=issued.access_expires_at))


# --- redeeming -----------------------------------------------------------------------


def redeem_refresh_token(presented: str, client: Client) -> RefreshGrant | None:
    """The exchangeable grant for ``presented``, or None (``invalid_grant``)."""
    if not presented or len(presented) > MAX_TOKEN_LENGTH:
        return None
    digest = digests.digest(presented)
    now = clock.now()
    token = db.session.scalar(
        db.update(RefreshToken)
        .where(
            RefreshToken.token_digest == digest,
            RefreshToken.client_id == client.client_id,
            RefreshToken.consumed_at.is_(None),
            RefreshToken.expires_at > now,
        )
        .values(consumed_at=now)
        .returning(RefreshToken)
    )
    if token is not None:
        family = _locked_family(token.family_id, exclusive=False)
        user = _usable_family_user(family)
        if user is None:
            return None
        return RefreshGrant(token=token, family=family, user=user,
                            successor=successor_of(presented), replay=False)
    token = db.session.scalar(db.select(RefreshToken).where(
        RefreshToken.token_digest == digest, RefreshToken.client_id == client.client_id))
    if token is None or token.consumed_at is None:
        return None  # unknown, another client's, or expired unused
    return _repeat(presented, token)


def _repeat(presented: str, token: RefreshToken) -> RefreshGrant | None:
    """A consumed token presented again: the grace window, or theft.

    The successor is locked before the family, the order a rotation of the
    successor takes them in (its claim, then the family), so the two queue instead
    of deadlocking, and a successor being used is seen as used. The family is
    locked exclusively: repeats of two old tokens of one family may both revoke it.
    """
    successor = db.session.scalar(
        db.select(RefreshToken).where(RefreshToken.parent_id == token.id)
        .with_for_update().execution_options(populate_existing=True))
    family = _locked_family(token.family_id, exclusive=True)
    if family.revoked_at is not None:
        return None
    since = clock.now() - token.consumed_at
    successor_value = successor_of(presented)
    grace = int(current_app.config["PROVIDER_REFRESH_GRACE_SECONDS"])
    in_grace = (
        grace > 0
        and since <= grace
        and successor is not None
        and successor.consumed_at is None
        and hmac.compare_digest(successor.token_digest, digests.digest(successor_value))
    )
    if in_grace:
        user = _usable_family_user(family)
        if user is None:
            return None
        audit.record("refresh_token_reuse", user_id=family.user_id, client_id=family.client_id,
                     family_id=family.id, seconds_since_rotation=since, outcome="grace")
        metrics.refresh_token_reuse("grace")
        return RefreshGrant(token=token, family=family, user=user, successor=successor_value,
                            replay=True)
    if revoke_family(family, "refresh_token_reuse"):
        audit.record("refresh_token_reuse", user_id=family.user_id, client_id=family.client_id,
                     family_id=family.id, seconds_since_rotation=since,
                     outcome="family_revoked")
        metrics.refresh_token_reuse("family_revoked")
    db.session.commit()  # the revocation stands although this request fails
    return None


def _locked_family(family_id: str, *, exclusive: bool) -> RefreshTokenFamily:
    """The family, locked until this refresh commits (FOR SHARE, or FOR UPDATE).

    On PostgreSQL a revoke of the family (a logout, reuse, a revocation request)
    then waits for the refresh, so it sees the access token the refresh records
    and deny-lists it; one that committed first shows here as ``revoked_at``.
    """
    lock = True if exclusive else {"read": True}
    return db.session.get(RefreshTokenFamily, family_id, with_for_update=lock,
                          populate_existing=True)


def _usable_family_user(family: RefreshTokenFamily) -> User | None:
    """The family's user if the family may still mint tokens, else None.

    Ends the family for good where it must end (disabled user, ended session).
    """
    now = clock.now()
    if family.revoked_at is not None or family.expires_at <= now:
        return None
    user = db.session.get(User, family.user_id)
    reason = family_end_reason(family, user, now)
    if reason is None:
        return user
    revoke_family(family, reason)
    db.session.commit()
    return None


def family_end_reason(family: RefreshTokenFamily, user: User | None, now: int) -> str | None:
    """Why a family that is neither revoked nor expired may not mint tokens any more
    (its user is gone or disabled, or the session it is bound to ended), or None.
    Reads only: introspection asks this without ending anything."""
    if user is None or user.disabled:
        return "user_disabled"
    if not family.offline and not _session_live(family.sid, now):
        return "session_ended"
    return None


def _session_live(sid: str | None, now: int) -> bool:
    session = db.session.get(LoginSession, sid) if sid else None
    return session is not None and session.ended_at is None and session.expires_at > now


# --- ending --------------------------------------------------------------------------


def revoke_family(family: RefreshTokenFamily, reason: str) -> bool:
    """End a family: none of its refresh tokens works again, and the access
    tokens it issued that are still alive go on the deny-list.

    One conditional UPDATE: of concurrent revokes exactly one ends the family and
    does the rest; True for that one, False when it was revoked already.
    """
    now = clock.now()
    ended = db.session.scalar(
        db.update(RefreshTokenFamily)
        .where(RefreshTokenFamily.id == family.id, RefreshTokenFamily.revoked_at.is_(None))
        .values(revoked_at=now, revoked_reason=reason)
        .returning(RefreshTokenFamily.id)
        .execution_options(synchronize_session="fetch"))  # ``family`` shows it if ours
    if ended is None:
        return False
    # in jti order: two revokers of overlapping tokens take their rows in one order
    alive = db.session.scalars(db.select(IssuedAccessToken).where(
        IssuedAccessToken.family_id == family.id, IssuedAccessToken.expires_at > now)
        .order_by(IssuedAccessToken.jti))
    for access in alive:
        denylist.deny(access.jti, access.expires_at, reason)
    return True


def revoke_families(reason: str, *, user_id: str | None = None,
                    client_id: str | None = None, authorization_code_id: int | None = None
                    ) -> int:
    """Revoke every live family matching all the given criteria; returns how many
    this call revoked. In id order, so concurrent revokers lock them in one order."""
    query = (db.select(RefreshTokenFamily).where(RefreshTokenFamily.revoked_at.is_(None))
             .order_by(RefreshTokenFamily.id))
    if user_id is not None:
        query = query.where(RefreshTokenFamily.user_id == user_id)
    if client_id is not None:
        query = query.where(RefreshTokenFamily.client_id == client_id)
    if authorization_code_id is not None:
        query = query.where(RefreshTokenFamily.authorization_code_id == authorization_code_id)
    families = db.session.scalars(query).all()
    return sum(revoke_family(family, reason) for family in families)
