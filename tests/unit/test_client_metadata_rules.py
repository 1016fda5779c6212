"""The client metadata rules table (oauth/client_metadata.py): each broken rule
answers its plain message and its RFC 7591 code, first broken rule first."""

from __future__ import annotations

import pytest

from provider.oauth.client_metadata import (
    INVALID_CLIENT_METADATA,
    INVALID_REDIRECT_URI,
    ClientMetadataError,
    check_client_metadata,
    redirect_uri_problem,
    with_defaults,
)

ALGORITHMS = ("RS256", "ES256")


def metadata(**changes):
    fields = {"name": "App", "redirect_uris": ("https://app.example/cb",), "public": False,
              "scope": "openid profile"}
    fields.update(changes)
    return with_defaults(**fields)


def refusal(**changes) -> ClientMetadataError:
    with pytest.raises(ClientMetadataError) as refused:
        check_client_metadata(metadata(**changes), signing_algorithms=ALGORITHMS)
    return refused.value


@pytest.mark.parametrize("uri", [
    "https://app.example/cb", "http://127.0.0.1:8765/cb", "http://[::1]/cb",
    "http://localhost:3000/cb", "com.example.app:/oauth2redirect", "https://app.example/cb?x=1",
])
def test_acceptable_redirect_uris(uri):
    assert redirect_uri_problem(uri) is None


@pytest.mark.parametrize(("uri", "says"), [
    ("/relative/cb", "must be absolute without a fragment"),
    ("https://app.example/cb#frag", "must be absolute without a fragment"),
    ("https://app.example/cb#", "must be absolute without a fragment"),
    ("https:///cb", "has no host"),
    ("http://app.example/cb", "allowed on loopback only"),
    ("myapp:/cb", "reverse-domain scheme (RFC 8252 §7.1)"),
])
def test_refused_redirect_uris_say_why(uri, says):
    assert says in redirect_uri_problem(uri)


def test_a_bad_redirect_uri_is_invalid_redirect_uri():
    broken = refusal(redirect_uris=("http://app.example/cb",))
    assert broken.code == INVALID_REDIRECT_URI
    assert str(broken) == broken.message == \
        "http redirect URIs are allowed on loopback only: 'http://app.example/cb'"


def test_a_bad_post_logout_uri_is_invalid_client_metadata():
    broken = refusal(post_logout_redirect_uris=("https://app.example/#x",))
    assert broken.code == INVALID_CLIENT_METADATA
    assert "without a fragment" in broken.message


def test_the_first_broken_rule_is_reported():
    broken = refusal(name=" ", redirect_uris=("nope",), scope="bad\\scope")
    assert broken.message == "client name must be 1-200 characters"


@pytest.mark.parametrize(("changes", "message"), [
    ({"grant_types": ("implicit",)},
     "unknown grant type 'implicit'; one of authorization_code, refresh_token, client_credentials"),
    ({"public": True, "auth_method": "client_secret_basic"},
     "a public client authenticates with 'none'"),
    ({"auth_method": "none"}, "auth method must be one of client_secret_basic, client_secret_post"),
    ({"public": True, "grant_types": ("client_credentials",)},
     "client_credentials needs a confidential client"),
    ({"backchannel_logout_uri": "https://rp.example/bc logout"},
     "the back-channel logout URI must not contain whitespace or control characters: "
     "'https://rp.example/bc logout'"),
    ({"backchannel_logout_uri": "com.example.app:/bc"},
     "the back-channel logout URI must be http(s)"),
    ({"id_token_alg": "HS256"}, "ID-token algorithm must be one of RS256, ES256"),
    ({"scope": "openid bad\\scope"}, "invalid scope name: 'bad\\\\scope'"),
])
def test_each_rule_answers_its_plain_message(changes, message):
    broken = refusal(**changes)
    assert broken.message == message
    assert broken.code == INVALID_CLIENT_METADATA


def test_defaults_fill_what_the_registrant_left_out():
    confidential = metadata(scope="openid openid profile")
    assert confidential.token_endpoint_auth_method == "client_secret_basic"
    assert confidential.grant_types == ("authorization_code", "refresh_token")
    assert confidential.id_token_signed_response_alg == "RS256"
    assert confidential.scope == "openid profile"
    assert metadata(public=True).token_endpoint_auth_method == "none"
    check_client_metadata(confidential, signing_algorithms=ALGORITHMS)  # no rule broken
