"""none: a public client names itself with ``client_id`` and proves nothing
(RFC 6749 §2.1, §3.2.1); PKCE binds its code instead (RFC 7636)."""

from __future__ import annotations

from authlib.oauth2.rfc6749 import OAuth2Request

from ...models import Client
from ..client_cache import current_client
from .method import ClientAuthMethod


def presented(request: OAuth2Request) -> bool:
    """Never detected on its own: it is what a request with no credential uses."""
    return False


def client_id(request: OAuth2Request) -> str | None:
    return request.form.get("client_id")


def authenticate(query_client, request: OAuth2Request) -> Client | None:
    client = current_client(request.form["client_id"])
    return client if client is not None and not client.disabled else None


METHOD = ClientAuthMethod(
    name="none", confidential=False, parameters=("client_id",),
    presented=presented, client_id=client_id, authenticate=authenticate)
