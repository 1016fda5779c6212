"""How many SQL statements each hot path runs, pinned so they cannot creep back
(bench/README.md explains each), and that each one searches an index rather than
reading a table through. Transaction control is not counted."""

from __future__ import annotations

import pytest

from tests.support.flows import (
    introspect,
    obtain,
    obtain_code,
    refresh,
    token_request,
    userinfo_status,
)
from tests.support.protocol import basic_auth, pkce_pair
from tests.support.statements import full_scans, recorded_statements


@pytest.fixture
def rp(make_client):
    return make_client(name="RP", trusted=True)


@pytest.fixture
def service(make_client):
    return make_client(name="Service", grant_types=("client_credentials",), scope="api:read")


def test_discovery_and_jwks_run_no_statement_once_the_key_ring_is_cached(app, client):
    client.get("/.well-known/jwks.json")
    with recorded_statements(app) as statements:
        for path in ("/.well-known/openid-configuration", "/.well-known/jwks.json",
                     "/.well-known/oauth-authorization-server"):
            assert client.get(path).status_code == 200
    assert statements == []


def test_client_credentials_is_one_client_lookup(app, client, service):
    auth = basic_auth(service["client_id"], service["client_secret"])
    client.post("/token", headers=auth, data={"grant_type": "client_credentials"})
    with recorded_statements(app) as statements:
        answer = client.post("/token", headers=auth, data={"grant_type": "client_credentials"})
    assert answer.status_code == 200
    assert len(statements) == 1, "\n".join(statements)
    assert full_scans(app, statements) == []
    assert statements[0].startswith("SELECT clients.")


def test_a_refresh_rotation(app, client, browser, alice, rp):
    tokens = obtain(client, browser, rp)
    with recorded_statements(app) as statements:
        answer = refresh(client, rp, tokens["refresh_token"])
    assert answer.status_code == 200
    # client; the claim (UPDATE … RETURNING); family; user; the successor, the issued
    # access token and the audit event
    assert len(statements) == 7, "\n".join(statements)
    assert full_scans(app, statements) == []


def test_a_code_exchange(app, client, browser, alice, rp):
    verifier, challenge = pkce_pair()
    code = obtain_code(browser, rp, challenge, scope="openid offline_access")
    client.get("/.well-known/jwks.json")  # the key ring is loaded (a cold one is 1 more)
    with recorded_statements(app) as statements:
        answer = token_request(client, rp, code, verifier)
    assert answer.status_code == 200
    # client; the claim (UPDATE … RETURNING); user; the code's issuance record; the
    # family, the audit event, the issued access token, the refresh token
    assert len(statements) == 8, "\n".join(statements)
    assert full_scans(app, statements) == []


def test_introspection_and_userinfo_of_an_access_token(app, client, browser, alice, rp):
    tokens = obtain(client, browser, rp)
    with recorded_statements(app) as statements:
        assert introspect(client, rp, tokens["access_token"]).get_json()["active"] is True
    # client; the holders' status; the user (for the answer's username); the deny-list
    assert len(statements) == 4, "\n".join(statements)
    assert full_scans(app, statements) == []
    with recorded_statements(app) as statements:
        assert userinfo_status(client, tokens["access_token"]) == 200
    assert len(statements) == 3, statements  # holders, deny-list, the user
    assert full_scans(app, statements) == []
