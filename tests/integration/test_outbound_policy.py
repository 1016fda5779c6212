"""The outbound policy (back-channel logout): only globally reachable addresses,
with the gaps of Python 3.11's ``is_global`` closed, and the connection goes to
the address that was checked (no second resolution, so no DNS rebinding), with
the host name kept in ``Host``."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest

from provider.outbound import (
    Destination,
    OutboundRefused,
    _Deadline,
    post_to,
    resolve_destination,
)

NOT_PUBLIC = [
    "100.64.0.1", "100.127.255.254",          # shared address space (RFC 6598)
    "127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254",
    "0.0.0.0", "192.0.0.8", "192.0.0.9", "192.88.99.1", "198.18.0.1",  # noqa: S104
    "224.0.0.1", "255.255.255.255",
    "[::1]", "[::]", "[fe80::1]", "[fc00::1]", "[ff02::1]", "[ff0e::1]",
    "[2002:7f00:1::]", "[2002:a00:1::1]",     # 6to4 of 127.0.0.1 and 10.0.0.1
    "[64:ff9b::7f00:1]", "[64:ff9b:1::a00:1]",  # NAT64
    "[::7f00:1]", "[::a00:1]",                # IPv4-compatible
    "[::ffff:0:7f00:1]", "[::ffff:0:a00:1]",  # IPv4-translated (SIIT)
    "[fec0::1]",                              # site-local
    "[::ffff:127.0.0.1]", "[::ffff:10.0.0.1]", "[::ffff:100.64.0.1]",  # IPv4-mapped
    "[2001:0:4136:e378:8000:63bf:80ff:fffe]",  # Teredo, client 127.0.0.1
]


@pytest.fixture
def production(app):
    app.config["PROVIDER_ISSUER"] = "https://login.example.com"  # not development
    with app.app_context():
        yield


@pytest.mark.parametrize("host", NOT_PUBLIC)
def test_non_public_literals_are_refused(production, host):
    with pytest.raises(OutboundRefused, match="non-public"):
        resolve_destination(f"https://{host}/logout")


@pytest.mark.parametrize("host", ["93.184.215.14", "[2606:4700:4700::1111]"])
def test_public_literals_pass(production, host):
    assert resolve_destination(f"https://{host}:8443/logout").address == \
        host.strip("[]")


class HostRecorder:
    def __init__(self) -> None:
        self.hosts: list[str] = []
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server API
                recorder.hosts.append(self.headers["Host"])
                self.rfile.read(int(self.headers["Content-Length"]))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_the_connection_goes_to_the_checked_address(app):
    recorder = HostRecorder()
    try:
        port = recorder.server.server_port
        # a name that no resolver knows: only the checked address can be reached
        destination = Destination(parts=urlsplit(f"http://rebind.invalid:{port}/bc"),
                                  address="127.0.0.1")
        with app.app_context():
            response = post_to(destination, {"logout_token": "x"}, _Deadline(5))
        assert response.status == 204
        assert recorder.hosts == [f"rebind.invalid:{port}"]
    finally:
        recorder.close()


def test_a_name_that_does_not_resolve_is_a_failed_attempt_not_a_refusal(production):
    from provider.outbound import DestinationUnresolved

    with pytest.raises(DestinationUnresolved):  # retried with back-off, not given up
        resolve_destination("https://relying-party.invalid/logout")
