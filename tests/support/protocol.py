"""What a client computes on its side of the protocol: a PKCE pair (RFC 7636),
its credentials as it registered them (HTTP Basic or the form's ``client_id``),
the query of a redirect, and base64url without padding."""

from __future__ import annotations

import base64
import hashlib
import secrets
from urllib.parse import parse_qs, urlsplit


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).decode().rstrip("=")


def basic_auth(client_id: str, secret: str) -> dict:
    raw = f"{client_id}:{secret}".encode()
    return {"Authorization": "Basic " + base64.b64encode(raw).decode()}


def client_auth(caller: dict) -> tuple[dict, dict]:
    """Headers and form fields that authenticate ``caller`` as it registered."""
    if caller.get("client_secret"):
        return basic_auth(caller["client_id"], caller["client_secret"]), {}
    return {}, {"client_id": caller["client_id"]}


def query_of(location: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")
