"""Bad input at the authorization endpoint: unknown clients and redirect URIs (an
error page, never a redirect), PKCE, response types and modes, request objects,
scopes, repeated parameters, prompt and max_age, oversized values; errors redirect
with ``iss`` and ``state`` and nothing stored changes."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from sqlalchemy import func

from provider import management
from provider.extensions import db
from provider.models import AuthorizationCode, Consent
from tests.support.factories import CALLBACK, NATIVE_CALLBACK
from tests.support.flows import auth_params, obtain_code, token_request
from tests.support.protocol import pkce_pair
from tests.support.refusals import (
    assert_error_page,
    assert_redirect_error,
)
from tests.support.snapshots import refusal_snapshot as snapshot


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
