"""Hostile HTTP framing against the real ``provider serve``: a malformed chunked body
is a 400 on every endpoint that reads a form (JSON on protocol endpoints), and a
``SCRIPT_NAME`` request header changes no URL the provider writes."""

from __future__ import annotations

import json
import socket
from urllib.parse import urlsplit

import pytest
import requests

pytestmark = [pytest.mark.e2e]

FORM_ENDPOINTS = {  # path -> answers JSON
    "/token": True, "/userinfo": True, "/introspect": True, "/revoke": True,
    "/authorize": False, "/login": False, "/end-session": False,
}


def raw_request(issuer: str, request: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send ``request`` as it is; the status, headers and body of the answer."""
    parts = urlsplit(issuer)
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        sock.sendall(request)
        sock.shutdown(socket.SHUT_WR)  # a body cut short ends here
        received = b""
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:] if ": " in line)
    return int(lines[0].split()[1]), {k.lower(): v for k, v in headers.items()}, body


@pytest.mark.parametrize("path", list(FORM_ENDPOINTS))
@pytest.mark.parametrize("chunk", [b"zz\r\nab\r\n0\r\n\r\n", b"5\r\nab", b"-1\r\n\r\n"])
def test_a_malformed_chunked_body_is_a_400(live_provider, path, chunk):
    host = urlsplit(live_provider.issuer).netloc.encode()
    status, headers, body = raw_request(live_provider.issuer, (
        b"POST " + path.encode() + b" HTTP/1.1\r\nHost: " + host + b"\r\n"
        b"Content-Type: application/x-www-form-urlencoded\r\n"
        b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n" + chunk))
    assert status == 400, (path, status, body[:300])
    assert b"Traceback" not in body
    if FORM_ENDPOINTS[path] and headers.get("content-type", "").startswith("application/json"):
        assert json.loads(body)["error"] == "invalid_request"
    # the provider is still serving
    assert requests.get(live_provider.issuer + "/.well-known/openid-configuration",
                        timeout=10).status_code == 200


@pytest.mark.parametrize("script_name", ["/evil", "//evil.example"])
def test_a_script_name_header_changes_no_url(live_provider, script_name):
    issuer = live_provider.issuer
    forged = {"SCRIPT_NAME": script_name, "X-Forwarded-Prefix": script_name,
              "X-Forwarded-Host": "evil.example", "X-Forwarded-Proto": "https"}
    metadata = requests.get(issuer + "/.well-known/openid-configuration", headers=forged,
                            timeout=10).json()
    assert all("evil" not in str(value) for value in metadata.values()), metadata
    assert metadata["token_endpoint"] == issuer + "/token"
    home = requests.get(issuer + "/login?interaction=x", headers=forged, timeout=10,
                        allow_redirects=False)
    assert "evil" not in home.text and "evil" not in home.headers.get("Location", "")
    out = requests.post(issuer + "/logout", headers=forged, timeout=10, allow_redirects=False)
    assert "evil" not in out.headers.get("Location", "")
