"""Discovery documents and the JWKS: public, cacheable, CORS-enabled."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass

from flask import Blueprint, Response, current_app, request
from werkzeug.exceptions import MethodNotAllowed, NotFound

from ..endpoint_policy import JSON, CorsPolicy, EndpointPolicy, endpoint_for
from ..http_guards import allow_replay
from ..keys import key_ring, key_ring_currency, public_jwks
from ..oauth.metadata import openid_configuration, server_metadata

bp = Blueprint("discovery", __name__)
# public documents any web origin may read (OIDC Discovery §4, RFC 8414 §3)
POLICY = EndpointPolicy(errors=JSON, cors=CorsPolicy())


CACHE_KEY = "provider_public_documents"


@dataclass(frozen=True)
class PublicDocument:
    """A serialised document and its ETag, valid while the key ring is the same."""

    ring: object
    body: bytes
    etag: str


def _document(name: str, build: Callable[[], dict]) -> PublicDocument:
    """The document as last serialised, rebuilt only when the key ring changed: the
    documents depend on nothing else that can change while the app runs (the keys
    are re-read at most every PROVIDER_KEY_CACHE_SECONDS)."""
    ring = key_ring()
    cache = current_app.extensions.setdefault(CACHE_KEY, {})
    cached = cache.get(name)
    if cached is None or cached.ring is not ring:
        body = json.dumps(build(), sort_keys=True, separators=(",", ":")).encode()
        cached = PublicDocument(ring, body, hashlib.sha256(body).hexdigest()[:32])
        cache[name] = cached
    return cached


def _public_json(name: str, build: Callable[[], dict]) -> Response:
    document = _document(name, build)
    response = Response(document.body, mimetype="application/json")
    response.set_etag(document.etag)
    max_age = int(current_app.config["PROVIDER_DISCOVERY_MAX_AGE"])
    response.headers["Cache-Control"] = f"public, max-age={max_age}"
    # the same bytes answer every plain GET until the keys are read again
    allow_replay(request.environ, *key_ring_currency())
    return response.make_conditional(request)


@bp.route("/.well-known/openid-configuration", provide_automatic_options=False)
def openid_configuration_document():
    return _public_json("openid-configuration", openid_configuration)


@bp.route("/.well-known/oauth-authorization-server", provide_automatic_options=False)
def authorization_server_metadata():
    return _public_json("oauth-authorization-server", server_metadata)


@bp.route("/.well-known/jwks.json", provide_automatic_options=False)
def jwks():
    return _public_json("jwks", public_jwks)


# Every method: an unknown document is a 404 whatever is asked of it. No trailing-slash
# redirect either: its Location would take the host from the request's Host header.
ANY_METHOD = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
DOCUMENT_METHODS = ["GET", "HEAD", "OPTIONS"]


@bp.route("/.well-known/", defaults={"document": ""}, methods=ANY_METHOD,
          strict_slashes=False, provide_automatic_options=False)
@bp.route("/.well-known/<path:document>", methods=ANY_METHOD,
          provide_automatic_options=False)
def unknown_document(document: str):
    """The well-known namespace (RFC 8615) is ours: its unknown documents are JSON 404s,
    and a known document asked for with another method than GET is a 405."""
    endpoint = endpoint_for("GET")
    if endpoint not in (None, request.endpoint):
        if request.method == "OPTIONS":  # the documents' own OPTIONS answer
            return Response(status=200, headers={"Allow": ", ".join(DOCUMENT_METHODS)})
        raise MethodNotAllowed(valid_methods=DOCUMENT_METHODS)
    raise NotFound()
