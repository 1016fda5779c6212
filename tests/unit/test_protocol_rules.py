"""Pure protocol rules without an app or a database: PKCE (RFC 7636), scope
policy (RFC 6749 §3.3, OIDC Core §5.4) and refresh-token successor derivation."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from authlib.oauth2.rfc6749 import InvalidRequestError, InvalidScopeError
from authlib.oauth2.rfc6749.requests import BasicOAuth2Payload
from flask import Flask

from provider.models import Client, User
from provider.oauth.pkce import S256CodeChallenge
from provider.oauth.refresh_tokens import successor_of
from provider.oauth.scopes import check_requested_scope, service_scope, user_claims

# RFC 7636 Appendix B
VERIFIER = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
CHALLENGE = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


def authorization_request(public: bool, **data):
    """What S256CodeChallenge reads of Authlib's grant: the payload and the client."""
    return SimpleNamespace(request=SimpleNamespace(
        payload=BasicOAuth2Payload(data), client=SimpleNamespace(is_public=public)))


def test_the_rfc_7636_example_verifier_matches_its_challenge():
    assert S256CodeChallenge.CODE_CHALLENGE_METHODS["S256"](VERIFIER, CHALLENGE)
    assert not S256CodeChallenge.CODE_CHALLENGE_METHODS["S256"](VERIFIER[:-1] + "l", CHALLENGE)


@pytest.mark.parametrize(("public", "require_for_all", "data", "says"), [
    (True, False, {}, "PKCE is required"),
    (False, True, {}, "PKCE is required"),
    (False, False, {"code_challenge": CHALLENGE}, "'code_challenge_method' is required"),
    (True, False, {"code_challenge": CHALLENGE, "code_challenge_method": "plain"},
     "Only the S256"),
    (False, False, {"code_challenge_method": "S256"}, ""),  # a method without a challenge
])
def test_pkce_refusals(public, require_for_all, data, says):
    with pytest.raises(InvalidRequestError) as refused:
        S256CodeChallenge(require_for_all=require_for_all).validate_code_challenge(
            authorization_request(public, **data), "https://app.example/cb")
    assert says in (refused.value.description or "")


def test_pkce_takes_a_well_formed_s256_challenge_and_is_optional_for_confidential_clients():
    S256CodeChallenge().validate_code_challenge(authorization_request(False), "https://a/cb")
    with pytest.raises(InvalidRequestError):  # a challenge that is not base64url of 43+
        S256CodeChallenge().validate_code_challenge(authorization_request(
            True, code_challenge="short", code_challenge_method="S256"), "https://a/cb")
    S256CodeChallenge().validate_code_challenge(
        authorization_request(True, code_challenge=CHALLENGE, code_challenge_method="S256"),
        "https://a/cb")


def test_a_requested_scope_must_be_registered_in_full():
    client = Client(allowed_scope="openid profile api:read")
    check_requested_scope(client, "openid api:read")
    check_requested_scope(client, None)
    with pytest.raises(InvalidScopeError) as refused:
        check_requested_scope(client, "openid email api:write")
    assert refused.value.description == "The client may not request: email api:write"
    with pytest.raises(InvalidScopeError):
        check_requested_scope(client, "a" * 1025)


def test_service_scopes_leave_out_the_openid_ones():
    client = Client(allowed_scope="openid offline_access api:read api:write")
    assert service_scope(client, None) == "api:read api:write"
    assert service_scope(client, "api:write") == "api:write"
    with pytest.raises(InvalidScopeError) as refused:
        service_scope(client, "openid api:read")
    assert refused.value.description == "Not a service scope of this client: openid"


def test_claims_follow_the_scope():
    user = User(id="u-1", username="alice", name="Alice", email="a@example.com",
                email_verified=False)
    assert user_claims(user, "openid") == {"sub": "u-1"}
    assert user_claims(user, "openid profile email") == {
        "sub": "u-1", "preferred_username": "alice", "name": "Alice",
        "email": "a@example.com", "email_verified": False}


def successors(secret_key: str, *tokens: str) -> list[str]:
    app = Flask(__name__)
    app.config["SECRET_KEY"] = secret_key
    with app.app_context():
        return [successor_of(token) for token in tokens]


def test_a_successor_is_a_keyed_function_of_its_token():
    first, again, other = successors("k" * 43, "token-a", "token-a", "token-b")
    assert first == again  # a repeat inside the grace window gets the same successor
    assert first != other and first != "token-a"
    assert len(first) == 43 and "=" not in first  # 256 bits, base64url without padding
    assert successors("z" * 43, "token-a") != [first]  # another server key, another chain
