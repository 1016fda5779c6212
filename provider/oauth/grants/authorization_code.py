"""The authorization code grant (RFC 6749 §4.1) with PKCE (RFC 7636, S256 only)
and ID tokens (OIDC Core §3.1); codes are single-use (``codes.redeem_code``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from authlib.oauth2.rfc6749 import grants

from ... import digests
from ...extensions import db
from ...models import AuthorizationCode, RefreshTokenFamily, User
from .. import client_auth, codes, refresh_tokens
from ..openid import IdTokenExtension
from ..pkce import S256CodeChallenge
from ..scopes import check_requested_scope
from ..tokens import LoginContext, issue_tokens
from .issuance import Issuance, IssuingGrant
from .spec import GrantSpec


class AuthorizationCodeGrant(IssuingGrant, grants.AuthorizationCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = client_auth.method_names(public=True)

    # the browser login that approved the request; the authorize view names it
    # before the code is issued
    login: LoginContext | None = None

    def validate_requested_scope(self) -> None:
        """Requested scopes must all be registered for the client (RFC 6749 §3.3)."""
        check_requested_scope(self.request.client, self.request.payload.scope)

    def generate_authorization_code(self) -> str:
        return digests.new_credential()

    def save_authorization_code(self, code: str, request) -> None:
        if self.login is None:
            raise RuntimeError("an authorization code needs the login that approved it")
        data = request.payload.data
        codes.store_code(
            code,
            client=request.client,
            user_id=request.user.id,
            redirect_uri=request.payload.redirect_uri,
            scope=request.scope,
            nonce=data.get("nonce"),
            code_challenge=data.get("code_challenge"),
            code_challenge_method=data.get("code_challenge_method"),
            auth_time=self.login.auth_time,
            sid=self.login.sid,
        )

    def query_authorization_code(self, code: str, client) -> AuthorizationCode | None:
        return codes.redeem_code(code, client)

    def delete_authorization_code(self, authorization_code: AuthorizationCode) -> None:
        """Nothing to do: ``redeem_code`` consumed the code atomically."""

    def authenticate_user(self, authorization_code: AuthorizationCode) -> User | None:
        user = db.session.get(User, authorization_code.user_id)
        return user if user is not None and not user.disabled else None

    def issue(self, *, user: User | None, scope: str, include_refresh_token: bool) -> Issuance:
        code: AuthorizationCode = self.request.authorization_code
        login = LoginContext(sid=code.sid, auth_time=code.auth_time)
        tokens = issue_tokens(
            client=self.request.client, scope=scope, user=user, login=login,
            refresh_token=digests.new_credential() if include_refresh_token else None)
        return Issuance(grant_type=self.GRANT_TYPE, client=self.request.client, tokens=tokens,
                        user=user, login=login)

    def store(self, issuance: Issuance) -> RefreshTokenFamily | None:
        """Remember what the code issued (revoked if the code is replayed) and start
        the refresh-token family."""
        code: AuthorizationCode = self.request.authorization_code
        codes.record_issuance(code, issuance.tokens)
        if issuance.tokens.refresh_token is None:
            return None
        family = refresh_tokens.start_family(
            client=issuance.client, user=issuance.user, scope=code.scope, login=issuance.login,
            authorization_code_id=code.id)
        refresh_tokens.store_refresh_token(family, issuance.tokens.refresh_token, parent=None)
        return family


def extensions(config: Mapping[str, Any]) -> list:
    return [S256CodeChallenge(require_for_all=config["PROVIDER_REQUIRE_PKCE"] == "all"),
            IdTokenExtension(require_nonce=False)]


GRANT = GrantSpec(AuthorizationCodeGrant, required_parameter="code", writes=True,
                  parameters=("code", "redirect_uri", "code_verifier"), extensions=extensions)
