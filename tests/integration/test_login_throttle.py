"""Login throttling (RFC 6749 §10.10) through the real login form: back-off per
(account, client address) and per account, identical for unknown usernames,
argon2 never run for a throttled attempt, ``provider users unlock`` and purge.

Argon2 verifications are counted by wrapping ``PasswordHasher.verify``: the real
verification still runs, and the counter says how many times."""

from __future__ import annotations

import re
from contextlib import ExitStack
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from click.testing import CliRunner

from provider import clock, management
from provider.cli import main
from provider.extensions import db
from provider.models import AuditEvent
from tests.support.settings import PASSWORD
from tests.support.throttle import (
    HOME,
    INCORRECT,
    THROTTLED,
    WRONG,
    attempt,
    counter,
    fail,
    sessions,
)

# A first back-off long enough that no block can end between two requests of a test;
# the defaults' own schedule is checked in tests/unit/test_login_throttle.py.
pytestmark = pytest.mark.config(PROVIDER_LOGIN_BACKOFF_SECONDS=60)

@pytest.fixture
def bob(make_user):
    return make_user("bob")


@pytest.fixture
def verifications(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """One entry per argon2 verification that really ran in this process."""
    calls: list[int] = []
    original = PasswordHasher.verify

    def counted(self: PasswordHasher, hash: str | bytes, password: str | bytes) -> bool:
        calls.append(1)
        return original(self, hash, password)

    monkeypatch.setattr(PasswordHasher, "verify", counted)
    return calls


def events(app, name: str) -> list[AuditEvent]:
    with app.app_context():
        rows = db.session.scalars(db.select(AuditEvent).where(AuditEvent.event == name)).all()
        db.session.expunge_all()
        return list(rows)


def normalised(response, username: str) -> tuple:
    """What a caller can see of a response, with the username and tokens blanked."""
    text = response.get_data(as_text=True).replace(username, "USERNAME")
    text = re.sub(r'value="[^"]{30,}"', 'value="TOKEN"', text)
    return response.status_code, response.mimetype, "Retry-After" in response.headers, text


# --- the throttle itself -----------------------------------------------------------


def test_five_failures_then_a_login_page_that_says_wait(app, client, alice):
    fail(client, "alice", 5)
    response = attempt(client, "alice")
    assert response.status_code == 429
    assert response.mimetype == "text/html"
    assert 0 < int(response.headers["Retry-After"]) <= 60
    page = response.get_data(as_text=True)
    assert THROTTLED in page and "Try again in 1 minute." in page
    assert 'role="alert"' in page and INCORRECT not in page
    # still the normal form: the contract's field names, CSRF, the username kept
    assert 'name="username"' in page and 'name="password"' in page
    assert 'name="csrf_token"' in page and 'value="alice"' in page
    assert counter(app, "alice", HOME) == (5, 60)


def test_the_right_password_is_refused_while_throttled(app, client, alice):
    fail(client, "alice", 5)
    response = attempt(client, "alice", PASSWORD)
    assert response.status_code == 429 and THROTTLED in response.get_data(as_text=True)
    assert sessions(app) == 0
    with client.session_transaction() as session:
        assert "sid" not in session
    throttled = events(app, "login_throttled")
    assert len(throttled) == 1
    assert throttled[0].details["username"] == "alice" and throttled[0].ip == HOME
    assert len(events(app, "login_failed")) == 5
    assert counter(app, "alice", HOME) == (5, 60)  # a refused attempt is not counted


def test_back_off_doubles_and_stops_at_fifteen_minutes(app, client, alice):
    fail(client, "alice", 5)
    seen = [counter(app, "alice", HOME)[1]]
    with ExitStack() as later:
        for _ in range(6):
            assert attempt(client, "alice", PASSWORD).status_code == 429
            later.enter_context(clock.advance(app, seen[-1]))  # wait out the current block
            fail(client, "alice", 1)
            seen.append(counter(app, "alice", HOME)[1])
        assert seen == [60, 120, 240, 480, 900, 900, 900]
        assert counter(app, "alice", HOME)[0] == 11
        assert attempt(client, "alice", PASSWORD).status_code == 429
        later.enter_context(clock.advance(app, 900))  # never locked out for good
        assert attempt(client, "alice", PASSWORD).status_code == 303
    assert sessions(app) == 1
    assert counter(app, "alice", HOME) is None  # the pair starts again from zero


def test_unknown_and_known_usernames_are_throttled_identically(app, alice):
    def story(username: str) -> list[tuple]:
        http = app.test_client()
        answers = [normalised(attempt(http, username), username) for _ in range(7)]
        answers.append(normalised(attempt(http, username, PASSWORD), username))
        return answers

    known, unknown = story("alice"), story("ghost")
    assert known == unknown
    assert [status for status, *_ in known] == [200] * 5 + [429] * 3
    assert counter(app, "ghost", HOME) == counter(app, "alice", HOME) == (5, 60)
    assert counter(app, "ghost") == counter(app, "alice") == (5, 0)


def test_a_throttled_attempt_never_runs_argon2_an_unknown_user_always_does(
        app, client, alice, verifications):
    fail(client, "alice", 5)
    assert len(verifications) == 5
    for password in (WRONG, WRONG, PASSWORD, WRONG):
        assert attempt(client, "alice", password).status_code == 429
    assert len(verifications) == 5  # refused before the password was looked at

    fail(client, "ghost", 5)  # unknown: argon2 runs (against a dummy hash) each time
    assert len(verifications) == 10
    for _ in range(3):
        assert attempt(client, "ghost").status_code == 429
    assert len(verifications) == 10


# --- addresses and accounts -----------------------------------------------------------


def test_one_address_guessing_at_alice_blocks_neither_bob_nor_alice_elsewhere(
        app, alice, bob):
    guesser = app.test_client()
    fail(guesser, "alice", 5)
    assert attempt(guesser, "alice").status_code == 429
    # one reverse proxy: everybody shares the peer address, and bob is not affected
    assert attempt(app.test_client(), "bob", PASSWORD).status_code == 303
    # alice from her own address is under the per-account ceiling (5 of 20)
    assert attempt(app.test_client(), "alice", PASSWORD, address="198.51.100.7").status_code \
        == 303
    assert counter(app, "bob", HOME) is None and counter(app, "bob") is None


def test_x_forwarded_for_is_not_believed(app, client, alice):
    for n in range(5):
        response = attempt(client, "alice", headers={"X-Forwarded-For": f"203.0.113.{n}"})
        assert response.status_code == 200
    response = attempt(client, "alice", PASSWORD, headers={"X-Forwarded-For": "203.0.113.99"})
    assert response.status_code == 429
    assert {event.ip for event in events(app, "login_failed")} == {HOME}


def test_the_account_ceiling_limits_guessing_spread_over_addresses(
        app, alice, bob, verifications):
    for n in range(20):  # one guess each from 20 addresses: no pair reaches its limit
        fail(app.test_client(), "alice", 1, address=f"10.0.0.{n + 1}")
    assert len(verifications) == 20
    assert counter(app, "alice") == (20, 60)
    fresh = app.test_client()
    response = attempt(fresh, "alice", PASSWORD, address="10.0.1.1")
    assert response.status_code == 429 and THROTTLED in response.get_data(as_text=True)
    assert len(verifications) == 20
    assert counter(app, "alice", "10.0.1.1") is None  # refused by one counter, counted by none
    assert attempt(fresh, "bob", PASSWORD, address="10.0.1.1").status_code == 303


def test_ipv6_addresses_of_one_slash_64_share_a_pair_counter(app, alice):
    for n in range(5):
        fail(app.test_client(), "alice", 1, address=f"2001:db8:1:2::{n + 1:x}")
    assert attempt(app.test_client(), "alice", address="2001:db8:1:2:ffff::1").status_code == 429
    assert attempt(app.test_client(), "alice", PASSWORD,
                   address="2001:db8:1:3::1").status_code == 303


def test_a_correct_password_clears_its_pair_but_not_the_account_counter(app, client, alice):
    fail(client, "alice", 4)
    assert counter(app, "alice", HOME) == (4, 0)
    assert attempt(client, "alice", PASSWORD).status_code == 303
    assert counter(app, "alice", HOME) is None
    assert counter(app, "alice") == (4, 0)  # the success gave back only its own claim


def test_failures_are_forgotten_after_a_day_without_one(app, client, alice):
    fail(client, "alice", 4)
    with clock.advance(app, 24 * 3600):
        fail(client, "alice", 4)  # counting starts again: still no back-off
        assert counter(app, "alice", HOME) == (4, 0)


# --- operators --------------------------------------------------------------------------


@pytest.fixture
def cli(instance: Path, operator_environment: None):
    (instance / "config.py").write_text("PROVIDER_PASSWORD_TIME_COST = 1\n"
                                        "PROVIDER_PASSWORD_MEMORY_COST = 8\n"
                                        "PROVIDER_PASSWORD_PARALLELISM = 1\n")

    def run(*args: str):
        return CliRunner().invoke(main, list(args),
                                  env={"PROVIDER_INSTANCE_PATH": str(instance)})

    return run


def test_provider_users_unlock_clears_the_throttle(app, alice, cli):
    for n in range(4):  # the account ceiling too: 4 addresses x 5 guesses
        fail(app.test_client(), "alice", 5, address=f"10.0.0.{n + 1}")
    http = app.test_client()
    assert attempt(http, "alice", PASSWORD, address="10.0.0.1").status_code == 429
    assert counter(app, "alice") == (20, 60)

    result = cli("users", "unlock", "alice")
    assert result.exit_code == 0, (result.stdout, result.stderr)
    assert result.stdout.strip() == "unlocked alice"
    assert counter(app, "alice") is None and counter(app, "alice", "10.0.0.1") is None
    assert [event.user_id for event in events(app, "login_unlocked")] == [alice.id]
    assert attempt(http, "alice", PASSWORD, address="10.0.0.1").status_code == 303


def test_provider_users_unlock_of_an_unknown_user_is_one_line(cli):
    result = cli("users", "unlock", "nobody")
    assert result.exit_code != 0
    assert "Traceback" not in result.stderr + result.stdout
    assert result.stderr.strip() == "provider: no user 'nobody'"


def test_purge_drops_only_stale_throttle_rows(app, client, alice):
    fail(client, "alice", 5)
    fail(client, "ghost", 1)
    with app.app_context():
        assert management.purge()["login_throttles"] == 0
    with clock.advance(app, 24 * 3600 - 60), app.app_context():
        assert management.purge()["login_throttles"] == 0
    with clock.advance(app, 24 * 3600), app.app_context():
        assert management.purge()["login_throttles"] == 4  # two pairs, two accounts
