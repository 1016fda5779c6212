"""The front ``provider serve`` runs in each worker, driven in process: the request
scope and transport stand in for granian's (which ``tests/e2e/test_serving.py`` and
``test_slow_clients.py`` drive for real); the app behind them is a real Flask app."""

from __future__ import annotations

import asyncio
import dataclasses
import threading
from dataclasses import dataclass, field

import pytest
from flask import Flask, make_response, request

from provider.http_guards import allow_replay
from provider.serving.environ import environ_for
from provider.serving.front import Front
from provider.serving.watchdog import Watchdog


class Headers:
    """granian's RSGIHeaders: lower-case names, repeated names kept in order."""

    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        self.pairs = pairs

    def __contains__(self, name: str) -> bool:
        return any(key == name for key, _ in self.pairs)

    def get(self, name: str, default: str | None = None) -> str | None:
        return next((value for key, value in self.pairs if key == name), default)

    def items(self) -> list[tuple[str, str]]:
        return list(self.pairs)


@dataclass
class Scope:
    path: str = "/doc"
    method: str = "GET"
    query_string: str = ""
    headers: Headers = field(default_factory=lambda: Headers([("host", "issuer.example")]))
    proto: str = "http"
    http_version: str = "1.1"
    scheme: str = "http"
    server: str = "127.0.0.1:5000"
    client: str = "127.0.0.1:40000"


class Transport:
    def __init__(self, body: list[bytes] | None = None) -> None:
        self.body = body or []
        self.answers: list[tuple[int, list, bytes]] = []

    async def __call__(self) -> bytes:
        return b"".join(self.body)

    def __aiter__(self):
        async def chunks():
            for chunk in [*self.body, b""]:
                yield chunk
        return chunks()

    def response_bytes(self, status: int, headers: list, body: bytes) -> None:
        self.answers.append((status, headers, body))


@pytest.fixture
def app() -> Flask:
    app = Flask(__name__)
    app.config.update(PROVIDER_REQUEST_READ_TIMEOUT_SECONDS=5, MAX_CONTENT_LENGTH=1024)
    app.calls = 0

    @app.get("/doc")
    def doc():
        app.calls += 1
        allow_replay(request.environ, 60)
        return {"calls": app.calls}

    app.current = True

    @app.get("/tracked")
    def tracked():
        app.calls += 1
        allow_replay(request.environ, 60, lambda: app.current)
        return {"calls": app.calls}

    @app.get("/cookie")
    def cookie():
        app.calls += 1
        allow_replay(request.environ, 60)
        response = make_response({"calls": app.calls})
        response.set_cookie("who", "one-client")
        return response

    @app.get("/broken")
    def broken():
        raise RuntimeError("an error handler would answer this")

    @app.post("/echo")
    def echo():
        return {"form": request.form.to_dict()}

    return app


def form_post(framing: tuple[str, str]) -> Scope:
    """A form POST to /echo whose body is framed by ``framing`` (length or chunked)."""
    return Scope(path="/echo", method="POST", headers=Headers([
        ("host", "h"), ("content-type", "application/x-www-form-urlencoded"), framing]))


def serve(front: Front, scope: Scope, transport: Transport | None = None):
    transport = transport or Transport()
    asyncio.run(front.__rsgi__(scope, transport))
    return transport.answers[-1]


def without_request_id(answer: tuple) -> tuple:
    status, headers, body = answer
    return status, [(name, value) for name, value in headers if name != "X-Request-ID"], body


def test_a_replayable_answer_is_repeated_without_the_app(app):
    front = Front(app, run_jobs=False)
    first = serve(front, Scope())
    again = serve(front, Scope(headers=Headers([("host", "h"), ("x-request-id", "trace-7")])))
    assert app.calls == 1
    assert without_request_id(again) == without_request_id(first)
    assert ("X-Request-ID", "trace-7") in again[1]  # each replay carries its own request's


def test_queries_conditionals_and_other_methods_reach_the_app(app):
    front = Front(app, run_jobs=False)
    serve(front, Scope())
    serve(front, Scope(query_string="x=1"))
    serve(front, Scope(headers=Headers([("host", "h"), ("if-none-match", '"x"')])))
    serve(front, Scope(method="HEAD"))
    assert app.calls == 4


def test_an_expired_replay_goes_back_to_the_app(app):
    front = Front(app, run_jobs=False)
    serve(front, Scope())
    front.replays["/doc"] = dataclasses.replace(front.replays["/doc"], until=0.0)
    serve(front, Scope())
    assert app.calls == 2


def test_a_replay_ends_when_what_it_was_built_from_changes(app):
    front = Front(app, run_jobs=False)
    serve(front, Scope(path="/tracked"))
    serve(front, Scope(path="/tracked"))
    assert app.calls == 1
    app.current = False  # the key ring was replaced or invalidated
    serve(front, Scope(path="/tracked"))
    assert app.calls == 2


def test_an_answer_that_sets_a_cookie_is_never_replayed(app):
    front = Front(app, run_jobs=False)
    serve(front, Scope(path="/cookie"))
    serve(front, Scope(path="/cookie"))
    assert app.calls == 2
    assert "/cookie" not in front.replays


def test_a_failure_below_the_apps_error_handlers_is_a_json_500(app):
    app.config["PROPAGATE_EXCEPTIONS"] = True  # Flask itself lets the exception out
    front = Front(app, run_jobs=False)
    status, headers, body = serve(front, Scope(path="/broken", headers=Headers([
        ("host", "h"), ("x-request-id", "the-failed-one")])))
    assert status == 500
    assert ("Content-Type", "application/json") in headers
    assert ("X-Request-ID", "the-failed-one") in headers  # the id its log line carries
    assert b'"server_error"' in body


def test_a_form_body_reaches_the_app(app):
    front = Front(app, run_jobs=False)
    scope = form_post(("content-length", "7"))
    status, _, body = serve(front, scope, Transport([b"a=b&c=d"]))
    assert status == 200
    assert b'"a":"b"' in body and b'"c":"d"' in body


def test_an_oversized_declared_body_is_refused_unread(app):
    front = Front(app, run_jobs=False)
    scope = form_post(("content-length", "5000"))
    status, _, _ = serve(front, scope, Transport([b"never read"]))
    assert status == 413


def test_a_chunked_body_with_an_empty_chunk_before_its_end_is_malformed(app):
    front = Front(app, run_jobs=False)
    scope = form_post(("transfer-encoding", "chunked"))
    status, _, _ = serve(front, scope, Transport([b"a=b", b""]))
    assert status == 400
    status, _, body = serve(front, scope, Transport([b"a=b", b"&c=d"]))
    assert status == 200 and b'"c":"d"' in body


def test_the_environ_joins_repeated_headers_and_drops_underscored_names():
    scope = Scope(path="/café/x", query_string="q=%20", headers=Headers([
        ("host", "h:1"), ("cookie", "a=1"), ("cookie", "b=2"), ("accept", "text/html"),
        ("accept", "application/json"), ("x_forwarded_for", "6.6.6.6"),
        ("script_name", "/evil"), ("content-type", "text/plain")]))
    environ = environ_for(scope, b"")
    assert environ["HTTP_COOKIE"] == "a=1; b=2"
    assert environ["HTTP_ACCEPT"] == "text/html, application/json"
    assert "HTTP_X_FORWARDED_FOR" not in environ
    assert environ["SCRIPT_NAME"] == ""
    assert environ["CONTENT_TYPE"] == "text/plain"
    assert environ["PATH_INFO"] == "/café/x".encode().decode("latin-1")
    assert environ["QUERY_STRING"] == "q=%20"
    assert (environ["REMOTE_ADDR"], environ["SERVER_PORT"]) == ("127.0.0.1", "5000")
    assert environ["SERVER_PROTOCOL"] == "HTTP/1.1"
    assert environ_for(Scope(http_version="1"), b"")["SERVER_PROTOCOL"] == "HTTP/1.0"


def test_the_watchdog_acts_on_a_request_that_overruns_only():
    overrun = threading.Event()
    watchdog = Watchdog(timeout=0.3, on_overrun=overrun.set, tick=0.05)
    watchdog.start()
    try:
        with watchdog.watching():
            pass  # a quick request
        assert not overrun.wait(0.6)
        with watchdog.watching():
            assert overrun.wait(5)
    finally:
        watchdog.stop()
