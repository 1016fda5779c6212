"""Private keys at rest: AES-256-GCM under the key-encryption key (KEK).

The key id is bound as associated data, so a ciphertext moved onto another
row fails to decrypt instead of silently signing under the wrong ``kid``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

NONCE_BYTES = 12


class KeyDecryptionError(Exception):
    """The KEK does not open a stored key: wrong or rotated-away KEK."""


def encrypt_private_key(kek: bytes, kid: str, plaintext: bytes) -> bytes:
    nonce = os.urandom(NONCE_BYTES)
    return nonce + AESGCM(kek).encrypt(nonce, plaintext, kid.encode())


def decrypt_private_key(keks: Sequence[bytes], kid: str, blob: bytes) -> bytes:
    """Open ``blob`` with the current KEK or, during a KEK rotation, a previous one."""
    nonce, ciphertext = blob[:NONCE_BYTES], blob[NONCE_BYTES:]
    for kek in keks:
        try:
            return AESGCM(kek).decrypt(nonce, ciphertext, kid.encode())
        except InvalidTag:
            continue
    raise KeyDecryptionError(
        f"signing key {kid} cannot be decrypted with the configured key-encryption key"
        + (" or any previous one" if len(keks) > 1 else "")
        + ": restore the key-encryption key the keys were stored with"
    )
