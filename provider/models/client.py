"""Registered OAuth clients and Authlib's ``ClientMixin`` contract on them."""

from __future__ import annotations

from authlib.oauth2.rfc6749 import ClientMixin
from authlib.oauth2.rfc6749.util import scope_to_list
from sqlalchemy import JSON, Boolean, Integer, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column

from .. import clock, digests
from ..extensions import db
from .types import EpochSeconds

PUBLIC_AUTH_METHOD = "none"  # RFC 7591 §2: a public client proves nothing


class Client(db.Model, ClientMixin):
    __tablename__ = "clients"

    client_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    # HMAC-SHA-256 of the secret under the server pepper; None for public clients
    secret_digest: Mapped[str | None] = mapped_column(String(128))
    token_endpoint_auth_method: Mapped[str] = mapped_column(String(40), nullable=False)
    redirect_uris: Mapped[list[str]] = mapped_column(JSON, default=list, nullable=False)
    post_logout_redirect_uris: Mapped[list[str]] = mapped_column(JSON, default=list, nullable=False)
    grant_types: Mapped[list[str]] = mapped_column(JSON, default=list, nullable=False)
    allowed_scope: Mapped[str] = mapped_column(Text, default="", nullable=False)
    id_token_signed_response_alg: Mapped[str] = mapped_column(
        String(20), default="RS256", nullable=False
    )
    trusted: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    # Access tokens issued at or before this time are refused (set when disabled):
    # tokens that no family tracks cannot be deny-listed one by one.
    tokens_not_before: Mapped[int | None] = mapped_column(EpochSeconds)
    created_at: Mapped[int] = mapped_column(EpochSeconds, default=clock.now, nullable=False)
    secret_rotated_at: Mapped[int | None] = mapped_column(EpochSeconds)
    # OpenID Connect Back-Channel Logout 1.0 §2.2
    backchannel_logout_uri: Mapped[str | None] = mapped_column(Text)
    backchannel_logout_session_required: Mapped[bool] = mapped_column(
        Boolean, default=False, nullable=False, server_default=false())
    # One more on every UPDATE of the row (SQLAlchemy's version counter, which also makes
    # two concurrent updates of one client fail instead of one being lost): a process
    # that holds the client parsed knows from this one number whether it is current.
    generation: Mapped[int] = mapped_column(Integer, nullable=False, default=1,
                                            server_default="1")

    __mapper_args__ = {"version_id_col": generation}

    @property
    def is_public(self) -> bool:
        return self.token_endpoint_auth_method == PUBLIC_AUTH_METHOD

    @property
    def client_metadata(self) -> dict:
        return {
            "post_logout_redirect_uris": list(self.post_logout_redirect_uris),
            "backchannel_logout_uri": self.backchannel_logout_uri,
            "backchannel_logout_session_required": self.backchannel_logout_session_required,
            "id_token_signed_response_alg": self.id_token_signed_response_alg,
        }

    # --- Authlib ClientMixin -------------------------------------------------------

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str | None:
        # RFC 9700 §2.1: with more than one registered URI the request must name one
        return self.redirect_uris[0] if len(self.redirect_uris) == 1 else None

    def get_allowed_scope(self, scope: str | None) -> str:
        """The requested scopes the client may have, in request order.

        Unknown scopes are refused earlier (``invalid_scope``); this only
        narrows to the client's registration, as Authlib's contract expects.
        """
        allowed = scope_to_list(self.allowed_scope) or []
        if not scope:
            return " ".join(allowed)
        return " ".join(s for s in scope_to_list(scope) if s in allowed)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        # exact string match, RFC 9700 §4.1.3
        return redirect_uri in self.redirect_uris

    def check_client_secret(self, client_secret: str) -> bool:
        return digests.matches(client_secret, self.secret_digest)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method == self.token_endpoint_auth_method

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code" and "authorization_code" in self.grant_types

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in self.grant_types
