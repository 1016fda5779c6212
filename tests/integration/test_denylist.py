"""The deny-list, one suite over both backends: the database, and a real
redis-server (see ``tests/redis_server.py``; skipped loudly when it is missing,
a failure under ``PROVIDER_REQUIRE_REDIS=1``).

Then what only Redis has: key prefix and TTL, and failing closed with a clear
503 when Redis is down or hangs."""

from __future__ import annotations

import secrets
import socket
from collections.abc import Iterator

import jwt
import pytest
import redis
from flask import Flask

from provider import clock, create_app, denylist, management
from provider.config import DEFAULTS, ConfigurationError, unsafe_settings
from provider.denylist.database import DatabaseDenyList
from provider.denylist.redis_backend import RedisDenyList
from provider.extensions import db
from provider.models import DeniedAccessToken
from tests.support.flows import introspect, obtain, post_token, refresh, revoke, userinfo_status
from tests.support.forms import Browser
from tests.support.live_server import free_port
from tests.support.records import family_of
from tests.support.settings import CHEAP_HASHING, ISSUER
from tests.support.snapshots import snapshot
from tests.support.statements import full_scans, recorded_statements

BACKENDS = {"database": DatabaseDenyList, "redis": RedisDenyList}
CHECKED_DEFAULTS = {**DEFAULTS, "PROVIDER_ISSUER": ISSUER}


@pytest.fixture(params=list(BACKENDS))
def backend_name(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def app_config(request: pytest.FixtureRequest, backend_name: str) -> dict:
    """conftest's per-test overrides, plus the Redis backend under its own key prefix."""
    marker = request.node.get_closest_marker("config")
    config = dict(marker.kwargs) if marker else {}
    if backend_name == "redis":
        config["REDIS_URL"] = request.getfixturevalue("redis_server")
        config["PROVIDER_DENYLIST_KEY_PREFIX"] = f"test-{secrets.token_hex(6)}:"
    return config


@pytest.fixture
def app(app: Flask) -> Iterator[Flask]:
    """conftest's app, with its deny-list backend's connections closed afterwards."""
    yield app
    app.extensions[denylist.EXTENSION_KEY].close()


@pytest.fixture
def rp(make_client):
    return make_client(name="RP", trusted=True)


def stored_expiry(app: Flask, jti: str) -> int | None:
    """When the backend will forget ``jti``: the row's expiry, or now + the key's TTL."""
    backend = app.extensions[denylist.EXTENSION_KEY]
    if isinstance(backend, DatabaseDenyList):
        row = db.session.get(DeniedAccessToken, jti)
        return row.expires_at if row is not None else None
    with redis.Redis.from_url(app.config["REDIS_URL"]) as raw:
        ttl = raw.ttl(backend.key(jti))
    return None if ttl < 0 else clock.now() + ttl


def assert_about(stored: int | None, expected: int) -> None:
    """Equal, give or take Redis rounding its TTL and a second ticking by in between."""
    assert stored is not None and abs(stored - expected) <= 2, (stored, expected)


# --- the interface, on both backends -------------------------------------------------


def test_the_backend_is_chosen_by_configuration(app, backend_name):
    assert isinstance(app.extensions[denylist.EXTENSION_KEY], BACKENDS[backend_name])
    with app.app_context():
        assert denylist.backend().name == backend_name


def test_deny_then_check(app):
    with app.app_context():
        expires_at = clock.now() + 600
        assert denylist.deny("jti-1", expires_at, "revoked") is True
        db.session.commit()
        assert denylist.is_denied("jti-1") is True
        assert denylist.is_denied("jti-2") is False
        # idempotent: a second recall of the same token changes nothing
        assert denylist.deny("jti-1", expires_at + 100, "other") is False
        db.session.commit()
        assert_about(stored_expiry(app, "jti-1"), expires_at)


def test_an_expired_token_is_not_stored(app):
    with app.app_context():
        assert denylist.deny("dead", clock.now(), "revoked") is False
        assert denylist.deny("deader", clock.now() - 60, "revoked") is False
        db.session.commit()
        assert not denylist.is_denied("dead") and not denylist.is_denied("deader")
        assert stored_expiry(app, "dead") is None


def test_an_entry_lives_exactly_as_long_as_its_token(app):
    with app.app_context():
        expires_at = clock.now() + 900
        denylist.deny("jti", expires_at, "revoked")
        db.session.commit()
        assert_about(stored_expiry(app, "jti"), expires_at)


def test_purge_keeps_live_entries(app, backend_name):
    with app.app_context():
        denylist.deny("short", clock.now() + 60, "revoked")
        denylist.deny("long", clock.now() + 900, "revoked")
        db.session.commit()
        with clock.advance(app, 61):
            purged = denylist.purge_expired()
            db.session.rollback()  # the purge committed by itself
            # the database drops the dead row; Redis drops keys by itself, by TTL
            assert purged == (1 if backend_name == "database" else 0)
            assert denylist.is_denied("long")
            if backend_name == "database":
                assert stored_expiry(app, "short") is None


def test_revoking_at_the_endpoint_makes_userinfo_refuse_at_once(app, client, browser, alice,
                                                                rp):
    tokens = obtain(client, browser, rp)
    assert userinfo_status(client, tokens["access_token"]) == 200
    assert revoke(client, rp, tokens["access_token"]).status_code == 200
    assert userinfo_status(client, tokens["access_token"]) == 401
    assert introspect(client, rp, tokens["access_token"]).get_json() == {"active": False}


def test_family_revocation_denies_the_familys_access_tokens(app, client, browser, alice, rp):
    first = obtain(client, browser, rp)
    second = refresh(client, rp, first["refresh_token"]).get_json()
    with clock.advance(app, 11):  # reuse outside the grace window: revoke_family → deny
        assert refresh(client, rp, first["refresh_token"]).status_code == 400
        assert userinfo_status(client, second["access_token"]) == 401
    assert family_of(app, rp).revoked_reason == "refresh_token_reuse"


def test_a_replayed_code_denies_the_access_token_it_issued(app, client, browser, alice, rp):
    tokens = obtain(client, browser, rp)
    replay = post_token(client, rp, {
        "grant_type": "authorization_code", "code": tokens["code"],
        "code_verifier": tokens["verifier"], "redirect_uri": rp["redirect_uris"][0]})
    assert replay.status_code == 400
    assert userinfo_status(client, tokens["access_token"]) == 401


def redis_calls(raw: redis.Redis) -> dict[str, int]:
    """Commands the server has run, by name, except INFO (which this very count uses)."""
    stats = raw.info("commandstats")
    return {name: value["calls"] for name, value in stats.items() if name != "cmdstat_info"}


def test_the_check_is_one_indexed_lookup_or_one_round_trip(app, client, browser, alice, rp,
                                                           backend_name):
    tokens = obtain(client, browser, rp)
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert client.get("/userinfo", headers=headers).status_code == 200  # connections warm
    if backend_name == "database":
        with recorded_statements(app) as statements:
            assert client.get("/userinfo", headers=headers).status_code == 200
        seen = statements.touching("denied_access_tokens")
        assert len(seen) == 1
        assert full_scans(app, seen) == []  # a search on the primary key, never a scan
    else:
        with redis.Redis.from_url(app.config["REDIS_URL"]) as raw:
            before = redis_calls(raw)
            assert client.get("/userinfo", headers=headers).status_code == 200
            after = redis_calls(raw)
        ran = {name: after[name] - before.get(name, 0) for name in after
               if after[name] != before.get(name, 0)}
        assert ran == {"cmdstat_exists": 1}


# --- Redis only ----------------------------------------------------------------------


@pytest.mark.parametrize("backend_name", ["redis"])
def test_redis_keys_carry_the_prefix_and_the_tokens_lifetime(app, client, browser, alice, rp):
    tokens = obtain(client, browser, rp)
    assert revoke(client, rp, tokens["access_token"]).status_code == 200
    prefix = app.config["PROVIDER_DENYLIST_KEY_PREFIX"]
    with redis.Redis.from_url(app.config["REDIS_URL"]) as raw:
        keys = raw.keys(prefix + "*")
        assert len(keys) == 1
        assert raw.get(keys[0]) == b"revoked"
        exp = jwt.decode(tokens["access_token"], options={"verify_signature": False})["exp"]
        assert_about(clock.now() + raw.ttl(keys[0]), exp)
    with app.app_context():  # nothing in the table: Redis is the one deny-list
        assert db.session.scalar(db.select(db.func.count(DeniedAccessToken.jti))) == 0


def hanging_server() -> socket.socket:
    """A port that accepts connections and never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    return listener


@pytest.fixture(params=["refused", "hanging"])
def broken_redis(request: pytest.FixtureRequest) -> Iterator[str]:
    if request.param == "refused":
        yield f"redis://127.0.0.1:{free_port()}/0"
        return
    with hanging_server() as listener:
        yield f"redis://127.0.0.1:{listener.getsockname()[1]}/0"


@pytest.fixture
def broken_app(instance, broken_redis) -> Iterator[Flask]:
    app = create_app({"PROVIDER_INSTANCE_PATH": str(instance), "PROVIDER_ISSUER": ISSUER,
                      "REDIS_URL": broken_redis, "PROVIDER_REDIS_TIMEOUT_SECONDS": 0.2,
                      **CHEAP_HASHING})
    app.config["TESTING"] = True
    yield app
    app.extensions[denylist.EXTENSION_KEY].close()
    with app.app_context():
        db.engine.dispose()


def assert_unavailable(response) -> None:
    assert response.status_code == 503, response.data
    assert response.get_json() == {
        "error": "temporarily_unavailable",
        "error_description": "Token revocation state is unavailable; retry shortly."}
    assert response.headers["Retry-After"] == "5"
    assert response.headers["Cache-Control"] == "no-store"


def test_a_redis_outage_fails_closed_with_a_clear_503(app, broken_app):
    http = broken_app.test_client()
    with broken_app.app_context():
        management.create_user("alice", "correct horse battery", roles=["user"])
        rp = management.create_client(name="RP", redirect_uris=("https://rp.example/callback",),
                                      trusted=True)
    # signed in while Redis answered (with Redis away sign-in fails closed too:
    # its counters are there, tests/integration/test_login_throttle_redis.py)
    healthy = app.test_client()
    tokens = obtain(healthy, Browser(healthy), rp)
    # a token whose revocation cannot be checked is refused, not let through
    assert_unavailable(http.get("/userinfo",
                                headers={"Authorization": f"Bearer {tokens['access_token']}"}))
    assert_unavailable(introspect(http, rp, tokens["access_token"]))
    # what needs no deny-list goes on
    assert introspect(http, rp, tokens["refresh_token"]).get_json()["active"] is True
    successor = refresh(http, rp, tokens["refresh_token"])
    assert successor.status_code == 200
    # a revocation is decided in the database: it stands, and the deny-list entry
    # Redis could not take waits there (tests/integration/test_redis_outage.py)
    assert revoke(http, rp, tokens["access_token"]).status_code == 200
    assert revoke(http, rp, successor.get_json()["refresh_token"]).status_code == 200
    assert family_of(broken_app, rp).revoked_at is not None
    assert snapshot(broken_app)["pending_denials"] >= 1
    assert_unavailable(http.get("/userinfo",
                                headers={"Authorization": f"Bearer {tokens['access_token']}"}))


@pytest.mark.parametrize("url", ["http://127.0.0.1:6379", "nonsense"])
def test_an_unusable_redis_url_stops_the_app_at_start(instance, url):
    with pytest.raises(ConfigurationError, match="REDIS_URL is not usable"):
        create_app({"PROVIDER_INSTANCE_PATH": str(instance), "REDIS_URL": url})


@pytest.mark.parametrize("timeout", [0, -1, "soon", True])
def test_the_redis_timeout_must_be_positive(instance, timeout):
    with pytest.raises(ConfigurationError, match="PROVIDER_REDIS_TIMEOUT_SECONDS"):
        create_app({"PROVIDER_INSTANCE_PATH": str(instance), "REDIS_URL": "redis://127.0.0.1",
                    "PROVIDER_REDIS_TIMEOUT_SECONDS": timeout})


@pytest.mark.parametrize("url, warned", [
    ("redis://cache.internal:6379/0", True),
    ("rediss://cache.internal:6379/0", False),
    ("redis://127.0.0.1:6379/0", False),
    ("redis://localhost/0", False),
    ("unix:///run/redis.sock", False),
    ("redis://[::1", False),  # unusable: refused at start instead (above)
])
def test_provider_check_warns_about_plain_redis_off_loopback(url, warned):
    findings = unsafe_settings({**CHECKED_DEFAULTS, "REDIS_URL": url})
    assert any(f.setting == "REDIS_URL" for f in findings) is warned
