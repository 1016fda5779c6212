"""The revocation endpoint (RFC 7009). One writing transaction per request,
committed only when the answer is 200."""

from __future__ import annotations

from flask import Blueprint

from ..database import atomic_view
from ..endpoint_policy import JSON, EndpointPolicy
from ..oauth.revocation import RevocationEndpoint
from ..oauth.server import authorization_server

bp = Blueprint("revocation", __name__)
POLICY = EndpointPolicy(errors=JSON)


@bp.route("/revoke", methods=["POST"])
@atomic_view(commit_when=lambda response: response.status_code == 200)
def revoke():
    response = authorization_server().create_endpoint_response(RevocationEndpoint.ENDPOINT_NAME)
    if response.status_code == 200:
        del response.headers["Content-Type"]  # the body is empty (RFC 7009 §2.2)
    return response
