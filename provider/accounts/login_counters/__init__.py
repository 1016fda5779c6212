"""Where the sign-in failure counters of ``accounts.throttle`` live: the database
(the default) or Redis when ``REDIS_URL`` is set, behind one small interface
(``interface.LoginCounters``), chosen when the app starts, like the deny-list's."""

from __future__ import annotations

from flask import Flask, current_app

from ... import redis_connection
from .database import DatabaseLoginCounters
from .interface import Counter, CountersUnavailable, LoginCounters, Schedule
from .redis_backend import RedisLoginCounters
from .schedule import backoff_seconds

__all__ = ["Counter", "CountersUnavailable", "LoginCounters", "Schedule", "backoff_seconds",
           "init_app", "store"]

EXTENSION_KEY = "provider_login_counters"


def init_app(app: Flask) -> LoginCounters:
    """Select the store from ``app.config`` (at start, so a bad URL stops the app)."""
    client = redis_connection.client(app.config, "login_counters")
    selected: LoginCounters = DatabaseLoginCounters() if client is None else RedisLoginCounters(
        client, app.config["PROVIDER_LOGIN_THROTTLE_KEY_PREFIX"])
    app.extensions[EXTENSION_KEY] = selected
    return selected


def store() -> LoginCounters:
    """The current app's store (selected on first use if ``init_app`` did not run)."""
    selected = current_app.extensions.get(EXTENSION_KEY)
    return selected if selected is not None else init_app(current_app)
