"""The access-token deny-list: ``jti`` values recalled before their ``exp``.

Two backends behind one small interface (``interface.DenyList``): the
database (the default; rows carry the token's own expiry) and Redis when
``REDIS_URL`` is set (a key per ``jti`` whose TTL is the token's remaining
lifetime). ``init_app`` picks one from the configuration when the app starts
and keeps it in ``app.extensions``; the functions below act on the current
app's backend, so callers never know which one it is.

With Redis, a write that Redis does not take is kept in the database
(``pending``) in the caller's transaction, so a revocation never fails or rolls
back because Redis is away; checks consult those rows as well as Redis.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app, g

from .. import metrics, redis_connection
from ..extensions import db
from . import pending
from .database import DatabaseDenyList
from .interface import DenyList, DenyListUnavailable
from .redis_backend import RedisDenyList

__all__ = ["DenyList", "DenyListUnavailable", "backend", "deny", "flush_pending", "init_app",
           "is_denied", "purge_expired"]

EXTENSION_KEY = "provider_denylist"
_REDIS_DOWN = "provider_denylist_redis_down"


def init_app(app: Flask) -> DenyList:
    """Select the backend from ``app.config`` (at start, so a bad URL stops the app)."""
    selected = _from_config(app.config)
    app.extensions[EXTENSION_KEY] = selected
    return selected


def _from_config(config: dict[str, Any]) -> DenyList:
    client = redis_connection.client(config, "denylist")  # ConfigurationError: a bad URL
    if client is None:
        return DatabaseDenyList()
    return RedisDenyList(client, prefix=config["PROVIDER_DENYLIST_KEY_PREFIX"])


def backend() -> DenyList:
    """The current app's backend (selected on first use if ``init_app`` did not run)."""
    selected = current_app.extensions.get(EXTENSION_KEY)
    return selected if selected is not None else init_app(current_app)


def deny(jti: str, expires_at: int, reason: str) -> bool:
    """Recall the access token ``jti`` until ``expires_at`` (idempotent).

    True if this call added the entry; False if it was there already or the
    token has expired. Never fails because Redis is away: the entry then waits
    in the database, in the caller's transaction, until ``flush_pending``.
    """
    selected = backend()
    if isinstance(selected, DatabaseDenyList):
        return selected.deny(jti, expires_at, reason)
    if not g.get(_REDIS_DOWN):
        try:
            return selected.deny(jti, expires_at, reason)
        except DenyListUnavailable as exc:
            # One timeout per request is enough: a logout that denies ten tokens
            # must not wait for Redis ten times.
            g.setdefault(_REDIS_DOWN, str(exc))
    return pending.record(jti, expires_at, reason, g.get(_REDIS_DOWN))


def is_denied(jti: str) -> bool:
    """Raises ``DenyListUnavailable`` rather than answer "no" when it cannot tell."""
    selected = backend()
    denied = selected.is_denied(jti) or (
        not isinstance(selected, DatabaseDenyList) and pending.contains(jti))
    if denied:
        metrics.denylist_hit()
    return denied


def flush_pending() -> int:
    """Hand entries kept during a Redis outage to Redis; how many it took."""
    selected = backend()
    if isinstance(selected, DatabaseDenyList):
        return 0
    return pending.flush(selected)


def purge_expired() -> int:
    """Drop entries whose token is dead anyway, in the backend and in ``pending``."""
    dropped = pending.purge_expired()
    db.session.commit()
    return dropped + backend().purge_expired()
