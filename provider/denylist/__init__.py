"""The access-token deny-list: ``jti`` values recalled before their ``exp``.

Two backends behind one small interface (``interface.DenyList``): the
database (the default; rows carry the token's own expiry) and Redis when
``REDIS_URL`` is set (a key per ``jti`` whose TTL is the token's remaining
lifetime). ``init_app`` picks one from the configuration when the app starts
and keeps it in ``app.extensions``; the functions below act on the current
app's backend, so callers never know which one it is.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app

from ..config import ConfigurationError
from .database import DatabaseDenyList
from .interface import DenyList, DenyListUnavailable

__all__ = ["DenyList", "DenyListUnavailable", "backend", "deny", "init_app", "is_denied",
           "purge_expired"]

EXTENSION_KEY = "provider_denylist"


def init_app(app: Flask) -> DenyList:
    """Select the backend from ``app.config`` (at start, so a bad URL stops the app)."""
    selected = _from_config(app.config)
    app.extensions[EXTENSION_KEY] = selected
    return selected


def _from_config(config: dict[str, Any]) -> DenyList:
    url = config.get("REDIS_URL")
    if not url:
        return DatabaseDenyList()
    from .redis_backend import RedisDenyList  # only deployments with Redis import the client

    timeout = config["PROVIDER_REDIS_TIMEOUT_SECONDS"]
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
        raise ConfigurationError("PROVIDER_REDIS_TIMEOUT_SECONDS must be a positive number")
    try:
        return RedisDenyList.from_url(url, prefix=config["PROVIDER_DENYLIST_KEY_PREFIX"],
                                      timeout=float(timeout))
    except ValueError as exc:  # the message names the URL scheme, never the password
        raise ConfigurationError(f"REDIS_URL is not usable: {exc}") from None


def backend() -> DenyList:
    """The current app's backend (selected on first use if ``init_app`` did not run)."""
    selected = current_app.extensions.get(EXTENSION_KEY)
    return selected if selected is not None else init_app(current_app)


def deny(jti: str, expires_at: int, reason: str) -> bool:
    """Recall the access token ``jti`` until ``expires_at`` (idempotent).

    True if this call added the entry; False if it was there already or the
    token has expired. Raises ``DenyListUnavailable`` if the backend is down.
    """
    return backend().deny(jti, expires_at, reason)


def is_denied(jti: str) -> bool:
    """Raises ``DenyListUnavailable`` rather than answer "no" when it cannot tell."""
    return backend().is_denied(jti)


def purge_expired() -> int:
    return backend().purge_expired()
