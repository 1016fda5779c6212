"""Access tokens recalled before their ``exp``, by ``jti``; rows expire with the token."""

from __future__ import annotations

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .types import EpochSeconds


class DeniedAccessToken(db.Model):
    __tablename__ = "denied_access_tokens"
    __table_args__ = (Index("ix_denied_access_tokens_expires_at", "expires_at"),)

    jti: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[int] = mapped_column(EpochSeconds, nullable=False)
    reason: Mapped[str] = mapped_column(String(64), nullable=False)
