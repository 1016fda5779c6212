"""Bad client authentication at the token endpoint: wrong, missing, doubled,
malformed and oversized credentials, public clients sending secrets, disabled
clients. ``invalid_client`` (401, with a challenge) or ``invalid_request``, the code
is not burnt, and nothing stored changes."""

from __future__ import annotations

import base64

import pytest

from provider import management
from tests.support.flows import obtain_code, token_request
from tests.support.protocol import basic_auth, pkce_pair
from tests.support.records import code_state
from tests.support.refusals import (
    assert_invalid_client,
    assert_oauth_error,
)
from tests.support.snapshots import refusal_snapshot as snapshot


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


def test_oversized_client_credentials_are_invalid_client(app, client, service):
    before = snapshot(app)
    long_id = client.post("/token", headers=basic_auth("i" * 5000, "secret"),
                          data={"grant_type": "client_credentials"})
    assert_invalid_client(long_id)
    long_secret = client.post("/token", headers=basic_auth(service["client_id"], "s" * 5000),
                              data={"grant_type": "client_credentials"})
    assert_invalid_client(long_secret)
    assert snapshot(app) == before
