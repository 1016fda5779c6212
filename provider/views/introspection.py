"""The introspection endpoint (RFC 7662, RFC 9701). Read-only: no write lock."""

from __future__ import annotations

from flask import Blueprint

from ..endpoint_policy import JSON, EndpointPolicy
from ..oauth.introspection import IntrospectionEndpoint
from ..oauth.server import authorization_server

bp = Blueprint("introspection", __name__)
POLICY = EndpointPolicy(errors=JSON)


@bp.route("/introspect", methods=["POST"])
def introspect():
    return authorization_server().create_endpoint_response(IntrospectionEndpoint.ENDPOINT_NAME)
