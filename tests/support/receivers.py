"""Relying parties' back-channel logout endpoints on 127.0.0.1 for tests: an honest
one (which may fail its first requests), and raw TCP servers that misbehave after
reading the request (a non-HTTP answer, an over-long header line, an answer
trickled a byte at a time). Each raw one counts its connections and how many were
open at once."""

from __future__ import annotations

import select
import socket
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

COMPLETE_ANSWER = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"


class Receiver:
    """Answers 500 to the first ``failures`` requests, then 200, and keeps every
    logout token; ``received`` is set at the first one."""

    def __init__(self, failures: int = 0) -> None:
        self.failures = failures
        self.tokens: list[str] = []
        self.received = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server API
                form = parse_qs(self.rfile.read(int(self.headers["Content-Length"])).decode())
                receiver.tokens.append(form["logout_token"][0])
                failing = receiver.failures > 0
                receiver.failures -= 1
                self.send_response(500 if failing else 200)
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                receiver.received.set()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/backchannel"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class RawReceiver:
    """Reads one HTTP request per connection, then lets ``answer`` reply on the raw
    socket; the connection is closed when ``answer`` returns."""

    def __init__(self, answer: Callable[[socket.socket], None]) -> None:
        self.answer = answer
        self.connections = self.open_now = self.most_open_at_once = 0
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}/backchannel"
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self._listener.accept()
            except OSError:  # closed
                return
            threading.Thread(target=self._serve, args=(connection,), daemon=True).start()

    def _serve(self, connection: socket.socket) -> None:
        with self._lock:
            self.connections += 1
            self.open_now += 1
            self.most_open_at_once = max(self.most_open_at_once, self.open_now)
        try:
            with connection:
                connection.settimeout(30)
                read_request(connection)
                self.answer(connection)
        except OSError:  # the provider hung up: what a cut-off looks like from here
            pass
        finally:
            with self._lock:
                self.open_now -= 1

    def close(self) -> None:
        self._listener.close()


def read_request(connection: socket.socket) -> None:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = connection.recv(4096)
        if not chunk:
            return
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = next((int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                   if line.lower().startswith(b"content-length:")), 0)
    while len(body) < length:
        chunk = connection.recv(4096)
        if not chunk:
            return
        body += chunk


def garbage_receiver() -> RawReceiver:
    """Something that is not an HTTP server at all answers on the port."""
    return RawReceiver(lambda connection: connection.sendall(b"SSH-2.0-OpenSSH_9.2p1\r\n"))


def long_header_receiver() -> RawReceiver:
    """A status line, then one header line longer than http.client accepts (64 KiB)."""
    return RawReceiver(lambda connection: connection.sendall(
        b"HTTP/1.1 200 OK\r\nX-Padding: " + b"a" * 70_000 + b"\r\n\r\n"))


class Trickler(RawReceiver):
    """Sends a complete 200 answer one byte every ``interval`` seconds, for at most
    ``max_bytes`` bytes (then hangs up), or until ``release`` is set. ``exhausted``
    is set when a connection ran to ``max_bytes``; ``cut_off`` counts connections
    the provider closed while bytes were still coming."""

    def __init__(self, interval: float = 1.0, max_bytes: int = 20) -> None:
        self.interval, self.max_bytes = interval, max_bytes
        self.release, self.exhausted = threading.Event(), threading.Event()
        self.cut_off = 0
        super().__init__(self._trickle)

    def _trickle(self, connection: socket.socket) -> None:
        for byte in COMPLETE_ANSWER[:self.max_bytes]:
            if self.release.wait(self.interval):
                return
            try:
                if peer_closed(connection):
                    raise ConnectionAbortedError
                connection.sendall(bytes([byte]))
            except OSError:
                with self._lock:
                    self.cut_off += 1
                return
        self.exhausted.set()


def peer_closed(connection: socket.socket) -> bool:
    """The other end hung up (end of file is waiting to be read)."""
    readable, _, _ = select.select([connection], [], [], 0)
    return bool(readable) and connection.recv(1, socket.MSG_PEEK) == b""
