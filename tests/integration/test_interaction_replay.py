"""A finished interaction cannot be replayed with a saved copy of the cookie: the
signed value of one in which the user signed in (or consented) is recorded as
spent when it finishes, so it no longer stands for a fresh login (prompt=login,
max_age=0) or a consent."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest

from provider.extensions import db
from provider.models import SpentInteraction
from tests.support.forms import CSRF
from tests.support.protocol import pkce_pair, query_of

COOKIE = "provider_session"


@pytest.fixture
def rp(make_client):
    return make_client(name="Third party")  # asks for consent


def params(rp: dict, **extra) -> str:
    _, challenge = pkce_pair()
    return urlencode({"response_type": "code", "client_id": rp["client_id"],
                      "scope": "openid", "redirect_uri": rp["redirect_uris"][0], "state": "s",
                      "code_challenge": challenge, "code_challenge_method": "S256", **extra})


def test_a_spent_interaction_is_refused_with_a_saved_cookie(app, client, browser, alice, rp):
    assert browser.login("/login").status_code == 303  # signed in, outside any interaction
    start = client.get("/authorize?" + params(rp, prompt="login"))
    to_consent = browser.login(start.headers["Location"])
    consent_url = to_consent.headers["Location"]
    assert consent_url.startswith("/consent")
    saved = client.get_cookie(COOKIE).value  # the cookie as it is before the consent
    done = browser.decide(consent_url)
    assert "code" in query_of(done.headers["Location"])

    client.set_cookie(COOKIE, saved)  # the saved copy lists the interaction again
    page = client.get(consent_url)
    assert page.status_code == 400 and "Location" not in page.headers
    token = query_of(consent_url)["interaction"]
    csrf = CSRF.search(client.get("/").get_data(as_text=True)).group(1)
    posted = client.post("/consent", data={"csrf_token": csrf, "interaction": token,
                                           "decision": "allow"})
    assert posted.status_code == 400 and "Location" not in posted.headers
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(SpentInteraction)) == 1


def test_anonymous_interactions_leave_no_spent_record(app, client, rp):
    start = client.get("/authorize?" + params(rp))
    page = client.get(start.headers["Location"])
    csrf = CSRF.search(page.get_data(as_text=True)).group(1)
    token = query_of(start.headers["Location"])["interaction"]
    cancelled = client.post("/login", data={"csrf_token": csrf, "interaction": token,
                                            "action": "cancel"})
    assert query_of(cancelled.headers["Location"])["error"] == "access_denied"
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(SpentInteraction)) == 0
