"""What reaches the database is what it can store: a NUL character in a request value
(PostgreSQL refuses it in any text value, even in a lookup) and an over-long PKCE
challenge are client errors in the endpoint's own shape, never a 500, and change
nothing, on both databases."""

from __future__ import annotations

import base64

import pytest

from tests.support.factories import CALLBACK
from tests.support.flows import auth_params, query_of
from tests.support.protocol import basic_auth
from tests.support.snapshots import refusal_snapshot


@pytest.mark.parametrize(("field", "error"), [("grant_type", "unsupported_grant_type"),
                                              ("code", "invalid_grant"),
                                              ("redirect_uri", "invalid_grant")])
def test_a_nul_in_a_token_request_is_a_client_error(app, client, rp, field, error):
    before = refusal_snapshot(app)
    form = {"grant_type": "authorization_code", "code": "abc", "redirect_uri": CALLBACK}
    form[field] += "\x00"
    response = client.post("/token", data=form,
                           headers=basic_auth(rp["client_id"], rp["client_secret"]))
    assert response.status_code == 400
    assert response.json["error"] == error
    assert refusal_snapshot(app) == before


def test_a_nul_in_a_client_id_is_invalid_client(client, rp, native):
    credentials = base64.b64encode(f"{rp['client_id']}\x00:{rp['client_secret']}".encode())
    response = client.post("/token", data={"grant_type": "client_credentials"},
                           headers={"Authorization": f"Basic {credentials.decode()}"})
    assert response.status_code == 401
    assert response.json["error"] == "invalid_client"
    response = client.post("/token", data={"grant_type": "authorization_code", "code": "abc",
                                           "client_id": native["client_id"] + "\x00"})
    assert response.status_code == 401
    assert response.json["error"] == "invalid_client"


def test_a_nul_in_a_sign_in_is_no_server_error(app, client, alice):
    before = refusal_snapshot(app)
    response = client.post("/login", data={"username": "alice\x00", "password": "x"})
    assert response.status_code in (400, 403) and response.mimetype == "text/html"
    assert b"Traceback" not in response.data
    assert refusal_snapshot(app) == before


def test_a_nul_in_a_stored_authorization_value_is_a_400_page_on_postgresql(browser, rp,
                                                                           alice, database):
    """The nonce goes into the code's row once the user has allowed. PostgreSQL cannot
    hold it: a 400 page. SQLite stores it as sent, as any nonce."""
    response = browser.authorize(auth_params(rp, nonce="n\x00n"))
    if database == "sqlite":
        assert response.status_code == 302
        assert "code" in query_of(response.headers["Location"])
    else:
        assert response.status_code == 400 and response.mimetype == "text/html"
        assert b"NUL character" in response.data


def test_a_code_challenge_with_a_trailing_newline_is_refused(browser, rp, alice):
    response = browser.authorize(auth_params(rp, "a" * 128 + "\n"))
    assert response.status_code == 302
    assert query_of(response.headers["Location"])["error"] == "invalid_request"
