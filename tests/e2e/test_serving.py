"""What ``provider serve`` (granian with the provider's front) promises beyond the
endpoints: a worker that dies is replaced, SIGTERM lets a request in progress
finish, bodies are bounded in size, chunked bodies are read whole, and the
discovery answers replayed from memory are the app's own, byte for byte.

Every wait is bounded by socket timeouts or a deadline; nothing asserts on elapsed time.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests

from tests.support.live_server import launch_provider, query

pytestmark = pytest.mark.e2e

DISCOVERY = "/.well-known/openid-configuration"
RESPAWN_BOUND_SECONDS = 30.0


def worker_pids(master: int) -> set[int]:
    """The processes whose parent is ``master``."""
    children = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue  # gone meanwhile
        # pid (comm) state ppid ...: comm may hold spaces, so split after its ")"
        if int(stat.rpartition(")")[2].split()[1]) == master:
            children.add(int(entry.name))
    return children


def without_date(headers: requests.structures.CaseInsensitiveDict) -> dict[str, str]:
    """The headers but the two that differ between any two answers."""
    return {name.lower(): value for name, value in headers.items()
            if name.lower() not in ("date", "x-request-id")}


def raw_exchange(issuer: str, request: bytes, timeout: float = 10) -> bytes:
    parts = urlsplit(issuer)
    with socket.create_connection((parts.hostname, parts.port), timeout=timeout) as sock:
        sock.sendall(request)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    return received


def test_a_killed_worker_is_replaced(tmp_path):
    with launch_provider(tmp_path) as provider:
        workers = worker_pids(provider.process.pid)
        assert len(workers) == 2, workers
        victim = min(workers)
        os.kill(victim, signal.SIGKILL)
        deadline = time.monotonic() + RESPAWN_BOUND_SECONDS
        while time.monotonic() < deadline:
            now = worker_pids(provider.process.pid)
            if victim not in now and len(now) == 2:
                break
            time.sleep(0.2)
        else:
            pytest.fail(f"worker {victim} was not replaced: {now}")
        assert provider.process.poll() is None
        for _ in range(10):  # both workers answer (the kernel spreads connections)
            assert requests.get(provider.issuer + DISCOVERY, timeout=10).status_code == 200


def test_sigterm_lets_a_request_in_progress_finish_and_leases_are_handed_back(tmp_path):
    with launch_provider(tmp_path) as provider:
        # the hourly purge is a once-per-period lease some worker took at start-up
        deadline = time.monotonic() + 10
        while not query(provider, "SELECT 1 FROM leases WHERE holder IS NOT NULL"):
            assert time.monotonic() < deadline, "no worker took the purge lease"
            time.sleep(0.1)
        service = provider.create_client("--name", "graceful", "--redirect-uri",
                                         "http://127.0.0.1:9/cb", "--grant-type",
                                         "client_credentials", "--scope", "api:read")
        body = b"grant_type=client_credentials"
        parts = urlsplit(provider.issuer)
        auth = requests.auth._basic_auth_str(service["client_id"], service["client_secret"])
        with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
            sock.sendall(f"POST /token HTTP/1.1\r\nHost: {parts.netloc}\r\n"
                         f"Authorization: {auth}\r\nConnection: close\r\n"
                         "Content-Type: application/x-www-form-urlencoded\r\n"
                         f"Content-Length: {len(body)}\r\n\r\n".encode() + body[:5])
            time.sleep(0.5)  # the request is in, its body is not
            provider.process.send_signal(signal.SIGTERM)
            time.sleep(0.5)
            sock.sendall(body[5:])
            answer = b""
            while chunk := sock.recv(65536):
                answer += chunk
        assert answer.startswith(b"HTTP/1.1 200"), answer[:300]
        assert b'"access_token"' in answer
        assert provider.process.wait(timeout=20) == 0
        with pytest.raises(requests.ConnectionError):
            requests.get(provider.issuer + DISCOVERY, timeout=5)
        # each worker stopped its jobs and released what it held: a restart resumes now
        assert query(provider, "SELECT name FROM leases WHERE holder IS NOT NULL") == []


def test_a_body_over_the_size_limit_is_a_413(live_provider):
    host = urlsplit(live_provider.issuer).netloc
    too_big = 64 * 1024 + 1
    declared = raw_exchange(live_provider.issuer, (
        f"POST /token HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n"
        f"Content-Length: {too_big}\r\n\r\n").encode() + b"a" * 1024)
    assert declared.startswith(b"HTTP/1.1 413"), declared[:300]
    chunk = b"a" * too_big
    chunked = raw_exchange(live_provider.issuer, (
        f"POST /token HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n"
        "Transfer-Encoding: chunked\r\n\r\n").encode()
        + f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n0\r\n\r\n")
    assert chunked.startswith(b"HTTP/1.1 413"), chunked[:300]
    assert b'"error"' in chunked.partition(b"\r\n\r\n")[2]


def test_a_chunked_body_is_read_whole(live_provider):
    service = live_provider.create_client("--name", "chunked", "--redirect-uri",
                                          "http://127.0.0.1:9/cb", "--grant-type",
                                          "client_credentials", "--scope", "api:read")

    def body():
        yield b"grant_type=client_"
        yield b"credentials&scope=api%3Aread"

    token = requests.post(live_provider.issuer + "/token", data=body(), timeout=10,
                          auth=(service["client_id"], service["client_secret"]),
                          headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert token.status_code == 200, token.text
    assert token.json()["scope"] == "api:read"


def test_a_body_shorter_than_its_length_is_a_400(live_provider):
    parts = urlsplit(live_provider.issuer)
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        sock.sendall(f"POST /token HTTP/1.1\r\nHost: {parts.netloc}\r\n"
                     "Content-Type: application/x-www-form-urlencoded\r\n"
                     "Content-Length: 100\r\n\r\ngrant_type=client".encode())
        sock.shutdown(socket.SHUT_WR)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 400"), answer[:300]
    assert b'"invalid_request"' in answer


@pytest.mark.parametrize("path", [DISCOVERY, "/.well-known/oauth-authorization-server",
                                  "/.well-known/jwks.json"])
def test_a_replayed_document_is_the_apps_own_answer(live_provider, path):
    url = live_provider.issuer + path
    # the first GET goes through the app (a fresh path, or a query string makes it),
    # the ones after it are answered from memory
    from_app = requests.get(url + "?fresh", timeout=10)
    replayed = [requests.get(url, timeout=10) for _ in range(3)]
    for answer in replayed:
        assert answer.status_code == 200
        assert answer.content == from_app.content
        assert without_date(answer.headers) == without_date(from_app.headers)
    assert replayed[0].headers["Access-Control-Allow-Origin"] == "*"
    assert replayed[0].headers["X-Content-Type-Options"] == "nosniff"
    # conditional requests and HEAD are still the app's to answer
    etag = replayed[0].headers["ETag"]
    assert requests.get(url, headers={"If-None-Match": etag}, timeout=10).status_code == 304
    head = requests.head(url, timeout=10)
    assert head.status_code == 200 and head.content == b""
    assert head.headers["ETag"] == etag


def test_the_log_has_an_access_line_per_request(live_provider):
    """One JSON object a line, the request id on it, the query string never."""
    answered = [requests.get(live_provider.issuer + "/.well-known/jwks.json?log-me",
                             headers={"X-Request-ID": "access-log-1"}, timeout=10),
                requests.get(live_provider.issuer + "/.well-known/jwks.json",
                             headers={"X-Request-ID": "access-log-2"}, timeout=10)]
    assert [a.headers["X-Request-ID"] for a in answered] == ["access-log-1", "access-log-2"]
    deadline = time.monotonic() + 10
    log = live_provider.instance / "server.log"
    while "access-log-2" not in log.read_text():
        assert time.monotonic() < deadline, log.read_text()[-2000:]
        time.sleep(0.1)
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    access = {line["request_id"]: line for line in lines if line["logger"] == "provider.access"}
    for request_id in ("access-log-1", "access-log-2"):  # from the app, then from memory
        line = access[request_id]
        assert (line["method"], line["path"], line["status"]) == (
            "GET", "/.well-known/jwks.json", 200)
        assert line["client"] == "127.0.0.1" and line["duration_ms"] >= 0
        assert line["message"] == "GET /.well-known/jwks.json 200"
    assert "log-me" not in log.read_text()


def test_a_chunked_body_with_trailers_is_a_400(live_provider):
    """granian reports a trailer section exactly as it reports a malformed chunk, so
    the front cannot tell them apart and refuses both (README, "provider serve")."""
    host = urlsplit(live_provider.issuer).netloc
    answer = raw_exchange(live_provider.issuer, (
        f"POST /token HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n"
        "Transfer-Encoding: chunked\r\n\r\n"
        "1c\r\ngrant_type=client_credentials\r\n0\r\nX-Trailer: 1\r\n\r\n").encode())
    assert answer.startswith(b"HTTP/1.1 400"), answer[:300]
    assert b'"invalid_request"' in answer
