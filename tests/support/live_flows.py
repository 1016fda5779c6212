"""The flows walked over real HTTP against a live provider: ``HttpUserAgent``, a
cookie-keeping user agent that follows /authorize through the real login and
consent forms, and a confidential client's code exchange, refresh and UserInfo
call with ``requests``."""

from __future__ import annotations

from urllib.parse import urlencode, urljoin, urlsplit

import requests

from tests.support.forms import CSRF, INTERACTION
from tests.support.protocol import pkce_pair, query_of
from tests.support.settings import PASSWORD

REDIRECT_URI = "http://127.0.0.1:9/cb"
SCOPE = "openid profile email"
TIMEOUT = 60


class HttpUserAgent:
    """``via``: send every request to this address instead of the issuer's (one
    process behind a proxy); redirects to the issuer are followed there too."""

    def __init__(self, issuer: str, via: str | None = None) -> None:
        self.issuer = via or issuer
        self.redirects_to = issuer
        self.http = requests.Session()

    def _form(self, url: str) -> dict[str, str]:
        page = self.http.get(url, timeout=10)
        page.raise_for_status()
        fields = {"csrf_token": CSRF.search(page.text).group(1)}
        match = INTERACTION.search(page.text)
        if match:
            fields["interaction"] = match.group(1)
        return fields

    def authorize(self, params: dict, username: str, password: str,
                  decision: str = "allow") -> requests.Response:
        """Follow the flow until the provider redirects off-site; return that response."""
        response = self.http.get(f"{self.issuer}/authorize?{urlencode(params)}",
                                 allow_redirects=False, timeout=10)
        for _ in range(5):
            location = response.headers.get("Location")
            if response.status_code not in (302, 303) or not location:
                return response
            url = urljoin(self.redirects_to + "/", location)
            if not url.startswith(self.redirects_to + "/"):
                return response
            url = self.issuer + url[len(self.redirects_to):]
            path = urlsplit(url).path
            if path == "/login":
                data = {**self._form(url), "username": username, "password": password,
                        "action": "login"}
                response = self.http.post(self.issuer + "/login", data=data,
                                          allow_redirects=False, timeout=10)
            elif path == "/consent":
                data = {**self._form(url), "decision": decision}
                response = self.http.post(self.issuer + "/consent", data=data,
                                          allow_redirects=False, timeout=10)
            else:
                response = self.http.get(url, allow_redirects=False, timeout=10)
        return response


def new_client(provider, name: str = "refresher") -> dict:
    client = provider.create_client("--name", name, "--redirect-uri", REDIRECT_URI)
    assert "refresh_token" in client["grant_types"], client
    return client


def auth_of(client: dict) -> tuple[str, str]:
    return client["client_id"], client["client_secret"]


def obtain_tokens(provider, client: dict, scope: str = SCOPE) -> dict:
    """The real code flow (login, consent, code exchange); the token response."""
    verifier, challenge = pkce_pair()
    params = {"response_type": "code", "client_id": client["client_id"],
              "redirect_uri": REDIRECT_URI, "scope": scope, "state": "s1", "nonce": "n1",
              "code_challenge": challenge, "code_challenge_method": "S256"}
    response = HttpUserAgent(provider.issuer).authorize(params, "alice", PASSWORD)
    assert response.status_code == 302, response.text
    code = query_of(response.headers["Location"])["code"]
    exchange = requests.post(
        provider.issuer + "/token", auth=auth_of(client), timeout=TIMEOUT,
        data={"grant_type": "authorization_code", "code": code, "code_verifier": verifier,
              "redirect_uri": REDIRECT_URI})
    assert exchange.status_code == 200, exchange.text
    body = exchange.json()
    assert isinstance(body.get("refresh_token"), str) and body["refresh_token"], body
    return body


def refresh(provider, client: dict, token: str, scope: str | None = None) -> requests.Response:
    data = {"grant_type": "refresh_token", "refresh_token": token}
    if scope is not None:
        data["scope"] = scope
    return requests.post(provider.issuer + "/token", data=data, auth=auth_of(client),
                         timeout=TIMEOUT)


def assert_error(response: requests.Response, error: str) -> None:
    assert response.status_code == 400, response.text
    assert response.json()["error"] == error, response.text


def userinfo_status(provider, access_token: str) -> int:
    return requests.get(provider.issuer + "/userinfo", timeout=TIMEOUT,
                        headers={"Authorization": "Bearer " + access_token}).status_code
