"""Authorization codes: stored as digests, single-use, bound to client,
redirect URI and PKCE challenge (RFC 6749 §4.1.2, RFC 7636, RFC 9700 §4.5)."""

from __future__ import annotations

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .types import EpochSeconds, RowId


class AuthorizationCode(db.Model):
    __tablename__ = "authorization_codes"
    __table_args__ = (Index("ix_authorization_codes_expires_at", "expires_at"),)

    id: Mapped[int] = mapped_column(RowId, primary_key=True, autoincrement=True)
    code_digest: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    client_id: Mapped[str] = mapped_column(
        ForeignKey("clients.client_id", ondelete="CASCADE"), nullable=False
    )
    user_id: Mapped[str] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), nullable=False
    )
    redirect_uri: Mapped[str | None] = mapped_column(Text)  # as sent; None if omitted
    scope: Mapped[str] = mapped_column(Text, nullable=False)
    nonce: Mapped[str | None] = mapped_column(Text)
    code_challenge: Mapped[str | None] = mapped_column(String(128))
    code_challenge_method: Mapped[str | None] = mapped_column(String(10))
    auth_time: Mapped[int] = mapped_column(EpochSeconds, nullable=False)
    sid: Mapped[str | None] = mapped_column(String(64))
    issued_at: Mapped[int] = mapped_column(EpochSeconds, nullable=False)
    expires_at: Mapped[int] = mapped_column(EpochSeconds, nullable=False)
    consumed_at: Mapped[int | None] = mapped_column(EpochSeconds)
    # what the first redemption issued, so that a replay can revoke it
    issued_access_jti: Mapped[str | None] = mapped_column(String(64))
    issued_access_expires_at: Mapped[int | None] = mapped_column(EpochSeconds)

    # --- what Authlib's grant and OpenID extension read ----------------------------

    def get_redirect_uri(self) -> str | None:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope

    def get_nonce(self) -> str | None:
        return self.nonce

    def get_auth_time(self) -> int:
        return self.auth_time

    def get_acr(self) -> None:
        return None

    def get_amr(self) -> list[str]:
        return ["pwd"]
