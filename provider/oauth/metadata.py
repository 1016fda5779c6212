"""Discovery: OpenID Provider Metadata and RFC 8414 server metadata.

Only what is implemented is advertised.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import current_app, url_for

from ..keys import key_ring
from . import client_auth
from .grants import GRANTS, grant_types
from .introspection import IntrospectionEndpoint
from .revocation import RevocationEndpoint
from .scopes import OPENID_SCOPES


def _url(endpoint: str) -> str:
    """The issuer's origin and the endpoint's path, which begins with the issuer's own
    path (``http_guards.IssuerMount``): nothing comes from the request's headers."""
    issuer = urlsplit(current_app.config["PROVIDER_ISSUER"])
    return f"{issuer.scheme}://{issuer.netloc}{url_for(endpoint)}"


def _token_endpoint_auth_methods() -> list[str]:
    """The methods some grant accepts, in the order of the methods table."""
    accepted = {name for grant in GRANTS for name in grant.auth_methods}
    return [name for name in client_auth.method_names() if name in accepted]


def server_metadata() -> dict:
    """RFC 8414 authorization server metadata (also the base of OIDC discovery)."""
    signing_algs = key_ring().algorithms
    return {
        "issuer": current_app.config["PROVIDER_ISSUER"],
        "authorization_endpoint": _url("authorize.authorize"),
        "token_endpoint": _url("token.token"),
        "jwks_uri": _url("discovery.jwks"),
        "scopes_supported": list(OPENID_SCOPES),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": grant_types(),
        "token_endpoint_auth_methods_supported": _token_endpoint_auth_methods(),
        "code_challenge_methods_supported": ["S256"],
        "revocation_endpoint": _url("revocation.revoke"),
        "revocation_endpoint_auth_methods_supported": list(RevocationEndpoint.CLIENT_AUTH_METHODS),
        "introspection_endpoint": _url("introspection.introspect"),
        "introspection_endpoint_auth_methods_supported": list(
            IntrospectionEndpoint.CLIENT_AUTH_METHODS),
        "introspection_signing_alg_values_supported": signing_algs,  # RFC 9701 §7
        "authorization_response_iss_parameter_supported": True,
        "access_token_signing_alg_values_supported": signing_algs,
        "service_documentation": current_app.config["PROVIDER_ISSUER"] + "/",
    }


def openid_configuration() -> dict:
    """OpenID Connect Discovery 1.0 §3."""
    metadata = server_metadata()
    metadata.update(
        {
            "userinfo_endpoint": _url("userinfo.userinfo"),
            "end_session_endpoint": _url("logout.end_session"),
            "backchannel_logout_supported": True,
            "backchannel_logout_session_supported": True,
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": key_ring().algorithms,
            "claims_supported": [
                "sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "at_hash", "sid",
                "amr", "name", "preferred_username", "email", "email_verified",
            ],
            "claims_parameter_supported": False,
            "request_parameter_supported": False,
            "request_uri_parameter_supported": False,
            "require_request_uri_registration": False,
            "prompt_values_supported": ["none", "login", "consent"],
            "claim_types_supported": ["normal"],
        }
    )
    return metadata
