"""The authorization code flow with PKCE through login and consent (Flask test client)."""

from __future__ import annotations

import jwt
import pytest

from provider import clock
from tests.support.flows import auth_params
from tests.support.protocol import basic_auth, pkce_pair, query_of
from tests.support.settings import ISSUER


@pytest.fixture
def alice(make_user):
    return make_user("alice", roles=["user", "admin"])


@pytest.fixture
def rp(make_client):
    return make_client(name="Relying Party")


@pytest.fixture
def native(make_client):
    return make_client(name="Native", public=True,
                       redirect_uris=("http://127.0.0.1:8765/callback",))


def jwks_keys(client):
    return client.get("/.well-known/jwks.json").get_json()


def verify(token: str, client, audience: str, typ: str | None = None) -> dict:
    header = jwt.get_unverified_header(token)
    if typ:
        assert header["typ"] == typ
    jwk = next(k for k in jwks_keys(client)["keys"] if k["kid"] == header["kid"])
    key = jwt.PyJWK(jwk)
    return jwt.decode(token, key.key, algorithms=["RS256"], audience=audience, issuer=ISSUER)


def test_confidential_client_code_flow_with_pkce(client, browser, alice, rp):
    verifier, challenge = pkce_pair()
    response = browser.authorize(auth_params(rp, challenge))
    assert response.status_code == 302
    redirect = query_of(response.headers["Location"])
    assert response.headers["Location"].startswith("https://rp.example/callback?")
    assert redirect["state"] == "st-123"
    assert redirect["iss"] == ISSUER

    token = client.post("/token", headers=basic_auth(rp["client_id"], rp["client_secret"]),
                        data={"grant_type": "authorization_code", "code": redirect["code"],
                              "redirect_uri": rp["redirect_uris"][0], "code_verifier": verifier})
    assert token.status_code == 200, token.data
    assert token.headers["Cache-Control"] == "no-store"
    body = token.get_json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 900
    assert len(body["refresh_token"]) >= 43  # 256 bits, opaque

    access = verify(body["access_token"], client, audience=ISSUER, typ="at+jwt")
    assert access["sub"] == alice.id
    assert access["client_id"] == rp["client_id"]
    assert access["roles"] == ["user", "admin"]
    assert set(access["scope"].split()) == {"openid", "profile", "email"}
    assert access["exp"] - access["iat"] == 900
    assert access["jti"]

    id_token = verify(body["id_token"], client, audience=rp["client_id"])
    assert id_token["sub"] == alice.id
    assert id_token["nonce"] == "n-456"
    assert id_token["at_hash"]
    assert id_token["sid"] == access["sid"]
    assert id_token["email"] == "alice@example.com"
    assert id_token["preferred_username"] == "alice"
    assert abs(id_token["auth_time"] - clock.now()) < 60

    info = client.get("/userinfo", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert info.status_code == 200
    assert info.get_json() == {"sub": alice.id, "preferred_username": "alice", "name": "Alice",
                               "email": "alice@example.com", "email_verified": False}


def test_public_client_code_flow(client, browser, alice, native):
    verifier, challenge = pkce_pair()
    response = browser.authorize(auth_params(native, challenge, scope="openid"))
    code = query_of(response.headers["Location"])["code"]
    token = client.post("/token", data={"grant_type": "authorization_code", "code": code,
                                        "client_id": native["client_id"],
                                        "redirect_uri": native["redirect_uris"][0],
                                        "code_verifier": verifier})
    assert token.status_code == 200, token.data
    claims = verify(token.get_json()["id_token"], client, audience=native["client_id"])
    assert "email" not in claims


def test_consent_is_remembered_and_prompt_none_then_succeeds(client, browser, alice, rp):
    _, challenge = pkce_pair()
    first = browser.authorize(auth_params(rp, challenge))
    assert "code" in query_of(first.headers["Location"])
    again = client.get("/authorize", query_string=auth_params(rp, challenge, prompt="none"))
    assert again.status_code == 302
    assert "code" in query_of(again.headers["Location"])


def test_prompt_none_without_login_is_login_required(client, alice, rp):
    _, challenge = pkce_pair()
    response = client.get("/authorize", query_string=auth_params(rp, challenge, prompt="none"))
    result = query_of(response.headers["Location"])
    assert result["error"] == "login_required"
    assert result["state"] == "st-123"
    assert result["iss"] == ISSUER


def test_denied_consent_returns_access_denied(browser, alice, rp):
    _, challenge = pkce_pair()
    response = browser.authorize(auth_params(rp, challenge), consent="deny")
    result = query_of(response.headers["Location"])
    assert result["error"] == "access_denied"
    assert result["iss"] == ISSUER


def test_client_credentials(client, make_client):
    service = make_client(name="svc", grant_types=("client_credentials",),
                          scope="openid api:read api:write")
    auth = basic_auth(service["client_id"], service["client_secret"])
    response = client.post("/token", headers=auth, data={"grant_type": "client_credentials"})
    assert response.status_code == 200, response.data
    body = response.get_json()
    claims = verify(body["access_token"], client, audience=ISSUER, typ="at+jwt")
    assert claims["sub"] == "client:" + service["client_id"]
    assert claims["scope"] == "api:read api:write"
    assert "id_token" not in body and "refresh_token" not in body
    narrowed = client.post("/token", headers=auth,
                           data={"grant_type": "client_credentials", "scope": "api:read"})
    assert narrowed.get_json()["scope"] == "api:read"
    refused = client.post("/token", headers=auth,
                          data={"grant_type": "client_credentials", "scope": "openid"})
    assert refused.status_code == 400
    assert refused.get_json()["error"] == "invalid_scope"
