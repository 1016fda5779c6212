"""Signing keys for the operator: rotate, revoke, rewrap under the KEK, list."""

from __future__ import annotations

from ..database import writing
from ..extensions import db
from ..keys.lifecycle import KeyLifecycleError, revoke_key, rewrap_keys, rotate
from ..models import SigningKey
from .errors import ManagementError


@writing
def rotate_keys(force: bool) -> list[str]:
    report = rotate(force=force)
    db.session.commit()
    return report.lines


@writing
def revoke_signing_key(kid: str) -> list[str]:
    try:
        lines = revoke_key(kid)
    except KeyLifecycleError as exc:
        raise ManagementError(str(exc)) from None
    db.session.commit()
    return lines


@writing
def rewrap_signing_keys() -> int:
    count = rewrap_keys()
    db.session.commit()
    return count


def list_keys() -> list[dict]:
    rows = db.session.scalars(db.select(SigningKey).order_by(SigningKey.created_at)).all()
    return [{"kid": k.kid, "alg": k.alg, "state": k.state, "created_at": k.created_at,
             "activated_at": k.activated_at, "retired_at": k.retired_at} for k in rows]
