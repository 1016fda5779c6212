"""The pure rules of client authentication: Basic header parsing (RFC 6749
§2.3.1) and the methods table the grants and discovery read."""

from __future__ import annotations

import base64

import pytest
from authlib.oauth2.rfc6749 import InvalidClientError

from provider.oauth import client_auth
from provider.oauth.client_auth.client_secret_basic import parse_basic_header
from provider.oauth.grants import GRANTS


def basic(raw: str) -> str:
    return "Basic " + base64.b64encode(raw.encode()).decode()


def test_basic_credentials_are_form_urldecoded():
    assert parse_basic_header(basic("my%3Aapp:s%2Bcr+t%25")) == ("my:app", "s+cr t%")


def test_the_secret_may_contain_colons():
    assert parse_basic_header(basic("app:a:b:c")) == ("app", "a:b:c")


def test_an_empty_secret_is_a_secret_of_length_zero():
    assert parse_basic_header(basic("app:")) == ("app", "")


@pytest.mark.parametrize("header", [
    "Basic !!!not-base64!!!",
    basic("no-colon-at-all"),
    basic(":secret-without-id"),
    "Basic " + base64.b64encode(b"\xff\xfe:x").decode(),  # not UTF-8
    "Basic",
])
def test_malformed_basic_headers_are_invalid_client_with_401(header):
    with pytest.raises(InvalidClientError) as refused:
        parse_basic_header(header)
    assert refused.value.status_code == 401
    assert refused.value.description == "Malformed Basic authorization header."


def test_method_names_keep_table_order_and_public_adds_none_only():
    assert client_auth.method_names() == ["client_secret_basic", "client_secret_post", "none"]
    assert client_auth.method_names(public=False) == ["client_secret_basic",
                                                       "client_secret_post"]


def test_every_grant_accepts_only_methods_from_the_table():
    for grant in GRANTS:
        assert grant.auth_methods, grant.grant_type
        assert set(grant.auth_methods) <= set(client_auth.BY_NAME), grant.grant_type
        assert grant.public_clients == ("none" in grant.auth_methods)


def test_client_credentials_is_closed_to_public_clients():
    by_type = {grant.grant_type: grant for grant in GRANTS}
    assert not by_type["client_credentials"].public_clients
    assert by_type["authorization_code"].public_clients
    assert by_type["refresh_token"].public_clients


def test_each_required_parameter_is_one_the_grant_reads():
    for grant in GRANTS:
        if grant.required_parameter is not None:
            assert grant.required_parameter in grant.parameters, grant.grant_type
