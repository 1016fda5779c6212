"""Client metadata rules: one table used wherever a client is registered or
changed (the CLI today; RFC 7591 registration and a developer console next).

Each rule checks one field and answers a plain message and the RFC 7591 §3.2.2
error code: redirect URIs (RFC 6749 §3.1.2, RFC 8252 §7, RFC 9700 §2.1), grant
and auth-method consistency (RFC 7591 §2.1), post-logout and back-channel logout
URIs (OIDC RP-Initiated Logout §3.1, Back-Channel Logout §2.2), the ID-token
algorithm (OIDC Registration §2) and scope names (RFC 6749 §3.3). New rules are
new rows, never a second rule set.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from ..config import is_loopback_host
from ..models.client import PUBLIC_AUTH_METHOD
from ..outbound import uri_problem
from . import client_auth
from .grants import BY_TYPE, grant_types

INVALID_REDIRECT_URI = "invalid_redirect_uri"
INVALID_CLIENT_METADATA = "invalid_client_metadata"
DEFAULT_GRANT_TYPES = ("authorization_code", "refresh_token")
DEFAULT_CONFIDENTIAL_METHOD = "client_secret_basic"
DEFAULT_ID_TOKEN_ALG = "RS256"  # noqa: S105 - an algorithm name
# scope-token = 1*( %x21 / %x23-5B / %x5D-7E ), RFC 6749 §3.3
SCOPE_TOKEN = re.compile(r"^[\x21\x23-\x5b\x5d-\x7e]+$")


class ClientMetadataError(ValueError):
    """A client registration that breaks a rule: ``code`` for RFC 7591, the
    message for a person."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class ClientMetadata:
    """A client's registration as the rules see it, defaults applied."""

    client_name: str
    redirect_uris: tuple[str, ...]
    token_endpoint_auth_method: str
    grant_types: tuple[str, ...]
    scope: str
    public: bool = False
    post_logout_redirect_uris: tuple[str, ...] = ()
    backchannel_logout_uri: str | None = None
    backchannel_logout_session_required: bool = False
    id_token_signed_response_alg: str = DEFAULT_ID_TOKEN_ALG


def with_defaults(*, name: str, redirect_uris: Sequence[str], public: bool, scope: str,
                  grant_types: Sequence[str] = (), auth_method: str | None = None,
                  post_logout_redirect_uris: Sequence[str] = (),
                  id_token_alg: str | None = None, backchannel_logout_uri: str | None = None,
                  backchannel_logout_session_required: bool = False) -> ClientMetadata:
    """Metadata with what the registrant left out filled in, duplicates dropped."""
    return ClientMetadata(
        client_name=name.strip(),
        redirect_uris=tuple(dict.fromkeys(redirect_uris)),
        public=public,
        token_endpoint_auth_method=auth_method or (
            PUBLIC_AUTH_METHOD if public else DEFAULT_CONFIDENTIAL_METHOD),
        grant_types=tuple(dict.fromkeys(grant_types or DEFAULT_GRANT_TYPES)),
        scope=" ".join(dict.fromkeys(scope.split())),
        post_logout_redirect_uris=tuple(dict.fromkeys(post_logout_redirect_uris)),
        backchannel_logout_uri=backchannel_logout_uri or None,
        backchannel_logout_session_required=backchannel_logout_session_required,
        id_token_signed_response_alg=id_token_alg or DEFAULT_ID_TOKEN_ALG,
    )


# --- the rules: each answers a problem or None -------------------------------------------


def redirect_uri_problem(uri: str) -> str | None:
    """Absolute, no fragment; https, loopback http, or a private-use scheme (RFC 8252)."""
    parts = urlsplit(uri)
    if not parts.scheme or parts.fragment or "#" in uri:
        return f"redirect URI must be absolute without a fragment: {uri!r}"
    if parts.scheme in ("http", "https"):
        if not parts.hostname:
            return f"redirect URI has no host: {uri!r}"
        if parts.scheme == "http" and not is_loopback_host(parts.hostname):
            return f"http redirect URIs are allowed on loopback only: {uri!r}"
    elif "." not in parts.scheme:
        return ("custom-scheme redirect URIs must use a reverse-domain scheme "
                f"(RFC 8252 §7.1): {uri!r}")
    return None


def _first(problems) -> str | None:
    return next((problem for problem in problems if problem), None)


def _name(metadata: ClientMetadata, algorithms: Sequence[str]) -> str | None:
    if not metadata.client_name or len(metadata.client_name) > 200:
        return "client name must be 1-200 characters"
    return None


def _redirect_uris(metadata: ClientMetadata, algorithms: Sequence[str]) -> str | None:
    return _first(redirect_uri_problem(uri) for uri in metadata.redirect_uris)


def _post_logout_redirect_uris(metadata: ClientMetadata,
                               algorithms: Sequence[str]) -> str | None:
    return _first(redirect_uri_problem(uri) for uri in metadata.post_logout_redirect_uris)


def _grant_types(metadata: ClientMetadata, algorithms: Sequence[str]) -> str | None:
    for grant in metadata.grant_types:
        if grant not in BY_TYPE:
            return f"unknown grant type {grant!r}; one of {', '.join(grant_types())}"
    return None


def _auth_method(metadata: ClientMetadata, algorithms: Sequence[str]) -> str | None:
    method = metadata.token_endpoint_auth_method
    if metadata.public and method != PUBLIC_AUTH_METHOD:
        return f"a public client authenticates with {PUBLIC_AUTH_METHOD!r}"
    confidential = client_auth.method_names(public=False)
    if not metadata.public and method not in confidential:
        return f"auth method must be one of {', '.join(confidential)}"
    return None


def _grants_for_public_clients(metadata: ClientMetadata,
                               algorithms: Sequence[str]) -> str | None:
    if metadata.public:
        for grant in metadata.grant_types:
            if not BY_TYPE[grant].public_clients:
                return f"{grant} needs a confidential client"
    return None


def _backchannel_logout_uri(metadata: ClientMetadata, algorithms: Sequence[str]) -> str | None:
    uri = metadata.backchannel_logout_uri
    if not uri:
        return None
    problem = uri_problem(uri)  # else every delivery would fail
    if problem:
        return f"the back-channel logout URI {problem}: {uri!r}"
    problem = redirect_uri_problem(uri)
    if problem:
        return problem
    if urlsplit(uri).scheme not in ("http", "https"):
        return "the back-channel logout URI must be http(s)"
    return None


def _id_token_alg(metadata: ClientMetadata, algorithms: Sequence[str]) -> str | None:
    if metadata.id_token_signed_response_alg not in algorithms:
        return f"ID-token algorithm must be one of {', '.join(algorithms)}"
    return None


def _scope(metadata: ClientMetadata, algorithms: Sequence[str]) -> str | None:
    bad = [name for name in metadata.scope.split() if not SCOPE_TOKEN.match(name)]
    return f"invalid scope name: {bad[0]!r}" if bad else None


@dataclass(frozen=True)
class Rule:
    field: str
    problem: Callable[[ClientMetadata, Sequence[str]], str | None]
    code: str


# In order: the first broken rule is the one reported.
RULES: tuple[Rule, ...] = (
    Rule("client_name", _name, INVALID_CLIENT_METADATA),
    Rule("redirect_uris", _redirect_uris, INVALID_REDIRECT_URI),
    Rule("post_logout_redirect_uris", _post_logout_redirect_uris, INVALID_CLIENT_METADATA),
    Rule("grant_types", _grant_types, INVALID_CLIENT_METADATA),
    Rule("token_endpoint_auth_method", _auth_method, INVALID_CLIENT_METADATA),
    Rule("grant_types", _grants_for_public_clients, INVALID_CLIENT_METADATA),
    Rule("backchannel_logout_uri", _backchannel_logout_uri, INVALID_CLIENT_METADATA),
    Rule("id_token_signed_response_alg", _id_token_alg, INVALID_CLIENT_METADATA),
    Rule("scope", _scope, INVALID_CLIENT_METADATA),
)


def check_client_metadata(metadata: ClientMetadata, *, signing_algorithms: Sequence[str]) -> None:
    """Raise ``ClientMetadataError`` for the first rule the metadata breaks."""
    for rule in RULES:
        problem = rule.problem(metadata, signing_algorithms)
        if problem:
            raise ClientMetadataError(rule.code, problem)
