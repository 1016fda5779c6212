"""Signing keys: generation, encryption at rest, the cached key ring, JWKS,
and the lifecycle (next, active, retired) with rotation."""

from .keyset import (
    SUPPORTED_ALGORITHMS,
    KeyRing,
    create_signing_key,
    key_encryption_keys,
    key_ring,
    key_ring_currency,
    public_jwks,
)

__all__ = [
    "SUPPORTED_ALGORITHMS",
    "KeyRing",
    "create_signing_key",
    "key_encryption_keys",
    "key_ring",
    "key_ring_currency",
    "public_jwks",
]
