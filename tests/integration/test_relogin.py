"""Signing in again in a browser that already holds a provider session: the same
user re-authenticates the session it has (same ``sid``, new ``auth_time``), so one
logout still ends everything; another user's sign-in ends the earlier session
exactly as a logout does."""

from __future__ import annotations

import jwt
import pytest

from provider import clock
from provider.extensions import db
from provider.models import LoginSession, LogoutDelivery
from tests.support.factories import register
from tests.support.flows import userinfo_status
from tests.support.forms import CSRF
from tests.support.protocol import basic_auth, pkce_pair, query_of
from tests.support.receivers import Receiver
from tests.support.settings import PASSWORD


@pytest.fixture
def users(make_user):
    return make_user("alice"), make_user("bob")


@pytest.fixture
def rp(app, make_client):
    receiver = Receiver()
    yield register(app, make_client, backchannel_logout_uri=receiver.url)
    receiver.close()


def sign_in(client, browser, rp: dict, username: str = "alice", **extra) -> dict:
    verifier, challenge = pkce_pair()
    response = browser.authorize({
        "response_type": "code", "client_id": rp["client_id"], "scope": "openid profile",
        "redirect_uri": rp["redirect_uris"][0], "code_challenge": challenge,
        "code_challenge_method": "S256", **extra}, username=username)
    code = query_of(response.headers["Location"])["code"]
    token = client.post("/token", headers=basic_auth(rp["client_id"], rp["client_secret"]),
                        data={"grant_type": "authorization_code", "code": code,
                              "redirect_uri": rp["redirect_uris"][0], "code_verifier": verifier})
    assert token.status_code == 200, token.data
    tokens = token.get_json()
    tokens["claims"] = jwt.decode(tokens["id_token"], options={"verify_signature": False})
    return tokens


def refresh_status(client, rp: dict, tokens: dict) -> int:
    return client.post("/token", headers=basic_auth(rp["client_id"], rp["client_secret"]),
                       data={"grant_type": "refresh_token",
                             "refresh_token": tokens["refresh_token"]}).status_code


def sessions(app) -> dict[str, int | None]:
    """sid -> ended_at, for every provider session stored."""
    with app.app_context():
        return {row.sid: row.ended_at for row in db.session.scalars(db.select(LoginSession))}


def deliveries(app) -> set[str]:
    with app.app_context():
        return set(db.session.scalars(db.select(LogoutDelivery.sid)))


def sign_out(client) -> None:
    csrf = CSRF.search(client.get("/").get_data(as_text=True)).group(1)
    assert client.post("/logout", data={"csrf_token": csrf}).status_code == 303


@pytest.mark.parametrize("again", [{"prompt": "login"}, {"max_age": "5"}])
def test_signing_in_again_as_the_same_user_keeps_the_session(app, client, browser, users, rp,
                                                             again):
    first = sign_in(client, browser, rp)
    with clock.advance(app, 60):
        second = sign_in(client, browser, rp, **again)
    assert second["claims"]["sid"] == first["claims"]["sid"]
    assert second["claims"]["auth_time"] >= first["claims"]["auth_time"] + 60
    assert list(sessions(app)) == [first["claims"]["sid"]]

    sign_out(client)
    # The first sign-in's tokens end with the one session both sign-ins share.
    assert refresh_status(client, rp, first) == 400
    assert refresh_status(client, rp, second) == 400
    assert userinfo_status(client, first["access_token"]) == 401
    assert deliveries(app) == {first["claims"]["sid"]}


def test_another_user_signing_in_ends_the_earlier_session_as_a_logout(app, client, browser,
                                                                     users, rp):
    alices = sign_in(client, browser, rp)
    bobs = sign_in(client, browser, rp, username="bob", prompt="login")
    assert bobs["claims"]["sub"] != alices["claims"]["sub"]
    assert bobs["claims"]["sid"] != alices["claims"]["sid"]
    stored = sessions(app)
    assert stored[alices["claims"]["sid"]] is not None  # ended
    assert stored[bobs["claims"]["sid"]] is None  # live
    assert refresh_status(client, rp, alices) == 400
    assert userinfo_status(client, alices["access_token"]) == 401
    assert deliveries(app) == {alices["claims"]["sid"]}
    # Bob's session is untouched by the end of Alice's.
    assert userinfo_status(client, bobs["access_token"]) == 200
    assert refresh_status(client, rp, bobs) == 200


def test_a_second_login_without_a_prompt_does_not_start_a_second_session(app, client, browser,
                                                                        users, rp):
    first = sign_in(client, browser, rp)
    page = client.get("/login")
    csrf = CSRF.search(page.get_data(as_text=True)).group(1)
    response = client.post("/login", data={"csrf_token": csrf, "username": "alice",
                                           "password": PASSWORD,
                                           "action": "login"})
    assert response.status_code == 303
    assert list(sessions(app)) == [first["claims"]["sid"]]
    sign_out(client)
    assert refresh_status(client, rp, first) == 400
