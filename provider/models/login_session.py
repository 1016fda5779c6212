"""Provider sessions: one per browser login; ``sid`` appears in ID tokens."""

from __future__ import annotations

import secrets

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .types import EpochSeconds


def new_sid() -> str:
    return secrets.token_urlsafe(24)


class LoginSession(db.Model):
    __tablename__ = "login_sessions"
    __table_args__ = (Index("ix_login_sessions_user_id", "user_id"),)

    sid: Mapped[str] = mapped_column(String(64), primary_key=True, default=new_sid)
    user_id: Mapped[str] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), nullable=False
    )
    auth_time: Mapped[int] = mapped_column(EpochSeconds, nullable=False)
    expires_at: Mapped[int] = mapped_column(EpochSeconds, nullable=False)
    ended_at: Mapped[int | None] = mapped_column(EpochSeconds)
    ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(400))
