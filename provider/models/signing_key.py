"""Signing keys: public JWK in the clear, private part AES-GCM encrypted."""

from __future__ import annotations

from sqlalchemy import JSON, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from .. import clock
from ..extensions import db
from .types import EpochSeconds

NEXT, ACTIVE, RETIRED = "next", "active", "retired"


class SigningKey(db.Model):
    __tablename__ = "signing_keys"

    kid: Mapped[str] = mapped_column(String(64), primary_key=True)
    alg: Mapped[str] = mapped_column(String(16), nullable=False)
    state: Mapped[str] = mapped_column(String(16), nullable=False)
    public_jwk: Mapped[dict] = mapped_column(JSON, nullable=False)
    # nonce (12 bytes) || AES-256-GCM ciphertext of the private JWK, kid as associated data
    private_jwk_encrypted: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    created_at: Mapped[int] = mapped_column(EpochSeconds, default=clock.now, nullable=False)
    activated_at: Mapped[int | None] = mapped_column(EpochSeconds)
    retired_at: Mapped[int | None] = mapped_column(EpochSeconds)
