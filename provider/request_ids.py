"""The request id: one value per request, on every log line the request causes and in
its ``X-Request-ID`` response header, so an operator can follow a request from the
proxy's log through the provider's and back to what the caller saw.

A caller's (or a proxy's) ``X-Request-ID`` is kept when it is sane: at most
``MAX_LENGTH`` characters from a small safe set, so it can neither forge a log line
nor smuggle markup or a header; anything else is replaced by a new random id.
``provider serve``'s front picks the id before the app runs (its own answers from
memory carry one too) and hands it to the app in the environ; under any other
server the app picks it itself.
"""

from __future__ import annotations

import re
import secrets
from contextvars import ContextVar, Token

from flask import Flask, Response, request

HEADER = "X-Request-ID"
ENVIRON_KEY = "provider.request_id"
MAX_LENGTH = 128
SANE = re.compile(rf"[A-Za-z0-9._:=+/@-]{{1,{MAX_LENGTH}}}")

_current: ContextVar[str | None] = ContextVar("provider_request_id", default=None)
_BINDING_KEY = "provider.request_id_binding"


def accept_or_generate(offered: str | None) -> str:
    """``offered`` if it is a sane id, else a new one."""
    if offered is not None and SANE.fullmatch(offered):
        return offered
    return secrets.token_hex(16)


def current() -> str | None:
    """The id of the request being served in this context, if any."""
    return _current.get()


def bind(request_id: str) -> Token:
    """Make ``request_id`` current until ``unbind`` with the returned token."""
    return _current.set(request_id)


def unbind(token: Token) -> None:
    _current.reset(token)


def init_app(app: Flask) -> None:
    """Give every response of ``app`` its request's id."""
    app.before_request(_start)
    app.after_request(_stamp)
    app.teardown_request(_end)


def _start() -> None:
    environ = request.environ
    request_id = environ.get(ENVIRON_KEY)
    if request_id is None:
        request_id = environ[ENVIRON_KEY] = accept_or_generate(request.headers.get(HEADER))
    environ[_BINDING_KEY] = bind(request_id)


def _stamp(response: Response) -> Response:
    request_id = request.environ.get(ENVIRON_KEY)
    if request_id is not None:
        response.headers[HEADER] = request_id
    return response


def _end(_error: BaseException | None) -> None:
    token = request.environ.pop(_BINDING_KEY, None)
    if token is not None:
        unbind(token)
