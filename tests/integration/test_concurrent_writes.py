"""Writers that meet on one row, on both databases. On SQLite every writer is alone
(BEGIN IMMEDIATE); on PostgreSQL (READ COMMITTED, many workers) they run at once,
and row locks and conditional writes must give the outcome SQLite's queue gives.

Races run in real threads against one app, each with its own app context (its own
database session) or test client, released together by a barrier. Where one
interleaving is the point, the first party is paused inside its transaction (a
patched function waits), and on PostgreSQL the test waits until the second party
is queued on a lock before letting the first one finish; on SQLite the second
simply queues at BEGIN."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, text

from provider import audit, clock, management
from provider.accounts.consents import remember_consent
from provider.accounts.sessions import start_login_session
from provider.database import begin_write, write_transaction
from provider.extensions import db
from provider.management import ManagementError, users
from provider.models import (
    AuditEvent,
    Client,
    Consent,
    LoginSession,
    LogoutDelivery,
    RefreshTokenFamily,
    User,
)
from provider.oauth import backchannel, refresh_tokens
from provider.oauth.logout import end_login_session
from tests.support.flows import obtain, obtain_code, refresh, token_request, userinfo_status
from tests.support.protocol import pkce_pair
from tests.support.records import code_state, family_of, live_sessions
from tests.support.settings import PASSWORD

BOUND = 10  # seconds any wait may take before the test fails instead of hanging
RACERS = 8  # no more than the PostgreSQL pool holds (4 + 4 overflow): none waits for one
LOCK_WAITS = text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                  "AND backend_type = 'client backend' AND wait_event_type = 'Lock'")


@pytest.fixture
def rp(make_client):
    return make_client(name="RP", trusted=True)


@pytest.fixture
def threads() -> Iterator[ThreadPoolExecutor]:
    with ThreadPoolExecutor(max_workers=RACERS) as pool:
        yield pool


# --- helpers -------------------------------------------------------------------------


def race(threads: ThreadPoolExecutor, work: Callable[[int], Any]) -> list[Any]:
    """``work(i)`` for RACERS values of ``i`` at once; their results (or the first error)."""
    barrier = threading.Barrier(RACERS)

    def run(index: int) -> Any:
        barrier.wait(BOUND)
        return work(index)

    futures = [threads.submit(run, index) for index in range(RACERS)]
    return [future.result(BOUND) for future in futures]


def in_app(app: Flask, work: Callable[..., Any]) -> Callable[..., Any]:
    """``work`` in an app context of its own, so with a database session of its own."""

    def run(*args: Any) -> Any:
        with app.app_context():
            return work(*args)

    return run


@dataclass
class Pause:
    reached: threading.Event = field(default_factory=threading.Event)
    resume: threading.Event = field(default_factory=threading.Event)


@contextmanager
def paused(monkeypatch: pytest.MonkeyPatch, owner: object, name: str) -> Iterator[Pause]:
    """The first call of ``owner.name`` waits (once ``reached``) until the block ends."""
    pause, original = Pause(), getattr(owner, name)

    def waiting(*args: Any, **kwargs: Any) -> Any:
        if not pause.reached.is_set():
            pause.reached.set()
            pause.resume.wait(BOUND)
        return original(*args, **kwargs)

    monkeypatch.setattr(owner, name, waiting)
    try:
        yield pause
    finally:
        pause.resume.set()


def until_queued(app: Flask, database: str) -> None:
    """Return once a transaction waits for a lock (PostgreSQL). On SQLite the second
    writer queues at BEGIN behind the paused one whenever it arrives."""
    if database != "postgresql":
        return
    deadline = time.monotonic() + BOUND / 2
    with app.app_context():
        while time.monotonic() < deadline:
            if db.session.scalar(LOCK_WAITS):
                return
            db.session.rollback()
            time.sleep(0.005)
    pytest.fail("the second transaction did not wait for the paused one's lock")


def end_session(app: Flask, sid: str) -> None:
    """A logout of ``sid`` in a writing transaction of its own."""
    with app.app_context(), write_transaction():
        end_login_session(db.session.get(LoginSession, sid))


def only_sid(app: Flask) -> str:
    with app.app_context():
        return db.session.scalars(db.select(LoginSession.sid)).one()


def events(app: Flask, event: str) -> list[dict]:
    with app.app_context():
        return [row.details for row in db.session.scalars(
            db.select(AuditEvent).where(AuditEvent.event == event))]


def count(app: Flask, model: type) -> int:
    with app.app_context():
        return db.session.scalar(db.select(func.count()).select_from(model))


# --- consent ---------------------------------------------------------------------------


def grant_all_at_once(app: Flask, threads: ThreadPoolExecutor, user_id: str,
                      client_id: str, prefix: str) -> None:
    def grant(index: int) -> None:
        with write_transaction():
            remember_consent(db.session.get(User, user_id), db.session.get(Client, client_id),
                             f"openid {prefix}{index}")

    race(threads, in_app(app, grant))


def test_first_consents_at_once_all_succeed_into_one_row(app, alice, rp, threads):
    grant_all_at_once(app, threads, alice.id, rp["client_id"], "first")
    grant_all_at_once(app, threads, alice.id, rp["client_id"], "more")  # onto the row now
    with app.app_context():
        [consent] = db.session.scalars(db.select(Consent)).all()
    expected = {"openid"} | {f"{prefix}{index}" for prefix in ("first", "more")
                             for index in range(RACERS)}
    assert set(consent.scope.split()) == expected


# --- a refresh or code exchange in progress, and the logout that ends them ------------------


def test_a_logout_during_a_refresh_deny_lists_the_refreshed_access_token(
        app, client, browser, alice, rp, database, threads, monkeypatch):
    tokens = obtain(client, browser, rp, scope="openid profile")  # ends with the session
    with paused(monkeypatch, refresh_tokens, "record_access_token") as pause:
        refreshing = threads.submit(refresh, app.test_client(), rp, tokens["refresh_token"])
        assert pause.reached.wait(BOUND)
        logging_out = threads.submit(end_session, app, only_sid(app))
        until_queued(app, database)  # the logout's revoke waits for the refresh's family lock
    refreshed = refreshing.result(BOUND)
    logging_out.result(BOUND)
    assert refreshed.status_code == 200
    assert family_of(app, rp).revoked_reason == "logout"
    assert userinfo_status(client, refreshed.get_json()["access_token"]) == 401


def test_a_logout_during_a_code_exchange_ends_what_the_exchange_issued(
        app, client, browser, alice, rp, database, threads, monkeypatch):
    verifier, challenge = pkce_pair()
    code = obtain_code(browser, rp, challenge)
    with paused(monkeypatch, refresh_tokens, "record_access_token") as pause:
        exchanging = threads.submit(token_request, app.test_client(), rp, code, verifier)
        assert pause.reached.wait(BOUND)
        logging_out = threads.submit(end_session, app, only_sid(app))
        until_queued(app, database)  # the logout waits for the exchange's hold on the session
    exchanged = exchanging.result(BOUND)
    logging_out.result(BOUND)
    assert exchanged.status_code == 200
    assert family_of(app, rp).revoked_reason == "logout"
    assert userinfo_status(client, exchanged.get_json()["access_token"]) == 401


def test_a_code_is_refused_once_its_session_has_ended(app, client, browser, alice, rp):
    verifier, challenge = pkce_pair()
    code = obtain_code(browser, rp, challenge)
    end_session(app, only_sid(app))
    refused = token_request(client, rp, code, verifier)
    assert refused.status_code == 400
    assert refused.get_json()["error"] == "invalid_grant"
    assert code_state(app, code)["consumed_at"] is None  # refused, not burnt
    assert count(app, RefreshTokenFamily) == 0


# --- revoking families and ending sessions ---------------------------------------------


def test_concurrent_revokes_of_one_family_revoke_it_once(app, client, browser, alice, rp,
                                                        threads):
    tokens = obtain(client, browser, rp)
    family_id = family_of(app, rp).id

    def revoke(_index: int) -> bool:
        with write_transaction():
            return refresh_tokens.revoke_family(db.session.get(RefreshTokenFamily, family_id),
                                                "user_revoked")

    assert sorted(race(threads, in_app(app, revoke))) == [False] * (RACERS - 1) + [True]
    assert family_of(app, rp).revoked_reason == "user_revoked"
    assert userinfo_status(client, tokens["access_token"]) == 401


def test_concurrent_reuse_revokes_the_family_once(app, client, browser, alice, rp, threads):
    first = obtain(client, browser, rp)
    assert refresh(client, rp, first["refresh_token"]).status_code == 200
    with clock.advance(app, 11):  # past the grace window: every repeat is reuse
        answers = race(threads, lambda _index: refresh(
            app.test_client(), rp, first["refresh_token"]).status_code)
    assert answers == [400] * RACERS
    assert [event["outcome"] for event in events(app, "refresh_token_reuse")] == [
        "family_revoked"]


def test_a_repeat_in_the_grace_window_waits_for_its_successor_in_use(
        app, client, browser, alice, rp, database, threads, monkeypatch):
    first = obtain(client, browser, rp)
    second = refresh(client, rp, first["refresh_token"]).get_json()
    with paused(monkeypatch, refresh_tokens, "record_access_token") as pause:
        rotating = threads.submit(refresh, app.test_client(), rp, second["refresh_token"])
        assert pause.reached.wait(BOUND)
        repeating = threads.submit(refresh, app.test_client(), rp, first["refresh_token"])
        until_queued(app, database)  # the repeat waits for the successor's rotation
    rotated, repeated = rotating.result(BOUND), repeating.result(BOUND)
    assert rotated.status_code == 200
    # the successor has been used: the repeat is reuse, not a grace replay of it
    assert repeated.status_code == 400
    assert family_of(app, rp).revoked_reason == "refresh_token_reuse"
    assert userinfo_status(client, rotated.get_json()["access_token"]) == 401


def test_concurrent_ends_of_one_session_record_one_logout(app, client, browser, alice, rp,
                                                         threads):
    obtain(client, browser, rp, scope="openid profile")
    sid = only_sid(app)
    race(threads, lambda _index: end_session(app, sid))
    assert len(events(app, "logout")) == 1
    assert live_sessions(app) == 0
    assert family_of(app, rp).revoked_reason == "logout"


def test_a_relogin_never_extends_a_session_a_logout_has_ended(app, browser, alice, rp,
                                                             database, threads):
    obtain_code(browser, rp)
    sid = only_sid(app)
    loaded, resume = threading.Event(), threading.Event()

    def relogin() -> str:
        with app.test_request_context("/login", method="POST"):
            begin_write()
            previous = db.session.get(LoginSession, sid)  # as current_login() reads it
            loaded.set()
            resume.wait(BOUND)
            login = start_login_session(db.session.get(User, previous.user_id), previous)
            db.session.commit()
            return login.sid

    relogging = threads.submit(relogin)
    try:
        assert loaded.wait(BOUND)
        logging_out = threads.submit(end_session, app, sid)
        if database == "postgresql":
            logging_out.result(BOUND)  # nothing holds the session's row: the logout commits
    finally:
        resume.set()
    kept = relogging.result(BOUND)
    logging_out.result(BOUND)
    if database == "postgresql":  # the re-login saw the logout: a session of its own
        assert kept != sid and live_sessions(app) == 1
    else:  # SQLite: the logout queued behind the re-login and ended the session it kept
        assert kept == sid and live_sessions(app) == 0


# --- the back-channel outbox ----------------------------------------------------------


def test_an_outcome_and_a_new_claim_of_one_delivery_never_overwrite_each_other(
        app, alice, rp, database, threads, monkeypatch):
    with app.app_context():
        row = LogoutDelivery(sid="a-session", client_id=rp["client_id"], user_id=alice.id,
                             created_at=clock.now(), next_attempt_at=clock.now())
        db.session.add(row)
        db.session.commit()
        delivery_id, ran_out = row.id, backchannel.claim_seconds()
        first = backchannel.claim(delivery_id)
    with clock.advance(app, ran_out):  # the first claim ran out
        with paused(monkeypatch, audit, "record") as pause:  # its outcome, not yet committed
            recording = threads.submit(in_app(app, backchannel.attempt), first)
            assert pause.reached.wait(BOUND)
            claiming = threads.submit(in_app(app, backchannel.claim), delivery_id)
            until_queued(app, database)  # the new claim waits for the outcome
        recording.result(BOUND)
        assert claiming.result(BOUND) is None  # given up by then: nothing to claim
    with app.app_context():
        row = db.session.get(LogoutDelivery, delivery_id)
        assert (row.status, row.attempts) == ("failed", 1)
        assert row.last_error.startswith("client gone")


# --- operator commands ------------------------------------------------------------------


@pytest.fixture
def checked_together(database, monkeypatch) -> None:
    """On PostgreSQL no racer inserts its user before every racer has found the name
    free (``create_user`` hashes the password between the two). SQLite's writers are
    alone: each finds the users the ones before it made."""
    if database != "postgresql":
        return
    checked, hash_password = threading.Barrier(RACERS), users.hash_password

    def hash_when_all_checked(password: str) -> str:
        checked.wait(BOUND)
        return hash_password(password)

    monkeypatch.setattr(users, "hash_password", hash_when_all_checked)


@pytest.mark.usefixtures("checked_together")
def test_concurrent_creates_of_one_username_make_one_user(app, threads):
    def create(_index: int) -> str:
        try:
            return management.create_user("bob", PASSWORD).id
        except ManagementError as refused:
            return str(refused)

    answers = race(threads, in_app(app, create))
    assert answers.count("user 'bob' already exists") == RACERS - 1
    assert count(app, User) == 1


@pytest.mark.usefixtures("checked_together")
def test_concurrent_demo_seeds_seed_once(app, threads):
    answers = race(threads, in_app(app, lambda _index: management.seed_demo_data()))
    assert count(app, User) == 1 and count(app, Client) == 3
    assert any("Demo data (from instance/demo.json):" in lines for lines in answers)
