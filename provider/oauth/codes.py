"""Authorization codes: issue, redeem exactly once, revoke on replay
(RFC 6749 §4.1.2 and §10.5, RFC 9700 §4.5).

Redemption is one conditional UPDATE that claims the code, so of any number
of concurrent redemptions exactly one gets the row back. A code presented
again after it was claimed revokes what its first redemption issued; that
revocation is committed even though the request itself fails.
"""

from __future__ import annotations

from flask import current_app
from sqlalchemy import ColumnElement

from .. import audit, clock, denylist, digests
from ..extensions import db
from ..models import AuthorizationCode, Client, LoginSession, RefreshTokenFamily
from . import refresh_tokens
from .tokens import IssuedTokens


def store_code(
    code: str,
    *,
    client: Client,
    user_id: str,
    redirect_uri: str | None,
    scope: str,
    nonce: str | None,
    code_challenge: str | None,
    code_challenge_method: str | None,
    auth_time: int,
    sid: str | None,
) -> AuthorizationCode:
    now = clock.now()
    row = AuthorizationCode(
        code_digest=digests.digest(code),
        client_id=client.client_id,
        user_id=user_id,
        redirect_uri=redirect_uri,
        scope=scope,
        nonce=nonce,
        code_challenge=code_challenge,
        code_challenge_method=code_challenge_method if code_challenge else None,
        auth_time=auth_time,
        sid=sid,
        issued_at=now,
        expires_at=now + int(current_app.config["PROVIDER_CODE_TTL"]),
    )
    db.session.add(row)
    return row


def redeem_code(code: str, client: Client) -> AuthorizationCode | None:
    """Claim the live code issued to ``client``; None if it cannot be redeemed.

    Must run inside the token request's writing transaction. The claim is
    undone if that transaction rolls back (a wrong PKCE verifier, say), so a
    failed attempt does not burn the code. A code whose sign-in session has
    ended is not claimed: it is refused like an unknown code.
    """
    if len(code) > 512:
        return None
    code_digest = digests.digest(code)
    now = clock.now()
    claimed = db.session.scalar(
        db.update(AuthorizationCode)
        .where(
            AuthorizationCode.code_digest == code_digest,
            AuthorizationCode.client_id == client.client_id,
            AuthorizationCode.consumed_at.is_(None),
            AuthorizationCode.expires_at > now,
            _session_open(),
        )
        .values(consumed_at=now)
        .returning(AuthorizationCode)
    )
    if claimed is not None:
        return claimed
    _revoke_if_replayed(code_digest, client)
    return None


def _session_open() -> ColumnElement[bool]:
    """The claim's condition that the code's sign-in session has not ended, its row
    read FOR SHARE (on PostgreSQL; SQLite's writers are alone anyway).

    A logout ending the session concurrently (its UPDATE) then waits until this
    exchange has committed, and so revokes and deny-lists what it issued. One that
    ended it first is seen (the lock waits for it), and the code is refused: what it
    would issue would outlive that logout.
    """
    session_open = (db.select(LoginSession.sid)
                    .where(LoginSession.sid == AuthorizationCode.sid,
                           LoginSession.ended_at.is_(None))
                    .with_for_update(read=True).exists())
    return AuthorizationCode.sid.is_(None) | session_open


def _revoke_if_replayed(code_digest: str, client: Client) -> None:
    row = db.session.scalar(
        db.select(AuthorizationCode).where(
            AuthorizationCode.code_digest == code_digest,
            AuthorizationCode.client_id == client.client_id,
            AuthorizationCode.consumed_at.is_not(None),
        )
    )
    if row is None:
        return
    if row.issued_access_jti and row.issued_access_expires_at:
        denylist.deny(row.issued_access_jti, row.issued_access_expires_at, "code_replay")
    revoked = refresh_tokens.revoke_families("code_replay", authorization_code_id=row.id)
    audit.record("authorization_code_replay", user_id=row.user_id, client_id=client.client_id,
                 code_id=row.id, families_revoked=revoked)
    db.session.commit()  # the revocation stands although this request fails


def record_issuance(code: AuthorizationCode, issued: IssuedTokens) -> None:
    """Remember what this code's redemption issued, for revocation on replay."""
    code.issued_access_jti = issued.access_jti
    code.issued_access_expires_at = issued.access_expires_at


def purge_expired() -> int:
    """Drop codes past expiry whose issued access tokens are dead too and that
    started no family still stored: replay detection (RFC 9700 §4.5) needs the
    code's digest for as long as what the code started can live."""
    now = clock.now()
    started_family = db.select(RefreshTokenFamily.id).where(
        RefreshTokenFamily.authorization_code_id == AuthorizationCode.id).exists()
    result = db.session.execute(
        db.delete(AuthorizationCode).where(
            AuthorizationCode.expires_at <= now,
            (AuthorizationCode.issued_access_expires_at.is_(None))
            | (AuthorizationCode.issued_access_expires_at <= now),
            ~started_family,
        )
    )
    return result.rowcount or 0
