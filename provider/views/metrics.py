"""``GET {issuer}/metrics``: the Prometheus text, for whoever holds
``PROVIDER_METRICS_TOKEN`` (``Authorization: Bearer …``), or for anyone when
``PROVIDER_METRICS_OPEN``; otherwise 401, and 403 for a wrong token. Not in
discovery: it is for the operator's scraper, not for clients."""

from __future__ import annotations

import hashlib
import hmac

from flask import Blueprint, Response, current_app, request

from .. import metrics
from ..endpoint_policy import JSON, EndpointPolicy
from ..errors import json_error

bp = Blueprint("metrics", __name__)
POLICY = EndpointPolicy(errors=JSON)
CHALLENGE = 'Bearer realm="metrics"'


@bp.route("/metrics", provide_automatic_options=False)
def exposition():
    refusal = _refusal()
    if refusal is not None:
        return refusal
    response = Response(metrics.exposition(), content_type=metrics.CONTENT_TYPE)
    response.headers["Cache-Control"] = "no-store"
    return response


def _refusal() -> Response | None:
    """None when the request may read the metrics, else the answer it gets."""
    config = current_app.config
    if config["PROVIDER_METRICS_OPEN"]:
        return None
    expected, presented = config["PROVIDER_METRICS_TOKEN"], _bearer_token()
    # closed (no token configured) answers exactly as a missing token does
    if expected is None or presented is None:
        response = json_error(401, "invalid_request", "A bearer token is required.")
        response.headers["WWW-Authenticate"] = CHALLENGE
        return response
    if not _same(presented, expected):
        return json_error(403, "access_denied", "The bearer token is not the metrics token.")
    return None


def _bearer_token() -> str | None:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def _same(presented: str, expected: str) -> bool:
    """Constant time, and of equal length whatever was sent: digests are compared."""
    return hmac.compare_digest(hashlib.sha256(presented.encode()).digest(),
                               hashlib.sha256(expected.encode()).digest())
