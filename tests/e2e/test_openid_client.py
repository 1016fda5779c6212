"""Interoperability with a certified relying party: panva's ``openid-client``
(npm, v6) runs discovery, the authorization code flow with PKCE (S256), the
RFC 9207 ``iss`` check, ID token validation (nonce included), UserInfo and
two rotating refresh-token grants against ``provider serve``.
``tests/e2e/node/interop.mjs`` does the relying party's part with openid-client
and plays the browser with plain fetch.

Needs ``node`` and ``npm`` on PATH: without them the tests skip, unless
PROVIDER_REQUIRE_NODE=1 (as in CI), where they fail."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support.settings import PASSWORD

pytestmark = [pytest.mark.e2e, pytest.mark.node]

NODE_DIR = Path(__file__).parent / "node"
SCRIPT = NODE_DIR / "interop.mjs"
REDIRECT_URI = "http://127.0.0.1:9/cb"
NPM_CI_TIMEOUT = 900
SCRIPT_TIMEOUT = 120


def _pinned_version() -> str:
    return json.loads((NODE_DIR / "package.json").read_text())["dependencies"]["openid-client"]


def _installed_version() -> str | None:
    installed = NODE_DIR / "node_modules" / "openid-client" / "package.json"
    if not installed.is_file():
        return None
    return json.loads(installed.read_text())["version"]


@pytest.fixture(scope="session")
def node() -> str:
    """The node executable, with the locked npm packages installed."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        missing = " and ".join(name for name, path in (("node", node), ("npm", npm))
                               if path is None)
        reason = (f"!!! openid-client interop NOT RUN: {missing} not on PATH; install "
                  f"Node.js >= 20 with npm to run tests/e2e/test_openid_client.py !!!")
        if os.environ.get("PROVIDER_REQUIRE_NODE") == "1":
            pytest.fail(reason + " (PROVIDER_REQUIRE_NODE=1 forbids skipping)")
        pytest.skip(reason)
    if _installed_version() != _pinned_version():
        try:
            result = subprocess.run(
                [npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"],
                cwd=NODE_DIR, capture_output=True, text=True, timeout=NPM_CI_TIMEOUT,
            )
        except subprocess.TimeoutExpired:
            pytest.fail(f"npm ci in {NODE_DIR} took longer than {NPM_CI_TIMEOUT}s")
        if result.returncode != 0:
            pytest.fail(f"npm ci in {NODE_DIR} failed ({result.returncode}):\n"
                        f"{result.stdout}\n{result.stderr}")
        assert _installed_version() == _pinned_version()
    return node


def run_interop(node: str, provider, client: dict, *extra: str) -> subprocess.CompletedProcess:
    args = [node, str(SCRIPT), "--issuer", provider.issuer, "--client-id", client["client_id"],
            f"--client-secret={client['client_secret']}",  # a secret may start with "-"
            "--redirect-uri", REDIRECT_URI,
            "--username", "alice", *extra]
    # The password travels in the environment, not on a command line other users can see.
    env = {**os.environ, "OIDC_PASSWORD": PASSWORD}
    return subprocess.run(args, cwd=NODE_DIR, env=env, capture_output=True, text=True,
                          timeout=SCRIPT_TIMEOUT)


@pytest.mark.parametrize("auth_method", ["client_secret_basic", "client_secret_post"])
def test_openid_client_code_flow(node, live_provider, auth_method):
    if auth_method == "client_secret_basic":
        # The provider's default registration; openid-client is told to use Basic.
        client = live_provider.create_client("--name", "openid-client",
                                             "--redirect-uri", REDIRECT_URI)
        extra = ["--auth-method", "client_secret_basic"]
    else:
        # openid-client's own default client authentication (client_secret_post).
        client = live_provider.create_client("--name", "openid-client", "--redirect-uri",
                                             REDIRECT_URI, "--auth-method", "client_secret_post")
        extra = []
    assert client["token_endpoint_auth_method"] == auth_method

    result = run_interop(node, live_provider, client, *extra)
    assert result.returncode == 0, f"openid-client failed:\n{result.stderr}\n{result.stdout}"
    out = json.loads(result.stdout)

    assert out["discovery"]["issuer"] == live_provider.issuer
    assert out["discovery"]["authorization_response_iss_parameter_supported"] is True
    hops = [(hop["method"], hop["path"], hop["status"]) for hop in out["browser_hops"]]
    assert hops == [("GET", "/authorize", 303), ("GET", "/login", 200),
                    ("POST", "/login", 303), ("GET", "/consent", 200),
                    ("POST", "/consent", 302), ("GET", "/cb", None)]
    response = out["authorization_response"]
    assert response["iss"] == live_provider.issuer and response["state_matches"]
    assert {"code", "state", "iss"} <= set(response["parameters"])

    claims = out["id_token_claims"]
    assert claims["sub"] == live_provider.users["alice"]["sub"]
    assert claims["iss"] == live_provider.issuer
    audience = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
    assert client["client_id"] in audience
    # openid-client compared it with expectedNonce already; make sure it was there to compare.
    assert claims["nonce"] == out["sent"]["nonce"]
    assert isinstance(claims["iat"], int) and claims["exp"] > claims["iat"]

    userinfo = out["userinfo"]
    assert userinfo["sub"] == claims["sub"]
    assert userinfo["email"] == "alice@example.com"

    token = out["token"]
    assert token["token_type"].lower() == "bearer"
    assert isinstance(token["expires_in"], int) and token["expires_in"] > 0
    assert "openid" in token["scope"].split()

    # Two rotating refreshes by openid-client's refreshTokenGrant, each access token
    # then used at UserInfo by openid-client.
    assert token["has_refresh_token"] is True
    refreshes = out["refreshes"]
    assert len(refreshes) == 2
    for refreshed in refreshes:
        assert refreshed["has_refresh_token"] is True
        assert refreshed["refresh_token_changed"] is True
        assert refreshed["refresh_token_new"] is True
        assert refreshed["access_token_changed"] is True
        assert refreshed["token_type"].lower() == "bearer"
        assert isinstance(refreshed["expires_in"], int) and refreshed["expires_in"] > 0
        assert set(refreshed["scope"].split()) == set(token["scope"].split())
        assert refreshed["userinfo"]["sub"] == claims["sub"]
        assert refreshed["userinfo"]["email"] == "alice@example.com"


TAMPERED = {
    # The provider must refuse the code for a verifier that does not match the challenge.
    "pkce": r"invalid_grant",
    # openid-client must notice the response does not belong to this request.
    "state": r'unexpected "state" response parameter value',
    "nonce": r'unexpected ID Token "nonce" claim value',
    "iss": r'unexpected "iss" \(issuer\) response parameter value',
}


@pytest.mark.parametrize("tamper", list(TAMPERED))
def test_openid_client_rejects_tampered_flow(node, live_provider, tamper):
    client = live_provider.create_client("--name", "openid-client",
                                         "--redirect-uri", REDIRECT_URI)
    result = run_interop(node, live_provider, client,
                         "--auth-method", "client_secret_basic", "--tamper", tamper)
    assert result.returncode != 0, f"tampered {tamper} flow succeeded:\n{result.stdout}"
    assert result.stdout == ""
    assert result.stderr.startswith("interop failed: "), result.stderr
    assert re.search(TAMPERED[tamper], result.stderr), result.stderr
