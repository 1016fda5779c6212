"""The token endpoint (RFC 6749 §3.2). One writing transaction per request,
committed only when a token is issued."""

from __future__ import annotations

from flask import Blueprint, Response, request

from ..database import atomic_view
from ..errors import json_error
from ..oauth.descriptions import repeated_parameter
from ..oauth.server import authorization_server

bp = Blueprint("token", __name__)

# Names a repeated-parameter error may echo; any other name is the client's text.
KNOWN_PARAMETERS = frozenset({
    "grant_type", "code", "redirect_uri", "code_verifier", "refresh_token", "scope",
    "client_id", "client_secret", "resource"})
# An empty value counts as absent (RFC 6749 §3.2): "missing", not "invalid grant".
REQUIRED_PARAMETERS = {"authorization_code": "code", "refresh_token": "refresh_token"}


def request_shape_problem() -> str | None:
    """What makes the request malformed before any grant looks at it (RFC 6749 §3.2, §5.2)."""
    if request.args:
        return "Token request parameters belong in the request body."
    repeated = repeated_parameter(request.form, KNOWN_PARAMETERS)
    if repeated:
        return repeated
    grant_type = request.form.get("grant_type")
    if not grant_type:
        return "Missing grant_type."
    required = REQUIRED_PARAMETERS.get(grant_type)
    if required and not request.form.get(required):
        return f"Missing {required}."
    return None


def invalid_request(description: str) -> Response:
    response = json_error(400, "invalid_request", description)
    response.headers["Pragma"] = "no-cache"  # as Authlib's token errors
    return response


def grant_writes() -> bool:
    """client_credentials stores nothing: it needs no write lock."""
    return request.form.get("grant_type") != "client_credentials"


@bp.route("/token", methods=["POST"])
@atomic_view(commit_when=lambda response: response.status_code == 200, writes_when=grant_writes)
def token():
    problem = request_shape_problem()
    if problem:
        return invalid_request(problem)
    return authorization_server().create_token_response()
