"""Cross-cutting HTTP behaviour each blueprint declares: whether its errors are
JSON (RFC 6749 §5.2, RFC 6750 §3) or pages, and its CORS policy (Fetch
standard). Applied in one place (``init_app``), looked up by the blueprint
that serves the request, never by matching URL prefixes.

A CORS policy answers the origin to allow per request, so an endpoint can
later allow each client's registered origins, with credentials, instead of
``*``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from flask import Blueprint, Flask, Response, current_app, request
from werkzeug.exceptions import MethodNotAllowed, NotFound

EXTENSION_KEY = "provider_endpoint_policies"
JSON = "json"
PAGES = "pages"  # HTML, unless the client prefers JSON


def any_origin() -> str:
    return "*"


@dataclass(frozen=True)
class CorsPolicy:
    # the Access-Control-Allow-Origin value for this request, or None to allow none
    origin: Callable[[], str | None] = any_origin
    credentials: bool = False
    # answered to a preflight (OPTIONS); empty when the endpoint needs none
    preflight_methods: tuple[str, ...] = ()
    preflight_headers: tuple[str, ...] = ()
    preflight_max_age: int = 600


@dataclass(frozen=True)
class EndpointPolicy:
    errors: str = PAGES
    cors: CorsPolicy | None = None


DEFAULT = EndpointPolicy()


def register_blueprint(app: Flask, blueprint: Blueprint, policy: EndpointPolicy) -> None:
    app.register_blueprint(blueprint)
    app.extensions.setdefault(EXTENSION_KEY, {})[blueprint.name] = policy


def current_policy() -> EndpointPolicy:
    """The policy of the blueprint serving the request, also when routing failed
    because the method is not allowed (the path is the blueprint's all the same)."""
    name = request.blueprint or _blueprint_for_routing_error()
    return current_app.extensions.get(EXTENSION_KEY, {}).get(name, DEFAULT)


def _blueprint_for_routing_error() -> str | None:
    error = request.routing_exception
    if not isinstance(error, MethodNotAllowed) or not error.valid_methods:
        return None
    endpoint = endpoint_for(error.valid_methods[0])
    if endpoint is None:
        return None
    return endpoint.rpartition(".")[0] or None


def endpoint_for(method: str) -> str | None:
    """The endpoint the request's path reaches with ``method``, or None."""
    adapter = current_app.url_map.bind_to_environ(request.environ)
    try:
        endpoint, _ = adapter.match(method=method)
    except (MethodNotAllowed, NotFound):
        return None
    return endpoint


def wants_json() -> bool:
    if current_policy().errors == JSON:
        return True
    return request.accept_mimetypes.best == "application/json"


def apply_cors(response: Response) -> Response:
    cors = current_policy().cors
    origin = cors.origin() if cors is not None else None
    if origin is None:
        return response
    headers = response.headers
    headers["Access-Control-Allow-Origin"] = origin
    if origin != "*":
        headers.add("Vary", "Origin")
    if cors.credentials:
        headers["Access-Control-Allow-Credentials"] = "true"
    if request.method == "OPTIONS" and cors.preflight_methods:
        headers["Access-Control-Allow-Methods"] = ", ".join(cors.preflight_methods)
        if cors.preflight_headers:
            headers["Access-Control-Allow-Headers"] = ", ".join(cors.preflight_headers)
        headers["Access-Control-Max-Age"] = str(cors.preflight_max_age)
    return response


def init_app(app: Flask) -> None:
    app.after_request(apply_cors)
