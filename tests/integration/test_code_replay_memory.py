"""Code-replay detection lasts as long as the family the code started: the purge
keeps a redeemed code's row (its digest and the link to its family) until the
family itself is gone, then drops it."""

from __future__ import annotations

import pytest

from provider import clock, management
from provider.extensions import db
from provider.models import AuthorizationCode
from tests.support.flows import obtain, post_token, refresh
from tests.support.protocol import pkce_pair
from tests.support.records import family_of

DAY = 24 * 3600


@pytest.fixture
def rp(make_client):
    return make_client(name="RP", trusted=True)


def codes(app) -> int:
    with app.app_context():
        return db.session.scalar(db.select(db.func.count()).select_from(AuthorizationCode))


def purge(app) -> dict:
    with app.app_context():
        return management.purge()


def test_a_code_replayed_days_later_still_revokes_its_family(app, client, browser, alice, rp):
    first = obtain(client, browser, rp)  # offline_access: the family lives 30 days
    with clock.advance(app, 3 * DAY):
        renewed = refresh(client, rp, first["refresh_token"])
        assert renewed.status_code == 200
        assert purge(app)["authorization_codes"] == 0 and codes(app) == 1
        replay = post_token(client, rp, {"grant_type": "authorization_code",
                                         "code": first["code"], "code_verifier": first["verifier"],
                                         "redirect_uri": rp["redirect_uris"][0]})
        assert replay.status_code == 400 and replay.get_json()["error"] == "invalid_grant"
        assert family_of(app, rp).revoked_reason == "code_replay"
        assert refresh(client, rp, renewed.get_json()["refresh_token"]).status_code == 400


def test_the_code_goes_once_its_family_is_gone(app, client, browser, alice, rp):
    obtain(client, browser, rp)
    with clock.advance(app, 31 * DAY):  # past the family's absolute lifetime
        counts = purge(app)
        assert counts["refresh_token_families"] == 1 and counts["authorization_codes"] == 1
        assert codes(app) == 0


def test_an_unredeemed_expired_code_goes_at_once(app, client, browser, alice, rp):
    _, challenge = pkce_pair()
    browser.authorize({"response_type": "code", "client_id": rp["client_id"],
                       "scope": "openid", "redirect_uri": rp["redirect_uris"][0],
                       "code_challenge": challenge, "code_challenge_method": "S256"})
    with clock.advance(app, 3600):
        assert purge(app)["authorization_codes"] == 1 and codes(app) == 0
