"""A cookie-keeping HTTP user agent that walks /authorize through the real
login and consent forms of a live provider."""

from __future__ import annotations

from urllib.parse import urlencode, urljoin, urlsplit

import requests

from tests.conftest import CSRF, INTERACTION, pkce_pair, query_of

__all__ = ["HttpUserAgent", "pkce_pair", "query_of"]


class HttpUserAgent:
    def __init__(self, issuer: str) -> None:
        self.issuer = issuer
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
            url = urljoin(self.issuer + "/", location)
            if not url.startswith(self.issuer + "/"):
                return response
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
