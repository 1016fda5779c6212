"""The refresh token grant (RFC 6749 §6) with rotation in token families; see
``refresh_tokens`` for the guarantees (RFC 9700 §4.14.2)."""

from __future__ import annotations

from authlib.oauth2.rfc6749 import grants

from ...models import RefreshTokenFamily, User
from .. import client_auth, refresh_tokens
from ..refresh_tokens import RefreshGrant, redeem_refresh_token
from ..tokens import LoginContext, issue_tokens
from .issuance import Issuance, IssuingGrant
from .spec import GrantSpec


class RefreshTokenGrant(IssuingGrant, grants.RefreshTokenGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = client_auth.method_names(public=True)
    INCLUDE_NEW_REFRESH_TOKEN = True

    def validate_requested_scope(self) -> None:
        """Narrowing is checked against the token's own scope by Authlib."""

    def authenticate_refresh_token(self, refresh_token: str) -> RefreshGrant | None:
        return redeem_refresh_token(refresh_token, self.request.client)

    def authenticate_user(self, grant: RefreshGrant) -> User | None:
        return grant.user  # checked enabled when the token was redeemed

    def revoke_old_credential(self, grant: RefreshGrant) -> None:
        """Nothing to do: ``redeem_refresh_token`` consumed the token atomically."""

    def issue(self, *, user: User | None, scope: str, include_refresh_token: bool) -> Issuance:
        grant: RefreshGrant = self.request.refresh_token
        login = LoginContext(sid=grant.family.sid, auth_time=grant.family.auth_time)
        tokens = issue_tokens(client=self.request.client, scope=scope, user=user, login=login,
                              refresh_token=grant.successor)
        return Issuance(grant_type=self.GRANT_TYPE, client=self.request.client, tokens=tokens,
                        user=user, login=login)

    def store(self, issuance: Issuance) -> RefreshTokenFamily:
        """The successor, unless this is a repeat inside the grace window (it exists)."""
        grant: RefreshGrant = self.request.refresh_token
        if not grant.replay:
            refresh_tokens.store_refresh_token(grant.family, grant.successor, parent=grant.token)
        return grant.family


GRANT = GrantSpec(RefreshTokenGrant, required_parameter="refresh_token", writes=True,
                  parameters=("refresh_token",))
