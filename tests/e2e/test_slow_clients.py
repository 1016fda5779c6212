"""Idle and slow clients against the real ``provider serve`` (slowloris).

Connections that send nothing and a request body that trickles in must not stop
anyone else from being answered; two such connections used to hold both sync
workers until the 30 s worker timeout. A silent connection is closed after the
keep-alive time, and a request that does not arrive within the read timeout is
answered 408 (or closed, still in its headers) instead of keeping a thread.

Every wait is bounded by socket timeouts; nothing asserts on elapsed time.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests

from tests.support.live_server import LiveProvider, launch_provider

pytestmark = pytest.mark.e2e

IDLE_CONNECTIONS = 50
# Under the 30 s worker timeout, so a sync worker freed by that timeout cannot pass.
BUDGET_SECONDS = 10.0
SHORT_READ_TIMEOUT = 2  # the read timeout of the `impatient` provider below
# A bound well above every server-side timeout involved (5 s keep-alive, 2 s read)
# and below the 30 s worker timeout.
CLOSE_BOUND_SECONDS = 20.0


@pytest.fixture(scope="module")
def impatient(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveProvider]:
    """A provider whose clients get two seconds to send a request."""
    with launch_provider(Path(tmp_path_factory.mktemp("impatient-instance")),
                         extra_config=f"PROVIDER_REQUEST_READ_TIMEOUT_SECONDS = "
                                      f"{SHORT_READ_TIMEOUT}\n") as provider:
        yield provider


def _address(issuer: str) -> tuple[str, int]:
    parts = urlsplit(issuer)
    return parts.hostname or "127.0.0.1", parts.port or 80


def _still_open(sock: socket.socket) -> bool:
    """The server has neither answered nor closed the connection."""
    sock.setblocking(False)
    try:
        sock.recv(1)
    except BlockingIOError:
        return True
    except OSError:
        return False
    finally:
        sock.setblocking(True)
    return False  # an answer, or the end of the connection


def _read_until_closed(sock: socket.socket, bound: float) -> bytes:
    """Everything the server sends until it closes; socket.timeout past ``bound``."""
    sock.settimeout(bound)
    received = b""
    while True:
        try:
            data = sock.recv(65536)
        except ConnectionResetError:
            return received
        if not data:
            return received
        received += data


@contextmanager
def trickling(issuer: str, head: str, body: bytes) -> Iterator[socket.socket]:
    """A connection that sends ``head`` whole, then ``body`` a byte a second."""
    sock = socket.create_connection(_address(issuer), timeout=5)
    stop = threading.Event()
    started = threading.Event()
    sock.sendall(head.encode())

    def trickle() -> None:
        for byte in body:
            if stop.is_set():
                return
            try:
                sock.sendall(bytes([byte]))
            except OSError:  # the server gave up on us: that is what some tests want
                return
            started.set()
            stop.wait(1.0)

    thread = threading.Thread(target=trickle, daemon=True)
    thread.start()
    try:
        assert started.wait(5), "the slow request never started"
        yield sock
    finally:
        stop.set()
        thread.join(timeout=5)
        sock.close()


def _post_head(issuer: str, path: str, length: int) -> str:
    host, port = _address(issuer)
    return (f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\n"
            "Content-Type: application/x-www-form-urlencoded\r\n"
            f"Content-Length: {length}\r\n\r\n")


def test_idle_connections_and_a_trickling_body_do_not_stall_the_provider(live_provider):
    service = live_provider.create_client("--name", "slow-clients", "--redirect-uri",
                                          "http://127.0.0.1:9/cb", "--grant-type",
                                          "client_credentials", "--scope", "api:read")
    auth = (service["client_id"], service["client_secret"])
    issuer = live_provider.issuer
    with ExitStack() as stack:
        idle = [stack.enter_context(socket.create_connection(_address(issuer), timeout=5))
                for _ in range(IDLE_CONNECTIONS)]
        # /revoke writes: a body read after taking SQLite's write lock would stall
        # every writer in every worker, not just one thread
        slow = stack.enter_context(trickling(issuer, _post_head(issuer, "/revoke", 4096),
                                             b"t" * 4096))

        # One budget for every request, enforced by their socket timeouts: a provider
        # that cannot answer within it makes requests raise.
        deadline = time.monotonic() + BUDGET_SECONDS

        def remaining() -> float:
            return max(deadline - time.monotonic(), 0.1)

        discovery = requests.get(issuer + "/.well-known/openid-configuration",
                                 timeout=remaining())
        assert discovery.status_code == 200
        assert discovery.json()["issuer"] == issuer
        token = requests.post(issuer + "/token", data={"grant_type": "client_credentials"},
                              auth=auth, timeout=remaining())
        assert token.status_code == 200, token.text
        access_token = token.json()["access_token"]
        revoked = requests.post(issuer + "/revoke", data={"token": access_token},
                                auth=auth, timeout=remaining())
        assert revoked.status_code == 200, revoked.text
        introspected = requests.post(issuer + "/introspect", data={"token": access_token},
                                     auth=auth, timeout=remaining())
        assert introspected.json() == {"active": False}

        # The slow request was still being received: nobody answered or dropped it
        # to make room for the others.
        assert _still_open(slow)
        assert len(idle) == IDLE_CONNECTIONS


def test_a_silent_connection_is_closed_by_the_server(impatient):
    with socket.create_connection(_address(impatient.issuer), timeout=5) as sock:
        assert _read_until_closed(sock, CLOSE_BOUND_SECONDS) == b""


def test_a_body_slower_than_the_read_timeout_is_answered_408(impatient):
    head = _post_head(impatient.issuer, "/token", 4096)
    with trickling(impatient.issuer, head, b"g" * 4096) as sock:
        answer = _read_until_closed(sock, CLOSE_BOUND_SECONDS)
    status_line, _, rest = answer.partition(b"\r\n")
    assert status_line.split()[:2] == [b"HTTP/1.1", b"408"], answer
    assert b'"error": "invalid_request"' in rest
    # the provider still answers everyone else
    assert requests.get(impatient.issuer + "/.well-known/openid-configuration",
                        timeout=BUDGET_SECONDS).status_code == 200


def test_headers_slower_than_the_read_timeout_end_the_connection(impatient):
    host, port = _address(impatient.issuer)
    headers = f"Host: {host}:{port}\r\nX-Padding: {'p' * 100}\r\n\r\n".encode()
    with trickling(impatient.issuer, "GET /.well-known/openid-configuration HTTP/1.1\r\n",
                   headers) as sock:
        assert _read_until_closed(sock, CLOSE_BOUND_SECONDS) == b""
