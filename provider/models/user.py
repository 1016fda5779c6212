"""End users. ``id`` is the stable, opaque ``sub`` of every token."""

from __future__ import annotations

import uuid

from sqlalchemy import JSON, Boolean, String
from sqlalchemy.orm import Mapped, mapped_column

from .. import clock
from ..extensions import db
from .types import EpochSeconds


def new_subject() -> str:
    return str(uuid.uuid4())


class User(db.Model):
    __tablename__ = "users"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_subject)
    username: Mapped[str] = mapped_column(String(150), unique=True, nullable=False)
    email: Mapped[str | None] = mapped_column(String(320))
    email_verified: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    name: Mapped[str | None] = mapped_column(String(200))
    roles: Mapped[list[str]] = mapped_column(JSON, default=list, nullable=False)
    password_hash: Mapped[str] = mapped_column(String(255), nullable=False)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    # Access tokens issued at or before this time are refused (set when disabled):
    # tokens that no family tracks cannot be deny-listed one by one.
    tokens_not_before: Mapped[int | None] = mapped_column(EpochSeconds)
    created_at: Mapped[int] = mapped_column(EpochSeconds, default=clock.now, nullable=False)

    def get_user_id(self) -> str:
        return self.id

    @property
    def active(self) -> bool:
        return not self.disabled
