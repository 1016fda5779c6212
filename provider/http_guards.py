"""What the app takes from the HTTP layer, whatever server runs it.

``IssuerMount``: the app's mount point is the issuer's path, never a request
header. Servers may fill ``SCRIPT_NAME`` from a client's header (gunicorn's
``forwarder_headers``), which would put ``/evil/token`` into discovery or make
``url_for`` produce ``//evil.example/login``; this sets it from the issuer and
strips that prefix from the path when a proxy forwarded it unstripped.

``GuardedInput``: a malformed request body (a bad chunk size, a body cut short)
is the client's fault. Whatever the server raises while the body is read
becomes ``400 Bad Request``, answered as JSON on protocol endpoints, never a
500 with a traceback.

``allow_replay``: a view's answer the server in front may repeat from memory.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urlsplit

from flask import has_request_context, request
from werkzeug.exceptions import BadRequest, HTTPException

WSGIApp = Callable[[dict, Callable], Iterable[bytes]]
MALFORMED_BODY = "The request body is malformed."


class IssuerMount:
    def __init__(self, app: WSGIApp, issuer: str) -> None:
        self.app = app
        self.prefix = urlsplit(issuer).path.rstrip("/")

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        environ["SCRIPT_NAME"] = self.prefix
        path = environ.get("PATH_INFO", "")
        if self.prefix and (path == self.prefix or path.startswith(self.prefix + "/")):
            environ["PATH_INFO"] = path[len(self.prefix):]
        return self.app(environ, start_response)


class GuardedInput:
    """A ``wsgi.input`` whose read errors are a 400."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def _guarded(self, method: str, *args: Any) -> Any:
        try:
            return getattr(self._stream, method)(*args)
        except HTTPException:
            raise
        except Exception:  # the server's own parse errors: InvalidChunkSize, NoMoreData...
            raise BadRequest(MALFORMED_BODY) from None

    def read(self, *args: Any) -> bytes:
        return self._guarded("read", *args)

    def readline(self, *args: Any) -> bytes:
        return self._guarded("readline", *args)

    def readlines(self, *args: Any) -> list[bytes]:
        return self._guarded("readlines", *args)

    def __iter__(self):
        return iter(self.readline, b"")


def guard_request_body(app: WSGIApp) -> WSGIApp:
    def guarded(environ: dict, start_response: Callable) -> Iterable[bytes]:
        if "wsgi.input" in environ:
            environ["wsgi.input"] = GuardedInput(environ["wsgi.input"])
        return app(environ, start_response)

    return guarded


# The environ keys by which a view tells the server in front (``provider serve``) that
# its answer to this GET may be replayed, byte for byte, for that many seconds to
# requests for the same path without a query or conditional headers, for as long as
# the callable (if any) says what the answer was built from is still current.
REPLAY_SECONDS = "provider.replay_seconds"
REPLAY_CURRENT = "provider.replay_current"
REPLAY_RULE = "provider.replay_rule"  # the URL rule, for the replay's metrics


def allow_replay(environ: dict, seconds: float,
                 still_current: Callable[[], bool] | None = None) -> None:
    if seconds > 0:
        environ[REPLAY_SECONDS] = seconds
        rule = request.url_rule if has_request_context() else None
        environ[REPLAY_RULE] = rule.rule if rule is not None else "unmatched"
        if still_current is not None:
            environ[REPLAY_CURRENT] = still_current
