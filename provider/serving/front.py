"""The app behind granian's RSGI interface: what runs in each worker process.

granian (Rust, hyper) owns the sockets: it parses requests, writes answers, and
closes a connection whose headers do not arrive within its header read timeout
(also the idle time allowed before a first request and between requests). The
front then runs in the worker's event loop:

- it reads the body asynchronously, within ``PROVIDER_REQUEST_READ_TIMEOUT_SECONDS``
  and ``MAX_CONTENT_LENGTH``, so a trickling or oversized body never holds the app;
  a late, oversized or malformed body reaches the app as a ``wsgi.input`` whose
  reads raise the matching HTTP error, answered in the endpoint's own shape;
- it answers a replayable response (discovery, JWKS) from memory while the app
  says it is current, without entering Flask;
- it runs the Flask app inline, one request at a time per worker: the app is
  CPU-bound (signatures, hashing, SQLite), so threads would only contend for the
  GIL, and nothing the app waits for is a client.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Flask
from werkzeug.exceptions import BadRequest, HTTPException, RequestEntityTooLarge, RequestTimeout

from .. import client_address, logs, metrics, request_ids
from ..http_guards import MALFORMED_BODY, REPLAY_CURRENT, REPLAY_RULE, REPLAY_SECONDS
from ..jobs import start_scheduler
from .environ import FailedBody, environ_client, environ_for
from .shutdown import JOBS_STOP_SECONDS, stop_jobs
from .watchdog import Watchdog

log = logging.getLogger(__name__)
READ_TIMEOUT_SETTING = "PROVIDER_REQUEST_READ_TIMEOUT_SECONDS"
SERVER_ERROR = (500, [("Content-Type", "application/json"), ("Cache-Control", "no-store")],
                b'{"error": "server_error", "error_description": '
                b'"The server could not complete the request."}')
REQUEST_TIMEOUT_SECONDS = 30  # a request running longer means a hung worker: replaced
# a request with one of these asks for more than the stored answer: the app decides
CONDITIONAL_HEADERS = ("if-none-match", "if-modified-since", "if-match",
                       "if-unmodified-since", "if-range", "range")


@dataclass(frozen=True)
class Replay:
    status: int
    headers: list[tuple[str, str]]
    body: bytes
    until: float  # time.monotonic()
    current: Callable[[], bool]  # False once what the answer was built from has changed
    rule: str  # the URL rule the app matched, for the metrics of the replays


class Front:
    """The RSGI application (``__rsgi__``, with granian's worker start and stop hooks)."""

    def __init__(self, app: Flask, run_jobs: bool = True) -> None:
        self.app = app
        self.run_jobs = run_jobs
        self.read_timeout = float(app.config[READ_TIMEOUT_SETTING])
        self.max_body = int(app.config["MAX_CONTENT_LENGTH"])
        self.replays: dict[str, Replay] = {}
        self.watchdog = Watchdog(REQUEST_TIMEOUT_SECONDS)
        self.trusted_proxies = client_address.parse_networks(
            app.config.get("PROVIDER_TRUSTED_PROXIES", ()))
        self.forwarded_header = app.config.get("PROVIDER_FORWARDED_HEADER", "x-forwarded-for")

    def __rsgi_init__(self, loop: asyncio.AbstractEventLoop) -> None:
        """granian calls this in each worker before it serves: the worker's own job
        scheduler (leases keep every job to one process at a time) and watchdog."""
        if self.run_jobs:
            tick = float(self.app.config["PROVIDER_JOBS_TICK_SECONDS"])
            start_scheduler(self.app, tick_seconds=tick)
        self.watchdog.start()

    def __rsgi_del__(self, loop: asyncio.AbstractEventLoop) -> None:
        """granian calls this in each worker once its requests have finished (SIGTERM):
        the jobs stop and give their leases back, so a restarted process resumes now."""
        self.watchdog.stop()
        if self.run_jobs:
            stop_jobs(self.app, JOBS_STOP_SECONDS)

    async def __rsgi__(self, scope: Any, protocol: Any) -> None:
        if scope.proto != "http":
            return
        started = time.perf_counter()
        request_id = request_ids.accept_or_generate(scope.headers.get("x-request-id"))
        bound = request_ids.bind(request_id)  # this task's log lines carry it
        try:
            status, client = await self._serve(scope, protocol, request_id)
            logs.access(scope.method, scope.path, status, time.perf_counter() - started,
                        client)
        finally:
            request_ids.unbind(bound)

    async def _serve(self, scope: Any, protocol: Any, request_id: str) -> tuple[int, str]:
        """Answer the request; its status and the client's address, for the access log."""
        replay = self._replay_for(scope)
        if replay is not None:
            started = time.perf_counter()
            protocol.response_bytes(replay.status,
                                    [*replay.headers, (request_ids.HEADER, request_id)],
                                    replay.body)
            # the app counts what it answers; the front counts what it answers for it
            metrics.observe_request(replay.rule, scope.method, replay.status,
                                    time.perf_counter() - started)
            return replay.status, self._client(scope)
        body = await self.read_body(scope, protocol)
        environ = environ_for(scope, body)
        environ[request_ids.ENVIRON_KEY] = request_id
        status, headers, content = self._call_app(environ)
        if headers is SERVER_ERROR[1]:  # the front's own answer: the app never stamped it
            headers = [*headers, (request_ids.HEADER, request_id)]
        protocol.response_bytes(status, headers, content)
        if _replayable(environ, scope, status, headers):
            kept = [(name, value) for name, value in headers
                    if name.lower() != request_ids.HEADER.lower()]
            self.replays[scope.path] = Replay(
                status, kept, content, time.monotonic() + float(environ[REPLAY_SECONDS]),
                environ.get(REPLAY_CURRENT) or _always, environ.get(REPLAY_RULE, "unmatched"))
        # the app's middleware has put the client's address behind trusted proxies there
        return status, environ.get("REMOTE_ADDR", "")

    def _client(self, scope: Any) -> str:
        peer = environ_client(scope)
        if not self.trusted_proxies:
            return peer
        return client_address.resolve(peer, scope.headers.get(self.forwarded_header),
                                      self.forwarded_header, self.trusted_proxies)

    def _replay_for(self, scope: Any) -> Replay | None:
        if not _plain_get(scope):
            return None
        replay = self.replays.get(scope.path)
        if replay is None or time.monotonic() >= replay.until or not replay.current():
            return None
        headers = scope.headers
        if any(name in headers for name in CONDITIONAL_HEADERS):
            return None
        return replay

    async def read_body(self, scope: Any, protocol: Any) -> bytes | FailedBody:
        """The whole request body, or what went wrong reading it."""
        headers = scope.headers
        declared = headers.get("content-length")
        if declared is None and "transfer-encoding" not in headers:
            return b""
        if declared is not None and declared.isdigit() and int(declared) > self.max_body:
            return FailedBody(RequestEntityTooLarge())
        try:
            async with asyncio.timeout(self.read_timeout):
                if declared is not None:  # hyper stops at the declared length
                    return await protocol()
                return await self._read_chunked(protocol)
        except TimeoutError:
            return FailedBody(RequestTimeout())
        except _BodyTooLarge:
            return FailedBody(RequestEntityTooLarge())
        except Exception:  # granian's RSGIProtocolClosed: a bad chunk, a body cut short
            return FailedBody(BadRequest(MALFORMED_BODY))

    async def _read_chunked(self, protocol: Any) -> bytes:
        """A chunked body, no longer than ``max_body``. granian's body iterator ends with
        one empty chunk; a malformed or cut-short body yields an empty chunk before
        that end instead of raising, which is how it is told apart (granian 2.8)."""
        chunks = [chunk async for chunk in self._capped(protocol)]
        if b"" in chunks[:-1]:
            raise _MalformedBody()
        return b"".join(chunks)

    async def _capped(self, protocol: Any) -> Any:
        size = 0
        async for chunk in protocol:
            size += len(chunk)
            if size > self.max_body:
                raise _BodyTooLarge()
            yield chunk

    def _call_app(self, environ: dict) -> tuple[int, list[tuple[str, str]], bytes]:
        answer: list[Any] = []

        def start_response(status: str, headers: list[tuple[str, str]],
                           exc_info: Any = None) -> Callable[[bytes], None]:
            answer[:] = [int(status.split(" ", 1)[0]), headers]
            return _no_write

        with self.watchdog.watching():
            try:
                chunks = self.app(environ, start_response)
                try:
                    content = b"".join(chunks)
                finally:
                    close = getattr(chunks, "close", None)
                    if close is not None:
                        close()
            except Exception:  # Flask answers the app's own errors; this is Flask failing
                log.exception("the app failed on %s %s", environ["REQUEST_METHOD"],
                              environ["PATH_INFO"])
                return SERVER_ERROR
        if not answer:
            log.error("the app answered %s %s without a status", environ["REQUEST_METHOD"],
                      environ["PATH_INFO"])
            return SERVER_ERROR
        return answer[0], answer[1], content


def _replayable(environ: dict, scope: Any, status: int, headers: list[tuple[str, str]]) -> bool:
    """Only what the view marked, a plain GET's 200, and nothing tied to one client."""
    if not environ.get(REPLAY_SECONDS) or status != 200 or not _plain_get(scope):
        return False
    return not any(name.lower() in ("set-cookie", "vary") for name, _ in headers)


def _plain_get(scope: Any) -> bool:
    """A GET with no query: the only requests a replay is kept for and answers."""
    return scope.method == "GET" and not scope.query_string


def _always() -> bool:
    return True


class _BodyTooLarge(Exception):
    pass


class _MalformedBody(Exception):
    pass


def _no_write(data: bytes) -> None:
    raise HTTPException("the provider never uses WSGI's write()")
