"""Digests of high-entropy credentials: client secrets, codes, refresh tokens.

These values are at least 256 bits of randomness, so a fast SHA-256 is as
strong as a slow password hash for them and costs microseconds instead of
~100 ms per token request. Only the digest is stored; comparison is
constant-time.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

CREDENTIAL_BYTES = 32


def new_credential() -> str:
    """A fresh credential with 256 bits of randomness, URL-safe."""
    return secrets.token_urlsafe(CREDENTIAL_BYTES)


def digest(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()


def matches(value: str, stored_digest: str | None) -> bool:
    """Constant-time check of ``value`` against a stored digest (None never matches)."""
    candidate = digest(value)
    return hmac.compare_digest(candidate, stored_digest or "0" * len(candidate)) and bool(
        stored_digest
    )
