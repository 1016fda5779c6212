"""Signing in through the real login form with the Flask test client, from a given
client address, and reading the sign-in throttle's counters from whichever store
holds them (the database or Redis)."""

from __future__ import annotations

from provider.extensions import db
from provider.models import LoginSession
from tests.support.forms import CSRF

WRONG = "not the password"
HOME = "192.0.2.10"
THROTTLED = "Too many failed sign-in attempts."
INCORRECT = "Incorrect username or password."


def attempt(client, username: str, password: str = WRONG, address: str = HOME,
            headers: dict | None = None):
    """GET the login page and POST the form, both from ``address``."""
    environ = {"REMOTE_ADDR": address}
    page = client.get("/login", environ_base=environ)
    csrf = CSRF.search(page.get_data(as_text=True)).group(1)
    return client.post("/login", environ_base=environ, headers=headers or {}, data={
        "csrf_token": csrf, "username": username, "password": password, "action": "login"})


def fail(client, username: str, times: int, address: str = HOME) -> None:
    for _ in range(times):
        response = attempt(client, username, address=address)
        assert response.status_code == 200 and INCORRECT in response.get_data(as_text=True)


def counter(app, username: str, address: str | None = None) -> tuple[int, int] | None:
    """(failures, back-off seconds) of the pair counter, or the account's without
    ``address``, from whichever store holds them; None when there is none."""
    from provider.accounts import login_counters, throttle

    with app.app_context():
        key = (throttle.pair_digest(username, address) if address
               else throttle.account_digest(username))
        stored = login_counters.store().counter(key)
        if stored is None:
            return None
        return stored.failures, max(0, stored.blocked_until - stored.last_failure_at)


def sessions(app) -> int:
    with app.app_context():
        return db.session.scalar(db.select(db.func.count()).select_from(LoginSession))
