"""Discovery documents and the JWKS: public, cacheable, CORS-enabled."""

from __future__ import annotations

import hashlib
import json

from flask import Blueprint, Response, current_app, request
from werkzeug.exceptions import NotFound

from ..endpoint_policy import JSON, CorsPolicy, EndpointPolicy
from ..keys import public_jwks
from ..oauth.metadata import openid_configuration, server_metadata

bp = Blueprint("discovery", __name__)
# public documents any web origin may read (OIDC Discovery §4, RFC 8414 §3)
POLICY = EndpointPolicy(errors=JSON, cors=CorsPolicy())


def _public_json(document: dict) -> Response:
    body = json.dumps(document, sort_keys=True, separators=(",", ":"))
    etag = hashlib.sha256(body.encode()).hexdigest()[:32]
    response = Response(body, mimetype="application/json")
    response.set_etag(etag)
    max_age = int(current_app.config["PROVIDER_DISCOVERY_MAX_AGE"])
    response.headers["Cache-Control"] = f"public, max-age={max_age}"
    return response.make_conditional(request)


@bp.route("/.well-known/openid-configuration")
def openid_configuration_document():
    return _public_json(openid_configuration())


@bp.route("/.well-known/oauth-authorization-server")
def authorization_server_metadata():
    return _public_json(server_metadata())


@bp.route("/.well-known/jwks.json")
def jwks():
    return _public_json(public_jwks())


@bp.route("/.well-known/", defaults={"document": ""})
@bp.route("/.well-known/<path:document>")
def unknown_document(document: str):
    """The well-known namespace (RFC 8615) is ours: its unknown documents are JSON 404s."""
    raise NotFound()
