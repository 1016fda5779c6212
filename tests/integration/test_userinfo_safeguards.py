"""UserInfo's own safeguards, each shown to hold where the checks before it pass:
the access-token ``typ``, the disabled-user check, and ``Cache-Control: no-store``."""

from __future__ import annotations

import jwt
import pytest

from provider.extensions import db
from provider.models import DeniedAccessToken, User
from provider.oauth import tokens
from tests.support.bad_tokens import resigned
from tests.support.flows import obtain


@pytest.fixture
def rp(make_client):
    return make_client(name="RP", trusted=True)


def userinfo(http, token: str):
    return http.get("/userinfo", headers={"Authorization": f"Bearer {token}"})


def test_a_token_typed_as_an_id_token_is_refused_though_every_claim_fits(app, client,
                                                                         browser, alice, rp):
    access_token = obtain(client, browser, rp, scope="openid email")["access_token"]
    assert userinfo(client, access_token).status_code == 200
    # signature, iss, aud (the issuer), exp, jti, client and user all pass: only typ is wrong
    as_id_token = resigned(app, access_token, "JWT")
    assert jwt.get_unverified_header(as_id_token)["typ"] == "JWT"
    response = userinfo(client, as_id_token)
    assert response.status_code == 401
    assert response.get_json()["error"] == "invalid_token"
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]
    assert "email" not in response.get_json()
    # the very same claims typed at+jwt are accepted: the refusal is the typ's
    assert userinfo(client, resigned(app, access_token, "at+jwt")).status_code == 200


def set_disabled(app, user_id: str, disabled: bool) -> None:
    """Only the user's flag: no session ends, no family, nothing deny-listed or recalled
    (``provider users disable`` does all of that too)."""
    with app.app_context():
        db.session.get(User, user_id).disabled = disabled
        db.session.commit()
        assert db.session.scalar(db.select(db.func.count()).select_from(DeniedAccessToken)) == 0


def test_a_disabled_user_gets_no_claims_even_where_the_token_check_lets_it_through(
        app, client, browser, alice, rp, monkeypatch):
    access_token = obtain(client, browser, rp, scope="openid email")["access_token"]
    assert userinfo(client, access_token).status_code == 200
    set_disabled(app, alice.id, True)
    # The shared access-token check also refuses a disabled user's tokens; take it out
    # so that what is left is UserInfo's own check, which must hold by itself.
    assert userinfo(client, access_token).status_code == 401
    monkeypatch.setattr(tokens, "recalled_by_holder", lambda claims: None)
    response = userinfo(client, access_token)
    assert response.status_code == 401, response.data
    assert response.get_json()["error"] == "invalid_token"
    assert "email" not in response.get_json()
    set_disabled(app, alice.id, False)
    assert userinfo(client, access_token).status_code == 200  # the token itself is fine


def test_userinfo_answers_are_never_cached(client, browser, alice, rp):
    access_token = obtain(client, browser, rp, scope="openid email")["access_token"]
    for response in (userinfo(client, access_token),
                     client.post("/userinfo", data={"access_token": access_token})):
        assert response.status_code == 200
        assert response.get_json()["email"] == "alice@example.com"
        assert response.headers["Cache-Control"] == "no-store"
