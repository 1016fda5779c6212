"""Instance secrets: the secret key and key-encryption key files (0600), and KEK decoding."""

from __future__ import annotations

import base64
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .validation import ConfigurationError

SECRET_KEY_FILE = "secret_key"  # noqa: S105 - a file name
KEK_FILE = "key_encryption_key"


@dataclass(frozen=True)
class InstanceSecrets:
    secret_key: str
    key_encryption_key: bytes
    previous_key_encryption_keys: tuple[bytes, ...] = ()


def create_instance_secrets(instance: Path,
                            names: tuple[str, ...] = (SECRET_KEY_FILE, KEK_FILE)) -> list[str]:
    """Create the secret key and key-encryption key files (0600) if absent.

    Returns the names of the files created. Creation is exclusive, so two
    processes initialising at once end up with the same single file.
    """
    instance.mkdir(parents=True, exist_ok=True)
    created = []
    for name in names:
        value = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode().rstrip("=")
        try:
            fd = os.open(instance / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            continue
        with os.fdopen(fd, "w") as handle:
            handle.write(value + "\n")
        created.append(name)
    return created


def read_instance_secrets(config: dict[str, Any], instance: Path) -> InstanceSecrets | None:
    """Read the secret key and KEK; None when the instance is not initialised."""
    secret_key = config.get("SECRET_KEY") or _read_secret_file(instance / SECRET_KEY_FILE)
    kek_text = config.get("PROVIDER_KEY_ENCRYPTION_KEY") or _read_secret_file(instance / KEK_FILE)
    if not secret_key or not kek_text:
        return None
    listed = config.get("PROVIDER_PREVIOUS_KEY_ENCRYPTION_KEYS", ())
    previous = tuple(decode_kek(text) for text in listed)
    return InstanceSecrets(secret_key=secret_key, key_encryption_key=decode_kek(kek_text),
                           previous_key_encryption_keys=previous)


def decode_kek(text: str) -> bytes:
    """A KEK is 32 bytes, written as unpadded base64url."""
    try:
        raw = base64.urlsafe_b64decode(text.strip() + "=" * (-len(text.strip()) % 4))
    except (ValueError, TypeError):
        raise ConfigurationError("the key-encryption key is not valid base64url") from None
    if len(raw) != 32:
        raise ConfigurationError(
            f"the key-encryption key must be 32 bytes (base64url), not {len(raw)} bytes"
        )
    return raw


def _read_secret_file(path: Path) -> str | None:
    if not path.exists():
        return None
    mode = path.stat().st_mode & 0o777
    if mode & 0o077:
        raise ConfigurationError(f"{path} is readable by others (mode {mode:o}); chmod 600 it")
    return path.read_text().strip() or None
