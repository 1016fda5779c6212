"""``provider serve`` behind the real nginx of the README's example: the client's
address comes from what nginx appended to X-Forwarded-For, never from what the
client wrote there; and every log line of every worker is one JSON object with a
request id, with no password, secret, code or token in any of them."""

from __future__ import annotations

import json
import time

import pytest
import requests

from tests.support.forms import CSRF
from tests.support.live_flows import REDIRECT_URI, TIMEOUT, HttpUserAgent, auth_of
from tests.support.live_server import free_port, launch_provider, query
from tests.support.nginx import run_nginx
from tests.support.protocol import pkce_pair, query_of
from tests.support.settings import PASSWORD

pytestmark = pytest.mark.e2e

NGINX_ADDRESS = "127.0.0.5"  # nginx's side of its upstream connections; clients use .1
SPOOFED = "6.6.6.6"
WRONG_PASSWORD = "not-alices-password-73"


@pytest.fixture(scope="module")
def proxied(tmp_path_factory):
    """(the issuer: nginx, the provider behind it), trusting nginx's address only."""
    issuer = f"http://127.0.0.1:{free_port()}"
    instance = tmp_path_factory.mktemp("proxied")
    config = f"PROVIDER_TRUSTED_PROXIES = [{NGINX_ADDRESS!r}]\n"
    port = int(issuer.rsplit(":", 1)[1])
    with launch_provider(instance, extra_config=config, issuer=issuer, workers=2) as provider, \
            run_nginx(port, [provider.direct.removeprefix("http://")], bind=NGINX_ADDRESS):
        yield issuer, provider


def sign_in(issuer: str, client: dict, password: str = PASSWORD) -> tuple[HttpUserAgent,
                                                                           dict, str, str]:
    """A code flow through nginx, with a forged X-Forwarded-For on every request;
    (agent, token response, code, verifier)."""
    agent = HttpUserAgent(issuer)
    agent.http.headers["X-Forwarded-For"] = SPOOFED
    verifier, challenge = pkce_pair()
    response = agent.authorize({
        "response_type": "code", "client_id": client["client_id"], "redirect_uri": REDIRECT_URI,
        "scope": "openid profile offline_access", "state": "state-5ec2", "nonce": "nonce-9f1",
        "code_challenge": challenge, "code_challenge_method": "S256"}, "alice", password)
    assert response.status_code == 302, response.text
    code = query_of(response.headers["Location"])["code"]
    tokens = requests.post(issuer + "/token", auth=auth_of(client), timeout=TIMEOUT, data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI,
        "code_verifier": verifier})
    assert tokens.status_code == 200, tokens.text
    return agent, tokens.json(), code, verifier


def test_the_client_address_is_what_nginx_saw(proxied):
    issuer, provider = proxied
    client = provider.create_client("--name", "Proxied", "--redirect-uri", REDIRECT_URI,
                                    "--trusted")
    sign_in(issuer, client)
    addresses = {row[0] for row in query(provider, "SELECT ip FROM login_sessions")}
    assert addresses == {"127.0.0.1"}, addresses
    audited = {row[0] for row in query(
        provider, "SELECT ip FROM audit_events WHERE event = 'login_succeeded'")}
    assert audited <= {"127.0.0.1"} and SPOOFED not in audited
    # through nginx and straight to the process (whose peer, 127.0.0.1, is not trusted):
    # the forged header is ignored either way
    for base, request_id in ((issuer, "via-nginx"), (provider.direct, "direct")):
        requests.get(base + "/healthz", timeout=10,
                     headers={"X-Forwarded-For": SPOOFED, "X-Request-ID": request_id})
    access = {line["request_id"]: line
              for line in log_lines(provider, until={"via-nginx", "direct"})
              if line["logger"] == "provider.access"}
    assert access["via-nginx"]["client"] == access["direct"]["client"] == "127.0.0.1"
    assert SPOOFED not in {line["client"] for line in access.values()}


def test_no_secret_reaches_any_log_line(proxied):
    issuer, provider = proxied
    client = provider.create_client(
        "--name", "Logged", "--redirect-uri", REDIRECT_URI, "--trusted",
        "--post-logout-redirect-uri", "http://127.0.0.1:9/bye")
    secrets = [PASSWORD, WRONG_PASSWORD, client["client_secret"]]
    # a failed sign-in first: the password typed is a secret too
    failed_agent = HttpUserAgent(issuer)
    login_page = failed_agent.http.get(issuer + "/authorize", timeout=10, params={
        "response_type": "code", "client_id": client["client_id"],
        "redirect_uri": REDIRECT_URI, "scope": "openid",
        "code_challenge": pkce_pair()[1], "code_challenge_method": "S256"})
    failed_agent.http.post(issuer + "/login", timeout=10, data={
        "csrf_token": CSRF.search(login_page.text).group(1), "username": "alice",
        "password": WRONG_PASSWORD, "action": "login"})
    agent, tokens, code, verifier = sign_in(issuer, client)
    secrets += [code, verifier, tokens["access_token"], tokens["refresh_token"],
                tokens["id_token"]]
    secrets += [cookie.value for cookie in agent.http.cookies]
    rotated = requests.post(issuer + "/token", auth=auth_of(client), timeout=TIMEOUT, data={
        "grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}).json()
    secrets += [rotated["access_token"], rotated["refresh_token"]]
    bearer = {"Authorization": "Bearer " + rotated["access_token"]}
    assert requests.get(issuer + "/userinfo", headers=bearer, timeout=TIMEOUT).ok
    assert requests.post(issuer + "/introspect", auth=auth_of(client), timeout=TIMEOUT,
                         data={"token": rotated["access_token"]}).json()["active"]
    # a GET logout with the ID token in the query string
    out = agent.http.get(issuer + "/end-session", allow_redirects=False, timeout=10,
                         params={"id_token_hint": tokens["id_token"],
                                 "post_logout_redirect_uri": "http://127.0.0.1:9/bye"})
    assert out.status_code == 303
    assert requests.post(issuer + "/revoke", auth=auth_of(client), timeout=TIMEOUT,
                         data={"token": rotated["refresh_token"]}).status_code == 200
    revoked = requests.get(issuer + "/userinfo", timeout=TIMEOUT,
                           headers={**bearer, "X-Request-ID": "the-last-one"})
    assert revoked.status_code == 401

    lines = log_lines(provider, until={"the-last-one"})
    text = (provider.instance / "server.log").read_text()
    leaked = [secret for secret in secrets if secret and secret in text]
    assert leaked == [], "secrets in the log"
    assert all(line.get("request_id") for line in lines if line["logger"] == "provider.access")
    paths = {line["path"] for line in lines if line["logger"] == "provider.access"}
    assert {"/authorize", "/login", "/token", "/end-session", "/userinfo"} <= paths
    assert not any("?" in path for path in paths)
    # the audit lines are structured too, and carry the request's id
    audit = [line for line in lines if line["logger"] == "provider.audit"]
    assert {"login_failed", "login_succeeded"} <= {line["audit"] for line in audit}
    assert all(line.get("request_id") for line in audit)


def log_lines(provider, until: set[str] = frozenset()) -> list[dict]:
    """Every line of the process's log (both workers' and the server's), each one JSON,
    once the access lines of the requests with the ids ``until`` are there (a line is
    written just after its answer is sent)."""
    log = provider.instance / "server.log"
    deadline = time.monotonic() + 10
    while True:
        raw = [line for line in log.read_text().splitlines() if line.strip()]
        lines = [json.loads(line) for line in raw]  # a line that is not JSON fails here
        logged = {line.get("request_id") for line in lines
                  if line["logger"] == "provider.access"}
        if until <= logged:
            return lines
        assert time.monotonic() < deadline, raw[-20:]
        time.sleep(0.1)
