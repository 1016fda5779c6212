"""Signing keys: generation, encryption at rest, the cached key set, JWKS."""

from .keyset import (
    SUPPORTED_ALGORITHMS,
    KeyRing,
    create_signing_key,
    ensure_signing_keys,
    key_ring,
    public_jwks,
)

__all__ = [
    "SUPPORTED_ALGORITHMS",
    "KeyRing",
    "create_signing_key",
    "ensure_signing_keys",
    "key_ring",
    "public_jwks",
]
