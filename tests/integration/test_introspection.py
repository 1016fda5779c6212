"""Introspection (RFC 7662) at /introspect, and its signed answers (RFC 9701):
who may see which token, what a live token says, exactly ``{"active": false}``
for everything else, and that nothing is ever written."""

from __future__ import annotations

import json

import jwt
import pytest

from provider import clock, digests, management
from provider.extensions import db
from provider.models import Client, LoginSession, RefreshToken
from tests.support.bad_tokens import GARBAGE, forged_jwt
from tests.support.flows import introspect, obtain, refresh, revoke, userinfo_status
from tests.support.protocol import basic_auth, pkce_pair, query_of
from tests.support.records import family_of
from tests.support.settings import ISSUER
from tests.support.snapshots import snapshot

INACTIVE = {"active": False}
JWT_TYPE = "application/token-introspection+jwt"
RESOURCE_SERVER = "orders-api"
ACCESS_FIELDS = {"active", "scope", "client_id", "sub", "username", "exp", "iat", "nbf", "aud",
                 "iss", "jti", "token_type", "roles"}


@pytest.fixture
def alice(make_user):
    return make_user("alice", roles=["user", "admin"])


@pytest.fixture
def rp(make_client):
    return make_client(name="RP", trusted=True)


@pytest.fixture
def other(make_client):
    return make_client(name="Unrelated", trusted=True)


@pytest.fixture
def native(make_client):
    return make_client(name="Native", public=True, trusted=True,
                       redirect_uris=("http://127.0.0.1:8765/callback",))


@pytest.fixture
def service(make_client):
    return make_client(name="Service", grant_types=("client_credentials",), scope="api:read")


@pytest.fixture
def resource_server(app) -> dict:
    """A confidential client whose client_id is the access tokens' audience, as a
    deployment registers its API (the marker sets PROVIDER_DEFAULT_AUDIENCE to it)."""
    secret = digests.new_credential()
    with app.app_context():
        db.session.add(Client(client_id=RESOURCE_SERVER, name="Orders API",
                              secret_digest=digests.digest(secret),
                              token_endpoint_auth_method="client_secret_basic",
                              redirect_uris=[], grant_types=["client_credentials"],
                              allowed_scope=""))
        db.session.commit()
    return {"client_id": RESOURCE_SERVER, "client_secret": secret}


def obtain_access_only(http, browser, rp: dict) -> dict:
    verifier, challenge = pkce_pair()
    response = browser.authorize({
        "response_type": "code", "client_id": rp["client_id"], "scope": "openid",
        "redirect_uri": rp["redirect_uris"][0], "state": "s", "code_challenge": challenge,
        "code_challenge_method": "S256"})
    code = query_of(response.headers["Location"])["code"]
    token = http.post("/token", headers=basic_auth(rp["client_id"], rp["client_secret"]),
                      data={"grant_type": "authorization_code", "code": code,
                            "code_verifier": verifier, "redirect_uri": rp["redirect_uris"][0]})
    assert token.status_code == 200 and "refresh_token" not in token.get_json()
    return token.get_json()


def answer(http, caller: dict, token: str, **kwargs) -> dict:
    response = introspect(http, caller, token, **kwargs)
    assert response.status_code == 200, response.data
    assert response.headers["Cache-Control"] == "no-store"
    assert response.mimetype == "application/json"
    return response.get_json()


def jwks_client_keys(http) -> jwt.PyJWKSet:
    return jwt.PyJWKSet.from_dict(http.get("/.well-known/jwks.json").get_json())


def verify_signed_answer(http, response, audience: str) -> dict:
    assert response.status_code == 200, response.data
    assert response.mimetype == JWT_TYPE
    assert response.headers["Cache-Control"] == "no-store"
    token = response.get_data(as_text=True)
    header = jwt.get_unverified_header(token)
    assert header["typ"] == "token-introspection+jwt"
    key = next(k for k in jwks_client_keys(http).keys if k.key_id == header["kid"])
    claims = jwt.decode(token, key.key, algorithms=[header["alg"]], audience=audience,
                        issuer=ISSUER, options={"require": ["iss", "aud", "iat"]})
    assert abs(claims["iat"] - clock.now()) <= 2
    assert set(claims) == {"iss", "aud", "iat", "token_introspection"}
    return claims["token_introspection"]


# --- live tokens ---------------------------------------------------------------------


def test_a_live_access_token_as_its_client_sees_it(app, client, browser, alice, rp):
    tokens = obtain(client, browser, rp)
    claims = jwt.decode(tokens["access_token"], options={"verify_signature": False})
    body = answer(client, rp, tokens["access_token"])
    assert set(body) == ACCESS_FIELDS
    assert body == {
        "active": True, "scope": "openid profile email offline_access",
        "client_id": rp["client_id"], "sub": alice.id, "username": "alice",
        "exp": claims["exp"], "iat": claims["iat"], "nbf": claims["iat"], "aud": ISSUER,
        "iss": ISSUER, "jti": claims["jti"], "token_type": "Bearer", "roles": ["user", "admin"],
    }


def test_a_live_refresh_token_as_its_client_sees_it(app, client, browser, alice, rp):
    tokens = obtain(client, browser, rp)
    body = answer(client, rp, tokens["refresh_token"], hint="refresh_token")
    with app.app_context():
        row = db.session.scalar(db.select(RefreshToken))
    assert body == {
        "active": True, "scope": "openid profile email offline_access",
        "client_id": rp["client_id"], "sub": alice.id, "username": "alice",
        "exp": row.expires_at, "iat": row.issued_at, "nbf": row.issued_at, "aud": ISSUER,
        "iss": ISSUER, "jti": digests.digest(tokens["refresh_token"]),
        "token_type": "refresh_token",
    }
    assert body["exp"] - body["iat"] == 14 * 24 * 3600  # the idle lifetime


def test_a_client_credentials_token_has_no_username(client, service):
    issued = client.post("/token", headers=basic_auth(service["client_id"],
                                                      service["client_secret"]),
                         data={"grant_type": "client_credentials"}).get_json()
    body = answer(client, service, issued["access_token"])
    assert body["active"] is True and "username" not in body
    assert body["sub"] == "client:" + service["client_id"]
    assert body["scope"] == "api:read" and body["roles"] == []


@pytest.mark.parametrize("hint", ["access_token", "refresh_token", "bogus", None])
def test_the_hint_never_decides_whether_a_token_is_found(client, browser, alice, rp, hint):
    tokens = obtain(client, browser, rp)
    assert answer(client, rp, tokens["access_token"], hint=hint)["token_type"] == "Bearer"
    assert answer(client, rp, tokens["refresh_token"], hint=hint)["token_type"] == \
        "refresh_token"


def test_rotation_retires_the_used_refresh_token(client, browser, alice, rp):
    first = obtain(client, browser, rp)
    second = refresh(client, rp, first["refresh_token"]).get_json()
    assert answer(client, rp, first["refresh_token"]) == INACTIVE
    assert answer(client, rp, second["refresh_token"])["active"] is True
    assert answer(client, rp, first["access_token"])["active"] is True  # until its exp


# --- revoke, then introspect -----------------------------------------------------------


def test_revoked_tokens_are_exactly_inactive(client, browser, alice, rp):
    tokens = obtain(client, browser, rp)
    second = obtain(client, browser, rp)
    assert revoke(client, rp, tokens["access_token"]).status_code == 200
    assert answer(client, rp, tokens["access_token"]) == INACTIVE
    assert answer(client, rp, tokens["refresh_token"])["active"] is True
    assert revoke(client, rp, second["refresh_token"]).status_code == 200
    assert answer(client, rp, second["refresh_token"]) == INACTIVE
    assert answer(client, rp, second["access_token"]) == INACTIVE  # its family's access token


# --- who may see what ----------------------------------------------------------------


def test_an_unrelated_client_learns_exactly_nothing(app, client, browser, alice, rp, other):
    tokens = obtain(client, browser, rp)
    for token in (tokens["access_token"], tokens["refresh_token"]):
        response = introspect(client, other, token)
        assert response.status_code == 200
        assert response.get_data(as_text=True) == json.dumps(INACTIVE)


@pytest.mark.config(PROVIDER_DEFAULT_AUDIENCE=RESOURCE_SERVER)
def test_a_resource_server_named_in_aud_may_introspect_access_tokens(client, browser, alice,
                                                                      rp, resource_server):
    tokens = obtain(client, browser, rp)
    body = answer(client, resource_server, tokens["access_token"])
    assert body["active"] is True
    assert body["aud"] == RESOURCE_SERVER and body["client_id"] == rp["client_id"]
    assert body["username"] == "alice"
    # a refresh token is the client's alone
    assert answer(client, resource_server, tokens["refresh_token"]) == INACTIVE
    assert userinfo_status(client, tokens["access_token"]) == 200


def test_a_resource_server_not_named_in_aud_may_not(client, browser, alice, rp,
                                                    resource_server):
    tokens = obtain(client, browser, rp)  # aud is the issuer here
    assert answer(client, resource_server, tokens["access_token"]) == INACTIVE


def test_public_clients_cannot_introspect_even_their_own_tokens(client, native):
    response = introspect(client, native, "anything")
    assert response.status_code == 401
    assert response.get_json()["error"] == "invalid_client"
    assert response.headers["WWW-Authenticate"].startswith("Basic ")
    with_secret = client.post("/introspect", data={
        "token": "anything", "client_id": native["client_id"], "client_secret": "guess"})
    assert with_secret.status_code == 401


@pytest.mark.parametrize("headers, form", [
    ({}, {}),
    ({"Authorization": "Basic !!!"}, {}),
    ({"Authorization": "Bearer x"}, {}),
    ("wrong secret", {}),
    ({}, {"client_id": "nobody", "client_secret": "nothing"}),
])
def test_without_valid_client_authentication_the_answer_is_401(app, client, browser, alice, rp,
                                                               headers, form):
    tokens = obtain(client, browser, rp)
    if headers == "wrong secret":
        headers = basic_auth(rp["client_id"], "wrong")
    response = client.post("/introspect", headers=headers,
                           data={**form, "token": tokens["access_token"]})
    assert response.status_code == 401
    assert response.get_json()["error"] == "invalid_client"
    assert "active" not in response.get_json()
    assert response.headers["WWW-Authenticate"].startswith("Basic ")


def test_a_disabled_client_cannot_introspect(app, client, browser, alice, rp):
    tokens = obtain(client, browser, rp)
    with app.app_context():
        management.disable_client(rp["client_id"])
    assert introspect(client, rp, tokens["access_token"]).status_code == 401


# --- everything that is not live -----------------------------------------------------


def test_expired_tokens_are_inactive(client, browser, alice, rp):
    tokens = obtain(client, browser, rp)
    with clock.advance(client.application, 901):
        assert answer(client, rp, tokens["access_token"]) == INACTIVE
        assert answer(client, rp, tokens["refresh_token"])["active"] is True
    with clock.advance(client.application, 14 * 24 * 3600 + 1):
        assert answer(client, rp, tokens["refresh_token"]) == INACTIVE


def test_a_family_revoked_by_reuse_is_inactive(client, browser, alice, rp):
    first = obtain(client, browser, rp)
    second = refresh(client, rp, first["refresh_token"]).get_json()
    with clock.advance(client.application, 11):
        assert refresh(client, rp, first["refresh_token"]).status_code == 400
        assert answer(client, rp, second["refresh_token"]) == INACTIVE
        assert answer(client, rp, second["access_token"]) == INACTIVE


def test_a_disabled_users_tokens_are_inactive(app, client, browser, alice, make_client):
    # a client without refresh tokens: its access token is in no family, so disabling the
    # user puts nothing on the deny-list and only the user check can catch it
    no_refresh = make_client(name="No refresh", trusted=True,
                             grant_types=("authorization_code",))
    tokens = obtain_access_only(client, browser, no_refresh)
    assert answer(client, no_refresh, tokens["access_token"])["active"] is True
    with app.app_context():
        management.set_user_disabled("alice", True)
    assert answer(client, no_refresh, tokens["access_token"]) == INACTIVE


def test_a_disabled_users_refresh_tokens_are_inactive(app, client, browser, alice, rp):
    tokens = obtain(client, browser, rp)
    with app.app_context():
        management.set_user_disabled("alice", True)
    assert answer(client, rp, tokens["refresh_token"]) == INACTIVE


@pytest.mark.config(PROVIDER_DEFAULT_AUDIENCE=RESOURCE_SERVER)
def test_a_disabled_clients_tokens_are_inactive(app, client, service, resource_server):
    issued = client.post("/token", headers=basic_auth(service["client_id"],
                                                      service["client_secret"]),
                         data={"grant_type": "client_credentials"}).get_json()
    assert answer(client, resource_server, issued["access_token"])["active"] is True
    with app.app_context():
        management.disable_client(service["client_id"])
    assert answer(client, resource_server, issued["access_token"]) == INACTIVE


def test_an_ended_session_ends_a_family_without_offline_access_read_only(app, client, browser,
                                                                         alice, rp):
    tokens = obtain(client, browser, rp, scope="openid profile")
    with app.app_context():
        db.session.execute(db.update(LoginSession).values(ended_at=clock.now()))
        db.session.commit()
    before = snapshot(app)
    assert answer(client, rp, tokens["refresh_token"]) == INACTIVE
    assert snapshot(app) == before  # introspection ends nothing; the next refresh will
    assert family_of(app, rp).revoked_at is None


@pytest.mark.parametrize("token", [*GARBAGE, "forged", "id_token", "tampered", "signed answer"])
def test_anything_else_is_exactly_inactive(app, client, browser, alice, rp, token):
    tokens = obtain(client, browser, rp)
    header, payload, signature = tokens["access_token"].split(".")
    presented = {
        "forged": forged_jwt(),
        "id_token": tokens["id_token"],
        "tampered": f"{header}.{payload}.{signature[:-4]}AAAA",
        "signed answer": introspect(client, rp, tokens["access_token"],
                                    accept=JWT_TYPE).get_data(as_text=True),
    }.get(token, token)
    before = snapshot(app)
    response = introspect(client, rp, presented)
    assert response.status_code == 200
    assert response.get_data(as_text=True) == json.dumps(INACTIVE)
    assert snapshot(app) == before


def test_introspection_writes_nothing(app, client, browser, alice, rp, other):
    tokens = obtain(client, browser, rp)
    before = snapshot(app)
    for caller in (rp, other):
        for token in (tokens["access_token"], tokens["refresh_token"]):
            introspect(client, caller, token)
            introspect(client, caller, token, accept=JWT_TYPE)
    assert snapshot(app) == before


def test_malformed_requests_are_refused(client, rp):
    auth = basic_auth(rp["client_id"], rp["client_secret"])
    for form in ({}, {"token": ""}, {"token": ["a", "b"]}):
        response = client.post("/introspect", headers=auth, data=form)
        assert response.status_code == 400, form
        assert response.get_json()["error"] == "invalid_request"
    in_query = client.post("/introspect?token=abc", headers=auth)
    assert in_query.status_code == 400
    too_big = client.post("/introspect", headers=auth, data={"token": "x" * (70 * 1024)})
    assert too_big.status_code == 413 and too_big.get_json()["error"] == "invalid_request"
    assert client.get("/introspect", headers=auth).status_code == 405


# --- signed answers (RFC 9701) -------------------------------------------------------


def test_a_signed_answer_verifies_against_the_jwks(client, browser, alice, rp):
    tokens = obtain(client, browser, rp)
    plain = answer(client, rp, tokens["access_token"])
    response = introspect(client, rp, tokens["access_token"], accept=JWT_TYPE)
    assert verify_signed_answer(client, response, audience=rp["client_id"]) == plain


def test_a_signed_inactive_answer(client, browser, alice, rp, other):
    tokens = obtain(client, browser, rp)
    response = introspect(client, other, tokens["refresh_token"], accept=JWT_TYPE)
    assert verify_signed_answer(client, response, audience=other["client_id"]) == INACTIVE


@pytest.mark.parametrize("accept, signed", [
    (None, False),
    ("*/*", False),
    ("application/json", False),
    ("text/html", False),
    (JWT_TYPE, True),
    (f"{JWT_TYPE}, application/json;q=0.5", True),
    (f"application/json, {JWT_TYPE};q=0.5", False),
])
def test_the_accept_header_chooses_the_format(client, browser, alice, rp, accept, signed):
    tokens = obtain(client, browser, rp)
    response = introspect(client, rp, tokens["access_token"], accept=accept)
    assert response.status_code == 200
    assert response.mimetype == (JWT_TYPE if signed else "application/json")


def test_a_signed_answer_is_no_access_token(client, browser, alice, rp):
    tokens = obtain(client, browser, rp)
    signed = introspect(client, rp, tokens["access_token"], accept=JWT_TYPE)
    assert userinfo_status(client, signed.get_data(as_text=True)) == 401


def test_errors_stay_json_when_a_jwt_is_asked_for(client):
    response = client.post("/introspect", headers={"Accept": JWT_TYPE}, data={"token": "x"})
    assert response.status_code == 401 and response.mimetype == "application/json"


def test_introspection_is_in_both_discovery_documents(client):
    for path in ("/.well-known/openid-configuration", "/.well-known/oauth-authorization-server"):
        document = client.get(path).get_json()
        assert document["introspection_endpoint"] == ISSUER + "/introspect"
        assert document["introspection_endpoint_auth_methods_supported"] == [
            "client_secret_basic", "client_secret_post"]
        assert "RS256" in document["introspection_signing_alg_values_supported"]
