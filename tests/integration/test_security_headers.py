"""The security headers on every kind of response, checked with the Flask test client
(the browser tests check them too, but skip where Chromium is missing): pages,
error pages, JSON endpoints, redirects and empty answers."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest

from tests.support.forms import CSRF
from tests.support.protocol import basic_auth, pkce_pair

COMMON = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


@pytest.fixture
def rp(make_client):
    return make_client(name="RP")  # not trusted: the consent page is shown


@pytest.fixture
def service(make_client):
    return make_client(name="Service", grant_types=("client_credentials",), scope="api:read")


def assert_security_headers(response, *, page: bool) -> None:
    headers = response.headers
    for name, value in COMMON.items():
        assert headers.get(name) == value, (response.request.path, name, dict(headers))
    csp = [d.strip() for d in headers.get("Content-Security-Policy", "").split(";")]
    assert "frame-ancestors 'none'" in csp, (response.request.path, csp)
    assert any(d.startswith("default-src 'none'") for d in csp), csp
    if page:  # pages can hold a CSRF token or a user's data: never stored by a cache
        assert response.mimetype == "text/html"
        assert "no-store" in headers.get("Cache-Control", ""), response.request.path


def authorize_query(client_info: dict) -> str:
    _, challenge = pkce_pair()
    return "/authorize?" + urlencode({
        "response_type": "code", "client_id": client_info["client_id"],
        "redirect_uri": client_info["redirect_uris"][0], "scope": "openid email",
        "state": "s", "code_challenge": challenge, "code_challenge_method": "S256"})


def test_pages_and_their_error_pages(client, browser, alice, rp):
    login = client.get("/login")
    assert login.status_code == 200
    assert_security_headers(login, page=True)
    unknown_interaction = client.get("/login?interaction=not-mine")
    assert unknown_interaction.status_code == 400
    assert_security_headers(unknown_interaction, page=True)
    bad_client = client.get("/authorize?client_id=nobody&response_type=code")
    assert bad_client.status_code == 400 and "Location" not in bad_client.headers
    assert_security_headers(bad_client, page=True)

    # through the real forms to the consent page, and the signed-in home page
    start = client.get(authorize_query(rp))
    assert start.status_code == 303
    assert_security_headers(start, page=False)
    signed_in = browser.login(start.headers["Location"])
    assert signed_in.headers["Location"].startswith("/consent")
    consent = client.get(signed_in.headers["Location"])
    assert consent.status_code == 200 and CSRF.search(consent.get_data(as_text=True))
    assert_security_headers(consent, page=True)
    home = client.get("/")
    assert "Signed in" in home.get_data(as_text=True)
    assert_security_headers(home, page=True)
    debug = client.get("/debug")
    assert debug.status_code == 200
    assert_security_headers(debug, page=True)
    missing = client.get("/no-such-page", headers={"Accept": "text/html"})
    assert missing.status_code == 404
    assert_security_headers(missing, page=True)


def test_json_endpoints_successes_and_errors(client, service):
    auth = basic_auth(service["client_id"], service["client_secret"])
    responses = {
        "discovery": client.get("/.well-known/openid-configuration"),
        "metadata": client.get("/.well-known/oauth-authorization-server"),
        "jwks": client.get("/.well-known/jwks.json"),
        "token": client.post("/token", headers=auth, data={"grant_type": "client_credentials"}),
        "token error": client.post("/token", data={"grant_type": "client_credentials"}),
        "userinfo error": client.get("/userinfo"),
        "revocation": client.post("/revoke", headers=auth, data={"token": "unknown"}),
        "introspection": client.post("/introspect", headers=auth, data={"token": "unknown"}),
        "missing": client.get("/.well-known/no-such-document"),
    }
    expected = {"discovery": 200, "metadata": 200, "jwks": 200, "token": 200,
                "token error": 401, "userinfo error": 401, "revocation": 200,
                "introspection": 200, "missing": 404}
    for name, response in responses.items():
        assert response.status_code == expected[name], (name, response.data)
        assert_security_headers(response, page=False)
