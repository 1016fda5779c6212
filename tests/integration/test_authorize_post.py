"""POST /authorize (OIDC Core §3.1.2.1): without the session cookie (a cross-site
form POST, where SameSite=Lax withholds it) the provider touches no session and
answers 303 to the equivalent GET; with the cookie it handles the POST itself."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

import pytest
from werkzeug.datastructures import MultiDict

from tests.support.protocol import pkce_pair, query_of
from tests.support.settings import ISSUER
from tests.support.snapshots import snapshot


@pytest.fixture
def rp(make_client):
    return make_client(name="RP", trusted=True)


def form(rp: dict) -> list[tuple[str, str]]:
    _, challenge = pkce_pair()
    return [("response_type", "code"), ("client_id", rp["client_id"]), ("scope", "openid"),
            ("redirect_uri", rp["redirect_uris"][0]), ("state", "s"),
            ("code_challenge", challenge), ("code_challenge_method", "S256")]


def test_a_post_without_the_session_cookie_becomes_the_same_get(app, client, rp):
    fields = form(rp) + [("state", "again")]  # repeated: the GET must refuse it the same
    before = snapshot(app)
    padding = [("padding", "x" * 60_000)]  # unknown: not carried into the URL
    response = client.post("/authorize", data=MultiDict(fields + padding))
    assert response.status_code == 303
    assert "Set-Cookie" not in response.headers
    location = urlsplit(response.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == ISSUER + "/authorize"
    assert sorted(parse_qsl(location.query)) == sorted(fields)
    assert snapshot(app) == before


def test_a_post_with_the_session_cookie_is_handled(app, browser, client, make_user, rp):
    make_user("alice")
    browser.authorize(dict(form(rp)))  # signs in: the browser now holds the cookie
    response = client.post("/authorize", data=MultiDict(form(rp)))
    assert response.status_code == 302
    assert "code" in query_of(response.headers["Location"])
