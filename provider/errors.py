"""Error responses: RFC 6749/6750 JSON where the blueprint declares JSON errors
(``endpoint_policy``), HTML pages elsewhere, never a stack trace; and the
security headers on every response."""

from __future__ import annotations

import json

from flask import Flask, Response, render_template, request
from flask_limiter import RateLimitExceeded
from sqlalchemy import exc as sa_exc
from werkzeug.exceptions import HTTPException, InternalServerError

from .accounts.login_counters import CountersUnavailable
from .denylist import DenyListUnavailable
from .endpoint_policy import wants_json
from .oauth.descriptions import safe_description
from .rate_limits import retry_after_seconds

ERROR_CODES = {400: "invalid_request", 401: "invalid_client", 403: "access_denied",
               404: "not_found", 405: "invalid_request", 413: "invalid_request",
               415: "invalid_request"}
RETRY_AFTER_SECONDS = "5"


def json_error(status: int, error: str, description: str) -> Response:
    """An RFC 6749 §5.2 / RFC 6750 §3 error body, never cached."""
    body = json.dumps({"error": error, "error_description": safe_description(description)})
    response = Response(body, status=status, mimetype="application/json")
    response.headers["Cache-Control"] = "no-store"
    return response


def _html_error(status: int, title: str, message: str) -> Response:
    body = render_template("account/error.html", title=title, message=message)
    return Response(body, status=status, mimetype="text/html")


def temporarily_unavailable(description: str) -> Response:
    """503 with ``Retry-After``: JSON ``temporarily_unavailable`` or a plain page."""
    if wants_json():
        response = json_error(503, "temporarily_unavailable", description)
    else:
        response = _html_error(503, "Temporarily unavailable",
                               "The service is temporarily unavailable. Please try again.")
    response.headers["Retry-After"] = RETRY_AFTER_SECONDS
    return response


def _first_line(error: Exception) -> str:
    text = str(getattr(error, "orig", None) or error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        status = exc.code or 500
        if status >= 500:
            return server_error(exc)
        description = exc.description or exc.name
        if wants_json():
            response = json_error(status, ERROR_CODES.get(status, "invalid_request"), exc.name)
            if status == 405 and exc.valid_methods:
                response.headers["Allow"] = ", ".join(exc.valid_methods)
            return response
        return _html_error(status, exc.name, description)

    @app.errorhandler(DenyListUnavailable)
    def denylist_unavailable(exc: DenyListUnavailable):
        # Fail closed: a token whose revocation cannot be checked is not accepted.
        app.logger.error("deny-list unavailable on %s %s: %s", request.method, request.path, exc)
        return temporarily_unavailable("Token revocation state is unavailable; retry shortly.")

    @app.errorhandler(CountersUnavailable)
    def login_counters_unavailable(exc: CountersUnavailable):
        # Fail closed: an attempt that cannot be counted is not checked.
        app.logger.error("sign-in counters unavailable on %s %s: %s", request.method,
                         request.path, exc)
        return temporarily_unavailable("Sign-in is unavailable; retry shortly.")

    @app.errorhandler(RateLimitExceeded)
    def too_many_requests(exc: RateLimitExceeded):
        # answered here, never redirected: the redirect_uri may not be validated yet
        seconds = retry_after_seconds(exc)
        if wants_json():
            response = json_error(429, "too_many_requests",
                                  f"Too many requests; retry after {seconds} seconds.")
        else:
            response = _html_error(429, "Too many requests", "There were too many requests "
                                   f"from here. Please try again in {seconds} seconds.")
        response.headers["Retry-After"] = str(seconds)
        return response

    @app.errorhandler(sa_exc.OperationalError)
    @app.errorhandler(sa_exc.InterfaceError)
    @app.errorhandler(sa_exc.TimeoutError)
    def database_unavailable(error: Exception):
        # Unreachable, restarting, locked past its timeout, or a statement past its
        # deadline: the request changed nothing (its transaction is rolled back at
        # teardown), so the client may simply retry. The driver's text stays in the log.
        app.logger.error("database unavailable on %s %s: %s", request.method, request.path,
                         _first_line(error))
        return temporarily_unavailable("The database is unavailable; retry shortly.")

    @app.errorhandler(Exception)
    def server_error(exc: Exception):
        if not isinstance(exc, HTTPException) or isinstance(exc, InternalServerError):
            app.logger.exception("unhandled error on %s %s", request.method, request.path)
        if wants_json():
            return json_error(500, "server_error", "The server could not complete the request.")
        return _html_error(500, "Something went wrong",
                           "The server could not complete the request. Please try again.")

    @app.after_request
    def security_headers(response: Response) -> Response:
        headers = response.headers
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("Referrer-Policy", "no-referrer")
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault(
            "Content-Security-Policy",
            "default-src 'none'; style-src 'self'; img-src 'self'; "
            "frame-ancestors 'none'; base-uri 'none'",
        )
        if response.mimetype == "text/html":
            headers.setdefault("Cache-Control", "no-store")
        return response
