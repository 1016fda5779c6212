"""Bad input at the login and consent forms: missing or wrong CSRF tokens, no
session, wrong passwords and unknown users that look alike, oversized fields, an
unknown interaction. Refused without signing anyone in, and nothing stored
changes."""

from __future__ import annotations

import re

import pytest

from provider import management
from tests.support.flows import auth_params
from tests.support.protocol import pkce_pair
from tests.support.settings import PASSWORD
from tests.support.snapshots import refusal_snapshot as snapshot

# --- consent form ---------------------------------------------------------------------


@pytest.mark.parametrize("csrf", [None, "wrong-token"])
def test_consent_without_valid_csrf_token(app, client, browser, alice, rp, csrf):
    _, challenge = pkce_pair()
    response = client.get("/authorize", query_string=auth_params(rp, challenge))
    login = browser.login(response.headers["Location"])
    consent_location = login.headers["Location"]
    assert consent_location.startswith("/consent")
    page = client.get(consent_location).get_data(as_text=True)
    interaction = re.search(r'name="interaction" value="([^"]+)"', page).group(1)
    before = snapshot(app)
    form = {"interaction": interaction, "decision": "allow"}
    if csrf is not None:
        form["csrf_token"] = csrf
    refused = client.post("/consent", data=form)
    assert refused.status_code == 400
    assert "Location" not in refused.headers
    assert snapshot(app) == before
    assert before["consents"] == 0
    assert before["authorization_codes"] == 0


# --- login form -----------------------------------------------------------------------


def session_sid(http) -> str | None:
    with http.session_transaction() as session:
        return session.get("sid")


@pytest.mark.parametrize("csrf", [None, "", "wrong-token"])
def test_login_without_valid_csrf_token(app, client, alice, csrf):
    page = client.get("/login")
    assert page.status_code == 200
    before = snapshot(app)
    form = {"username": "alice", "password": PASSWORD, "action": "login"}
    if csrf is not None:
        form["csrf_token"] = csrf
    response = client.post("/login", data=form)
    assert response.status_code == 400
    assert "Location" not in response.headers
    assert session_sid(client) is None
    assert snapshot(app) == before
    assert before["login_sessions"] == 0


def test_login_without_any_session(app, alice):
    http = app.test_client()
    before = snapshot(app)
    response = http.post("/login", data={"username": "alice", "password": PASSWORD,
                                         "csrf_token": "guess", "action": "login"})
    assert response.status_code == 400
    assert session_sid(http) is None
    assert snapshot(app) == before


def test_wrong_password_and_unknown_user_look_the_same(app, client, alice):
    page = client.get("/login").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)

    def attempt(username: str, password: str) -> tuple[int, str]:
        response = client.post("/login", data={"csrf_token": csrf, "username": username,
                                               "password": password, "action": "login"})
        text = response.get_data(as_text=True).replace(username, "USERNAME")
        return response.status_code, re.sub(r'value="[^"]{30,}"', 'value="TOKEN"', text)

    before = snapshot(app)
    wrong_password = attempt("alice", "not the password")
    unknown_user = attempt("nobodyx", "not the password")
    assert wrong_password == unknown_user
    assert wrong_password[0] == 200
    assert "Incorrect username or password." in wrong_password[1]
    assert session_sid(client) is None
    assert snapshot(app) == before


def test_disabled_user_login_looks_like_wrong_password(app, client, alice):
    with app.app_context():
        management.set_user_disabled("alice", True)
    page = client.get("/login").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    before = snapshot(app)
    response = client.post("/login", data={"csrf_token": csrf, "username": "alice",
                                           "password": PASSWORD, "action": "login"})
    assert response.status_code == 200
    assert "Incorrect username or password." in response.get_data(as_text=True)
    assert session_sid(client) is None
    assert snapshot(app) == before


def test_oversized_login_fields(app, client, alice):
    page = client.get("/login").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    before = snapshot(app)
    response = client.post("/login", data={"csrf_token": csrf, "username": "alice",
                                           "password": "p" * 5000, "action": "login"})
    assert response.status_code == 200
    assert "Incorrect username or password." in response.get_data(as_text=True)
    too_big = client.post("/login", data={"csrf_token": csrf, "username": "u" * 70_000,
                                          "password": PASSWORD, "action": "login"})
    assert too_big.status_code == 413
    assert session_sid(client) is None
    assert snapshot(app) == before


def test_unknown_interaction_on_login_page(app, client):
    before = snapshot(app)
    response = client.get("/login", query_string={"interaction": "no-such-interaction"})
    assert response.status_code == 400
    assert "Location" not in response.headers
    assert snapshot(app) == before
