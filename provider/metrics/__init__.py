"""Prometheus metrics, served at ``{issuer}/metrics`` (``views/metrics.py``).

The rest of the provider calls the small functions below at the one place each
event happens; every metric is defined once, in ``definitions``. Label values
come only from fixed sets (``labels``): URL rules, never paths; methods,
statuses, the registered grant types and fixed outcomes; never a username, a
client id or anything else a client chose.

Under ``provider serve`` the worker processes' counts are summed
(``multiprocess``); elsewhere (the Flask test client, ``flask run``, commands)
the metrics live in this process's memory. Either way nothing imports
prometheus_client before a metric is first used.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable
from types import ModuleType
from typing import Any

from flask import Flask, appcontext_tearing_down, g, request, request_finished, request_started

from ..extensions import db
from . import labels, multiprocess
from .multiprocess import worker_directory

__all__ = ["CONTENT_TYPE", "backchannel_delivery", "denylist_hit", "exposition", "init_app",
           "login_failed", "login_throttled", "observe_request", "refresh_token_reuse",
           "token_issued", "worker_directory"]

# the Prometheus text format, version 0.0.4: what every Prometheus server reads
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_DEFINITIONS = __name__ + ".definitions"
_STARTED = "provider_metrics_started"


def _defined() -> ModuleType:
    from . import definitions  # on first use: see multiprocess

    return definitions


def init_app(app: Flask, grant_types: Iterable[str]) -> None:
    """Count ``app``'s requests and watch its database pool; ``grant_types`` are the
    ones the provider registers (any other is counted as ``other``)."""
    labels.allow_grant_types(grant_types)
    # signals, not hooks: they come before any before_request hook, after every
    # after_request hook, and after the session's connection has gone back to the pool
    request_started.connect(_request_started, app)
    request_finished.connect(_request_finished, app)
    appcontext_tearing_down.connect(_context_ended, app)


def _request_started(sender: Flask, **extra: Any) -> None:
    setattr(g, _STARTED, time.perf_counter())


def _request_finished(sender: Flask, response: Any, **extra: Any) -> None:
    started = g.pop(_STARTED, None)
    seconds = time.perf_counter() - started if started is not None else 0.0
    rule = request.url_rule.rule if request.url_rule is not None else labels.UNMATCHED
    observe_request(rule, request.method, response.status_code, seconds)


POOL_SAMPLE_SECONDS = 1.0  # the pool gauge is a sample: once a second per app is plenty
_POOL_SAMPLED = "provider_metrics_pool_sampled"  # app.extensions: when it last was


def _context_ended(sender: Flask, **extra: Any) -> None:
    # Only once this process has counted something: the process that starts the
    # workers must not load prometheus_client before their directory is set.
    if _DEFINITIONS not in sys.modules:
        return
    now = time.monotonic()
    if now < sender.extensions.get(_POOL_SAMPLED, float("-inf")) + POOL_SAMPLE_SECONDS:
        return
    sender.extensions[_POOL_SAMPLED] = now
    pool = db.engine.pool
    checked_out, idle = getattr(pool, "checkedout", None), getattr(pool, "checkedin", None)
    if checked_out is None or idle is None:  # a pool that keeps no connections
        return
    gauge = _defined().DB_POOL_CONNECTIONS
    gauge.labels("checked_out").set(checked_out())
    gauge.labels("idle").set(idle())


# --- what the rest of the provider records ---------------------------------------------


def observe_request(rule: str, method: str, status: int, seconds: float) -> None:
    """One answered request. Needs neither an app nor a request, so the front can
    count what it answers from memory. ``rule`` is the URL rule that matched (such
    as ``/token`` or ``/.well-known/<path:document>``) or ``"unmatched"``, never the
    request's path."""
    series = _request_series.get((rule, method, status))
    if series is None:
        series = _request_series[(rule, method, status)] = _series_of(rule, method, status)
    series[0].inc()
    series[1].observe(max(seconds, 0.0))


# the children of one (rule, method, status), looked up once: ``labels()`` costs more
# than the increment itself, on every request (the keys come from fixed sets)
_request_series: dict[tuple[str, str, int], tuple[Any, Any]] = {}


def _series_of(rule: str, method: str, status: int) -> tuple[Any, Any]:
    defined = _defined()
    method = labels.method(method)
    return (defined.HTTP_REQUESTS.labels(rule, method, labels.status(status)),
            defined.HTTP_REQUEST_DURATION.labels(rule, method))


def token_issued(grant_type: str) -> None:
    _defined().TOKENS_ISSUED.labels(labels.grant_type(grant_type)).inc()


def refresh_token_reuse(outcome: str) -> None:
    """``grace`` (the same successor handed back) or ``family_revoked``."""
    _defined().REFRESH_TOKEN_REUSE.labels(labels.reuse_outcome(outcome)).inc()


def login_failed() -> None:
    _defined().LOGIN_FAILURES.inc()


def login_throttled() -> None:
    _defined().LOGIN_THROTTLED.inc()


def denylist_hit() -> None:
    _defined().DENYLIST_HITS.inc()


def backchannel_delivery(delivery_status: str) -> None:
    """An attempt's outcome, from the delivery's status after it: ``delivered``,
    ``retrying`` (still pending) or ``given_up`` (failed)."""
    _defined().BACKCHANNEL_DELIVERIES.labels(labels.backchannel_outcome(delivery_status)).inc()


def exposition() -> bytes:
    """What a scrape gets (``CONTENT_TYPE``): this server's metrics, over every worker
    process when there are several."""
    return multiprocess.exposition(_defined().REGISTRY, multiprocess.directory())
