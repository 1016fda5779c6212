"""Client authentication at the token, revocation and introspection endpoints
(RFC 6749 §2.3, §3.2.1, §5.2): one detection step, then the method's check.

Replaces Authlib's lenient defaults (try each allowed method in turn): exactly
one method per request, the method must be the one the client registered, a
malformed Basic header is ``invalid_client`` rather than a crash, and every
failure answers 401 with ``WWW-Authenticate``. With a secret, unknown clients
cost the same digest comparison as known ones; every failure to authenticate says
the same, so the answer never tells which client ids exist or how they
authenticate.

``METHODS`` is the one table of methods: the detection step, Authlib's
registry, discovery and the client metadata rules all read it. A new method is
a module and an entry.
"""

from __future__ import annotations

from authlib.oauth2.rfc6749 import InvalidRequestError, OAuth2Request

from . import client_secret_basic, client_secret_post, none
from .method import MAX_CREDENTIAL_LENGTH, ClientAuthMethod, authentication_failed

METHODS: tuple[ClientAuthMethod, ...] = (
    client_secret_basic.METHOD,
    client_secret_post.METHOD,
    none.METHOD,  # last: what a request that presents no credential uses
)
BY_NAME = {method.name: method for method in METHODS}
NO_CREDENTIAL = METHODS[-1]


def method_names(*, public: bool = True) -> list[str]:
    """The methods' names in table order; without ``public``, only those that prove
    a credential (a grant or endpoint closed to public clients)."""
    return [m.name for m in METHODS if public or m.confidential]


def form_parameters() -> frozenset[str]:
    return frozenset(name for method in METHODS for name in method.parameters)


def detect_method(request: OAuth2Request) -> ClientAuthMethod:
    """The one method whose credentials the request carries (RFC 6749 §2.3: a client
    MUST NOT use more than one)."""
    presented = [method for method in METHODS if method.presented(request)]
    if len(presented) > 1:
        raise InvalidRequestError("Client credentials were sent in more than one place.")
    return presented[0] if presented else NO_CREDENTIAL


def presents_credential(request: OAuth2Request) -> bool:
    """Whether the request tries a method that proves a credential at all."""
    return "Authorization" in request.headers or any(
        method.confidential and method.presented(request) for method in METHODS)


def claimed_client_id(request: OAuth2Request, method: ClientAuthMethod) -> str:
    """The client id the request names, consistent across header and body."""
    client_id = method.client_id(request)
    body_id = request.form.get("client_id")
    if body_id is not None and body_id != client_id:
        raise InvalidRequestError("'client_id' differs from the authenticated client.")
    if not client_id:
        raise authentication_failed("Client authentication is required.")
    if len(client_id) > MAX_CREDENTIAL_LENGTH:
        raise authentication_failed()
    return client_id


def register_methods(server) -> None:
    """Hand each method's check to Authlib's registry of client auth methods."""
    for method in METHODS:
        server.register_client_auth_method(method.name, method.authenticate)


def check_allowed(method: ClientAuthMethod, allowed: list[str]) -> None:
    if method.name not in allowed:
        raise authentication_failed()


__all__ = [
    "BY_NAME", "METHODS", "ClientAuthMethod",
    "authentication_failed", "check_allowed", "claimed_client_id", "detect_method",
    "form_parameters", "method_names", "presents_credential", "register_methods",
]
