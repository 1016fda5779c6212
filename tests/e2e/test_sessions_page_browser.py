"""The sessions and consents page in real headless Chromium against
``provider serve``: sign in to an application with ``offline_access`` through the
real login and consent pages, then, by clicking, revoke the application (its
refresh token stops working at /token), withdraw the consent (the next
authorization asks again), end another session and finally this one. A
screenshot goes to ``tests/artifacts/sessions.png``."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import pytest
import requests

from tests.support.browser import ClientCallback, fresh_context, launched_chromium, require_chromium
from tests.support.live_flows import HttpUserAgent
from tests.support.protocol import pkce_pair, query_of
from tests.support.settings import PASSWORD

require_chromium()

from playwright.sync_api import Page  # noqa: E402 - after the guard

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
SCOPE = "openid profile offline_access"
APP_NAME = "Sessions Page App"


@pytest.fixture
def page(live_provider) -> Iterator[Page]:
    with launched_chromium() as chromium, fresh_context(chromium, 1100, 800) as context:
        yield context.new_page()


@pytest.fixture
def callback() -> Iterator[ClientCallback]:
    with ClientCallback() as server:
        yield server


def authorize_url(provider, client: dict, challenge: str) -> str:
    params = {"response_type": "code", "client_id": client["client_id"],
              "redirect_uri": client["redirect_uris"][0], "scope": SCOPE,
              "state": secrets.token_urlsafe(8), "code_challenge": challenge,
              "code_challenge_method": "S256"}
    return f"{provider.issuer}/authorize?{urlencode(params)}"


def redeem(provider, client: dict, code: str, verifier: str) -> dict:
    response = requests.post(provider.issuer + "/token", timeout=10,
                             auth=(client["client_id"], client["client_secret"]),
                             data={"grant_type": "authorization_code", "code": code,
                                   "code_verifier": verifier,
                                   "redirect_uri": client["redirect_uris"][0]})
    assert response.status_code == 200, response.text
    return response.json()


def refresh(provider, client: dict, refresh_token: str) -> requests.Response:
    return requests.post(provider.issuer + "/token", timeout=10,
                         auth=(client["client_id"], client["client_secret"]),
                         data={"grant_type": "refresh_token", "refresh_token": refresh_token})


def path_is(path: str):
    return lambda url: urlsplit(url).path == path


def png_ok(path: Path) -> None:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    assert len(data) > 5_000, f"{path} is suspiciously small ({len(data)} bytes)"
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert width >= 300 and height >= 300, (width, height)


def test_revoke_withdraw_and_end_sessions_by_clicking(live_provider, callback, page,
                                                      request):
    client = live_provider.create_client(
        "--name", APP_NAME, "--redirect-uri", f"{callback.base}/cb/{secrets.token_hex(6)}")
    # A user of its own: other tests leave alice's sessions and consents on this provider.
    username = f"sessions-{secrets.token_hex(4)}"
    live_provider.create_user(username)

    # Sign in and allow in the browser; the app redeems the code for a refresh token.
    verifier, challenge = pkce_pair()
    page.goto(authorize_url(live_provider, client, challenge))
    page.wait_for_url(path_is("/login"))
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(path_is("/consent"))
    assert "Stay connected" in page.locator("ul.scopes").inner_text()
    page.get_by_role("button", name="Allow").click()
    page.wait_for_url(lambda url: url.startswith(client["redirect_uris"][0] + "?"))
    tokens = redeem(live_provider, client, query_of(page.url)["code"], verifier)
    assert tokens.get("refresh_token")

    # A second session elsewhere (a plain HTTP user agent), to be ended from here.
    elsewhere = HttpUserAgent(live_provider.issuer)
    request.addfinalizer(elsewhere.http.close)  # no socket left for a later test's GC
    other_verifier, other_challenge = pkce_pair()
    landed = elsewhere.authorize(query_of(authorize_url(live_provider, client, other_challenge)),
                                 username, PASSWORD)
    redeem(live_provider, client, query_of(landed.headers["Location"])["code"], other_verifier)

    # From the home page to the sessions page.
    page.goto(live_provider.issuer + "/")
    page.get_by_role("link", name="Your sessions and consents").click()
    page.wait_for_url(path_is("/account/sessions"))
    assert page.get_by_role("heading", level=1).inner_text() == "Sessions and consents"
    assert page.get_by_role("heading", level=2).all_inner_texts() == [
        "Where you are signed in", "Applications with access", "Remembered consents"]
    sessions = page.locator("#sessions tbody tr")
    assert sessions.count() == 2
    this_browser = page.locator("#sessions tr.current")
    assert "This browser" in this_browser.inner_text()
    assert "HeadlessChrome" in this_browser.inner_text()
    assert "python-requests" in page.locator("#sessions").inner_text()
    application = page.locator("section.application", has_text=APP_NAME)
    assert application.get_by_role("heading", level=3).inner_text() == APP_NAME
    assert application.locator("tbody tr").count() == 2  # two grants: this browser, elsewhere
    assert "Offline access" in application.inner_text()
    assert "offline_access" in application.inner_text()
    consent = page.locator("#consents tbody tr", has_text=APP_NAME)
    assert "Stay connected to your account" in consent.inner_text()
    for button in page.get_by_role("button").all():
        assert button.inner_text().strip(), "every button has a visible name"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "sessions.png"), full_page=True)
    png_ok(ARTIFACTS / "sessions.png")

    # Revoke the application: its (freshly rotated) refresh token is refused at once.
    rotated = refresh(live_provider, client, tokens["refresh_token"])
    assert rotated.status_code == 200, rotated.text
    with page.expect_navigation():
        page.get_by_role("button", name=f"Revoke access for {APP_NAME}").click()
    assert "revoked" in page.get_by_role("status").inner_text()
    assert page.locator("section.application").count() == 0
    refused = refresh(live_provider, client, rotated.json()["refresh_token"])
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_grant"

    # Withdraw the consent: the next authorization asks again.
    with page.expect_navigation():
        page.get_by_role("button", name=f"Withdraw consent for {APP_NAME}").click()
    assert "Consent withdrawn" in page.get_by_role("status").inner_text()
    assert page.locator("#consents").count() == 0
    page.goto(authorize_url(live_provider, client, pkce_pair()[1]))
    page.wait_for_url(path_is("/consent"))  # signed in still, but asked again
    page.goto(live_provider.issuer + "/account/sessions")

    # End the other session, then this one.
    other_row = page.locator("#sessions tbody tr", has_text="python-requests")
    with page.expect_navigation():
        other_row.get_by_role("button", name="End session").click()
    assert "ended" in page.get_by_role("status").inner_text()
    assert page.locator("#sessions tbody tr").count() == 1
    assert elsewhere.http.get(live_provider.issuer + "/account/sessions",
                              allow_redirects=False, timeout=10).status_code == 303
    page.locator("#sessions tr.current").get_by_role("button", name="End session").click()
    page.wait_for_url(path_is("/"))
    assert "You are not signed in" in page.locator("main").inner_text()
    page.goto(live_provider.issuer + "/account/sessions")
    page.wait_for_url(path_is("/login"))
