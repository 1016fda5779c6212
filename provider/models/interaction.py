"""A pending authorization request waiting for the user to log in or consent."""

from __future__ import annotations

from sqlalchemy import JSON, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db


class Interaction(db.Model):
    __tablename__ = "interactions"
    __table_args__ = (Index("ix_interactions_expires_at", "expires_at"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    params: Mapped[dict] = mapped_column(JSON, nullable=False)
    created_at: Mapped[int] = mapped_column(Integer, nullable=False)
    expires_at: Mapped[int] = mapped_column(Integer, nullable=False)
    logged_in_at: Mapped[int | None] = mapped_column(Integer)
    consented_scope: Mapped[str | None] = mapped_column(Text)
