"""The counters in the database (``login_throttles``), the default: shared by every
worker and host that shares the database.

A claim is its own short write transaction (BEGIN IMMEDIATE on SQLite), committed
before the password is checked: one conditional upsert per counter counts the
attempt unless that counter is in back-off. The account row is claimed first and the
pair second, one order everywhere, so on PostgreSQL two requests for one account
queue on the same row instead of deadlocking.
"""

from __future__ import annotations

from sqlalchemy import case, func

from ...database import begin_write, upsert_insert
from ...extensions import db
from ...models import LoginThrottle
from .interface import Counter, Schedule
from .schedule import backoff_seconds


class DatabaseLoginCounters:
    name = "database"

    def claim(self, account: str, pair: str, schedule: Schedule, now: int) -> int:
        begin_write()
        try:
            if _claim(account, account, schedule.account_free, schedule, now) and _claim(
                    pair, account, schedule.free, schedule, now):
                db.session.commit()
                return 0
            blocked_until = db.session.scalar(
                db.select(func.max(LoginThrottle.blocked_until))
                .where(LoginThrottle.key.in_((account, pair))))
            db.session.rollback()  # a refused attempt counts in neither counter
        except BaseException:
            db.session.rollback()
            raise
        return max(1, int(blocked_until or 0) - now)

    def forget_success(self, account: str, pair: str, schedule: Schedule) -> None:
        """In the caller's write transaction (the sign-in's)."""
        # The account row first, then the pair row: the order ``claim`` locks them in,
        # so two sign-ins of one user can never deadlock on PostgreSQL.
        failures = LoginThrottle.failures
        db.session.execute(db.update(LoginThrottle).where(
            LoginThrottle.key == account, failures > 0
        ).values(failures=failures - 1, blocked_until=case(
            (failures - 1 < schedule.account_free, 0), else_=LoginThrottle.blocked_until)))
        # an account with nothing against it keeps no row (our update holds it until commit)
        db.session.execute(db.delete(LoginThrottle).where(
            LoginThrottle.key == account, failures <= 0))
        db.session.execute(db.delete(LoginThrottle).where(LoginThrottle.key == pair))

    def unlock(self, account: str) -> int:
        """In the caller's transaction."""
        return db.session.execute(db.delete(LoginThrottle).where(
            LoginThrottle.account == account)).rowcount or 0

    def purge_stale(self, schedule: Schedule, now: int) -> int:
        """In the caller's transaction."""
        return db.session.execute(db.delete(LoginThrottle).where(
            LoginThrottle.last_failure_at <= now - schedule.reset,
            LoginThrottle.blocked_until <= now)).rowcount or 0

    def counter(self, key: str) -> Counter | None:
        row = db.session.get(LoginThrottle, key)
        if row is None:
            return None
        return Counter(row.failures, row.last_failure_at, row.blocked_until)


def _claim(key: str, account: str, free: int, schedule: Schedule, now: int) -> bool:
    """One conditional upsert: +1 failure unless in back-off; False when refused."""
    table = LoginThrottle.__table__
    forgotten = table.c.last_failure_at <= now - schedule.reset
    statement = (
        upsert_insert(table)
        .values(key=key, account=account, failures=1, last_failure_at=now, blocked_until=0)
        .on_conflict_do_update(
            index_elements=[table.c.key],
            set_={"failures": case((forgotten, 1), else_=table.c.failures + 1),
                  "last_failure_at": now},
            where=table.c.blocked_until <= now)
        .returning(table.c.failures)
    )
    failures = db.session.execute(statement).scalar()
    if failures is None:
        return False
    delay = backoff_seconds(failures, free, schedule.backoff, schedule.backoff_max)
    if delay:  # the row is ours until commit: the count above is the one that holds
        db.session.execute(db.update(LoginThrottle).where(
            LoginThrottle.key == key, LoginThrottle.blocked_until < now + delay
        ).values(blocked_until=now + delay))
    return True
