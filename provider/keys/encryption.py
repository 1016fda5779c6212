"""Private keys at rest: AES-256-GCM under the key-encryption key (KEK).

The key id is bound as associated data, so a ciphertext moved onto another
row fails to decrypt instead of silently signing under the wrong ``kid``.
"""

from __future__ import annotations

import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

NONCE_BYTES = 12


class KeyDecryptionError(Exception):
    """The KEK does not open a stored key: wrong or rotated-away KEK."""


def encrypt_private_key(kek: bytes, kid: str, plaintext: bytes) -> bytes:
    nonce = os.urandom(NONCE_BYTES)
    return nonce + AESGCM(kek).encrypt(nonce, plaintext, kid.encode())


def decrypt_private_key(kek: bytes, kid: str, blob: bytes) -> bytes:
    nonce, ciphertext = blob[:NONCE_BYTES], blob[NONCE_BYTES:]
    try:
        return AESGCM(kek).decrypt(nonce, ciphertext, kid.encode())
    except InvalidTag:
        raise KeyDecryptionError(
            f"signing key {kid} cannot be decrypted with the configured key-encryption key"
        ) from None
