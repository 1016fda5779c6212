"""Deny-list entries that could not reach Redis yet: written in the same
transaction as the revocation that made them, consulted by every token check
beside Redis, and pushed to Redis by a background job until it takes them."""

from __future__ import annotations

from sqlalchemy import Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .types import EpochSeconds


class PendingDenial(db.Model):
    __tablename__ = "pending_denials"
    __table_args__ = (Index("ix_pending_denials_expires_at", "expires_at"),)

    jti: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[int] = mapped_column(EpochSeconds, nullable=False)
    reason: Mapped[str] = mapped_column(String(64), nullable=False)
    created_at: Mapped[int] = mapped_column(EpochSeconds, nullable=False)
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
