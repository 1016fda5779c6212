"""Leases: which process runs a background job right now, across workers and hosts."""

from __future__ import annotations

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .types import EpochSeconds


class Lease(db.Model):
    __tablename__ = "leases"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str | None] = mapped_column(String(128))
    expires_at: Mapped[int] = mapped_column(EpochSeconds, nullable=False, default=0)
