"""The deny-list in the database (the default backend).

Rows are written in the caller's transaction, so a revocation and its
deny-list entries commit or roll back together. Each row carries the token's
own expiry, and ``purge_expired`` drops the rows whose token is dead anyway.
"""

from __future__ import annotations

from sqlalchemy import bindparam, select
from sqlalchemy.exc import IntegrityError

from .. import clock
from ..extensions import db
from ..models import DeniedAccessToken

_IS_DENIED = select(DeniedAccessToken.jti).where(DeniedAccessToken.jti == bindparam("jti"))


class DatabaseDenyList:
    name = "database"

    def deny(self, jti: str, expires_at: int, reason: str) -> bool:
        if expires_at <= clock.now() or db.session.get(DeniedAccessToken, jti) is not None:
            return False
        try:
            with db.session.begin_nested():
                db.session.add(DeniedAccessToken(jti=jti, expires_at=expires_at, reason=reason))
        except IntegrityError:
            return False  # another request denied it first
        return True

    def is_denied(self, jti: str) -> bool:
        """One primary-key lookup, on the session's connection and past the ORM: a fifth
        of the cost of ``session.get`` (bench/README.md). ``deny`` flushes its row when
        its savepoint ends, so an entry added earlier in this transaction is seen."""
        return db.session.connection().execute(_IS_DENIED, {"jti": jti}).first() is not None

    def purge_expired(self) -> int:
        result = db.session.execute(
            db.delete(DeniedAccessToken).where(DeniedAccessToken.expires_at <= clock.now())
        )
        db.session.commit()  # a maintenance step of its own, as the interface promises
        return result.rowcount or 0

    def close(self) -> None:
        """Nothing to release: the app's database session is Flask-SQLAlchemy's."""
