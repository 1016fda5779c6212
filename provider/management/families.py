"""Refresh-token families: one family's lineage, without any token."""

from __future__ import annotations

from ..extensions import db
from ..models import RefreshToken, RefreshTokenFamily
from .errors import ManagementError


def family_lineage(family_id: str) -> dict:
    """A refresh-token family and each token's issue and use times; never a token."""
    family = db.session.get(RefreshTokenFamily, family_id)
    if family is None:
        raise ManagementError(f"no refresh-token family {family_id!r}")
    tokens = db.session.scalars(db.select(RefreshToken).where(
        RefreshToken.family_id == family_id).order_by(RefreshToken.id)).all()
    return {
        "family_id": family.id, "client_id": family.client_id, "user_id": family.user_id,
        "scope": family.scope, "offline": family.offline, "sid": family.sid,
        "created_at": family.created_at, "expires_at": family.expires_at,
        "revoked_at": family.revoked_at, "revoked_reason": family.revoked_reason,
        "tokens": [{"id": t.id, "parent_id": t.parent_id, "issued_at": t.issued_at,
                    "expires_at": t.expires_at, "used_at": t.consumed_at} for t in tokens],
    }
