"""The shared secret check behind client_secret_basic and client_secret_post
(RFC 6749 §2.3.1): digests only, constant time, and the same work for unknown
clients as for known ones, so timing never tells which client ids exist."""

from __future__ import annotations

from ... import digests
from ...models import Client
from ..client_cache import current_client
from .method import MAX_CREDENTIAL_LENGTH


def client_with_secret(client_id: str | None, secret: str | None) -> Client | None:
    """The enabled client ``client_id`` if ``secret`` is its secret, else None."""
    if not client_id or secret is None or len(secret) > MAX_CREDENTIAL_LENGTH:
        return None
    client = current_client(client_id)
    secret_ok = digests.matches(secret, client.secret_digest if client else None)
    if client is None or client.disabled or not secret_ok:
        return None
    return client
