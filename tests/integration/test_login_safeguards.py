"""Safeguards of the sign-in pages that the flows alone do not show: argon2 runs for
unknown and disabled users too (counted, not timed), signing in rotates the CSRF
token and clears the cookie session, and an interaction belongs to the browser
that started it."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from argon2 import PasswordHasher

from provider import management
from provider.extensions import db
from provider.models import User
from tests.support.forms import CSRF
from tests.support.protocol import pkce_pair, query_of
from tests.support.settings import PASSWORD


@pytest.fixture
def trusted(make_client):
    return make_client(name="First party", trusted=True)


@pytest.fixture
def verified_hashes(app) -> list[str]:
    """The hash of every argon2 verification the app runs, in order."""
    verified: list[str] = []

    class CountingHasher(PasswordHasher):
        def verify(self, hash: str | bytes, password: str | bytes) -> bool:
            verified.append(hash if isinstance(hash, str) else hash.decode())
            return super().verify(hash, password)

    config = app.config
    # the app's one hasher (provider.accounts.passwords.password_hasher), same cost
    app.extensions["provider_password_hasher"] = CountingHasher(
        time_cost=int(config["PROVIDER_PASSWORD_TIME_COST"]),
        memory_cost=int(config["PROVIDER_PASSWORD_MEMORY_COST"]),
        parallelism=int(config["PROVIDER_PASSWORD_PARALLELISM"]))
    return verified


def csrf_of(page) -> str:
    return CSRF.search(page.get_data(as_text=True)).group(1)


def sign_in(http, username: str = "alice", password: str = PASSWORD, csrf: str | None = None):
    csrf = csrf if csrf is not None else csrf_of(http.get("/login"))
    return http.post("/login", data={"csrf_token": csrf, "username": username,
                                     "password": password, "action": "login"})


def stored_hash(app, username: str) -> str:
    with app.app_context():
        return db.session.scalar(db.select(User.password_hash).where(User.username == username))


# --- argon2 for everyone -------------------------------------------------------------


@pytest.mark.parametrize("username, password", [
    ("nobody", PASSWORD),  # unknown user
    ("alice", "wrong password"),  # known user, wrong password
], ids=["unknown-user", "wrong-password"])
def test_every_failed_sign_in_runs_exactly_one_argon2_verification(
        app, client, alice, verified_hashes, username, password):
    response = sign_in(client, username, password)
    assert response.status_code == 200
    assert "Incorrect username or password." in response.get_data(as_text=True)
    assert len(verified_hashes) == 1
    alices = stored_hash(app, "alice")
    if username == "alice":
        assert verified_hashes == [alices]
    else:  # the stand-in hash, never a real user's
        assert verified_hashes[0] != alices and verified_hashes[0].startswith("$argon2id$")


def test_a_disabled_user_with_the_right_password_costs_one_verification_too(
        app, client, alice, verified_hashes):
    with app.app_context():
        management.set_user_disabled("alice", True)
    response = sign_in(client)
    assert "Incorrect username or password." in response.get_data(as_text=True)
    assert verified_hashes == [stored_hash(app, "alice")]
    assert "Signed in" not in client.get("/").get_data(as_text=True)


def test_a_successful_sign_in_is_one_verification(client, alice, verified_hashes):
    assert sign_in(client).status_code == 303
    assert len(verified_hashes) == 1


# --- the cookie session at sign-in ---------------------------------------------------


def test_the_csrf_token_from_before_sign_in_is_dead_after_it(client, alice):
    before = csrf_of(client.get("/login"))
    assert sign_in(client, csrf=before).status_code == 303
    # the sign-in response itself set a new token (rotation), beyond dropping the old
    # one with the rest of the session (clear): each safeguard stands without the other
    with client.session_transaction() as session:
        assert session.get("csrf_token") not in (None, before)
    home = client.get("/")
    assert "Signed in" in home.get_data(as_text=True)
    after = csrf_of(home)
    assert after != before
    # the old token no longer signs a form: the sign-out is refused, the session lives
    refused = client.post("/logout", data={"csrf_token": before})
    assert refused.status_code == 400
    assert "Signed in" in client.get("/").get_data(as_text=True)
    assert client.post("/logout", data={"csrf_token": after}).status_code == 303
    assert "Signed in" not in client.get("/").get_data(as_text=True)


def test_nothing_planted_in_the_cookie_session_survives_sign_in(client, alice):
    client.get("/login")
    with client.session_transaction() as session:
        session["planted"] = "by an attacker who set the victim's cookie"
        session["sid"] = "an-attackers-session-id"
    assert sign_in(client).status_code == 303
    with client.session_transaction() as session:
        assert "planted" not in session
        assert session["sid"] != "an-attackers-session-id"
    assert "Signed in" in client.get("/").get_data(as_text=True)


# --- interactions belong to one browser ----------------------------------------------


def authorize_params(client_info: dict) -> dict:
    _, challenge = pkce_pair()
    return {"response_type": "code", "client_id": client_info["client_id"],
            "redirect_uri": client_info["redirect_uris"][0], "scope": "openid",
            "state": "s", "code_challenge": challenge, "code_challenge_method": "S256"}


def test_an_interaction_started_in_one_browser_is_refused_in_another(app, alice, trusted):
    browser_a, browser_b = app.test_client(), app.test_client()
    start = browser_a.get("/authorize?" + urlencode(authorize_params(trusted)))
    assert start.status_code == 303 and start.headers["Location"].startswith("/login?")
    interaction = query_of(start.headers["Location"])["interaction"]
    assert browser_a.get(start.headers["Location"]).status_code == 200  # real, and A's

    # B knows the id (a leaked URL) but not A's cookie
    page = browser_b.get("/login?" + urlencode({"interaction": interaction}))
    assert page.status_code == 400 and "Location" not in page.headers
    assert interaction not in page.get_data(as_text=True)
    csrf = csrf_of(browser_b.get("/login"))
    resumed = browser_b.post("/login", data={"csrf_token": csrf, "username": "alice",
                                             "password": PASSWORD, "action": "login",
                                             "interaction": interaction})
    assert resumed.status_code == 400 and "Location" not in resumed.headers
    consent = browser_b.get("/consent?" + urlencode({"interaction": interaction}))
    assert consent.status_code == 400 and "Location" not in consent.headers

    # A's interaction was left as it was: A finishes it and the client gets its code
    form = browser_a.get(start.headers["Location"])
    finished = browser_a.post("/login", data={"csrf_token": csrf_of(form), "username": "alice",
                                              "password": PASSWORD, "action": "login",
                                              "interaction": interaction})
    assert finished.status_code == 302, finished.data
    assert finished.headers["Location"].startswith(trusted["redirect_uris"][0])
    assert "code" in query_of(finished.headers["Location"])
