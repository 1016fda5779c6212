"""An RSGI request scope as a WSGI environ (PEP 3333), for the Flask app.

granian hands the front the request line and headers as the client sent them,
with the path percent-decoded to text. The body is read by the front before the
app runs (``front.read_body``), so ``wsgi.input`` is the whole body in memory, or
a stream whose reads raise the HTTP error that reading it ended in.
"""

from __future__ import annotations

import io
import sys
from typing import Any

from werkzeug.exceptions import HTTPException

_JOINED_WITH = {"HTTP_COOKIE": "; "}  # repeated headers: ", " but for these
_PROTOCOLS = {"1": "HTTP/1.0", "1.0": "HTTP/1.0", "1.1": "HTTP/1.1", "2": "HTTP/2"}


class FailedBody(io.RawIOBase):
    """A request body that could not be read: every read raises ``error``, which the
    app's error handlers answer (408, 413 or 400) in the endpoint's own shape."""

    def __init__(self, error: HTTPException) -> None:
        super().__init__()
        self.error = error

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        raise self.error


def _host_and_port(address: str, scheme: str) -> tuple[str, str]:
    host, _, port = address.rpartition(":")
    if not host:
        return address, "443" if scheme == "https" else "80"
    return host.strip("[]"), port


def environ_client(scope: Any) -> str:
    """The peer's address, as ``REMOTE_ADDR`` holds it."""
    return _host_and_port(scope.client, scope.scheme)[0]


def environ_for(scope: Any, body: bytes | FailedBody) -> dict[str, Any]:
    """The WSGI environ of the request ``scope`` describes, with ``body`` as its input."""
    server_name, server_port = _host_and_port(scope.server, scope.scheme)
    remote_addr, remote_port = _host_and_port(scope.client, scope.scheme)
    environ: dict[str, Any] = {
        "REQUEST_METHOD": scope.method,
        "SCRIPT_NAME": "",
        # WSGI carries the path as bytes read as latin-1 (PEP 3333). granian has decoded
        # it as UTF-8 (an invalid sequence became U+FFFD), so these are its UTF-8 bytes.
        "PATH_INFO": scope.path.encode("utf-8").decode("latin-1"),
        "QUERY_STRING": scope.query_string,
        "SERVER_NAME": server_name,
        "SERVER_PORT": server_port,
        "SERVER_PROTOCOL": _PROTOCOLS.get(scope.http_version, "HTTP/1.1"),
        "REMOTE_ADDR": remote_addr,
        "REMOTE_PORT": remote_port,
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": scope.scheme,
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
        # the body is all there: read to its end, whatever Content-Length said
        "wsgi.input_terminated": True,
    }
    for name, value in scope.headers.items():
        # a name holding an underscore is dropped: "X_Forwarded_For" would become the
        # same HTTP_X_FORWARDED_FOR key as "X-Forwarded-For" (gunicorn and nginx drop
        # them too), and no client needs one
        if "_" in name:
            continue
        key = "HTTP_" + name.upper().replace("-", "_")
        if key in environ:
            environ[key] += _JOINED_WITH.get(key, ", ") + value
        else:
            environ[key] = value
    environ.pop("HTTP_TRANSFER_ENCODING", None)  # the front has undone the chunking
    if "HTTP_CONTENT_TYPE" in environ:
        environ["CONTENT_TYPE"] = environ.pop("HTTP_CONTENT_TYPE")
    environ.pop("HTTP_CONTENT_LENGTH", None)
    if isinstance(body, FailedBody):
        environ["wsgi.input"] = io.BufferedReader(body)
    else:
        environ["wsgi.input"] = io.BytesIO(body)
        if body or scope.method not in ("GET", "HEAD", "OPTIONS"):
            environ["CONTENT_LENGTH"] = str(len(body))
    return environ
