"""Bad input at UserInfo: missing, unusable, garbage, expired, forged and
tampered tokens, tokens in two places or in the query, tokens of another kind or of
a disabled user; each refused with the RFC 6750 challenge."""

from __future__ import annotations

import base64
import json

import jwt
import pytest

from provider import clock, management
from tests.support.flows import access_token_for, obtain_code, token_request
from tests.support.protocol import b64url, basic_auth, pkce_pair


def test_userinfo_without_token(client):
    for response in (client.get("/userinfo"), client.post("/userinfo")):
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"] == "Bearer"
        assert response.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("header", ["Bearer", "Bearer ", "Basic abc", "bearer"])
def test_userinfo_with_unusable_authorization_header(client, header):
    response = client.get("/userinfo", headers={"Authorization": header})
    assert response.status_code == 401, response.data
    assert response.headers["WWW-Authenticate"] == "Bearer"


@pytest.mark.parametrize("token", ["garbage", "a.b.c", "x" * 9000, "eyJhbGciOiJSUzI1NiJ9.e30.AA",
                                   "é"])
def test_userinfo_with_garbage_token(client, token):
    response = client.get("/userinfo", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]
    assert response.get_json()["error"] == "invalid_token"


def test_userinfo_token_in_header_and_body(app, client, browser, alice, rp):
    token = access_token_for(browser, client, rp)
    response = client.post("/userinfo", headers={"Authorization": f"Bearer {token}"},
                           data={"access_token": token})
    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_request"
    assert 'error="invalid_request"' in response.headers["WWW-Authenticate"]


def test_userinfo_token_in_query_is_not_accepted(app, client, browser, alice, rp):
    token = access_token_for(browser, client, rp)
    response = client.get("/userinfo", query_string={"access_token": token})
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"


def test_userinfo_with_client_credentials_token(client, service):
    auth = basic_auth(service["client_id"], service["client_secret"])
    token = client.post("/token", headers=auth,
                        data={"grant_type": "client_credentials"}).get_json()["access_token"]
    response = client.get("/userinfo", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 403
    assert response.get_json()["error"] == "insufficient_scope"
    challenge = response.headers["WWW-Authenticate"]
    assert 'error="insufficient_scope"' in challenge
    assert 'scope="openid"' in challenge


def test_userinfo_with_disabled_users_token(app, client, browser, alice, rp):
    token = access_token_for(browser, client, rp)
    bearer = {"Authorization": f"Bearer {token}"}
    assert client.get("/userinfo", headers=bearer).status_code == 200
    with app.app_context():
        management.set_user_disabled("alice", True)
    response = client.get("/userinfo", headers=bearer)
    assert response.status_code == 401
    assert response.get_json()["error"] == "invalid_token"
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]


def test_userinfo_with_expired_token(app, client, browser, alice, rp):
    token = access_token_for(browser, client, rp)
    bearer = {"Authorization": f"Bearer {token}"}
    with clock.advance(app, 901):
        response = client.get("/userinfo", headers=bearer)
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]
    assert client.get("/userinfo", headers=bearer).status_code == 200


def test_userinfo_with_alg_none_token(app, client, browser, alice, rp):
    token = access_token_for(browser, client, rp)
    header = jwt.get_unverified_header(token)
    payload = token.split(".")[1]
    for alg in ("none", "None", "HS256"):
        forged_header = b64url(json.dumps({**header, "alg": alg}).encode())
        for signature in ("", token.split(".")[2]):
            forged = f"{forged_header}.{payload}.{signature}"
            response = client.get("/userinfo", headers={"Authorization": f"Bearer {forged}"})
            assert response.status_code == 401, (alg, response.data)
            assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]


def test_userinfo_with_tampered_token(app, client, browser, alice, rp, make_user):
    mallory = make_user("mallory")
    token = access_token_for(browser, client, rp)
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    forged_payload = b64url(json.dumps({**claims, "sub": mallory.id}).encode())
    middle = len(signature) // 2
    flipped = signature[:middle] + ("A" if signature[middle] != "A" else "B") + \
        signature[middle + 1:]
    for forged in (f"{header}.{forged_payload}.{signature}", f"{header}.{payload}.{flipped}",
                   f"{header}.{payload}.", f"{header}.{payload}"):
        response = client.get("/userinfo", headers={"Authorization": f"Bearer {forged}"})
        assert response.status_code == 401, response.data
        assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]


def test_userinfo_refuses_id_token_as_access_token(app, client, browser, alice, rp):
    verifier, challenge = pkce_pair()
    code = obtain_code(browser, rp, challenge)
    id_token = token_request(client, rp, code, verifier).get_json()["id_token"]
    response = client.get("/userinfo", headers={"Authorization": f"Bearer {id_token}"})
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]


def test_userinfo_post_with_token_in_form_body(app, client, browser, alice, rp):
    token = access_token_for(browser, client, rp)
    response = client.post("/userinfo", data={"access_token": token})
    assert response.status_code == 200, response.data
    assert response.get_json()["preferred_username"] == "alice"
