"""The login and consent pages in real headless Chromium (Playwright, sync API)
against ``provider serve``: mouse and keyboard-only sign-in, a wrong password,
deny and cancel, security headers and the session cookie as the browser sees
them, and accessibility basics with screenshots under ``tests/artifacts/``.

The client's redirect URI is a small loopback HTTP server, so the provider's
final redirect is a real navigation that the browser follows."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import pytest
import requests

from tests.support.browser import ClientCallback, fresh_context, launched_chromium, require_chromium
from tests.support.protocol import pkce_pair, query_of
from tests.support.settings import PASSWORD

require_chromium()

from playwright.sync_api import Browser, Page  # noqa: E402 - after the guard

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
SCOPE = "openid profile email"


# --- fixtures ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with launched_chromium() as chromium:
        yield chromium


@pytest.fixture(scope="module")
def callback() -> Iterator[ClientCallback]:
    with ClientCallback() as server:
        yield server


@pytest.fixture
def context(browser):
    """A fresh browser context (no cookies) per test."""
    with fresh_context(browser, 900, 760) as ctx:
        yield ctx


@pytest.fixture
def page(context) -> Page:
    return context.new_page()


@pytest.fixture
def client(live_provider, callback) -> dict:
    """A new client per test, so no consent is remembered from another test."""
    path = f"/cb/{secrets.token_hex(6)}"
    return live_provider.create_client("--name", "Browser Test App", "--redirect-uri",
                                       callback.base + path)


# --- helpers -----------------------------------------------------------------------


class Flow:
    def __init__(self, provider, client: dict) -> None:
        self.provider = provider
        self.client = client
        self.redirect_uri = client["redirect_uris"][0]
        self.state = secrets.token_urlsafe(12)
        self.verifier, challenge = pkce_pair()
        params = {"response_type": "code", "client_id": client["client_id"],
                  "redirect_uri": self.redirect_uri, "scope": SCOPE, "state": self.state,
                  "code_challenge": challenge, "code_challenge_method": "S256"}
        self.authorize_url = f"{provider.issuer}/authorize?{urlencode(params)}"

    def open_login(self, page: Page):
        """Navigate to /authorize; the browser follows the 303 to the login page."""
        response = page.goto(self.authorize_url)
        assert response is not None
        assert_on(page, self.provider, "/login")
        assert query_of(page.url).get("interaction"), page.url
        return response

    def wait_for_client(self, page: Page, callback: ClientCallback) -> dict[str, str]:
        """Wait until the browser lands on the redirect URI; its query parameters."""
        page.wait_for_url(lambda url: url.startswith(self.redirect_uri + "?"))
        result = query_of(page.url)
        # The navigation really reached the client's server, exactly once.
        path = urlsplit(self.redirect_uri).path
        hits = callback.seen(path)
        assert len(hits) == 1, hits
        assert query_of(hits[0]) == result
        assert page.locator("body").inner_text() == "Client callback"
        return result

    def redeem(self, code: str) -> requests.Response:
        token_endpoint = self.provider.discovery()["token_endpoint"]
        data = {"grant_type": "authorization_code", "code": code,
                "code_verifier": self.verifier, "redirect_uri": self.redirect_uri}
        return requests.post(token_endpoint, data=data, timeout=10,
                             auth=(self.client["client_id"], self.client["client_secret"]))


def assert_on(page: Page, provider, path: str) -> None:
    page.wait_for_load_state()
    parts = urlsplit(page.url)
    assert f"{parts.scheme}://{parts.netloc}" == provider.issuer, page.url
    assert parts.path == path, page.url


def active_element(page: Page) -> str:
    """A short description of the focused element: tag#id[name=value]."""
    return page.evaluate(
        """() => { const e = document.activeElement;
                   if (!e) return '';
                   let s = e.tagName.toLowerCase();
                   if (e.id) s += '#' + e.id;
                   if (e.name) s += '[' + e.name + '=' + (e.value || '') + ']';
                   return s; }""")


def assert_consent_page(page: Page, provider, client: dict) -> None:
    assert_on(page, provider, "/consent")
    heading = page.get_by_role("heading", level=1)
    assert "Allow" in heading.inner_text() and client["name"] in heading.inner_text()
    assert "Signed in as alice" in page.locator(".lead").inner_text()
    scopes = page.locator("ul.scopes li").all_inner_texts()
    assert len(scopes) == 3, scopes
    assert "Confirm your identity" in scopes[0] and "openid" in scopes[0]
    assert "See your name and username" in scopes[1] and "profile" in scopes[1]
    assert "See your email address" in scopes[2] and "email" in scopes[2]


def assert_code_response(result: dict[str, str], flow: Flow) -> None:
    assert result.get("code"), result
    assert "error" not in result, result
    assert result["state"] == flow.state
    assert result["iss"] == flow.provider.issuer


def assert_denied(result: dict[str, str], flow: Flow) -> None:
    assert result.get("error") == "access_denied", result
    assert "code" not in result, result
    assert result["state"] == flow.state
    assert result["iss"] == flow.provider.issuer


def png_ok(path: Path) -> None:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    assert len(data) > 5_000, f"{path} is suspiciously small ({len(data)} bytes)"
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert width >= 300 and height >= 300, (width, height)


# --- tests -------------------------------------------------------------------------


def test_mouse_flow_login_consent_and_token(live_provider, client, callback, page):
    flow = Flow(live_provider, client)
    flow.open_login(page)
    assert "Browser Test App" in page.locator(".lead").inner_text()

    page.get_by_label("Username").click()
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").click()
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()

    page.wait_for_url(lambda url: urlsplit(url).path == "/consent")
    assert_consent_page(page, live_provider, client)
    page.get_by_role("button", name="Allow").click()

    result = flow.wait_for_client(page, callback)
    assert_code_response(result, flow)
    response = flow.redeem(result["code"])
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"].lower() == "bearer"
    assert body["access_token"] and body["id_token"]


def test_keyboard_only_login_and_consent(live_provider, client, callback, page):
    flow = Flow(live_provider, client)
    flow.open_login(page)

    # autofocus puts the caret in the username field: no click, no Tab needed.
    assert active_element(page) == "input#username[username=]"
    page.keyboard.type("alice")
    page.keyboard.press("Tab")
    assert active_element(page).startswith("input#password")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")  # implicit submission: the default button, "Sign in"

    page.wait_for_url(lambda url: urlsplit(url).path == "/consent")
    assert_consent_page(page, live_provider, client)
    reached = []
    for _ in range(10):
        page.keyboard.press("Tab")
        reached.append(active_element(page))
        if reached[-1] == "button[decision=allow]":
            break
    assert reached[-1] == "button[decision=allow]", reached
    # The focused button is visibly marked (the stylesheet's focus outline).
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline not in ("", "none"), outline
    page.keyboard.press("Enter")

    result = flow.wait_for_client(page, callback)
    assert_code_response(result, flow)
    assert flow.redeem(result["code"]).status_code == 200


def test_wrong_password_then_right_password(live_provider, client, callback, page):
    flow = Flow(live_provider, client)
    flow.open_login(page)
    assert page.get_by_role("alert").count() == 0

    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()

    alert = page.get_by_role("alert")
    alert.wait_for()
    assert alert.inner_text().strip() == "Incorrect username or password."
    assert_on(page, live_provider, "/login")
    username = page.get_by_label("Username")
    assert username.input_value() == "alice"
    assert username.get_attribute("aria-invalid") == "true"
    assert username.get_attribute("aria-describedby") == "login-error"
    assert page.get_by_label("Password").input_value() == ""  # never echoed back
    assert active_element(page).startswith("input#password")  # focus where the fix is
    assert "Browser Test App" in page.locator(".lead").inner_text()  # still in the flow

    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: urlsplit(url).path == "/consent")
    assert_consent_page(page, live_provider, client)
    page.get_by_role("button", name="Allow").click()
    result = flow.wait_for_client(page, callback)
    assert_code_response(result, flow)
    assert flow.redeem(result["code"]).status_code == 200


def test_deny_on_consent_tells_the_client_access_denied(live_provider, client, callback,
                                                         page):
    flow = Flow(live_provider, client)
    flow.open_login(page)
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: urlsplit(url).path == "/consent")
    assert_consent_page(page, live_provider, client)

    page.get_by_role("button", name="Deny").click()
    assert_denied(flow.wait_for_client(page, callback), flow)


def test_cancel_on_login_tells_the_client_access_denied(live_provider, client, callback,
                                                        page):
    flow = Flow(live_provider, client)
    flow.open_login(page)
    page.get_by_role("button", name="Cancel").click()
    assert_denied(flow.wait_for_client(page, callback), flow)


def test_security_headers_and_session_cookie_seen_by_the_browser(live_provider, client,
                                                                 callback, context, page):
    flow = Flow(live_provider, client)
    response = flow.open_login(page)
    assert response.status == 200
    assert urlsplit(response.url).path == "/login"
    headers = response.all_headers()
    assert headers.get("x-frame-options", "").upper() == "DENY", headers
    csp = [d.strip() for d in headers.get("content-security-policy", "").split(";")]
    assert "frame-ancestors 'none'" in csp, csp
    assert "no-store" in headers.get("cache-control", "")

    def session_cookie() -> dict:
        cookies = [c for c in context.cookies(live_provider.issuer)
                   if c["name"] == "provider_session"]
        assert len(cookies) == 1, context.cookies()
        return cookies[0]

    def check(cookie: dict) -> None:
        assert cookie["httpOnly"] is True, cookie
        assert cookie["sameSite"] == "Lax", cookie
        assert cookie["domain"] == "127.0.0.1", cookie
        # Not readable from page script.
        assert "provider_session" not in page.evaluate("document.cookie")

    check(session_cookie())  # set with the login form's CSRF token
    before = session_cookie()["value"]
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: urlsplit(url).path == "/consent")
    after = session_cookie()
    check(after)
    assert after["value"] != before  # the signed-in session is a new cookie value

    # And the browser enforces the framing ban: a page on another origin that
    # frames the login page gets nothing from the provider.
    callback.pages["/framer"] = (
        '<!doctype html><html lang="en"><title>framer</title>'
        f'<iframe id="f" src="{flow.authorize_url}"></iframe></html>')
    page.goto(callback.base + "/framer")
    page.wait_for_load_state("load")
    frame = page.frame_locator("#f")
    assert frame.locator("form").count() == 0
    child = [f for f in page.frames if f is not page.main_frame]
    assert len(child) == 1
    assert not child[0].url.startswith(live_provider.issuer), child[0].url


def test_accessibility_basics_and_screenshots(live_provider, client, callback, page):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    flow = Flow(live_provider, client)
    flow.open_login(page)

    def check_page(title_word: str) -> None:
        lang = page.evaluate("document.documentElement.lang")
        assert lang and lang.strip(), "html[lang] must be set"
        assert page.locator("html[lang]").count() == 1
        assert title_word in page.title()
        assert page.get_by_role("heading", level=1).count() == 1
        unlabelled = page.evaluate(
            """() => [...document.querySelectorAll('input, select, textarea')]
                  .filter(e => e.type !== 'hidden' && e.offsetParent !== null)
                  .filter(e => e.labels.length === 0 && !e.getAttribute('aria-label')
                               && !e.getAttribute('aria-labelledby'))
                  .map(e => e.outerHTML)""")
        assert unlabelled == []
        for button in page.get_by_role("button").all():
            assert button.inner_text().strip(), "every button has a visible name"

    check_page("Sign in")
    username = page.get_by_label("Username")
    password = page.get_by_label("Password")
    assert username.count() == 1 and username.get_attribute("id") == "username"
    assert password.count() == 1 and password.get_attribute("type") == "password"
    assert username.get_attribute("autocomplete") == "username"
    assert password.get_attribute("autocomplete") == "current-password"
    assert page.locator("input:visible").count() == 2
    page.screenshot(path=str(ARTIFACTS / "login.png"), full_page=True)

    username.fill("alice")
    password.fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: urlsplit(url).path == "/consent")
    assert_consent_page(page, live_provider, client)
    check_page("Allow access")
    assert page.get_by_role("button", name="Allow").is_visible()
    assert page.get_by_role("button", name="Deny").is_visible()
    page.screenshot(path=str(ARTIFACTS / "consent.png"), full_page=True)

    # The stylesheet applied (the card is styled, not browser defaults).
    card = page.locator("main.card")
    assert card.evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(255, 255, 255)"
    assert card.evaluate("e => getComputedStyle(e).borderTopLeftRadius") == "12px"
    png_ok(ARTIFACTS / "login.png")
    png_ok(ARTIFACTS / "consent.png")
