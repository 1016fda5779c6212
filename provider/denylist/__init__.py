"""The access-token deny-list: ``jti`` values recalled before their ``exp``.

The database backend is the default; rows carry the token's own expiry so
that ``purge`` can drop them once the token would be dead anyway.
"""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError

from .. import clock
from ..extensions import db
from ..models import DeniedAccessToken


def deny(jti: str, expires_at: int, reason: str) -> None:
    """Recall the access token ``jti`` until ``expires_at`` (idempotent)."""
    if expires_at <= clock.now() or db.session.get(DeniedAccessToken, jti) is not None:
        return
    try:
        with db.session.begin_nested():
            db.session.add(DeniedAccessToken(jti=jti, expires_at=expires_at, reason=reason))
    except IntegrityError:
        pass  # another request denied it first


def is_denied(jti: str) -> bool:
    return db.session.get(DeniedAccessToken, jti) is not None


def purge_expired() -> int:
    result = db.session.execute(
        db.delete(DeniedAccessToken).where(DeniedAccessToken.expires_at <= clock.now())
    )
    return result.rowcount or 0
