"""The /debug token debugger in real headless Chromium (Playwright) against
``provider serve``: valid tokens in every algorithm (WebCrypto: RSASSA-PKCS1-v1_5,
RSA-PSS, ECDSA P-256, Ed25519), and expired, tampered, foreign, unsigned, ID and
not-yet-valid tokens with every reason spelled out, agreeing with
``provider token inspect``. The browser's own request log shows that the token
never leaves the page: the only requests are the page, its static files and the
JWKS. Tokens other than the real service token are minted by opening the live
instance's database with the app factory."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from joserfc import jws
from joserfc.jwk import ECKey

from provider import clock, create_app
from provider.extensions import db
from provider.oauth.tokens import sign_jwt
from tests.support.browser import fresh_context, launched_chromium, require_chromium

require_chromium()

from playwright.sync_api import Browser, Page  # noqa: E402 - after the guard

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
ALGORITHMS = ["RS256", "PS256", "ES256", "EdDSA"]
STAMP = r"\(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC\)"


# --- fixtures ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with launched_chromium() as chromium:
        yield chromium


@pytest.fixture
def context(browser):
    with fresh_context(browser, 1000, 900) as ctx:
        yield ctx


@pytest.fixture
def page(context) -> Page:
    return context.new_page()


class Minter:
    """Signs tokens with the live provider's own keys (its database, its KEK)."""

    def __init__(self, live_provider) -> None:
        self.issuer = live_provider.issuer
        self.app = create_app({"PROVIDER_INSTANCE_PATH": str(live_provider.instance),
                               "PROVIDER_ISSUER": live_provider.issuer})

    def claims(self, **changes) -> dict:
        now = clock.now()
        claims = {"iss": self.issuer, "sub": "client:debug-test", "aud": self.issuer,
                  "exp": now + 900, "iat": now, "jti": f"debug-{now}-{len(changes)}",
                  "client_id": "debug-test", "scope": "api:read"}
        claims.update(changes)
        return {name: value for name, value in claims.items() if value is not None}

    def sign(self, claims: dict, typ: str = "at+jwt", alg: str = "RS256") -> str:
        with self.app.app_context():
            return sign_jwt(claims, typ=typ, alg=alg)

    def close(self) -> None:
        with self.app.app_context():
            db.engine.dispose()


@pytest.fixture(scope="module")
def minter(live_provider) -> Iterator[Minter]:
    minter = Minter(live_provider)
    try:
        yield minter
    finally:
        minter.close()


@pytest.fixture(scope="module")
def service_token(live_provider) -> str:
    """A real access token from the token endpoint (client credentials)."""
    service = live_provider.create_client(
        "--name", "Debug page service", "--redirect-uri", "http://127.0.0.1:9/unused",
        "--grant-type", "client_credentials", "--scope", "api:read")
    response = requests.post(live_provider.issuer + "/token", timeout=10,
                             data={"grant_type": "client_credentials"},
                             auth=(service["client_id"], service["client_secret"]))
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


# --- helpers -----------------------------------------------------------------------


def segment(document: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(document).encode()).decode().rstrip("=")


def header_of(token: str) -> dict:
    return json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))


def tamper(token: str) -> str:
    head, _, signature = token.rpartition(".")
    middle = len(signature) // 2
    flipped = "A" if signature[middle] != "A" else "B"
    return f"{head}.{signature[:middle]}{flipped}{signature[middle + 1:]}"


def open_debugger(page: Page, provider) -> None:
    response = page.goto(provider.issuer + "/debug")
    assert response is not None and response.status == 200
    page.wait_for_load_state("load")


def inspect(page: Page, token: str, *, keyboard: bool = False) -> dict:
    """Paste ``token``, press Inspect (or Ctrl+Enter); the verdict as the page shows it."""
    page.get_by_role("button", name="Clear").click()
    page.get_by_label("Token").fill(token)
    if keyboard:
        page.get_by_label("Token").press("Control+Enter")
    else:
        page.get_by_role("button", name="Inspect").click()
    page.locator("#verdict[data-valid]:not([aria-busy])").wait_for()
    box = page.locator("#verdict")
    return {
        "valid": box.get_attribute("data-valid") == "true",
        "kind": box.get_attribute("data-kind"),
        "summary": box.locator(".summary").inner_text(),
        "problems": box.locator("li").all_inner_texts(),
        "codes": [li.get_attribute("data-code") for li in box.locator("li").all()],
        "key": box.locator(".key").all_inner_texts(),
    }


def assert_problems(shown: dict, patterns: list[str]) -> None:
    assert len(shown["problems"]) == len(patterns), shown
    for message, pattern in zip(shown["problems"], patterns, strict=True):
        assert re.fullmatch(pattern, message), (message, pattern)


def cli_codes(provider, token: str) -> list[str]:
    result = provider.cli("token", "inspect", "--json", "-", stdin=token + "\n")
    assert result.returncode in (0, 1), result.stderr
    return [problem["code"] for problem in json.loads(result.stdout)["problems"]]


def png_ok(path: Path) -> None:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    assert len(data) > 5_000, f"{path} is suspiciously small ({len(data)} bytes)"


# --- tests -------------------------------------------------------------------------


def test_valid_tokens_in_every_algorithm(live_provider, minter, service_token, page):
    open_debugger(page, live_provider)
    shown = inspect(page, service_token)
    assert shown["valid"] and shown["kind"] == "access_token", shown
    assert shown["summary"] == "Valid access token"
    assert shown["problems"] == []
    kid = header_of(service_token)["kid"]
    assert shown["key"] == [f"Signed by key {kid} (RS256), published in this provider's JWKS."]
    claims = json.loads(page.locator("#claims").inner_text())
    assert claims["scope"] == "api:read" and claims["iss"] == live_provider.issuer
    assert json.loads(page.locator("#header").inner_text())["typ"] == "at+jwt"
    assert re.search(r"exp\s*\d{4}-\d\d-\d\d .* UTC \(in 1[45] minutes\)",
                     page.locator("#times").inner_text())

    for alg in ALGORITHMS:
        token = minter.sign(minter.claims(), alg=alg)
        shown = inspect(page, token, keyboard=alg == "EdDSA")
        assert shown["valid"], (alg, shown)
        assert shown["key"][0].endswith(f"({alg}), published in this provider's JWKS.")
        # and the same token with one signature character changed does not verify
        shown = inspect(page, tamper(token))
        assert shown["codes"] == ["bad_signature"], (alg, shown)
        assert shown["key"][0].endswith(f"({alg}) from this provider's JWKS; its signature "
                                        "was not verified.")

    inspect(page, service_token)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "debug-valid.png"), full_page=True)
    png_ok(ARTIFACTS / "debug-valid.png")


def test_every_reason_is_spelled_out(live_provider, minter, service_token, page):
    open_debugger(page, live_provider)
    now = clock.now()
    kid = header_of(service_token)["kid"]
    foreign_key = ECKey.generate_key("P-256", private=True)
    foreign = jws.serialize_compact(
        {"alg": "ES256", "typ": "at+jwt", "kid": foreign_key.thumbprint()},
        json.dumps(minter.claims()).encode(), foreign_key, algorithms=["ES256"])
    unsigned = f"{segment({'alg': 'none', 'typ': 'at+jwt'})}.{service_token.split('.')[1]}."
    id_token = minter.sign({"iss": live_provider.issuer, "sub": "someone", "aud": "an-rp",
                            "exp": now + 3600, "iat": now, "nonce": "n"}, typ="JWT")
    cases = {
        "expired": (minter.sign(minter.claims(exp=now - 200, iat=now - 1100)),
                    [f"expired 3 minutes ago {STAMP}"]),
        "tampered": (tamper(service_token),
                     [f"signature does not verify with key {kid}"]),
        "foreign": (foreign,
                    [f"unknown kid {foreign_key.thumbprint()} \\(not in the JWKS\\), so the "
                     "signature cannot be checked"]),
        "unsigned": (unsigned, [r"alg none is never accepted \(the token is unsigned\)"]),
        "id token": (id_token,
                     [r"ID token used as an access token: typ is JWT, not at\+jwt",
                      f"audience is an-rp, expected {live_provider.issuer}"]),
        "elsewhere": (minter.sign(minter.claims(iss="https://other.example", nbf=now + 630)),
                      [f"issuer is https://other.example, expected {live_provider.issuer}",
                       f"not yet valid: usable in 10 minutes {STAMP}"]),
    }
    for name, (token, patterns) in cases.items():
        shown = inspect(page, token)
        assert not shown["valid"], (name, shown)
        count = len(patterns)
        assert shown["summary"].endswith(f": {count} problem{'s' if count != 1 else ''}"), shown
        assert_problems(shown, patterns)
        # the command line finds exactly the same problems
        assert shown["codes"] == cli_codes(live_provider, token), name
    assert inspect(page, id_token)["kind"] == "id_token"

    shown = inspect(page, "an-opaque-refresh-token")
    assert shown["problems"] == ["not a JWT: an opaque token (such as a refresh token) can only "
                                 "be looked up on the server, with provider token inspect"]
    shown = inspect(page, "one.two")
    assert shown["codes"] == ["malformed"]

    # an invalid verdict with several reasons, for people to look at
    inspect(page, tamper(minter.sign(minter.claims(exp=now - 200, iat=now - 1100,
                                                   iss="https://other.example"))))
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "debug.png"), full_page=True)
    png_ok(ARTIFACTS / "debug.png")


def test_the_token_never_leaves_the_page(live_provider, minter, service_token, context, page):
    seen = []
    context.on("request", lambda request: seen.append(request))
    errors = []
    page.on("console", lambda message: errors.append(message.text)
            if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))

    open_debugger(page, live_provider)
    tokens = [service_token, tamper(service_token),
              minter.sign(minter.claims(), alg="ES256"), "an-opaque-refresh-token"]
    for token in tokens:
        inspect(page, token)
    page.get_by_role("button", name="Clear").click()

    issuer = live_provider.issuer
    allowed = {f"{issuer}/debug", f"{issuer}/static/style.css", f"{issuer}/static/debug.css",
               f"{issuer}/static/debug.js", f"{issuer}/.well-known/jwks.json"}
    urls = [request.url for request in seen]
    assert set(urls) <= allowed, urls
    assert urls.count(f"{issuer}/.well-known/jwks.json") == 3  # once per JWT inspected
    for request in seen:
        assert request.method == "GET", (request.method, request.url)
        assert request.post_data is None
        sent = request.url + json.dumps(request.headers)
        for token in tokens:
            for part in [token, *token.split(".")]:
                assert len(part) < 8 or part not in sent, (part, request.url)
    assert errors == []  # no CSP violation, no script error


def test_page_headers_and_accessibility(live_provider, page):
    response = page.goto(live_provider.issuer + "/debug")
    headers = response.all_headers()
    csp = [d.strip() for d in headers["content-security-policy"].split(";")]
    assert "script-src 'self'" in csp and "connect-src 'self'" in csp
    assert "default-src 'none'" in csp and "form-action 'none'" in csp
    assert "frame-ancestors 'none'" in csp
    assert "unsafe" not in headers["content-security-policy"]
    assert headers["x-frame-options"] == "DENY"
    assert "no-store" in headers["cache-control"]
    # every other page keeps the policy without script
    login = requests.get(live_provider.issuer + "/login", timeout=5)
    assert "script-src" not in login.headers["Content-Security-Policy"]

    assert page.evaluate("document.documentElement.lang") == "en"
    assert "Token debugger" in page.title()
    assert page.get_by_role("heading", level=1).inner_text() == "Token debugger"
    privacy = page.locator("#privacy").inner_text()
    assert "Your token never leaves this page." in privacy
    assert "the provider's public keys" in privacy
    textarea = page.get_by_label("Token")
    assert textarea.get_attribute("name") is None  # nothing that a form could send
    assert page.locator("script").count() == 1
    assert page.locator("script").get_attribute("src") == "/static/debug.js"
    assert page.locator("script:not([src])").count() == 0

    page.get_by_role("button", name="Inspect").click()  # nothing pasted yet
    box = page.get_by_role("status")
    box.wait_for()
    assert box.inner_text() == "Paste a token first."
    assert page.evaluate("document.activeElement.id") == "token"
    # contrast: dark text on light panels, as in the stylesheet
    colour = box.evaluate("e => getComputedStyle(e).color")
    assert colour == "rgb(165, 14, 14)", colour
