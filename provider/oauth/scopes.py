"""Scopes: what they mean to a person, which claims they release, and the
scope policy shared by every grant (OIDC Core §5.4, RFC 6749 §3.3)."""

from __future__ import annotations

from authlib.oauth2.rfc6749 import InvalidScopeError
from authlib.oauth2.rfc6749.util import scope_to_list

from ..models import Client, User
from .descriptions import safe_description

OPENID_SCOPES = ("openid", "profile", "email", "offline_access")

# Shown on the consent page, in plain words.
DESCRIPTIONS = {
    "openid": "Confirm your identity (your account identifier)",
    "profile": "See your name and username",
    "email": "See your email address",
    "offline_access": "Stay connected to your account when you are not using the app",
}

MAX_SCOPE_LENGTH = 1024


def describe(scope: str) -> list[tuple[str, str]]:
    return [(name, DESCRIPTIONS.get(name, f"Access “{name}”")) for name in scope_to_list(scope)]


def check_requested_scope(client: Client, scope: str | None) -> None:
    """Refuse any requested scope the client is not registered for (no silent drop)."""
    if not scope:
        return
    if len(scope) > MAX_SCOPE_LENGTH:
        raise InvalidScopeError("The 'scope' parameter is too long.")
    allowed = set(scope_to_list(client.allowed_scope) or [])
    unknown = [name for name in scope_to_list(scope) if name not in allowed]
    if unknown:
        names = safe_description(" ".join(unknown))
        raise InvalidScopeError(f"The client may not request: {names}")


def service_scope(client: Client, requested: str | None) -> str:
    """The scope of a client_credentials token: only the client's non-OpenID scopes.

    Without a request, the client gets all of them (possibly none).
    """
    services = [s for s in scope_to_list(client.allowed_scope) or [] if s not in OPENID_SCOPES]
    if not requested:
        return " ".join(services)
    names = scope_to_list(requested)
    refused = [name for name in names if name not in services]
    if refused:
        names = safe_description(" ".join(refused))
        raise InvalidScopeError(f"Not a service scope of this client: {names}")
    return " ".join(names)


def user_claims(user: User, scope: str) -> dict:
    """The user's claims released by ``scope`` (ID token and UserInfo alike)."""
    names = set(scope_to_list(scope) or [])
    claims: dict = {"sub": user.id}
    if "profile" in names:
        claims["preferred_username"] = user.username
        if user.name:
            claims["name"] = user.name
    if "email" in names and user.email:
        claims["email"] = user.email
        claims["email_verified"] = bool(user.email_verified)
    return claims


