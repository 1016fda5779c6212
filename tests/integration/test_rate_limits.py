"""Rate limits (``provider/rate_limits/``): token requests per client and per address,
anonymous authorization requests per address; ``429`` with ``Retry-After``, JSON on
protocol endpoints and a page for browsers, never a redirect; the defaults; settings
that stop the app; counters in memory, per app, or in Redis, one budget for every app
that shares it; and a Redis that refuses connections or stops answering (a real
redis-server under SIGSTOP) lets requests through, logs one warning without the URL's
password, and counting resumes once it answers again."""

from __future__ import annotations

import logging
import os
import secrets
import signal
from collections.abc import Callable, Iterator
from urllib.parse import urlencode

import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient

from provider import clock, create_app, denylist
from provider.config import DEFAULTS, ConfigurationError
from provider.extensions import db
from provider.rate_limits.outage import RETRY_SECONDS
from tests.support import factories
from tests.support.flows import auth_params, obtain_code
from tests.support.live_server import free_port
from tests.support.protocol import basic_auth
from tests.support.redis_server import redis_process
from tests.support.settings import CHEAP_HASHING, ISSUER

pytestmark = pytest.mark.sqlite_only  # the subject is the limits, not the database

HOUR = 3600
LOOPBACK = "127.0.0.1"
TO_SIGN_IN = 303  # an anonymous authorization request is sent to the sign-in page
SERVICE = {"grant_types": ("client_credentials",), "scope": "api:read"}
REDIS_PASSWORD = "s3cret-redis-password"
NOT_APPLIED = "rate limits not applied"
LIMIT_SETTINGS = ("PROVIDER_RATE_LIMIT_TOKEN_PER_CLIENT", "PROVIDER_RATE_LIMIT_TOKEN_PER_ADDRESS",
                  "PROVIDER_RATE_LIMIT_AUTHORIZE_PER_ADDRESS",
                  "PROVIDER_RATE_LIMIT_REGISTRATION_PER_ADDRESS")


@pytest.fixture
def service(make_client) -> dict:
    return make_client(name="Service", **SERVICE)


@pytest.fixture
def other_service(make_client) -> dict:
    return make_client(name="Other service", **SERVICE)


@pytest.fixture
def rp(make_client) -> dict:
    return make_client(name="RP", trusted=True)


@pytest.fixture
def make_app(instance) -> Iterator[Callable[..., Flask]]:
    """Apps on the test's instance; their Redis connections and engines closed after."""
    apps: list[Flask] = []

    def make(**config) -> Flask:
        app = create_app({"PROVIDER_INSTANCE_PATH": str(instance), "PROVIDER_ISSUER": ISSUER,
                          "PROVIDER_REDIS_TIMEOUT_SECONDS": 0.2, **CHEAP_HASHING, **config})
        app.config["TESTING"] = True
        apps.append(app)
        return app

    yield make
    for app in apps:
        app.extensions[denylist.EXTENSION_KEY].close()
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def client_credentials(http: FlaskClient, caller: dict, secret: str | None = None,
                       address: str = LOOPBACK):
    return http.post("/token", data={"grant_type": "client_credentials"},
                     headers=basic_auth(caller["client_id"], secret or caller["client_secret"]),
                     environ_overrides={"REMOTE_ADDR": address})


def anonymous_authorize(app: Flask, rp: dict, address: str = LOOPBACK, **headers):
    """/authorize from a browser with no cookies at all."""
    return app.test_client(use_cookies=False).get(
        "/authorize?" + urlencode(auth_params(rp)), headers=headers,
        environ_overrides={"REMOTE_ADDR": address})


def assert_too_many(response, window: int = HOUR) -> None:
    assert response.status_code == 429, response.data
    body = response.get_json()
    assert body["error"] == "too_many_requests"
    assert f"retry after {response.headers['Retry-After']} seconds" in body["error_description"]
    assert response.headers["Cache-Control"] == "no-store"
    assert 1 <= int(response.headers["Retry-After"]) <= window


# --- the token endpoint ----------------------------------------------------------------


@pytest.mark.config(PROVIDER_RATE_LIMIT_TOKEN_PER_CLIENT="3 per hour")
def test_a_client_over_its_limit_is_refused_and_another_is_not(client, service, other_service):
    assert [client_credentials(client, service).status_code for _ in range(3)] == [200] * 3
    assert_too_many(client_credentials(client, service))
    assert client_credentials(client, other_service).status_code == 200


@pytest.mark.config(PROVIDER_RATE_LIMIT_TOKEN_PER_CLIENT="3 per hour")
def test_requests_that_do_not_authenticate_spend_nothing(client, service, other_service):
    named = basic_auth(service["client_id"], "wrong")
    for _ in range(5):
        assert client_credentials(client, service, secret="wrong").status_code == 401
        # refused before any secret is checked: a malformed request, credentials twice
        assert client.post("/token", headers=named, data={}).status_code == 400
        assert client.post("/token", headers=basic_auth(other_service["client_id"],
                                                        other_service["client_secret"]),
                           data={"grant_type": "client_credentials",
                                 "client_id": service["client_id"]}).status_code == 400
    assert [client_credentials(client, service).status_code for _ in range(3)] == [200] * 3
    assert_too_many(client_credentials(client, service))


@pytest.mark.config(PROVIDER_RATE_LIMIT_TOKEN_PER_CLIENT="3 per hour")
def test_a_public_client_is_never_counted_per_client(client, make_client):
    """Naming a public client proves nothing: a per-client budget for it would let
    anyone lock every user of a single-page app out by sending junk with its id."""
    spa = make_client(name="SPA", public=True)
    for _ in range(6):
        junk = client.post("/token", data={"grant_type": "authorization_code",
                                           "client_id": spa["client_id"], "code": "junk",
                                           "redirect_uri": "https://rp.example/cb",
                                           "code_verifier": "v" * 43})
        assert junk.status_code == 400 and junk.get_json()["error"] == "invalid_grant"


@pytest.mark.config(PROVIDER_RATE_LIMIT_TOKEN_PER_ADDRESS="3 per hour")
def test_ipv6_addresses_of_one_slash_64_share_a_budget(client, service):
    """One subscriber holds a whole /64 and could rotate through it."""
    for n in range(3):
        answer = client_credentials(client, service, address=f"2001:db8:1:2::{n + 1:x}")
        assert answer.status_code == 200
    assert_too_many(client_credentials(client, service, address="2001:db8:1:2:ffff::9"))
    assert client_credentials(client, service, address="2001:db8:1:3::1").status_code == 200


@pytest.mark.config(PROVIDER_RATE_LIMIT_TOKEN_PER_ADDRESS="3 per hour")
def test_an_address_over_its_limit_is_refused_whatever_it_presents(client, service,
                                                                   other_service):
    # every request counts, a failed one too; loopback is an address like any other
    assert client_credentials(client, service, secret="wrong").status_code == 401
    assert client_credentials(client, service).status_code == 200
    assert client_credentials(client, other_service).status_code == 200
    assert_too_many(client_credentials(client, other_service))
    assert client_credentials(client, service, address="192.0.2.7").status_code == 200


# --- the authorization endpoint ---------------------------------------------------------


@pytest.mark.config(PROVIDER_RATE_LIMIT_AUTHORIZE_PER_ADDRESS="3 per hour")
def test_anonymous_authorization_requests_are_limited_per_address(app, rp):
    assert [anonymous_authorize(app, rp).status_code for _ in range(2)] == [TO_SIGN_IN] * 2
    posted = app.test_client().post("/authorize", data=auth_params(rp))
    assert posted.status_code == 303  # a POST counts as well (sent on as a GET)
    page = anonymous_authorize(app, rp)
    assert page.status_code == 429 and page.mimetype == "text/html"
    assert "Location" not in page.headers  # answered here, never sent to the client
    assert "Too many requests" in page.get_data(as_text=True)
    assert 1 <= int(page.headers["Retry-After"]) <= HOUR
    assert_too_many(anonymous_authorize(app, rp, Accept="application/json"))
    assert anonymous_authorize(app, rp, address="192.0.2.7").status_code == TO_SIGN_IN


@pytest.mark.config(PROVIDER_RATE_LIMIT_AUTHORIZE_PER_ADDRESS="2 per hour")
def test_a_signed_in_browser_is_not_counted(app, browser, alice, rp):
    obtain_code(browser, rp)  # one anonymous request, then signed in
    for _ in range(4):
        obtain_code(browser, rp)
    assert anonymous_authorize(app, rp).status_code == TO_SIGN_IN  # the second anonymous one
    assert anonymous_authorize(app, rp).status_code == 429


# --- the defaults ----------------------------------------------------------------------


def test_the_defaults_let_a_busy_client_and_a_conformance_run_through(app, client, service,
                                                                      rp):
    assert DEFAULTS["PROVIDER_RATE_LIMIT_TOKEN_PER_CLIENT"] == ""
    assert DEFAULTS["PROVIDER_RATE_LIMIT_TOKEN_PER_ADDRESS"] == ""
    assert {client_credentials(client, service).status_code for _ in range(200)} == {200}
    # a conformance suite's few hundred authorizations from one address
    assert {anonymous_authorize(app, rp).status_code for _ in range(300)} == {TO_SIGN_IN}


# --- settings --------------------------------------------------------------------------


@pytest.mark.parametrize("setting", LIMIT_SETTINGS)
@pytest.mark.parametrize("value", ["lots", "10 per fortnight", "5", "0 per minute", 600])
def test_a_limit_that_cannot_be_read_stops_the_app(tmp_path, setting, value):
    with pytest.raises(ConfigurationError, match=setting):
        create_app({"PROVIDER_INSTANCE_PATH": str(tmp_path), setting: value})


def test_the_environment_sets_limits_and_off_switches_one_off(instance, make_app,
                                                             monkeypatch):
    (instance / "config.py").write_text('PROVIDER_RATE_LIMIT_AUTHORIZE_PER_ADDRESS = "1/hour"\n')
    monkeypatch.setenv("PROVIDER_RATE_LIMIT_AUTHORIZE_PER_ADDRESS", "off")
    monkeypatch.setenv("PROVIDER_RATE_LIMIT_TOKEN_PER_CLIENT", "1/hour; 100/day")
    app = make_app()
    service = factories.create_client(app, name="Service", **SERVICE)
    rp = factories.create_client(app, name="RP", trusted=True)
    http = app.test_client()
    assert client_credentials(http, service).status_code == 200
    assert_too_many(client_credentials(http, service))
    assert {anonymous_authorize(app, rp).status_code for _ in range(3)} == {TO_SIGN_IN}


# --- where the counters live -----------------------------------------------------------


def test_without_redis_each_app_counts_on_its_own(make_app):
    """As each process does: N of them allow up to N times a limit."""
    first, second = (make_app(PROVIDER_RATE_LIMIT_TOKEN_PER_CLIENT="2 per hour")
                     for _ in range(2))
    service = factories.create_client(first, name="Service", **SERVICE)
    for http in (first.test_client(), second.test_client()):
        assert [client_credentials(http, service).status_code for _ in range(2)] == [200] * 2
        assert_too_many(client_credentials(http, service))


@pytest.fixture(scope="module")
def guarded_redis(tmp_path_factory) -> Iterator[tuple[str, object]]:
    """A redis-server that asks for a password: its URL (with the password) and process."""
    with redis_process(tmp_path_factory.mktemp("redis-limits")) as (url, process):
        with redis.Redis.from_url(url) as raw:
            raw.config_set("requirepass", REDIS_PASSWORD)
        yield url.replace("redis://", f"redis://:{REDIS_PASSWORD}@"), process


@pytest.fixture
def stopped(guarded_redis) -> Iterator[Callable[[], object]]:
    """A context manager: the Redis stops answering inside the block (SIGSTOP)."""
    _url, process = guarded_redis

    class Stopped:
        def __enter__(self):
            os.kill(process.pid, signal.SIGSTOP)

        def __exit__(self, *exc):
            os.kill(process.pid, signal.SIGCONT)

    yield Stopped
    os.kill(process.pid, signal.SIGCONT)


def outage_warnings(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if NOT_APPLIED in r.getMessage()]


def test_apps_sharing_a_redis_share_one_budget(make_app, redis_server):
    prefix = f"test-{secrets.token_hex(6)}:"
    config = {"REDIS_URL": redis_server, "PROVIDER_RATE_LIMIT_KEY_PREFIX": prefix,
              "PROVIDER_RATE_LIMIT_TOKEN_PER_CLIENT": "3 per hour"}
    first, second = make_app(**config), make_app(**config)
    service = factories.create_client(first, name="Service", **SERVICE)
    here, there = first.test_client(), second.test_client()
    assert [client_credentials(http, service).status_code
            for http in (here, there, here)] == [200] * 3
    assert_too_many(client_credentials(there, service))
    assert_too_many(client_credentials(here, service))
    with redis.Redis.from_url(redis_server) as raw:
        keys = [key.decode() for key in raw.keys(prefix + "*")]
    assert keys and all(service["client_id"] in key for key in keys)


def test_a_redis_that_refuses_connections_lets_requests_through(make_app, caplog):
    app = make_app(REDIS_URL=f"redis://127.0.0.1:{free_port()}/0",
                   PROVIDER_RATE_LIMIT_TOKEN_PER_CLIENT="1 per hour",
                   PROVIDER_RATE_LIMIT_AUTHORIZE_PER_ADDRESS="1 per hour")
    service = factories.create_client(app, name="Service", **SERVICE)
    rp = factories.create_client(app, name="RP", trusted=True)
    http = app.test_client()
    assert {client_credentials(http, service).status_code for _ in range(3)} == {200}
    assert {anonymous_authorize(app, rp).status_code for _ in range(3)} == {303}
    assert len(outage_warnings(caplog)) == 1


def test_a_redis_that_stops_answering_lets_requests_through_until_it_is_back(
        make_app, guarded_redis, stopped, caplog):
    url, _process = guarded_redis
    app = make_app(REDIS_URL=url, PROVIDER_RATE_LIMIT_KEY_PREFIX=f"test-{secrets.token_hex(6)}:",
                   PROVIDER_RATE_LIMIT_TOKEN_PER_CLIENT="2 per hour")
    service = factories.create_client(app, name="Service", **SERVICE)
    http = app.test_client()
    assert [client_credentials(http, service).status_code for _ in range(2)] == [200] * 2
    assert_too_many(client_credentials(http, service))
    with stopped():
        # the first check waits for Redis once; the next ones do not try it
        assert [client_credentials(http, service).status_code for _ in range(4)] == [200] * 4
    warnings = outage_warnings(caplog)
    assert len(warnings) == 1 and warnings[0].levelno == logging.WARNING
    assert "Timeout" in warnings[0].getMessage()
    assert REDIS_PASSWORD not in caplog.text
    assert client_credentials(http, service).status_code == 200  # still within the interval
    with clock.advance(app, RETRY_SECONDS):
        # one ping: Redis answers, and the budget spent before the outage still counts
        assert_too_many(client_credentials(http, service))
    assert len(outage_warnings(caplog)) == 1
