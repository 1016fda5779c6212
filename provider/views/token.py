"""The token endpoint (RFC 6749 §3.2). One writing transaction per request,
committed only when a token is issued."""

from __future__ import annotations

from flask import Blueprint, Response, request

from ..database import atomic_view
from ..endpoint_policy import JSON, EndpointPolicy
from ..errors import json_error
from ..oauth.descriptions import repeated_parameter
from ..oauth.grants import BY_TYPE, token_request_parameters
from ..oauth.server import authorization_server
from ..rate_limits import TOKEN_PER_ADDRESS, TOKEN_PER_CLIENT, limited

bp = Blueprint("token", __name__)
POLICY = EndpointPolicy(errors=JSON)

# Names a repeated-parameter error may echo; any other name is the client's text.
KNOWN_PARAMETERS = token_request_parameters()


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
    grant = BY_TYPE.get(grant_type)
    # an empty value counts as absent (RFC 6749 §3.2): "missing", not "invalid grant"
    required = grant.required_parameter if grant is not None else None
    if required and not request.form.get(required):
        return f"Missing {required}."
    return None


def invalid_request(description: str) -> Response:
    response = json_error(400, "invalid_request", description)
    response.headers["Pragma"] = "no-cache"  # as Authlib's token errors
    return response


def grant_writes() -> bool:
    """Only a grant that stores something takes the write lock (client_credentials does not)."""
    grant = BY_TYPE.get(request.form.get("grant_type"))
    return grant.writes if grant is not None else True


@bp.route("/token", methods=["POST"])
@limited(TOKEN_PER_CLIENT, TOKEN_PER_ADDRESS)
@atomic_view(commit_when=lambda response: response.status_code == 200, writes_when=grant_writes)
def token():
    problem = request_shape_problem()
    if problem:
        return invalid_request(problem)
    return authorization_server().create_token_response()
