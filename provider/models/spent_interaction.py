"""Interactions that finished after the user signed in or consented: their signed
value would otherwise still say "logged in here" or "consented here" to anyone
replaying it with a saved cookie. Only such interactions get a row (anonymous ones
carry nothing worth replaying), and the row lives as long as the value could."""

from __future__ import annotations

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .types import EpochSeconds


class SpentInteraction(db.Model):
    __tablename__ = "spent_interactions"
    __table_args__ = (Index("ix_spent_interactions_expires_at", "expires_at"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    expires_at: Mapped[int] = mapped_column(EpochSeconds, nullable=False)
