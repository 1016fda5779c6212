"""The back-channel logout outbox: one row per ended session and client, kept
until delivered (or given up), so a restart loses no logout."""

from __future__ import annotations

from sqlalchemy import Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .types import EpochSeconds, RowId

PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"


class LogoutDelivery(db.Model):
    __tablename__ = "logout_deliveries"
    __table_args__ = (
        UniqueConstraint("sid", "client_id", name="uq_logout_deliveries_sid_client"),
        Index("ix_logout_deliveries_due", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(RowId, primary_key=True, autoincrement=True)
    sid: Mapped[str] = mapped_column(String(64), nullable=False)
    client_id: Mapped[str] = mapped_column(String(64), nullable=False)
    user_id: Mapped[str] = mapped_column(String(36), nullable=False)
    created_at: Mapped[int] = mapped_column(EpochSeconds, nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default=PENDING)
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    next_attempt_at: Mapped[int] = mapped_column(EpochSeconds, nullable=False)
    last_attempt_at: Mapped[int | None] = mapped_column(EpochSeconds)
    last_error: Mapped[str | None] = mapped_column(Text)
    delivered_at: Mapped[int | None] = mapped_column(EpochSeconds)
