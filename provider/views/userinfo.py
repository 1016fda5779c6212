"""UserInfo (OIDC Core §5.3) with RFC 6750 bearer-token errors."""

from __future__ import annotations

import json

from flask import Blueprint, Response, current_app, request

from ..endpoint_policy import JSON, CorsPolicy, EndpointPolicy
from ..errors import json_error
from ..oauth.descriptions import safe_description
from ..oauth.scopes import user_claims
from ..oauth.tokens import InvalidAccessToken, token_user, verify_access_token

bp = Blueprint("userinfo", __name__)
# browser apps call it with a bearer token, never with cookies (OIDC Core §5.3)
POLICY = EndpointPolicy(errors=JSON, cors=CorsPolicy(
    preflight_methods=("GET", "POST"), preflight_headers=("Authorization",)))


def bearer_error(status: int, error: str | None = None, description: str | None = None,
                 scope: str | None = None) -> Response:
    """401/403/400 with the RFC 6750 §3 ``WWW-Authenticate`` challenge."""
    if error is None:  # no credentials at all: a bare challenge (RFC 6750 §3.1)
        challenge = "Bearer"
        response = json_error(status, "invalid_request", "A bearer token is required.")
    else:
        parts = [f'error="{error}"']
        description = safe_description(description)  # it stands inside a quoted-string
        if description:
            parts.append(f'error_description="{description}"')
        if scope:
            parts.append(f'scope="{scope}"')
        challenge = "Bearer " + ", ".join(parts)
        response = json_error(status, error, description or error)
    response.headers["WWW-Authenticate"] = challenge
    return response


def _bearer_token() -> tuple[str | None, Response | None]:
    header = request.headers.get("Authorization")
    body_token = None
    if request.method == "POST" and request.mimetype == "application/x-www-form-urlencoded":
        body_token = request.form.get("access_token")
    if header is not None and body_token is not None:
        return None, bearer_error(400, "invalid_request", "Send the token in one place only.")
    if header is not None:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None, bearer_error(401)
        return token.strip(), None
    if body_token:
        return body_token, None
    return None, bearer_error(401)


@bp.route("/userinfo", methods=["GET", "POST"], provide_automatic_options=False)
def userinfo():
    token, failure = _bearer_token()
    if failure is not None:
        return failure
    config = current_app.config
    audiences = {config["PROVIDER_ISSUER"], config["PROVIDER_DEFAULT_AUDIENCE"]}
    try:
        claims = verify_access_token(token, audiences)
    except InvalidAccessToken as exc:
        return bearer_error(401, "invalid_token", f"The access token is {exc}.")
    if "openid" not in str(claims.get("scope", "")).split():
        return bearer_error(403, "insufficient_scope", "The token lacks the openid scope.",
                            scope="openid")
    user = token_user(claims)
    if user is None:
        return bearer_error(401, "invalid_token", "The access token's user is not active.")
    response = Response(json.dumps(user_claims(user, claims["scope"])), mimetype="application/json")
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/userinfo", methods=["OPTIONS"])
def userinfo_preflight():
    return Response(status=204)  # the CORS policy answers the preflight
