"""Rate-limit counters whose Redis does not answer: requests go through uncounted.

A limit is a safeguard, not a reason to refuse service, so the check fails open.
The first failure logs one warning (never the URL's password); for the next
``RETRY_SECONDS`` every check is skipped without touching Redis, so a Redis that
hangs costs one timeout per process and interval instead of one per request. Then
one ping decides: counting resumes, or the skipping goes on.

Flask-Limiter swallows every error of a check (``swallow_errors``) and reports each
with ``logger.exception``, a traceback on every request; ``LimiterLog`` takes the
place of its logger, turns a Redis error into the start of an outage and lets any
other error go on as if nothing had swallowed it.
"""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Callable, Mapping
from typing import Any

import redis

from .. import clock
from ..redis_connection import without_password

RETRY_SECONDS = 5


class Outage:
    """One app's view of its counters: reachable, or away until the next retry."""

    def __init__(self, logger: logging.Logger, config: Mapping[str, Any],
                 reachable: Callable[[], bool]) -> None:
        self._logger = logger
        self._config = config
        self._reachable = reachable  # one ping, False on any error
        self._retry_at: int | None = None
        self._lock = threading.Lock()

    @property
    def active(self) -> bool:
        return self._retry_at is not None

    def began(self, error: BaseException) -> None:
        with self._lock:
            starting = self._retry_at is None
            self._retry_at = clock.now() + RETRY_SECONDS
        if starting:
            self._logger.warning(
                "rate limits not applied: their counters in Redis are unavailable (%s); "
                "retrying every %d s", without_password(_describe(error), self._config),
                RETRY_SECONDS)

    def skipping(self) -> bool:
        """Whether this request's limits are skipped (during an outage)."""
        retry_at = self._retry_at
        if retry_at is None:
            return False
        if clock.now() < retry_at:
            return True
        with self._lock:  # one request pings; the others keep skipping meanwhile
            if self._retry_at != retry_at:
                return self._retry_at is not None
            self._retry_at = clock.now() + RETRY_SECONDS
        if not self._reachable():
            return True
        with self._lock:
            self._retry_at = None
        self._logger.info("rate limits applied again: their counters in Redis answer")
        return False


class LimiterLog:
    """Flask-Limiter's logger, except that a swallowed Redis error starts an outage."""

    def __init__(self, logger: logging.Logger, outage: Outage) -> None:
        self._logger = logger
        self._outage = outage

    def exception(self, msg: str, *args: Any, **kwargs: Any) -> None:
        error = sys.exc_info()[1]
        if isinstance(error, redis.RedisError):
            self._outage.began(error)
        elif error is not None:
            # only the counters may fail open: the database away (a session looked up
            # for a limit) stays a 503, a fault in a key function a 500
            raise error
        else:
            self._logger.exception(msg, *args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._logger, name)


def _describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"
