"""Revocation and introspection over real HTTP against ``provider serve`` (two
worker processes): a revoked access token is refused by UserInfo at once on
every worker, a revoked refresh token ends its family, an unrelated client's
introspection learns nothing, and a signed introspection answer verifies with
PyJWT against the served JWKS.

Run on both deny-list backends: the default provider (database) and one whose
``REDIS_URL`` points at a real redis-server, where the workers share Redis."""

from __future__ import annotations

from collections.abc import Iterator

import jwt
import pytest
import requests

from tests.support.live_flows import (
    assert_error,
    auth_of,
    new_client,
    obtain_tokens,
    refresh,
    userinfo_status,
)
from tests.support.live_server import launch_provider, query

pytestmark = pytest.mark.e2e

TIMEOUT = 30
JWT_TYPE = "application/token-introspection+jwt"
# two workers: repeating a request lands it on both with near certainty
REPEATS = 12


@pytest.fixture(scope="module")
def redis_provider(tmp_path_factory: pytest.TempPathFactory, redis_server: str):
    with launch_provider(tmp_path_factory.mktemp("live-instance-redis"),
                         {"REDIS_URL": redis_server}) as provider:
        yield provider


@pytest.fixture(params=["database", "redis"])
def live(request: pytest.FixtureRequest) -> Iterator:
    name = "live_provider" if request.param == "database" else "redis_provider"
    yield request.getfixturevalue(name)


def revoke(provider, client: dict, token: str, hint: str | None = None) -> requests.Response:
    data = {"token": token, **({"token_type_hint": hint} if hint else {})}
    return requests.post(provider.issuer + "/revoke", auth=auth_of(client), data=data,
                         timeout=TIMEOUT)


def introspect(provider, client: dict, token: str, accept: str | None = None
               ) -> requests.Response:
    headers = {"Accept": accept} if accept else {}
    return requests.post(provider.issuer + "/introspect", auth=auth_of(client),
                         data={"token": token}, headers=headers, timeout=TIMEOUT)


def assert_revoked_ok(response: requests.Response) -> None:
    assert response.status_code == 200, response.text
    assert response.content == b""
    assert response.headers["Cache-Control"] == "no-store"


def test_a_revoked_access_token_is_refused_by_userinfo_at_once(live):
    client = new_client(live, "revoker")
    tokens = obtain_tokens(live, client)
    assert userinfo_status(live, tokens["access_token"]) == 200
    assert_revoked_ok(revoke(live, client, tokens["access_token"], "access_token"))
    statuses = {userinfo_status(live, tokens["access_token"]) for _ in range(REPEATS)}
    assert statuses == {401}
    # the entry is in the backend the provider was configured with, and only there
    jti = jwt.decode(tokens["access_token"], options={"verify_signature": False})["jti"]
    rows = query(live, "SELECT count(*) FROM denied_access_tokens WHERE jti = ?", jti)
    assert rows == [(0 if live.env.get("REDIS_URL") else 1,)]
    assert introspect(live, client, tokens["access_token"]).json() == {"active": False}
    # only the access token: the refresh token still works
    successor = refresh(live, client, tokens["refresh_token"])
    assert successor.status_code == 200, successor.text
    assert userinfo_status(live, successor.json()["access_token"]) == 200


def test_a_revoked_refresh_token_ends_its_family(live):
    client = new_client(live, "family-ender")
    first = obtain_tokens(live, client)
    second = refresh(live, client, first["refresh_token"])
    assert second.status_code == 200, second.text
    second = second.json()
    assert_revoked_ok(revoke(live, client, second["refresh_token"]))
    assert_error(refresh(live, client, second["refresh_token"]), "invalid_grant")
    for access_token in (first["access_token"], second["access_token"]):
        assert {userinfo_status(live, access_token) for _ in range(REPEATS)} == {401}
    assert introspect(live, client, second["refresh_token"]).json() == {"active": False}


def test_introspection_by_an_unrelated_client_says_inactive(live):
    owner = new_client(live, "owner")
    stranger = new_client(live, "stranger")
    tokens = obtain_tokens(live, owner)
    for token in (tokens["access_token"], tokens["refresh_token"]):
        mine = introspect(live, owner, token)
        assert mine.status_code == 200 and mine.json()["active"] is True
        theirs = introspect(live, stranger, token)
        assert theirs.status_code == 200
        assert theirs.text == '{"active": false}'
    # and the stranger cannot revoke them either
    assert_revoked_ok(revoke(live, stranger, tokens["refresh_token"]))
    assert refresh(live, owner, tokens["refresh_token"]).status_code == 200


def test_a_signed_introspection_answer_verifies_against_the_jwks(live):
    client = new_client(live, "signed")
    tokens = obtain_tokens(live, client)
    response = introspect(live, client, tokens["access_token"], accept=JWT_TYPE)
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"] == JWT_TYPE
    document = live.discovery()
    assert document["introspection_endpoint"] == live.issuer + "/introspect"
    assert document["revocation_endpoint"] == live.issuer + "/revoke"
    assert jwt.get_unverified_header(response.text)["typ"] == "token-introspection+jwt"
    key = jwt.PyJWKClient(document["jwks_uri"]).get_signing_key_from_jwt(response.text)
    claims = jwt.decode(response.text, key.key,
                        algorithms=document["introspection_signing_alg_values_supported"],
                        audience=client["client_id"], issuer=live.issuer)
    answer = claims["token_introspection"]
    assert answer["active"] is True and answer["username"] == "alice"
    assert answer == introspect(live, client, tokens["access_token"]).json()
