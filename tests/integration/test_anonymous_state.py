"""Anonymous authorization requests store nothing server-side: the pending
interaction travels as a signed, bounded value bound to the browser, so no amount
of cookie-less traffic grows the database."""

from __future__ import annotations

import secrets
from urllib.parse import urlencode

import pytest

from provider.accounts.interactions import MAX_TOKEN_LENGTH
from tests.support.protocol import pkce_pair, query_of
from tests.support.snapshots import snapshot


@pytest.fixture
def rp(make_client):
    return make_client(name="RP")


def params(rp: dict, **extra) -> dict:
    _, challenge = pkce_pair()
    return {"response_type": "code", "client_id": rp["client_id"], "scope": "openid",
            "redirect_uri": rp["redirect_uris"][0], "state": "s", "code_challenge": challenge,
            "code_challenge_method": "S256", **extra}


def test_three_hundred_anonymous_requests_store_nothing(app, rp):
    before = snapshot(app)
    for i in range(150):
        http = app.test_client()  # a new cookie-less client every time
        response = http.get("/authorize?" + urlencode(params(rp, state=f"s{i}")))
        assert response.status_code == 303 and response.headers["Location"].startswith("/login")
        assert http.get(response.headers["Location"]).status_code == 200
        posted = app.test_client().post("/authorize", data=params(rp))
        assert posted.status_code == 303
    assert snapshot(app) == before


def test_the_interaction_value_is_bounded(client, rp):
    fitting = client.get("/authorize?" + urlencode(params(rp, state="x" * 2000,
                                                          nonce="n" * 2000)))
    token = query_of(fitting.headers["Location"])["interaction"]
    assert len(token) <= MAX_TOKEN_LENGTH
    big = {name: secrets.token_urlsafe(1500)
           for name in ("state", "nonce", "login_hint", "ui_locales")}
    refused = client.get("/authorize?" + urlencode(params(rp, **big)))
    assert refused.status_code == 302
    result = query_of(refused.headers["Location"])
    assert result["error"] == "invalid_request"
    assert result["error_description"] == "The authorization request is too large."


def test_a_tampered_interaction_value_is_refused(client, rp):
    start = client.get("/authorize?" + urlencode(params(rp)))
    token = query_of(start.headers["Location"])["interaction"]
    payload, _, signature = token.rpartition(".")
    flipped = payload[:-2] + ("A" if payload[-2] != "A" else "B") + payload[-1]
    for forged in (f"{flipped}.{signature}", token + "x", "x" * (MAX_TOKEN_LENGTH + 1)):
        page = client.get("/login?" + urlencode({"interaction": forged}))
        assert page.status_code == 400 and "Location" not in page.headers
