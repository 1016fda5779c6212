"""The one way the provider connects to Redis (``REDIS_URL``): the same URL,
timeouts and retry for the access-token deny-list, the rate-limit counters and any
other user, each on its own connection pool, made once per process.

One pool per user keeps each one's connections to itself: a command that timed out
while Redis hung may still run when it resumes, on its connection only, and one
user closing its connections (``close`` in tests) leaves the others' alone. A pool
connects on first use, so nothing reaches Redis at start, and a forked worker opens
its own connections (redis-py resets a pool inherited across ``fork``).
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from .config import ConfigurationError

HEALTH_CHECK_SECONDS = 30  # a connection idle this long is pinged before it is used


@cache
def connection_pool(url: str, timeout: float, user: str) -> redis.ConnectionPool:
    """The process's pool of ``user`` for ``url`` (``redis://``, ``rediss://`` or
    ``unix://``).

    A short timeout and a single immediate retry keep a dead Redis from holding
    every request for seconds. The retry covers a pooled connection that Redis
    closed in the meantime (a connection error), never a timeout: a command that
    timed out may have run, and running a counter's claim twice would count one
    failed sign-in as two. Raises ValueError for an unusable URL.
    """
    return redis.ConnectionPool.from_url(
        url,
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        retry=Retry(NoBackoff(), 1, supported_errors=(redis.ConnectionError,)),
        health_check_interval=HEALTH_CHECK_SECONDS,
    )


def pool(config: Mapping[str, Any], user: str = "default") -> redis.ConnectionPool | None:
    """``user``'s pool for ``REDIS_URL``, or None when it is unset.

    Checked when the app starts, so a bad URL or timeout stops it with a
    ConfigurationError that never repeats the URL (it may hold a password).
    """
    url = config.get("REDIS_URL")
    if not url:
        return None
    timeout = config["PROVIDER_REDIS_TIMEOUT_SECONDS"]
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
        raise ConfigurationError("PROVIDER_REDIS_TIMEOUT_SECONDS must be a positive number")
    try:
        return connection_pool(url, float(timeout), user)
    except ValueError as exc:  # the message names the URL scheme, never the password
        raise ConfigurationError(f"REDIS_URL is not usable: {exc}") from None


def client(config: Mapping[str, Any], user: str = "default") -> redis.Redis | None:
    """A client on ``user``'s pool for ``REDIS_URL``, or None when it is unset."""
    shared = pool(config, user)
    return redis.Redis(connection_pool=shared) if shared is not None else None


def without_password(text: str, config: Mapping[str, Any]) -> str:
    """``text`` (a Redis error, say) with the password of ``REDIS_URL`` masked, in
    case a message ever repeats it."""
    try:
        parts = urlsplit(config.get("REDIS_URL") or "")
        passwords = [parts.password, *parse_qs(parts.query).get("password", [])]
    except ValueError:
        return text
    for password in filter(None, passwords):
        text = text.replace(password, "***").replace(unquote(password), "***")
    return text
