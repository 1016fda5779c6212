"""Signing keys for the operator: rotate, revoke, rewrap under the KEK, list.

Each command that changes keys is one ``key_transaction``: alone among key
operations on every process (another command, ``provider init``, the rotation job)."""

from __future__ import annotations

from ..extensions import db
from ..keys.lifecycle import (
    KeyLifecycleError,
    key_transaction,
    revoke_key,
    rewrap_keys,
    rotate,
)
from ..models import SigningKey
from .errors import ManagementError


def rotate_keys(force: bool) -> list[str]:
    with key_transaction():
        return rotate(force=force).lines


def revoke_signing_key(kid: str) -> list[str]:
    try:
        with key_transaction():
            return revoke_key(kid)
    except KeyLifecycleError as exc:
        raise ManagementError(str(exc)) from None


def rewrap_signing_keys() -> int:
    with key_transaction():
        return rewrap_keys()


def list_keys() -> list[dict]:
    rows = db.session.scalars(db.select(SigningKey).order_by(SigningKey.created_at)).all()
    return [{"kid": k.kid, "alg": k.alg, "state": k.state, "created_at": k.created_at,
             "activated_at": k.activated_at, "retired_at": k.retired_at} for k in rows]
