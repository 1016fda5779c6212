"""Deny-list entries that Redis did not take (a Redis outage): the database
holds them until it does.

A revocation is decided in the database (the family, the code, the session and
their audit rows); the deny-list entries it makes are its consequence. When
Redis cannot be written, the entry is stored here in the same transaction, so
the revocation commits whole, and ``flush`` pushes it to Redis once Redis
answers again. Every token check consults these rows in addition to Redis,
never instead of it: a check that cannot reach Redis still fails closed.
"""

from __future__ import annotations

import logging

from sqlalchemy import bindparam, select
from sqlalchemy.exc import IntegrityError

from .. import clock
from ..database import write_transaction
from ..extensions import db
from ..models import PendingDenial
from .interface import DenyList, DenyListUnavailable

log = logging.getLogger("provider.denylist")
FLUSH_BATCH = 200
_IS_PENDING = select(PendingDenial.jti).where(PendingDenial.jti == bindparam("jti"))


def record(jti: str, expires_at: int, reason: str, error: str) -> bool:
    """Keep the entry in the caller's transaction; True if this call added it."""
    now = clock.now()
    if expires_at <= now or db.session.get(PendingDenial, jti) is not None:
        return False
    try:
        with db.session.begin_nested():
            db.session.add(PendingDenial(jti=jti, expires_at=expires_at, reason=reason[:64],
                                         created_at=now, attempts=0, last_error=error[:500]))
    except IntegrityError:
        return False  # another request recorded it first
    log.warning("deny-list entry %s kept in the database until Redis answers: %s", jti, error)
    return True


def contains(jti: str) -> bool:
    """One primary-key lookup on the session's connection (see ``database.is_denied``)."""
    return db.session.connection().execute(_IS_PENDING, {"jti": jti}).first() is not None


def flush(target: DenyList, limit: int = FLUSH_BATCH) -> int:
    """Push pending entries to ``target``; how many it took. Stops at the first
    failure (Redis is still away) and records it on that row."""
    now = clock.now()
    rows = db.session.execute(db.select(PendingDenial.jti, PendingDenial.expires_at,
                                        PendingDenial.reason)
                              .order_by(PendingDenial.created_at).limit(limit)).all()
    db.session.rollback()  # end the read before talking to Redis
    if not rows:
        return 0
    taken: list[str] = []
    failure: tuple[str, str] | None = None
    for jti, expires_at, reason in rows:
        if expires_at > now:
            try:
                target.deny(jti, expires_at, reason)  # SET NX: a repeat is harmless
            except DenyListUnavailable as exc:
                failure = (jti, str(exc))
                break
        taken.append(jti)  # in Redis now, or expired and no longer needed
    with write_transaction():
        if taken:
            db.session.execute(db.delete(PendingDenial).where(PendingDenial.jti.in_(taken)))
        if failure is not None:
            db.session.execute(db.update(PendingDenial).where(PendingDenial.jti == failure[0])
                               .values(attempts=PendingDenial.attempts + 1,
                                       last_error=failure[1][:500]))
    return len(taken)


def purge_expired() -> int:
    """Drop entries whose token is dead anyway (in the caller's transaction)."""
    return db.session.execute(db.delete(PendingDenial).where(
        PendingDenial.expires_at <= clock.now())).rowcount or 0
