"""max_age at /authorize (OIDC Core §3.1.2.1 and its errata): 0 forces a login even
in the second of an earlier one, a positive value is checked again when the code is
issued, and the parameter takes ASCII digits only."""

from __future__ import annotations

from urllib.parse import urlencode

import jwt
import pytest

from provider import clock
from tests.support.protocol import basic_auth, pkce_pair, query_of


def params(client: dict, **extra) -> dict:
    verifier, challenge = pkce_pair()
    return {"response_type": "code", "client_id": client["client_id"],
            "redirect_uri": client["redirect_uris"][0], "scope": "openid", "state": "s",
            "code_challenge": challenge, "code_challenge_method": "S256", **extra,
            "_verifier": verifier}


def url(query: dict) -> str:
    return "/authorize?" + urlencode({k: v for k, v in query.items() if k != "_verifier"})


@pytest.fixture
def rp(make_client):
    return make_client(name="Third party")  # not trusted: it shows the consent page


def test_max_age_zero_forces_a_login_in_the_same_second(client, browser, alice, rp):
    with clock.advance(client.application, 0):  # nothing moves: the earlier login is 0 s old
        browser.authorize(params(rp))
        again = client.get(url(params(rp, max_age="0")))
        assert again.status_code == 303 and again.headers["Location"].startswith("/login")
        finished = browser.login(again.headers["Location"])
        # a login in this very interaction satisfies max_age=0: no loop
        assert "code" in query_of(finished.headers["Location"])


def test_a_consent_page_left_open_past_max_age_asks_for_the_password_again(
        app, client, browser, alice, rp):
    verifier_params = params(rp, max_age="60")
    start = client.get(url(verifier_params))
    to_consent = browser.login(start.headers["Location"])
    assert to_consent.headers["Location"].startswith("/consent")
    with clock.advance(app, 61):
        after_consent = browser.decide(to_consent.headers["Location"])
        assert after_consent.status_code == 303
        assert after_consent.headers["Location"].startswith("/login")
        finished = browser.login(after_consent.headers["Location"])
        # the consent given in this interaction is kept: straight to the client
        location = finished.headers["Location"]
        assert location.startswith(rp["redirect_uris"][0]), location
        code = query_of(location)["code"]
    token = client.post("/token", headers=basic_auth(rp["client_id"], rp["client_secret"]),
                        data={"grant_type": "authorization_code", "code": code,
                              "redirect_uri": rp["redirect_uris"][0],
                              "code_verifier": verifier_params["_verifier"]})
    assert token.status_code == 200, token.data
    claims = jwt.decode(token.get_json()["id_token"], options={"verify_signature": False})
    assert claims["iat"] - claims["auth_time"] <= 60  # the ID token satisfies max_age


@pytest.mark.parametrize("max_age", ["²", "١٢", "１", " 5", "5 ", "+5", "0x10", "12345678901"])
def test_max_age_takes_ascii_digits_only(client, rp, max_age):
    response = client.get(url(params(rp, max_age=max_age)))
    assert response.status_code == 302
    result = query_of(response.headers["Location"])
    assert result["error"] == "invalid_request" and result["state"] == "s"


def test_an_empty_max_age_is_absent(client, browser, alice, make_client):
    trusted = make_client(name="First party", trusted=True)
    browser.authorize(params(trusted))
    with clock.advance(client.application, 10_000):
        response = client.get(url(params(trusted, max_age="")))
    assert "code" in query_of(response.headers["Location"])
