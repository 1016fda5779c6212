"""prompt=login, max_age, login_hint and expired interactions at /authorize."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest

from provider import clock
from tests.support.protocol import pkce_pair, query_of
from tests.support.settings import ISSUER


@pytest.fixture
def trusted(make_client):
    return make_client(name="First party", trusted=True)


def params(client: dict, **extra) -> dict:
    _, challenge = pkce_pair()
    return {"response_type": "code", "client_id": client["client_id"],
            "redirect_uri": client["redirect_uris"][0], "scope": "openid", "state": "s",
            "code_challenge": challenge, "code_challenge_method": "S256", **extra}


def test_trusted_client_skips_consent(browser, alice, trusted):
    response = browser.authorize(params(trusted))
    assert "code" in query_of(response.headers["Location"])


def test_prompt_login_asks_again_even_when_signed_in(client, browser, alice, trusted):
    browser.authorize(params(trusted))
    again = client.get("/authorize?" + urlencode(params(trusted, prompt="login")))
    assert again.status_code == 303 and again.headers["Location"].startswith("/login")
    finished = browser.login(again.headers["Location"])
    assert "code" in query_of(finished.headers["Location"])


def test_max_age_forces_a_fresh_login_only_when_exceeded(client, browser, alice, trusted):
    browser.authorize(params(trusted))
    fresh = client.get("/authorize?" + urlencode(params(trusted, max_age="300")))
    assert "code" in query_of(fresh.headers["Location"])
    with clock.advance(client.application, 301):
        stale = client.get("/authorize?" + urlencode(params(trusted, max_age="300")))
        assert stale.headers["Location"].startswith("/login")
        none = client.get("/authorize?" + urlencode(params(trusted, max_age="300",
                                                           prompt="none")))
        assert query_of(none.headers["Location"])["error"] == "login_required"


def test_login_hint_prefills_the_username(client, alice, trusted):
    start = client.get("/authorize?" + urlencode(params(trusted, login_hint="alice")))
    page = client.get(start.headers["Location"]).get_data(as_text=True)
    assert 'value="alice"' in page


def test_expired_interaction_answers_login_required(client, browser, alice, trusted):
    start = client.get("/authorize?" + urlencode(params(trusted)))
    location = start.headers["Location"]
    page = client.get(location).get_data(as_text=True)
    fields = browser.form_fields(page)
    with clock.advance(client.application, 601):
        late = client.post("/login", data={**fields, "username": "alice",
                                           "password": "correct horse battery",
                                           "action": "login"})
    result = query_of(late.headers["Location"])
    assert late.headers["Location"].startswith(trusted["redirect_uris"][0])
    assert result["error"] == "login_required"
    assert result["state"] == "s" and result["iss"] == ISSUER


def test_unknown_interaction_is_an_error_page(client):
    response = client.get("/login?interaction=not-mine")
    assert response.status_code == 400
    assert "Location" not in response.headers
