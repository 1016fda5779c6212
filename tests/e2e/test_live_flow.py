"""End to end over real HTTP against ``provider serve`` (two worker processes):
the code flow for confidential and public clients, tokens verified with an
independent JOSE library (PyJWT) against the served JWKS, UserInfo, and
concurrent redemptions of one code."""

from __future__ import annotations

import threading

import jwt
import pytest
import requests

from tests.support.live_flows import HttpUserAgent
from tests.support.protocol import pkce_pair, query_of
from tests.support.settings import PASSWORD

pytestmark = pytest.mark.e2e


def verify_with_jwks(provider, token: str, audience: str) -> tuple[dict, dict]:
    jwks = jwt.PyJWKClient(provider.discovery()["jwks_uri"])
    key = jwks.get_signing_key_from_jwt(token)
    claims = jwt.decode(token, key.key, algorithms=["RS256"], audience=audience,
                        issuer=provider.issuer)
    return jwt.get_unverified_header(token), claims


def start(provider, client: dict, scope: str = "openid profile email"):
    verifier, challenge = pkce_pair()
    params = {"response_type": "code", "client_id": client["client_id"],
              "redirect_uri": client["redirect_uris"][0], "scope": scope, "state": "s1",
              "nonce": "n1", "code_challenge": challenge, "code_challenge_method": "S256"}
    agent = HttpUserAgent(provider.issuer)
    response = agent.authorize(params, "alice", PASSWORD)
    assert response.status_code == 302, response.text
    result = query_of(response.headers["Location"])
    assert result["iss"] == provider.issuer and result["state"] == "s1"
    return result["code"], verifier


@pytest.mark.parametrize("public", [False, True], ids=["confidential", "public"])
def test_code_flow_over_http(live_provider, public):
    args = ["--name", "e2e", "--redirect-uri", "http://127.0.0.1:9/cb"]
    client = live_provider.create_client(*args, *(["--public"] if public else []))
    code, verifier = start(live_provider, client)
    token_endpoint = live_provider.discovery()["token_endpoint"]
    data = {"grant_type": "authorization_code", "code": code, "code_verifier": verifier,
            "redirect_uri": client["redirect_uris"][0]}
    auth = None
    if public:
        data["client_id"] = client["client_id"]
    else:
        auth = (client["client_id"], client["client_secret"])
    response = requests.post(token_endpoint, data=data, auth=auth, timeout=10)
    assert response.status_code == 200, response.text
    assert response.headers["Cache-Control"] == "no-store"
    body = response.json()

    header, access = verify_with_jwks(live_provider, body["access_token"], live_provider.issuer)
    assert header["typ"] == "at+jwt" and header["kid"]
    assert access["sub"] == live_provider.users["alice"]["sub"]
    assert access["roles"] == ["user", "admin"]
    _, id_token = verify_with_jwks(live_provider, body["id_token"], client["client_id"])
    assert id_token["nonce"] == "n1" and id_token["sid"]

    info = requests.get(live_provider.discovery()["userinfo_endpoint"], timeout=10,
                        headers={"Authorization": "Bearer " + body["access_token"]})
    assert info.status_code == 200
    assert info.json()["email"] == "alice@example.com"

    replay = requests.post(token_endpoint, data=data, auth=auth, timeout=10)
    assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"
    revoked = requests.get(live_provider.discovery()["userinfo_endpoint"], timeout=10,
                           headers={"Authorization": "Bearer " + body["access_token"]})
    assert revoked.status_code == 401
    assert 'error="invalid_token"' in revoked.headers["WWW-Authenticate"]


def test_concurrent_redemptions_have_exactly_one_winner(live_provider):
    client = live_provider.create_client("--name", "racer", "--redirect-uri",
                                         "http://127.0.0.1:9/cb")
    code, verifier = start(live_provider, client, scope="openid")
    token_endpoint = live_provider.discovery()["token_endpoint"]
    data = {"grant_type": "authorization_code", "code": code, "code_verifier": verifier,
            "redirect_uri": client["redirect_uris"][0]}
    barrier = threading.Barrier(12)
    statuses: list[int] = []

    def redeem() -> None:
        barrier.wait()
        response = requests.post(token_endpoint, data=data, timeout=30,
                                 auth=(client["client_id"], client["client_secret"]))
        statuses.append(response.status_code)

    threads = [threading.Thread(target=redeem) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [200] + [400] * 11
