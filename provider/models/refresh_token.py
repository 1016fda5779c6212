"""Refresh tokens and their families (RFC 9700 §4.14.2).

A family is one authorization grant: created at the code exchange, it holds
every refresh token rotated from the first one. Only digests are stored.
"""

from __future__ import annotations

from sqlalchemy import Boolean, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .types import EpochSeconds, RowId


class RefreshTokenFamily(db.Model):
    __tablename__ = "refresh_token_families"
    __table_args__ = (
        Index("ix_refresh_token_families_user_id", "user_id"),
        Index("ix_refresh_token_families_sid", "sid"),
        Index("ix_refresh_token_families_code_id", "authorization_code_id"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    client_id: Mapped[str] = mapped_column(
        ForeignKey("clients.client_id", ondelete="CASCADE"), nullable=False
    )
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                         nullable=False)
    scope: Mapped[str] = mapped_column(Text, nullable=False)  # as granted; never widened
    # offline_access families outlive the browser session; the others end with ``sid``
    offline: Mapped[bool] = mapped_column(Boolean, nullable=False)
    sid: Mapped[str | None] = mapped_column(String(64))
    auth_time: Mapped[int] = mapped_column(EpochSeconds, nullable=False)
    authorization_code_id: Mapped[int | None] = mapped_column(RowId)
    created_at: Mapped[int] = mapped_column(EpochSeconds, nullable=False)
    expires_at: Mapped[int] = mapped_column(EpochSeconds, nullable=False)  # absolute
    revoked_at: Mapped[int | None] = mapped_column(EpochSeconds)
    revoked_reason: Mapped[str | None] = mapped_column(String(64))
    # as recorded at the code exchange, for the user's sessions page
    ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(400))


class RefreshToken(db.Model):
    __tablename__ = "refresh_tokens"
    __table_args__ = (
        Index("ix_refresh_tokens_family_id", "family_id"),
        Index("ix_refresh_tokens_expires_at", "expires_at"),
    )

    id: Mapped[int] = mapped_column(RowId, primary_key=True, autoincrement=True)
    token_digest: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    family_id: Mapped[str] = mapped_column(
        ForeignKey("refresh_token_families.id", ondelete="CASCADE"), nullable=False
    )
    client_id: Mapped[str] = mapped_column(String(64), nullable=False)  # for the atomic claim
    parent_id: Mapped[int | None] = mapped_column(RowId)
    issued_at: Mapped[int] = mapped_column(EpochSeconds, nullable=False)
    expires_at: Mapped[int] = mapped_column(EpochSeconds, nullable=False)  # idle expiry
    consumed_at: Mapped[int | None] = mapped_column(EpochSeconds)


class IssuedAccessToken(db.Model):
    """User access tokens by ``jti``, so that ending a family or a session can
    deny-list the access tokens still alive in it."""

    __tablename__ = "issued_access_tokens"
    __table_args__ = (
        Index("ix_issued_access_tokens_family_id", "family_id"),
        Index("ix_issued_access_tokens_expires_at", "expires_at"),
    )

    jti: Mapped[str] = mapped_column(String(64), primary_key=True)
    family_id: Mapped[str | None] = mapped_column(String(32))
    sid: Mapped[str | None] = mapped_column(String(64))
    client_id: Mapped[str] = mapped_column(String(64), nullable=False)
    user_id: Mapped[str] = mapped_column(String(36), nullable=False)
    expires_at: Mapped[int] = mapped_column(EpochSeconds, nullable=False)
