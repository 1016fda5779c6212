"""Bad input at the token endpoint: the code, PKCE, the redirect URI, grant types,
repeated and misplaced parameters, oversized and non-form bodies. The right status,
error code and headers, never a 500, and nothing stored changes when a request is
refused."""

from __future__ import annotations

import json
from urllib.parse import urlencode

import jwt
import pytest

from provider import clock, management
from provider.extensions import db
from provider.models import DeniedAccessToken
from tests.support.factories import CALLBACK, OTHER_CALLBACK
from tests.support.flows import obtain_code, token_request
from tests.support.protocol import basic_auth, pkce_pair
from tests.support.records import code_state
from tests.support.refusals import (
    assert_oauth_error,
)
from tests.support.settings import PASSWORD
from tests.support.snapshots import refusal_snapshot as snapshot


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
    with clock.advance(app, 61):
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


def test_token_parameters_in_the_query_string_are_refused(app, client, service):
    before = snapshot(app)
    response = client.post("/token?grant_type=client_credentials",
                           headers=basic_auth(service["client_id"], service["client_secret"]))
    assert_oauth_error(response, 400, "invalid_request")
    assert response.headers["Cache-Control"] == "no-store"
    assert snapshot(app) == before
