"""A page on another site that POSTs a form to /authorize must not sign the user out
(the SameSite=Lax session cookie is not sent on a cross-site POST): the provider
answers such a POST with a 303 to the equivalent GET, a top-level navigation that
carries the cookie, and leaves the session alone. In real headless Chromium, with
the attacking page served from ``localhost`` (another site than ``127.0.0.1``)."""

from __future__ import annotations

import html
import secrets
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest

from tests.support.browser import ClientCallback, fresh_context, launched_chromium, require_chromium
from tests.support.protocol import pkce_pair
from tests.support.settings import PASSWORD

require_chromium()

pytestmark = [pytest.mark.browser]


@pytest.fixture(scope="module")
def chromium() -> Iterator:
    with launched_chromium() as browser:
        yield browser


@pytest.fixture(scope="module")
def other_site() -> Iterator[ClientCallback]:
    with ClientCallback() as server:
        yield server


def auto_post_page(action: str, fields: dict[str, str]) -> str:
    inputs = "".join(f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
                     for k, v in fields.items())
    return (f'<!doctype html><html><body><form id="f" method="post" action="{action}">'
            f'{inputs}</form><script>document.getElementById("f").submit()</script>'
            f"</body></html>")


def sign_in(page, issuer: str) -> None:
    page.goto(issuer + "/login")
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(issuer + "/")
    assert "signed in as alice" in page.locator(".lead").inner_text()


def test_a_cross_site_post_to_authorize_leaves_the_session_alone(live_provider, chromium,
                                                                 other_site):
    issuer = live_provider.issuer
    rp = live_provider.create_client("--name", "Cross-site target", "--trusted",
                                     "--redirect-uri", other_site.base + "/cb")
    _, challenge = pkce_pair()
    port = urlsplit(other_site.base).port
    attack = f"/attack/{secrets.token_hex(4)}"
    other_site.pages[attack] = auto_post_page(issuer + "/authorize", {
        "response_type": "code", "client_id": rp["client_id"], "scope": "openid",
        "redirect_uri": rp["redirect_uris"][0], "state": "s",
        "code_challenge": challenge, "code_challenge_method": "S256"})
    with fresh_context(chromium, 800, 600) as context:
        page = context.new_page()
        sign_in(page, issuer)
        before = {c["name"]: c["value"] for c in context.cookies(issuer)}
        page.goto(f"http://localhost:{port}{attack}")  # another site than 127.0.0.1
        # the POST became a GET with the cookie: the signed-in user's code came back
        page.wait_for_url(lambda url: url.startswith(rp["redirect_uris"][0] + "?"))
        assert "code=" in page.url and "error" not in page.url
        after = {c["name"]: c["value"] for c in context.cookies(issuer)}
        assert after == before  # the login cookie was not replaced
        page.goto(issuer + "/")
        assert "signed in as alice" in page.locator(".lead").inner_text()
