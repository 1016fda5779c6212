"""Failed-login counters (RFC 6749 §10.10): one row per throttled key, shared by
every worker. ``key`` is a digest naming what is counted (an account, or an
account seen from one client address), never the raw username or address."""

from __future__ import annotations

from sqlalchemy import Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .types import EpochSeconds


class LoginThrottle(db.Model):
    __tablename__ = "login_throttles"
    __table_args__ = (Index("ix_login_throttles_account", "account"),)

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    account: Mapped[str] = mapped_column(String(64), nullable=False)  # digest of the username
    failures: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    last_failure_at: Mapped[int] = mapped_column(EpochSeconds, nullable=False)
    blocked_until: Mapped[int] = mapped_column(EpochSeconds, nullable=False, default=0)
