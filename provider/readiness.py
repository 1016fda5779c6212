"""What ``/readyz`` checks: can this process serve right now? The database answers,
its schema is at the migration head this code expects, and Redis answers when one
is configured. Each check has a short deadline, so a probe gets its answer in a few
seconds even when a dependency hangs, and none reports more than its state: no
driver text, host or URL (the probe may be reachable by more than operators).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import cache

from alembic.script import ScriptDirectory
from sqlalchemy import text

from .database import MIGRATIONS
from .extensions import db

log = logging.getLogger("provider.readiness")
OK, UNAVAILABLE = "ok", "unavailable"
STATEMENT_DEADLINE_MS = 2000  # PostgreSQL; connecting is bounded by its own timeout


@cache
def migration_head() -> str | None:
    """The revision this code's migrations end at (read once: they ship with the code)."""
    return ScriptDirectory(str(MIGRATIONS)).get_current_head()


def check(redis_ping: Callable[[], object] | None = None) -> dict[str, str]:
    """Each dependency's state (``ok`` or why not); ready when every one is ``ok``.
    ``redis_ping`` pings the configured Redis (None: no Redis is configured)."""
    states = _database()
    if redis_ping is not None:
        states["redis"] = _redis(redis_ping)
    return states


def is_ready(states: dict[str, str]) -> bool:
    return all(state == OK for state in states.values())


def _database() -> dict[str, str]:
    try:
        if db.session.get_bind().dialect.name == "postgresql":
            db.session.execute(text(f"SET LOCAL statement_timeout = {STATEMENT_DEADLINE_MS}"))
        db.session.execute(text("SELECT 1"))
    except Exception as exc:  # a refused connection, a timeout
        db.session.rollback()
        log.warning("readiness: the database check failed: %s", type(exc).__name__)
        return {"database": UNAVAILABLE, "schema": "unknown"}
    try:
        with db.session.begin_nested():  # a missing table must not end the transaction
            current = db.session.scalars(text("SELECT version_num FROM alembic_version")).all()
    except Exception:  # no alembic_version: `provider init` has not run on this database
        current = []
    finally:
        db.session.rollback()
    return {"database": OK, "schema": OK if current == [migration_head()] else "not_at_head"}


def _redis(ping: Callable[[], object]) -> str:
    try:
        ping()
    except Exception as exc:  # the client's own timeout bounds it
        log.warning("readiness: the Redis check failed: %s", type(exc).__name__)
        return UNAVAILABLE
    return OK
