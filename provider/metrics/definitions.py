"""Every metric, defined once.

Imported on first use only (``provider.metrics``): prometheus_client chooses where
values live, this process's memory or a file per process in
``PROMETHEUS_MULTIPROC_DIR``, when it is first imported, and ``provider serve``
sets that directory only after the app it checks has been built.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from .labels import BACKCHANNEL_OUTCOMES, POOL_STATES, REUSE_OUTCOMES, allowed_grant_types

# this process's own metrics; with a multiprocess directory the files are read instead
REGISTRY = CollectorRegistry(auto_describe=True)

HTTP_REQUESTS = Counter(
    "provider_http_requests_total", "Requests answered, by URL rule, method and status.",
    ("rule", "method", "status"), registry=REGISTRY)
HTTP_REQUEST_DURATION = Histogram(
    "provider_http_request_duration_seconds", "Time to answer a request, by URL rule and method.",
    ("rule", "method"), registry=REGISTRY)
TOKENS_ISSUED = Counter(
    "provider_tokens_issued_total", "Token responses issued at the token endpoint, by grant.",
    ("grant_type",), registry=REGISTRY)
REFRESH_TOKEN_REUSE = Counter(
    "provider_refresh_token_reuse_total", "Consumed refresh tokens presented again: inside "
    "the grace window, or revoking their family.", ("outcome",), registry=REGISTRY)
LOGIN_FAILURES = Counter(
    "provider_login_failures_total", "Sign-ins refused for a wrong username or password.",
    registry=REGISTRY)
LOGIN_THROTTLED = Counter(
    "provider_login_throttled_total", "Sign-ins refused by the throttle without checking "
    "the password.", registry=REGISTRY)
DENYLIST_HITS = Counter(
    "provider_denylist_hits_total", "Access tokens found on the deny-list.", registry=REGISTRY)
BACKCHANNEL_DELIVERIES = Counter(
    "provider_backchannel_deliveries_total", "Back-channel logout attempts, by outcome.",
    ("outcome",), registry=REGISTRY)
# livesum: the open connections of the processes alive now, a dead worker's dropped
DB_POOL_CONNECTIONS = Gauge(
    "provider_db_pool_connections", "Database connections in the worker processes' pools, "
    "checked out or idle.", ("state",), multiprocess_mode="livesum", registry=REGISTRY)

# every series of a fixed set exists from the start, at 0, so a first event is a rise
for _grant_type in allowed_grant_types():
    TOKENS_ISSUED.labels(_grant_type)
for _outcome in REUSE_OUTCOMES:
    REFRESH_TOKEN_REUSE.labels(_outcome)
for _outcome in BACKCHANNEL_OUTCOMES.values():
    BACKCHANNEL_DELIVERIES.labels(_outcome)
for _state in POOL_STATES:
    DB_POOL_CONNECTIONS.labels(_state)
