"""Bad input at every endpoint: the right status, error code and headers, never a 500,
and nothing stored changes when a request is refused."""

from __future__ import annotations

import base64
import json
import re
from urllib.parse import urlencode

import jwt
import pytest
from sqlalchemy import func

from provider import clock, management
from provider.extensions import db
from provider.models import AuthorizationCode, Consent, DeniedAccessToken
from tests.support.factories import CALLBACK, NATIVE_CALLBACK, OTHER_CALLBACK
from tests.support.flows import access_token_for, auth_params, obtain_code, token_request
from tests.support.protocol import b64url, basic_auth, pkce_pair
from tests.support.records import code_state
from tests.support.refusals import (
    assert_error_page,
    assert_invalid_client,
    assert_oauth_error,
    assert_redirect_error,
)
from tests.support.settings import PASSWORD
from tests.support.snapshots import refusal_snapshot as snapshot

# --- fixtures -------------------------------------------------------------------------


@pytest.fixture
def rp(make_client):
    return make_client(name="Relying Party", redirect_uris=(CALLBACK, OTHER_CALLBACK))


@pytest.fixture
def other_rp(make_client):
    return make_client(name="Other RP", redirect_uris=(CALLBACK,))


@pytest.fixture
def native(make_client):
    return make_client(name="Native", public=True, redirect_uris=(NATIVE_CALLBACK,))


@pytest.fixture
def service(make_client):
    return make_client(name="Service", grant_types=("client_credentials",),
                       scope="api:read api:write")


# --- token endpoint: the code and PKCE ------------------------------------------------


def test_wrong_code_verifier_is_invalid_grant_and_does_not_burn_the_code(
        app, client, browser, alice, rp):
    verifier, challenge = pkce_pair()
    code = obtain_code(browser, rp, challenge)
    before = snapshot(app)
    wrong_verifier, _ = pkce_pair()
    response = token_request(client, rp, code, wrong_verifier)
    assert_oauth_error(response, 400, "invalid_grant")
    assert "access_token" not in response.get_json()
    assert code_state(app, code)["consumed_at"] is None
    assert snapshot(app) == before

    redeemed = token_request(client, rp, code, verifier)
    assert redeemed.status_code == 200, redeemed.data
    assert code_state(app, code)["consumed_at"] is not None


def test_missing_code_verifier_for_code_with_challenge(app, client, browser, alice, rp):
    verifier, challenge = pkce_pair()
    code = obtain_code(browser, rp, challenge)
    before = snapshot(app)
    assert_oauth_error(token_request(client, rp, code), 400, "invalid_request")
    assert code_state(app, code)["consumed_at"] is None
    assert snapshot(app) == before
    assert token_request(client, rp, code, verifier).status_code == 200


def test_missing_code_verifier_for_public_client(app, client, browser, alice, native):
    verifier, challenge = pkce_pair()
    code = obtain_code(browser, native, challenge)
    before = snapshot(app)
    assert_oauth_error(token_request(client, native, code), 400, "invalid_request")
    assert code_state(app, code)["consumed_at"] is None
    assert snapshot(app) == before
    assert token_request(client, native, code, verifier).status_code == 200


def test_malformed_code_verifier_is_refused(app, client, browser, alice, rp):
    verifier, challenge = pkce_pair()
    code = obtain_code(browser, rp, challenge)
    before = snapshot(app)
    for bad in ("short", "x" * 129, "a" * 42 + "!", "é" * 50):
        response = token_request(client, rp, code, bad)
        assert response.status_code == 400, (bad, response.data)
        assert response.get_json()["error"] in ("invalid_request", "invalid_grant")
    assert code_state(app, code)["consumed_at"] is None
    assert snapshot(app) == before
    assert token_request(client, rp, code, verifier).status_code == 200


def test_code_verifier_without_challenge_is_refused_pkce_downgrade(
        app, client, browser, alice, rp):
    """RFC 9700 §4.8: a verifier for a code issued without a challenge is refused."""
    code = obtain_code(browser, rp, None)
    before = snapshot(app)
    verifier, _ = pkce_pair()
    assert_oauth_error(token_request(client, rp, code, verifier), 400, "invalid_request")
    assert code_state(app, code)["consumed_at"] is None
    assert snapshot(app) == before


def test_replayed_code_is_refused_and_revokes_the_first_access_token(
        app, client, browser, alice, rp):
    verifier, challenge = pkce_pair()
    code = obtain_code(browser, rp, challenge)
    first = token_request(client, rp, code, verifier)
    assert first.status_code == 200, first.data
    access_token = first.get_json()["access_token"]
    jti = jwt.decode(access_token, options={"verify_signature": False})["jti"]
    bearer = {"Authorization": f"Bearer {access_token}"}
    assert client.get("/userinfo", headers=bearer).status_code == 200
    with app.app_context():
        assert db.session.get(DeniedAccessToken, jti) is None

    second = token_request(client, rp, code, verifier)
    body = assert_oauth_error(second, 400, "invalid_grant")
    assert "access_token" not in body

    with app.app_context():
        denied = db.session.get(DeniedAccessToken, jti)
        assert denied is not None
        assert denied.reason == "code_replay"
    refused = client.get("/userinfo", headers=bearer)
    assert refused.status_code == 401
    assert refused.get_json()["error"] == "invalid_token"
    assert 'error="invalid_token"' in refused.headers["WWW-Authenticate"]
    # a third attempt stays refused and adds nothing
    before = snapshot(app)
    assert_oauth_error(token_request(client, rp, code, verifier), 400, "invalid_grant")
    assert snapshot(app) == before


def test_code_of_client_a_redeemed_by_client_b(app, client, browser, alice, rp, other_rp):
    verifier, challenge = pkce_pair()
    code = obtain_code(browser, rp, challenge)
    before = snapshot(app)
    response = token_request(client, other_rp, code, verifier, redirect_uri=CALLBACK)
    assert_oauth_error(response, 400, "invalid_grant")
    state = code_state(app, code)
    assert state["consumed_at"] is None
    assert state["client_id"] == rp["client_id"]
    assert snapshot(app) == before
    # and the thief's attempt revoked nothing: the rightful client still redeems it
    assert token_request(client, rp, code, verifier).status_code == 200


def test_code_of_confidential_client_redeemed_by_public_client(
        app, client, browser, alice, rp, make_client):
    pub = make_client(name="Pub", public=True, redirect_uris=(CALLBACK,))
    verifier, challenge = pkce_pair()
    code = obtain_code(browser, rp, challenge)
    before = snapshot(app)
    assert_oauth_error(token_request(client, pub, code, verifier), 400, "invalid_grant")
    assert code_state(app, code)["consumed_at"] is None
    assert snapshot(app) == before


@pytest.mark.parametrize("redirect_uri", [OTHER_CALLBACK, CALLBACK + "/", None])
def test_redirect_uri_must_match_the_authorization_request(
        app, client, browser, alice, rp, redirect_uri):
    verifier, challenge = pkce_pair()
    code = obtain_code(browser, rp, challenge)
    before = snapshot(app)
    response = token_request(client, rp, code, verifier, redirect_uri=redirect_uri)
    assert_oauth_error(response, 400, "invalid_grant")
    assert code_state(app, code)["consumed_at"] is None
    assert snapshot(app) == before
    assert token_request(client, rp, code, verifier).status_code == 200


def test_expired_code_is_invalid_grant(app, client, browser, alice, rp):
    verifier, challenge = pkce_pair()
    code = obtain_code(browser, rp, challenge)
    before = snapshot(app)
    with clock.advance(61):
        assert_oauth_error(token_request(client, rp, code, verifier), 400, "invalid_grant")
    assert code_state(app, code)["consumed_at"] is None
    assert snapshot(app) == before


@pytest.mark.parametrize("code", ["not-a-code", "x" * 600, "x" * 10_000, "é" * 100])
def test_unknown_or_long_code_is_invalid_grant(app, client, alice, rp, code):
    before = snapshot(app)
    verifier, _ = pkce_pair()
    assert_oauth_error(token_request(client, rp, code, verifier), 400, "invalid_grant")
    assert snapshot(app) == before


def test_empty_code_is_treated_as_missing(app, client, rp):
    before = snapshot(app)
    verifier, _ = pkce_pair()
    assert_oauth_error(token_request(client, rp, "", verifier), 400, "invalid_request")
    assert snapshot(app) == before


def test_missing_code_is_invalid_request(app, client, rp):
    before = snapshot(app)
    response = client.post("/token", headers=basic_auth(rp["client_id"], rp["client_secret"]),
                           data={"grant_type": "authorization_code", "redirect_uri": CALLBACK})
    assert_oauth_error(response, 400, "invalid_request")
    assert snapshot(app) == before


# --- token endpoint: client authentication --------------------------------------------


def test_wrong_client_secret(app, client, browser, alice, rp):
    verifier, challenge = pkce_pair()
    code = obtain_code(browser, rp, challenge)
    before = snapshot(app)
    response = token_request(client, rp, code, verifier,
                             headers=basic_auth(rp["client_id"], rp["client_secret"] + "x"))
    assert_invalid_client(response)
    assert code_state(app, code)["consumed_at"] is None
    assert snapshot(app) == before


def test_wrong_client_secret_in_body(app, client, make_client):
    post_client = make_client(name="Post", auth_method="client_secret_post",
                              grant_types=("client_credentials",), scope="api:read")
    before = snapshot(app)
    response = client.post("/token", data={"grant_type": "client_credentials",
                                           "client_id": post_client["client_id"],
                                           "client_secret": "wrong"})
    assert response.status_code == 401, response.data
    assert response.get_json()["error"] == "invalid_client"
    assert snapshot(app) == before


def test_unknown_client_id(app, client):
    before = snapshot(app)
    response = client.post("/token", headers=basic_auth("nobody", "secret"),
                           data={"grant_type": "client_credentials"})
    assert_invalid_client(response)
    assert snapshot(app) == before


def test_credentials_in_header_and_body(app, client, browser, alice, rp):
    verifier, challenge = pkce_pair()
    code = obtain_code(browser, rp, challenge)
    before = snapshot(app)
    response = token_request(client, rp, code, verifier, client_secret=rp["client_secret"])
    assert_oauth_error(response, 400, "invalid_request")
    assert code_state(app, code)["consumed_at"] is None
    assert snapshot(app) == before


def test_client_id_in_body_differing_from_basic_header(app, client, browser, alice, rp,
                                                       other_rp):
    verifier, challenge = pkce_pair()
    code = obtain_code(browser, rp, challenge)
    before = snapshot(app)
    response = token_request(client, rp, code, verifier, client_id=other_rp["client_id"])
    assert_oauth_error(response, 400, "invalid_request")
    assert code_state(app, code)["consumed_at"] is None
    assert snapshot(app) == before


@pytest.mark.parametrize("header", [
    "Basic !!!not-base64!!!",
    "Basic " + base64.b64encode(b"\xff\xfe:\xff").decode(),
    "Basic " + base64.b64encode(b"client-without-colon").decode(),
    "Basic " + base64.b64encode(b":secret-without-id").decode(),
    "Basic ",
    "Basic",
    "Basic " + "A" * 5000,
    "Bearer abc.def.ghi",
    "Digest username=x",
], ids=["not-base64", "non-utf8", "no-colon", "empty-id", "empty", "bare-scheme", "huge",
        "bearer", "digest"])
def test_malformed_authorization_header(app, client, browser, alice, rp, header):
    verifier, challenge = pkce_pair()
    code = obtain_code(browser, rp, challenge)
    before = snapshot(app)
    response = token_request(client, rp, code, verifier, headers={"Authorization": header})
    assert_oauth_error(response, 401, "invalid_client")
    assert "WWW-Authenticate" in response.headers
    assert code_state(app, code)["consumed_at"] is None
    assert snapshot(app) == before


def test_public_client_using_client_secret_basic(app, client, browser, alice, native):
    verifier, challenge = pkce_pair()
    code = obtain_code(browser, native, challenge)
    before = snapshot(app)
    response = token_request(client, native, code, verifier,
                             headers=basic_auth(native["client_id"], "made-up-secret"))
    assert_invalid_client(response)
    assert code_state(app, code)["consumed_at"] is None
    assert snapshot(app) == before
    assert token_request(client, native, code, verifier).status_code == 200


def test_public_client_sending_a_client_secret_in_body(app, client, browser, alice, native):
    verifier, challenge = pkce_pair()
    code = obtain_code(browser, native, challenge)
    before = snapshot(app)
    response = token_request(client, native, code, verifier, client_id=native["client_id"],
                             client_secret="made-up-secret")
    assert response.status_code == 401, response.data
    assert response.get_json()["error"] == "invalid_client"
    assert code_state(app, code)["consumed_at"] is None
    assert snapshot(app) == before


def test_confidential_client_sending_only_client_id(app, client, browser, alice, rp):
    verifier, challenge = pkce_pair()
    code = obtain_code(browser, rp, challenge)
    before = snapshot(app)
    response = token_request(client, rp, code, verifier, headers={},
                             client_id=rp["client_id"])
    assert response.status_code == 401, response.data
    assert response.get_json()["error"] == "invalid_client"
    assert code_state(app, code)["consumed_at"] is None
    assert snapshot(app) == before


def test_no_client_authentication_at_all(app, client, browser, alice, rp):
    verifier, challenge = pkce_pair()
    code = obtain_code(browser, rp, challenge)
    before = snapshot(app)
    response = token_request(client, rp, code, verifier, headers={})
    assert response.status_code == 401, response.data
    assert response.get_json()["error"] == "invalid_client"
    assert code_state(app, code)["consumed_at"] is None
    assert snapshot(app) == before


@pytest.mark.parametrize("grant_type", ["password", "implicit",
                                        "urn:ietf:params:oauth:grant-type:device_code"])
def test_unsupported_grant_type(app, client, rp, grant_type):
    before = snapshot(app)
    response = client.post("/token", headers=basic_auth(rp["client_id"], rp["client_secret"]),
                           data={"grant_type": grant_type, "username": "alice",
                                 "password": PASSWORD, "refresh_token": "x"})
    assert_oauth_error(response, 400, "unsupported_grant_type")
    assert snapshot(app) == before


def test_missing_grant_type_is_invalid_request(app, client, service):
    before = snapshot(app)
    response = client.post("/token",
                           headers=basic_auth(service["client_id"], service["client_secret"]),
                           data={"scope": "api:read"})
    assert_oauth_error(response, 400, "invalid_request")
    assert snapshot(app) == before


@pytest.mark.parametrize("name", ["code", "code_verifier", "redirect_uri", "grant_type"])
def test_duplicated_token_parameter_is_invalid_request(app, client, browser, alice, rp, name):
    verifier, challenge = pkce_pair()
    code = obtain_code(browser, rp, challenge)
    fields = {"grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK,
              "code_verifier": verifier}
    body = urlencode([*fields.items(), (name, fields[name])])
    before = snapshot(app)
    response = client.post("/token", headers=basic_auth(rp["client_id"], rp["client_secret"]),
                           data=body, content_type="application/x-www-form-urlencoded")
    assert_oauth_error(response, 400, "invalid_request")
    assert code_state(app, code)["consumed_at"] is None
    assert snapshot(app) == before


def test_code_of_disabled_user_is_invalid_grant(app, client, browser, alice, rp):
    verifier, challenge = pkce_pair()
    code = obtain_code(browser, rp, challenge)
    with app.app_context():
        management.set_user_disabled("alice", True)
    before = snapshot(app)
    assert_oauth_error(token_request(client, rp, code, verifier), 400, "invalid_grant")
    assert code_state(app, code)["consumed_at"] is None
    assert snapshot(app) == before


def test_grant_type_not_registered_for_client(app, client, rp):
    """rp is registered for authorization_code only: client_credentials is unauthorized."""
    before = snapshot(app)
    response = client.post("/token", headers=basic_auth(rp["client_id"], rp["client_secret"]),
                           data={"grant_type": "client_credentials"})
    assert_oauth_error(response, 400, "unauthorized_client")
    assert snapshot(app) == before


def test_disabled_client_cannot_redeem_its_code(app, client, browser, alice, rp):
    verifier, challenge = pkce_pair()
    code = obtain_code(browser, rp, challenge)
    with app.app_context():
        management.disable_client(rp["client_id"])
    before = snapshot(app)
    response = token_request(client, rp, code, verifier)
    assert_invalid_client(response)
    assert code_state(app, code)["consumed_at"] is None
    assert snapshot(app) == before


def test_disabled_client_credentials_client(app, client, service):
    auth = basic_auth(service["client_id"], service["client_secret"])
    assert client.post("/token", headers=auth,
                       data={"grant_type": "client_credentials"}).status_code == 200
    with app.app_context():
        management.disable_client(service["client_id"])
    before = snapshot(app)
    response = client.post("/token", headers=auth, data={"grant_type": "client_credentials"})
    assert_invalid_client(response)
    assert snapshot(app) == before


def test_oversized_code_body_is_a_clean_json_error(app, client, rp):
    before = snapshot(app)
    response = client.post("/token", headers=basic_auth(rp["client_id"], rp["client_secret"]),
                           data={"grant_type": "authorization_code", "code": "c" * 100_000,
                                 "redirect_uri": CALLBACK})
    assert 400 <= response.status_code < 500, response.data
    assert response.status_code == 413
    assert response.mimetype == "application/json"
    assert response.get_json()["error"] == "invalid_request"
    assert snapshot(app) == before


def test_oversized_body_is_a_clean_json_error(app, client, service):
    before = snapshot(app)
    response = client.post(
        "/token", headers=basic_auth(service["client_id"], service["client_secret"]),
        data={"grant_type": "client_credentials", "padding": "p" * 70_000})
    assert response.status_code == 413, response.data
    assert response.mimetype == "application/json"
    assert response.get_json()["error"] == "invalid_request"
    assert snapshot(app) == before


def test_oversized_client_credentials_are_invalid_client(app, client, service):
    before = snapshot(app)
    long_id = client.post("/token", headers=basic_auth("i" * 5000, "secret"),
                          data={"grant_type": "client_credentials"})
    assert_invalid_client(long_id)
    long_secret = client.post("/token", headers=basic_auth(service["client_id"], "s" * 5000),
                              data={"grant_type": "client_credentials"})
    assert_invalid_client(long_secret)
    assert snapshot(app) == before


def test_get_token_is_405_with_json_body(app, client):
    response = client.get("/token?grant_type=client_credentials")
    assert response.status_code == 405
    assert response.mimetype == "application/json"
    assert response.get_json()["error"] == "invalid_request"
    assert "POST" in response.headers["Allow"]


def test_token_endpoint_rejects_json_body(app, client, service):
    before = snapshot(app)
    response = client.post(
        "/token", headers=basic_auth(service["client_id"], service["client_secret"]),
        data=json.dumps({"grant_type": "client_credentials"}), content_type="application/json")
    assert 400 <= response.status_code < 500, response.data
    assert response.mimetype == "application/json"
    assert "error" in response.get_json()
    assert snapshot(app) == before


# --- authorization endpoint -----------------------------------------------------------


def test_unknown_client_id_is_an_error_page(app, client, rp):
    before = snapshot(app)
    response = client.get("/authorize", query_string=auth_params(rp, client_id="no-such-client"))
    assert_error_page(response)
    missing = client.get("/authorize", query_string=auth_params(rp, client_id=None))
    assert_error_page(missing)
    assert snapshot(app) == before


def test_disabled_client_is_an_error_page(app, client, rp):
    with app.app_context():
        management.disable_client(rp["client_id"])
    before = snapshot(app)
    _, challenge = pkce_pair()
    assert_error_page(client.get("/authorize", query_string=auth_params(rp, challenge)))
    assert snapshot(app) == before


@pytest.mark.parametrize("redirect_uri", [
    "https://evil.example/callback",
    CALLBACK + "/",
    "https://RP.example/callback",
    "https://rp.example/Callback",
    "HTTPS://rp.example/callback",
    CALLBACK + "?extra=1",
    CALLBACK + "#frag",
    "https://rp.example:443/callback",
    "/callback",
    "",
], ids=["unregistered", "trailing-slash", "host-case", "path-case", "scheme-case",
        "extra-query", "fragment", "explicit-port", "relative", "empty"])
def test_redirect_uri_must_match_exactly(app, client, rp, redirect_uri):
    _, challenge = pkce_pair()
    before = snapshot(app)
    response = client.get("/authorize",
                          query_string=auth_params(rp, challenge, redirect_uri=redirect_uri))
    assert_error_page(response)
    assert "evil.example" not in response.headers.get("Location", "")
    assert snapshot(app) == before


def test_missing_redirect_uri_with_several_registered_is_an_error_page(app, client, rp):
    _, challenge = pkce_pair()
    before = snapshot(app)
    response = client.get("/authorize", query_string=auth_params(rp, challenge,
                                                                 redirect_uri=None))
    assert_error_page(response)
    assert snapshot(app) == before


def test_public_client_without_code_challenge(app, client, native):
    before = snapshot(app)
    response = client.get("/authorize", query_string=auth_params(native))
    assert_redirect_error(response, "invalid_request", NATIVE_CALLBACK)
    assert snapshot(app) == before


def test_public_client_without_code_challenge_even_when_logged_in(
        app, client, browser, alice, native):
    _, challenge = pkce_pair()
    obtain_code(browser, native, challenge)  # logs in and consents
    before = snapshot(app)
    response = client.get("/authorize", query_string=auth_params(native))
    assert_redirect_error(response, "invalid_request", NATIVE_CALLBACK)
    assert snapshot(app) == before


def test_plain_code_challenge_method(app, client, native):
    verifier, _ = pkce_pair()
    before = snapshot(app)
    response = client.get("/authorize", query_string=auth_params(
        native, code_challenge=verifier, code_challenge_method="plain"))
    assert_redirect_error(response, "invalid_request", NATIVE_CALLBACK)
    assert snapshot(app) == before


def test_code_challenge_without_method(app, client, native, rp):
    _, challenge = pkce_pair()
    before = snapshot(app)
    response = client.get("/authorize", query_string=auth_params(native,
                                                                 code_challenge=challenge))
    assert_redirect_error(response, "invalid_request", NATIVE_CALLBACK)
    confidential = client.get("/authorize", query_string=auth_params(rp,
                                                                     code_challenge=challenge))
    assert_redirect_error(confidential, "invalid_request")
    assert snapshot(app) == before


def test_code_challenge_method_without_challenge(app, client, rp):
    before = snapshot(app)
    response = client.get("/authorize", query_string=auth_params(rp,
                                                                 code_challenge_method="S256"))
    assert_redirect_error(response, "invalid_request")
    assert snapshot(app) == before


@pytest.mark.parametrize("challenge", ["short", "x" * 129, "not valid!" * 5])
def test_malformed_code_challenge(app, client, native, challenge):
    before = snapshot(app)
    response = client.get("/authorize", query_string=auth_params(
        native, code_challenge=challenge, code_challenge_method="S256"))
    assert_redirect_error(response, "invalid_request", NATIVE_CALLBACK)
    assert snapshot(app) == before


@pytest.mark.parametrize("response_type", ["token", "code id_token", "id_token", "code token",
                                           "none"])
def test_unsupported_response_type(app, client, rp, response_type):
    _, challenge = pkce_pair()
    before = snapshot(app)
    response = client.get("/authorize", query_string=auth_params(
        rp, challenge, response_type=response_type))
    assert_redirect_error(response, "unsupported_response_type")
    assert snapshot(app) == before


def test_missing_response_type_is_invalid_request(app, client, rp):
    _, challenge = pkce_pair()
    before = snapshot(app)
    response = client.get("/authorize", query_string=auth_params(rp, challenge,
                                                                 response_type=None))
    assert snapshot(app) == before
    assert_redirect_error(response, "invalid_request")


def test_unsupported_response_mode(app, client, rp):
    _, challenge = pkce_pair()
    before = snapshot(app)
    response = client.get("/authorize", query_string=auth_params(rp, challenge,
                                                                 response_mode="fragment"))
    assert_redirect_error(response, "invalid_request")
    assert snapshot(app) == before


def test_request_object_not_supported(app, client, rp):
    _, challenge = pkce_pair()
    before = snapshot(app)
    response = client.get("/authorize", query_string=auth_params(rp, challenge,
                                                                 request="eyJhbGciOiJub25lIn0.e30."))
    assert_redirect_error(response, "request_not_supported")
    assert snapshot(app) == before


def test_request_uri_not_supported(app, client, rp):
    _, challenge = pkce_pair()
    before = snapshot(app)
    response = client.get("/authorize", query_string=auth_params(
        rp, challenge, request_uri="https://rp.example/request.jwt"))
    assert_redirect_error(response, "request_uri_not_supported")
    assert snapshot(app) == before


@pytest.mark.parametrize("scope", ["openid admin", "openid offline_access profile api:write",
                                   "api:read"])
def test_scope_not_registered_for_the_client(app, client, make_client, scope):
    limited = make_client(name="Limited", scope="openid profile")
    _, challenge = pkce_pair()
    before = snapshot(app)
    response = client.get("/authorize", query_string=auth_params(limited, challenge,
                                                                 scope=scope))
    assert_redirect_error(response, "invalid_scope")
    assert snapshot(app) == before


def test_scope_not_registered_is_refused_for_logged_in_user_too(app, client, browser, alice,
                                                                make_client):
    limited = make_client(name="Limited", scope="openid profile")
    _, challenge = pkce_pair()
    obtain_code(browser, limited, challenge, scope="openid")
    before = snapshot(app)
    response = client.get("/authorize", query_string=auth_params(limited, challenge,
                                                                 scope="openid email"))
    assert_redirect_error(response, "invalid_scope")
    assert snapshot(app) == before


@pytest.mark.parametrize("name", ["scope", "response_type", "code_challenge", "nonce", "prompt"])
def test_duplicated_parameter(app, client, rp, name):
    _, challenge = pkce_pair()
    params = auth_params(rp, challenge, prompt="login")
    pairs = [*params.items(), (name, params[name])]
    before = snapshot(app)
    response = client.get("/authorize?" + urlencode(pairs))
    assert_redirect_error(response, "invalid_request")
    assert snapshot(app) == before


def test_duplicated_state_is_refused(app, client, rp):
    _, challenge = pkce_pair()
    pairs = [*auth_params(rp, challenge).items(), ("state", "second")]
    before = snapshot(app)
    response = client.get("/authorize?" + urlencode(pairs))
    result = assert_redirect_error(response, "invalid_request")
    assert "second" not in response.headers["Location"]
    assert result["state"] == "st-123"
    assert snapshot(app) == before


def test_duplicated_redirect_uri_is_an_error_page(app, client, rp):
    _, challenge = pkce_pair()
    pairs = [*auth_params(rp, challenge).items(), ("redirect_uri", "https://evil.example/cb")]
    before = snapshot(app)
    response = client.get("/authorize?" + urlencode(pairs))
    assert snapshot(app) == before
    assert_error_page(response)


def test_duplicated_client_id_is_an_error_page(app, client, rp, other_rp):
    _, challenge = pkce_pair()
    pairs = [*auth_params(rp, challenge).items(), ("client_id", other_rp["client_id"])]
    before = snapshot(app)
    response = client.get("/authorize?" + urlencode(pairs))
    assert snapshot(app) == before
    assert_error_page(response)


def test_prompt_none_when_not_logged_in_is_login_required(app, client, alice, rp):
    _, challenge = pkce_pair()
    before = snapshot(app)
    response = client.get("/authorize", query_string=auth_params(rp, challenge, prompt="none"))
    assert_redirect_error(response, "login_required")
    assert snapshot(app) == before


def test_prompt_none_when_consent_is_missing_is_consent_required(app, client, browser, alice,
                                                                 rp):
    logged_in = browser.login("/login")
    assert logged_in.status_code == 303
    before = snapshot(app)
    assert before["login_sessions"] == 1
    _, challenge = pkce_pair()
    response = client.get("/authorize", query_string=auth_params(rp, challenge, prompt="none"))
    assert_redirect_error(response, "consent_required")
    assert snapshot(app) == before
    assert before["consents"] == 0


def test_prompt_none_with_consent_for_fewer_scopes_is_consent_required(app, client, browser,
                                                                       alice, rp):
    _, challenge = pkce_pair()
    obtain_code(browser, rp, challenge, scope="openid")
    before = snapshot(app)
    response = client.get("/authorize", query_string=auth_params(
        rp, challenge, scope="openid email", prompt="none"))
    assert_redirect_error(response, "consent_required")
    assert snapshot(app) == before
    with app.app_context():
        assert db.session.scalar(db.select(Consent.scope)) == "openid"


@pytest.mark.parametrize("prompt", ["none login", "bogus", "none consent"])
def test_invalid_prompt(app, client, rp, prompt):
    _, challenge = pkce_pair()
    before = snapshot(app)
    response = client.get("/authorize", query_string=auth_params(rp, challenge, prompt=prompt))
    assert_redirect_error(response, "invalid_request")
    assert snapshot(app) == before


@pytest.mark.parametrize("max_age", ["-1", "abc", "1e3", "9" * 30])
def test_invalid_max_age(app, client, rp, max_age):
    _, challenge = pkce_pair()
    before = snapshot(app)
    response = client.get("/authorize", query_string=auth_params(rp, challenge, max_age=max_age))
    assert_redirect_error(response, "invalid_request")
    assert snapshot(app) == before


def test_oversized_state_is_not_echoed(app, client, rp):
    _, challenge = pkce_pair()
    state = "S" * 5000
    before = snapshot(app)
    response = client.get("/authorize", query_string=auth_params(rp, challenge, state=state))
    assert_redirect_error(response, "invalid_request", state=None)
    assert "SSSS" not in response.headers["Location"]
    assert "SSSS" not in response.get_data(as_text=True)
    assert snapshot(app) == before


def test_oversized_parameter_is_invalid_request(app, client, rp):
    _, challenge = pkce_pair()
    before = snapshot(app)
    response = client.get("/authorize", query_string=auth_params(rp, challenge,
                                                                 nonce="n" * 5000))
    assert_redirect_error(response, "invalid_request")
    assert snapshot(app) == before


def test_oversized_query_string_is_a_clean_4xx(app, client, rp):
    _, challenge = pkce_pair()
    before = snapshot(app)
    response = client.get("/authorize", query_string=auth_params(rp, challenge,
                                                                 login_hint="h" * 200_000))
    assert_redirect_error(response, "invalid_request")
    assert "hhhh" not in response.headers["Location"]
    assert snapshot(app) == before


@pytest.mark.config(PROVIDER_REQUIRE_PKCE="all")
def test_require_pkce_all_applies_to_confidential_clients(app, client, browser, alice, rp):
    before = snapshot(app)
    response = client.get("/authorize", query_string=auth_params(rp))
    assert_redirect_error(response, "invalid_request")
    assert snapshot(app) == before
    # with a challenge the same client gets its code
    verifier, challenge = pkce_pair()
    code = obtain_code(browser, rp, challenge)
    assert token_request(client, rp, code, verifier).status_code == 200


def test_confidential_client_may_omit_pkce_by_default(app, client, browser, alice, rp):
    code = obtain_code(browser, rp, None)
    assert token_request(client, rp, code).status_code == 200


def test_denied_consent_stores_nothing(app, client, browser, alice, rp):
    _, challenge = pkce_pair()
    response = browser.authorize(auth_params(rp, challenge), consent="deny")
    assert_redirect_error(response, "access_denied")
    with app.app_context():
        assert db.session.scalar(db.select(func.count()).select_from(Consent)) == 0
        assert db.session.scalar(db.select(func.count()).select_from(AuthorizationCode)) == 0


# --- userinfo -------------------------------------------------------------------------


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
    with clock.advance(901):
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


# --- consent form ---------------------------------------------------------------------


@pytest.mark.parametrize("csrf", [None, "wrong-token"])
def test_consent_without_valid_csrf_token(app, client, browser, alice, rp, csrf):
    _, challenge = pkce_pair()
    response = client.get("/authorize", query_string=auth_params(rp, challenge))
    login = browser.login(response.headers["Location"])
    consent_location = login.headers["Location"]
    assert consent_location.startswith("/consent")
    page = client.get(consent_location).get_data(as_text=True)
    interaction = re.search(r'name="interaction" value="([^"]+)"', page).group(1)
    before = snapshot(app)
    form = {"interaction": interaction, "decision": "allow"}
    if csrf is not None:
        form["csrf_token"] = csrf
    refused = client.post("/consent", data=form)
    assert refused.status_code == 400
    assert "Location" not in refused.headers
    assert snapshot(app) == before
    assert before["consents"] == 0
    assert before["authorization_codes"] == 0


# --- login form -----------------------------------------------------------------------


def session_sid(http) -> str | None:
    with http.session_transaction() as session:
        return session.get("sid")


@pytest.mark.parametrize("csrf", [None, "", "wrong-token"])
def test_login_without_valid_csrf_token(app, client, alice, csrf):
    page = client.get("/login")
    assert page.status_code == 200
    before = snapshot(app)
    form = {"username": "alice", "password": PASSWORD, "action": "login"}
    if csrf is not None:
        form["csrf_token"] = csrf
    response = client.post("/login", data=form)
    assert response.status_code == 400
    assert "Location" not in response.headers
    assert session_sid(client) is None
    assert snapshot(app) == before
    assert before["login_sessions"] == 0


def test_login_without_any_session(app, alice):
    http = app.test_client()
    before = snapshot(app)
    response = http.post("/login", data={"username": "alice", "password": PASSWORD,
                                         "csrf_token": "guess", "action": "login"})
    assert response.status_code == 400
    assert session_sid(http) is None
    assert snapshot(app) == before


def test_wrong_password_and_unknown_user_look_the_same(app, client, alice):
    page = client.get("/login").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)

    def attempt(username: str, password: str) -> tuple[int, str]:
        response = client.post("/login", data={"csrf_token": csrf, "username": username,
                                               "password": password, "action": "login"})
        text = response.get_data(as_text=True).replace(username, "USERNAME")
        return response.status_code, re.sub(r'value="[^"]{30,}"', 'value="TOKEN"', text)

    before = snapshot(app)
    wrong_password = attempt("alice", "not the password")
    unknown_user = attempt("nobodyx", "not the password")
    assert wrong_password == unknown_user
    assert wrong_password[0] == 200
    assert "Incorrect username or password." in wrong_password[1]
    assert session_sid(client) is None
    assert snapshot(app) == before


def test_disabled_user_login_looks_like_wrong_password(app, client, alice):
    with app.app_context():
        management.set_user_disabled("alice", True)
    page = client.get("/login").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    before = snapshot(app)
    response = client.post("/login", data={"csrf_token": csrf, "username": "alice",
                                           "password": PASSWORD, "action": "login"})
    assert response.status_code == 200
    assert "Incorrect username or password." in response.get_data(as_text=True)
    assert session_sid(client) is None
    assert snapshot(app) == before


def test_oversized_login_fields(app, client, alice):
    page = client.get("/login").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    before = snapshot(app)
    response = client.post("/login", data={"csrf_token": csrf, "username": "alice",
                                           "password": "p" * 5000, "action": "login"})
    assert response.status_code == 200
    assert "Incorrect username or password." in response.get_data(as_text=True)
    too_big = client.post("/login", data={"csrf_token": csrf, "username": "u" * 70_000,
                                          "password": PASSWORD, "action": "login"})
    assert too_big.status_code == 413
    assert session_sid(client) is None
    assert snapshot(app) == before


def test_unknown_interaction_on_login_page(app, client):
    before = snapshot(app)
    response = client.get("/login", query_string={"interaction": "no-such-interaction"})
    assert response.status_code == 400
    assert "Location" not in response.headers
    assert snapshot(app) == before


def test_token_parameters_in_the_query_string_are_refused(app, client, service):
    before = snapshot(app)
    response = client.post("/token?grant_type=client_credentials",
                           headers=basic_auth(service["client_id"], service["client_secret"]))
    assert_oauth_error(response, 400, "invalid_request")
    assert response.headers["Cache-Control"] == "no-store"
    assert snapshot(app) == before
