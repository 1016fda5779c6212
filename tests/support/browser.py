"""Helpers for driving the provider's pages in real headless Chromium: where the
browser is, the flags that keep it off the network, and a tiny HTTP server that
plays the client's redirect URI so the final redirect is a real navigation.

``PROVIDER_CHROMIUM`` overrides the Chromium executable (default /usr/bin/chromium)."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

CHROMIUM = Path(os.environ.get("PROVIDER_CHROMIUM", "/usr/bin/chromium"))
# No network except loopback: keep Chromium from trying to reach anything else.
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
TIMEOUT_MS = 10_000


def require_chromium() -> None:
    """Call at module level: skip the module loudly without Chromium or Playwright,
    or fail it when PROVIDER_REQUIRE_BROWSER=1 (CI) forbids skipping."""

    def unavailable(reason: str) -> None:
        if os.environ.get("PROVIDER_REQUIRE_BROWSER") == "1":
            pytest.fail(f"PROVIDER_REQUIRE_BROWSER=1 but {reason}", pytrace=False)
        pytest.skip(f"BROWSER TESTS SKIPPED: {reason}", allow_module_level=True)

    if not CHROMIUM.is_file() or not os.access(CHROMIUM, os.X_OK):
        unavailable(f"no Chromium executable at {CHROMIUM} (apt-get install chromium)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError as exc:  # pragma: no cover - the venv has it
        unavailable(f"the Python playwright package is not importable ({exc})")


@contextmanager
def launched_chromium() -> Iterator:
    """Headless Debian Chromium under Playwright, closed on exit."""
    from playwright.sync_api import sync_playwright

    playwright = sync_playwright().start()
    try:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM),
                                              args=CHROMIUM_ARGS, headless=True)
        try:
            yield chromium
        finally:
            chromium.close()
    finally:
        playwright.stop()


@contextmanager
def fresh_context(chromium, width: int, height: int) -> Iterator:
    """A browser context with no cookies and the tests' timeouts, closed on exit."""
    context = chromium.new_context(viewport={"width": width, "height": height}, locale="en-US")
    context.set_default_timeout(TIMEOUT_MS)
    context.set_default_navigation_timeout(TIMEOUT_MS)
    try:
        yield context
    finally:
        context.close()


CALLBACK_PAGE = (b'<!doctype html><html lang="en"><head><meta charset="utf-8">'
                 b"<title>Client</title></head><body><p>Client callback</p></body></html>")


class ClientCallback:
    """A loopback HTTP server standing in for OAuth clients' redirect URIs.

    Records the path and query of every GET; ``pages`` maps a path to an HTML
    page to serve instead of the default callback page."""

    def __init__(self) -> None:
        self.requests: list[str] = []
        self.pages: dict[str, str] = {}
        self._lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                with owner._lock:
                    owner.requests.append(self.path)
                    page = owner.pages.get(self.path.split("?", 1)[0])
                body = page.encode() if page is not None else CALLBACK_PAGE
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args) -> None:  # noqa: A002
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.base = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        name="client-callback", daemon=True)

    def __enter__(self) -> ClientCallback:
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def seen(self, path: str) -> list[str]:
        """Requests received for ``path`` (path and query, in arrival order)."""
        with self._lock:
            return [r for r in self.requests if r.split("?", 1)[0] == path]
