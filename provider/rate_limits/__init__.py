"""Rate limits (Flask-Limiter over ``limits``): each named limit is declared once
below, read from its setting, and put on a view with ``limited``. A request over a
limit is answered ``429`` with ``Retry-After`` (RFC 6585 §4; ``errors.py`` shapes
the answer), before the view runs, so it takes no database lock.

Counters live in Redis when ``REDIS_URL`` is set, shared by every process and host;
otherwise in each process's memory, so N processes then allow up to N times a limit.
A Redis that does not answer lets requests through uncounted (``outage``).

Flask-Limiter keeps its storage on the ``Limiter`` object, not per app: one
module-level ``Limiter`` bound to two apps would count both apps' requests in the
last one's storage. So each app gets its own (``init_app``), and the views that
``limited`` marks find the current app's at request time. Endpoints that carry no
limit cost Flask-Limiter a lookup and never a storage call.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import reduce, wraps
from typing import Any, TypeVar

import redis
from authlib.integrations.flask_oauth2 import client_authenticated
from flask import Flask, Response, current_app
from flask_limiter import Limiter, RateLimitExceeded, RouteLimit

from .. import redis_connection
from ..config.validation import rate_limit_text
from . import identities
from .outage import LimiterLog, Outage

__all__ = ["AUTHORIZE_PER_ADDRESS", "NAMED_LIMITS", "REGISTRATION_PER_ADDRESS",
           "TOKEN_PER_ADDRESS", "TOKEN_PER_CLIENT", "NamedLimit", "init_app", "limited",
           "retry_after_seconds"]

EXTENSION_KEY = "provider_rate_limits"
F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class NamedLimit:
    setting: str  # holds the limits, such as "600 per minute"; "" for none
    scope: str  # the counters' name: one budget on every view that carries the limit
    key: Callable[[], str | None]  # whose budget a request spends; None: not counted
    # when set, a request is counted once answered, and only if this says so
    counted: Callable[[Response], bool] | None = None


TOKEN_PER_CLIENT = NamedLimit("PROVIDER_RATE_LIMIT_TOKEN_PER_CLIENT", "token-client",
                              identities.presented_client_id,
                              counted=identities.authenticated_as_presented)
TOKEN_PER_ADDRESS = NamedLimit("PROVIDER_RATE_LIMIT_TOKEN_PER_ADDRESS", "token-address",
                               identities.client_address)
AUTHORIZE_PER_ADDRESS = NamedLimit("PROVIDER_RATE_LIMIT_AUTHORIZE_PER_ADDRESS",
                                   "authorize-address", identities.anonymous_browser_address)
# for the client registration endpoint (RFC 7591): @limited(REGISTRATION_PER_ADDRESS)
REGISTRATION_PER_ADDRESS = NamedLimit("PROVIDER_RATE_LIMIT_REGISTRATION_PER_ADDRESS",
                                      "registration-address", identities.client_address)
NAMED_LIMITS = (TOKEN_PER_CLIENT, TOKEN_PER_ADDRESS, AUTHORIZE_PER_ADDRESS,
                REGISTRATION_PER_ADDRESS)

# every view ``limited`` marked, with its limits (filled as the view modules load)
_LIMITED_VIEWS: dict[Callable[..., Any], tuple[NamedLimit, ...]] = {}


@dataclass(frozen=True)
class AppLimits:
    """One app's limiter, its outage state, and each limited view as it runs there."""

    limiter: Limiter
    outage: Outage
    views: dict[Callable[..., Any], Callable[..., Any]]


def limited(*named: NamedLimit) -> Callable[[F], F]:
    """Put ``named`` limits on a view (under ``@bp.route``, above ``@atomic_view``)."""

    def decorate(view: F) -> F:
        _LIMITED_VIEWS[view] = named

        @wraps(view)
        def checked(*args: Any, **kwargs: Any) -> Any:
            return _app_limits().views[view](*args, **kwargs)

        return checked  # type: ignore[return-value]

    return decorate


def init_app(app: Flask) -> AppLimits:
    """This app's limiter, on Redis or in memory, and its limited views."""
    limiter = Limiter(identities.client_address, strategy="fixed-window",
                      headers_enabled=False, swallow_errors=True, **_storage(app.config))
    outage = Outage(app.logger, app.config, reachable=lambda: limiter.storage.check())
    limiter.logger = LimiterLog(limiter.logger, outage)  # type: ignore[assignment]
    limiter.init_app(app)
    # Flask-Limiter also checks every request in a before_request hook, for app-wide and
    # blueprint limits, of which the provider has none: each limited view checks its own
    # (its decorator), so the hook only costs time on every request, unlimited or not.
    app.before_request_funcs[None].remove(limiter._check_request_limit)
    client_authenticated.connect(identities.remember_authenticated_client)
    guards = {named: _guard(limiter, outage, named, text) for named in NAMED_LIMITS
              if (text := rate_limit_text(app.config[named.setting])) is not None}
    views = {view: reduce(lambda wrapped, guard: guard(wrapped),
                          [guards[n] for n in limits if n in guards], view)
             for view, limits in _LIMITED_VIEWS.items()}
    app.extensions[EXTENSION_KEY] = selected = AppLimits(limiter, outage, views)
    return selected


def retry_after_seconds(exceeded: RateLimitExceeded) -> int:
    """Whole seconds until the exceeded limit's window ends (at least 1)."""
    window = exceeded.limit.limit.get_expiry()
    try:
        current = _app_limits().limiter.current_limit
        reset_at = current.reset_at if current is not None else None
    except redis.RedisError:  # the counters went away since the check
        reset_at = None
    if reset_at is None:
        return window
    return min(window, max(1, reset_at - int(time.time())))


def _app_limits() -> AppLimits:
    return current_app.extensions[EXTENSION_KEY]


def _storage(config: Mapping[str, Any]) -> dict[str, Any]:
    pool = redis_connection.pool(config, "rate_limits")
    if pool is None:
        return {"storage_uri": "memory://"}
    # limits picks its Redis storage by the scheme; the connections come from the
    # pool, so the URL (perhaps unix://, which limits spells otherwise) is not used
    prefix = config["PROVIDER_RATE_LIMIT_KEY_PREFIX"]
    return {"storage_uri": "redis://",
            "storage_options": {"connection_pool": pool,
                                # limits puts a ":" after its prefix itself
                                "key_prefix": prefix.removesuffix(":")}}


def _guard(limiter: Limiter, outage: Outage, named: NamedLimit, text: str) -> RouteLimit:
    counted = named.counted
    return limiter.shared_limit(
        text, scope=named.scope, key_func=lambda: named.key() or "",
        exempt_when=lambda: outage.skipping() or named.key() is None,
        deduct_when=None if counted is None else (
            lambda response: not outage.active and counted(response)),
        error_message="Too many requests.")
