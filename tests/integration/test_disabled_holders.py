"""A disabled client or user recalls every access token it holds, including those no
refresh-token family tracks (a client without the refresh grant, client_credentials):
each keeps a ``tokens_not_before`` checked wherever the deny-list is. Disabling a user
also ends their provider sessions as a logout does."""

from __future__ import annotations

import pytest

from provider import clock, management
from provider.extensions import db
from provider.models import LoginSession, LogoutDelivery
from provider.oauth.tokens import InvalidAccessToken, verify_access_token
from tests.support.factories import register
from tests.support.flows import active, sign_in
from tests.support.protocol import basic_auth
from tests.support.receivers import Receiver
from tests.support.settings import ISSUER
from tests.support.statements import recorded_statements


@pytest.fixture
def no_refresh(make_client):
    """A client whose tokens live in no family: nothing to deny-list them by."""
    return make_client(name="No refresh", trusted=True, grant_types=("authorization_code",),
                       scope="openid profile")


def code_flow_token(client, browser, rp: dict) -> str:
    """An access token of ``rp``, which has no refresh grant: no family tracks it."""
    token = sign_in(client, browser, rp)
    assert "refresh_token" not in token
    return token["access_token"]


def userinfo(client, token: str) -> int:
    return client.get("/userinfo", headers={"Authorization": f"Bearer {token}"}).status_code


def test_a_disabled_clients_access_tokens_are_refused_at_userinfo(app, client, browser, alice,
                                                                  no_refresh):
    token = code_flow_token(client, browser, no_refresh)
    assert userinfo(client, token) == 200
    with app.app_context():
        management.disable_client(no_refresh["client_id"])
    assert userinfo(client, token) == 401


def test_a_disabled_clients_service_tokens_fail_the_one_verification(app, client, make_client):
    service = make_client(name="Service", grant_types=("client_credentials",), scope="api:read")
    response = client.post("/token", data={"grant_type": "client_credentials"},
                           headers=basic_auth(service["client_id"], service["client_secret"]))
    token = response.get_json()["access_token"]
    with app.app_context():
        assert verify_access_token(token, {ISSUER})["client_id"] == service["client_id"]
        management.disable_client(service["client_id"])
    with app.app_context(), pytest.raises(InvalidAccessToken, match="revoked"):
        verify_access_token(token, {ISSUER})


def test_a_user_enabled_again_does_not_revive_tokens_from_before(app, client, browser, alice,
                                                                 no_refresh):
    token = code_flow_token(client, browser, no_refresh)
    with app.app_context():
        management.set_user_disabled("alice", True)
    assert userinfo(client, token) == 401
    assert active(client, no_refresh, token) is False
    with app.app_context():
        management.set_user_disabled("alice", False)
    assert userinfo(client, token) == 401  # tokens_not_before outlives the disable
    assert active(client, no_refresh, token) is False
    # a token issued after the user is enabled again works
    with clock.advance(app, 1):
        fresh = code_flow_token(client, browser, no_refresh)
        assert userinfo(client, fresh) == 200


def test_disabling_a_user_ends_their_sessions_as_a_logout(app, client, browser, alice,
                                                          make_client):
    receiver = Receiver()
    try:
        rp = register(app, make_client, backchannel_logout_uri=receiver.url)
        sign_in(client, browser, rp, scope="openid")
        with app.app_context():
            management.set_user_disabled("alice", True)
            [login] = db.session.scalars(db.select(LoginSession)).all()
            assert login.ended_at is not None
            [delivery] = db.session.scalars(db.select(LogoutDelivery)).all()
            assert delivery.sid == login.sid and delivery.client_id == rp["client_id"]
        assert "not signed in" in client.get("/").get_data(as_text=True)
    finally:
        receiver.close()


def test_userinfo_costs_three_statements(app, client, browser, alice, no_refresh):
    """The hot path stays small: the holders' status (one statement for client and
    user), the deny-list, and the user's claims."""
    token = code_flow_token(client, browser, no_refresh)
    with recorded_statements(app) as statements:
        assert userinfo(client, token) == 200
    assert len(statements) == 3, statements
