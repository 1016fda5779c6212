"""The sign-in throttle with its counters in Redis (``REDIS_URL``): the same
behaviour as in the database (tests/integration/test_login_throttle.py, whose
helpers this reuses), with nothing in ``login_throttles``; unlock finds every
counter of an account; a Redis that does not answer fails sign-in closed (503)."""

from __future__ import annotations

import os
import signal
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

import pytest
import redis
from click.testing import CliRunner

from provider import clock
from provider.cli import main
from provider.extensions import db
from provider.models import LoginThrottle
from tests.support.redis_server import redis_process
from tests.support.settings import PASSWORD
from tests.support.throttle import (
    HOME,
    INCORRECT,
    THROTTLED,
    attempt,
    counter,
    fail,
    sessions,
)

pytestmark = [pytest.mark.sqlite_only,  # the database holds nothing of the throttle here
              pytest.mark.config(PROVIDER_LOGIN_BACKOFF_SECONDS=60)]


@pytest.fixture(scope="module")
def redis_server_process(tmp_path_factory) -> Iterator[tuple[str, object]]:
    with redis_process(tmp_path_factory.mktemp("redis-throttle")) as started:
        yield started


@pytest.fixture
def prefix() -> str:
    return f"throttle-test-{uuid.uuid4().hex[:8]}:"


@pytest.fixture
def app_config(app_config: dict, redis_server_process, prefix: str) -> dict:
    url, _process = redis_server_process
    return {**app_config, "REDIS_URL": url, "PROVIDER_REDIS_TIMEOUT_SECONDS": 0.3,
            "PROVIDER_LOGIN_THROTTLE_KEY_PREFIX": prefix}


@pytest.fixture
def raw(redis_server_process) -> Iterator[redis.Redis]:
    with redis.Redis.from_url(redis_server_process[0]) as client:
        yield client


def throttle_rows(app) -> int:
    with app.app_context():
        return db.session.scalar(db.select(db.func.count()).select_from(LoginThrottle))


def test_the_counters_live_in_redis_and_expire_there(app, client, alice, raw, prefix):
    fail(client, "alice", 5)
    response = attempt(client, "alice", PASSWORD)
    assert response.status_code == 429 and THROTTLED in response.get_data(as_text=True)
    assert 0 < int(response.headers["Retry-After"]) <= 60
    assert counter(app, "alice", HOME) == (5, 60)
    assert counter(app, "alice") == (5, 0)
    assert throttle_rows(app) == 0
    keys = raw.keys(prefix + "*")
    assert len(keys) == 3  # the account, the pair, the account's set of counters
    assert all(0 < raw.ttl(key) <= 24 * 3600 + 960 for key in keys)
    assert not any(b"alice" in key or HOME.encode() in key for key in keys)


def test_back_off_doubles_then_a_success_clears_the_pair(app, client, alice):
    fail(client, "alice", 5)
    seen = [counter(app, "alice", HOME)[1]]
    with ExitStack() as later:
        for _ in range(3):
            assert attempt(client, "alice", PASSWORD).status_code == 429
            later.enter_context(clock.advance(app, seen[-1]))
            fail(client, "alice", 1)
            seen.append(counter(app, "alice", HOME)[1])
        assert seen == [60, 120, 240, 480]
        later.enter_context(clock.advance(app, 480))
        assert attempt(client, "alice", PASSWORD).status_code == 303
    assert sessions(app) == 1
    assert counter(app, "alice", HOME) is None
    assert counter(app, "alice") == (8, 0)  # the success gave back only its own claim


def test_the_account_ceiling_and_forgetting_after_a_day(app, alice):
    for n in range(20):
        fail(app.test_client(), "alice", 1, address=f"10.0.0.{n + 1}")
    assert counter(app, "alice") == (20, 60)
    refused = attempt(app.test_client(), "alice", PASSWORD, address="10.0.1.1")
    assert refused.status_code == 429
    assert counter(app, "alice", "10.0.1.1") is None  # refused by one, counted by none
    with clock.advance(app, 24 * 3600):
        response = attempt(app.test_client(), "alice", address="10.0.1.1")
        assert INCORRECT in response.get_data(as_text=True)
        assert counter(app, "alice") == (1, 0)


def test_provider_users_unlock_clears_every_counter_of_the_account(
        app, alice, instance, operator_environment, redis_server_process, prefix, raw):
    for n in range(4):
        fail(app.test_client(), "alice", 5, address=f"10.0.0.{n + 1}")
    assert attempt(app.test_client(), "alice", PASSWORD, address="10.0.0.1").status_code == 429
    (instance / "config.py").write_text(
        "PROVIDER_PASSWORD_TIME_COST = 1\nPROVIDER_PASSWORD_MEMORY_COST = 8\n"
        "PROVIDER_PASSWORD_PARALLELISM = 1\n"
        f"PROVIDER_LOGIN_THROTTLE_KEY_PREFIX = {prefix!r}\n")
    result = CliRunner().invoke(main, ["users", "unlock", "alice"], env={
        "PROVIDER_INSTANCE_PATH": str(instance), "REDIS_URL": redis_server_process[0]})
    assert result.exit_code == 0, (result.stdout, result.stderr)
    assert raw.keys(prefix + "*") == []
    assert attempt(app.test_client(), "alice", PASSWORD, address="10.0.0.1").status_code == 303


@contextmanager
def redis_stopped(process) -> Iterator[None]:
    os.kill(process.pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(process.pid, signal.SIGCONT)


def test_a_redis_that_does_not_answer_fails_sign_in_closed(app, client, alice,
                                                          redis_server_process, verifications):
    page = client.get("/login")
    assert page.status_code == 200
    with redis_stopped(redis_server_process[1]):
        response = attempt(client, "alice", PASSWORD)
    assert response.status_code == 503 and response.headers["Retry-After"] == "5"
    assert "Traceback" not in response.get_data(as_text=True)
    assert verifications == []  # no password was checked that could not be counted
    assert sessions(app) == 0
    assert attempt(client, "alice", PASSWORD).status_code == 303  # back by itself


@pytest.fixture
def verifications(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    from argon2 import PasswordHasher

    calls: list[int] = []
    original = PasswordHasher.verify

    def counted(self, hash, password):
        calls.append(1)
        return original(self, hash, password)

    monkeypatch.setattr(PasswordHasher, "verify", counted)
    return calls
