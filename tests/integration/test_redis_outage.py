"""A Redis that stops answering (a real redis-server under SIGSTOP) neither undoes
theft detection nor stops logout: the database decides the revocation and keeps
the deny-list entries Redis could not take; checks still fail closed while Redis
is away, consult the kept entries beside Redis once it is back, and the entries
reach Redis when the background job flushes them."""

from __future__ import annotations

import os
import re
import signal
from collections.abc import Iterator

import pytest
import redis
from flask import Flask

from provider import create_app, denylist, jobs, management
from provider.extensions import db
from provider.models import AuditEvent, LoginSession, PendingDenial
from tests.support.flows import obtain, refresh, userinfo_status
from tests.support.forms import Browser
from tests.support.protocol import basic_auth
from tests.support.records import family_of
from tests.support.redis_server import redis_process
from tests.support.settings import CHEAP_HASHING, ISSUER

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
PREFIX = "outage-test:"


@pytest.fixture(scope="module")
def redis_server_process(tmp_path_factory) -> Iterator[tuple[str, object]]:
    with redis_process(tmp_path_factory.mktemp("redis-outage")) as started:
        yield started


@pytest.fixture
def outage(redis_server_process) -> Iterator:
    """A context manager: Redis stops answering inside the block (SIGSTOP), and
    answers again after it (SIGCONT), whatever the test does."""
    _url, process = redis_server_process

    class Outage:
        def __enter__(self):
            os.kill(process.pid, signal.SIGSTOP)

        def __exit__(self, *exc):
            os.kill(process.pid, signal.SIGCONT)

    yield Outage()
    os.kill(process.pid, signal.SIGCONT)


@pytest.fixture
def app(instance, redis_server_process) -> Iterator[Flask]:
    url, _process = redis_server_process
    app = create_app({"PROVIDER_INSTANCE_PATH": str(instance), "PROVIDER_ISSUER": ISSUER,
                      "REDIS_URL": url, "PROVIDER_REDIS_TIMEOUT_SECONDS": 0.2,
                      "PROVIDER_DENYLIST_KEY_PREFIX": PREFIX,
                      "PROVIDER_REFRESH_GRACE_SECONDS": 0, **CHEAP_HASHING})
    app.config["TESTING"] = True
    with redis.Redis.from_url(url) as raw:
        raw.flushdb()
    yield app
    app.extensions[denylist.EXTENSION_KEY].close()
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def rp(app):
    with app.app_context():
        management.create_user("alice", "correct horse battery", roles=["user"])
        return management.create_client(name="RP", redirect_uris=("https://rp.example/callback",),
                                        trusted=True)


def pending(app: Flask) -> set[str]:
    with app.app_context():
        return set(db.session.scalars(db.select(PendingDenial.jti)))


def in_redis(app: Flask, jti: str) -> bool:
    with redis.Redis.from_url(app.config["REDIS_URL"]) as raw:
        return bool(raw.exists(PREFIX + jti))


def audit_count(app: Flask, event: str) -> int:
    with app.app_context():
        return db.session.scalar(db.select(db.func.count()).where(AuditEvent.event == event))


def jti_of(token: str) -> str:
    import jwt

    return jwt.decode(token, options={"verify_signature": False})["jti"]


def assert_kept_until_flushed(app: Flask, http, access_token: str) -> None:
    """After the outage: refused at once (the kept entry), then in Redis after a flush."""
    jti = jti_of(access_token)
    assert jti in pending(app) and not in_redis(app, jti)
    assert userinfo_status(http, access_token) == 401  # pending, consulted beside Redis
    assert jobs.flush_pending_denials(app) >= 1
    assert pending(app) == set() and in_redis(app, jti)
    assert userinfo_status(http, access_token) == 401  # now Redis itself says so


def test_refresh_token_reuse_revokes_the_family_during_an_outage(app, rp, outage):
    http = app.test_client()
    first = obtain(http, Browser(http), rp)
    second = refresh(http, rp, first["refresh_token"])
    assert second.status_code == 200
    with outage:
        reuse = refresh(http, rp, first["refresh_token"])  # the thief, or the victim
        assert reuse.status_code == 400, reuse.data
        assert reuse.get_json()["error"] == "invalid_grant"
        # the thief's successor is dead, committed whatever Redis does
        assert refresh(http, rp, second.get_json()["refresh_token"]).status_code == 400
        # a check that cannot reach Redis still fails closed
        assert userinfo_status(http, second.get_json()["access_token"]) == 503
    family = family_of(app, rp)
    assert family.revoked_at is not None and family.revoked_reason == "refresh_token_reuse"
    assert audit_count(app, "refresh_token_reuse") == 1
    assert_kept_until_flushed(app, http, second.get_json()["access_token"])


def test_a_code_replay_revokes_what_the_code_issued_during_an_outage(app, rp, outage):
    http = app.test_client()
    tokens = obtain(http, Browser(http), rp)
    with outage:
        replay = http.post("/token", headers=basic_auth(rp["client_id"], rp["client_secret"]),
                           data={"grant_type": "authorization_code", "code": tokens["code"],
                                 "code_verifier": tokens["verifier"],
                                 "redirect_uri": rp["redirect_uris"][0]})
        assert replay.status_code == 400 and replay.get_json()["error"] == "invalid_grant"
    assert family_of(app, rp).revoked_reason == "code_replay"
    assert audit_count(app, "authorization_code_replay") == 1
    assert refresh(http, rp, tokens["refresh_token"]).status_code == 400
    assert_kept_until_flushed(app, http, tokens["access_token"])


def test_sign_out_ends_the_session_during_an_outage(app, rp, outage):
    http = app.test_client()
    tokens = obtain(http, Browser(http), rp, scope="openid profile")
    csrf = CSRF.search(http.get("/").get_data(as_text=True)).group(1)
    with outage:
        response = http.post("/logout", data={"csrf_token": csrf})
        assert response.status_code == 303
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(LoginSession).where(
            LoginSession.ended_at.is_(None))) == 0
    assert "not signed in" in http.get("/").get_data(as_text=True)
    assert family_of(app, rp).revoked_at is not None
    assert audit_count(app, "logout") == 1
    assert_kept_until_flushed(app, http, tokens["access_token"])


def test_a_flush_while_redis_is_still_away_keeps_the_entries(app, rp, outage):
    http = app.test_client()
    tokens = obtain(http, Browser(http), rp)
    with outage:
        assert http.post("/revoke", headers=basic_auth(rp["client_id"], rp["client_secret"]),
                         data={"token": tokens["access_token"]}).status_code == 200
        assert jobs.flush_pending_denials(app) == 0
    jti = jti_of(tokens["access_token"])
    with app.app_context():
        row = db.session.get(PendingDenial, jti)
        assert row.attempts == 1 and "Redis" in row.last_error
    assert_kept_until_flushed(app, http, tokens["access_token"])
