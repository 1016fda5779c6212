"""The grants this provider offers: authorization_code, refresh_token and
client_credentials.

Adding a grant is a class here and a line in ``server.py``.
"""

from __future__ import annotations

from authlib.oauth2.rfc6749 import grants

from .. import digests
from ..extensions import db
from ..models import AuthorizationCode, User
from . import codes
from .refresh_tokens import RefreshGrant, redeem_refresh_token
from .scopes import check_requested_scope, service_scope
from .tokens import LoginContext, issue_tokens


class ClientScopePolicy:
    """Requested scopes must all be registered for the client (RFC 6749 §3.3)."""

    def validate_requested_scope(self) -> None:
        check_requested_scope(self.request.client, self.request.payload.scope)


class AuthorizationCodeGrant(ClientScopePolicy, grants.AuthorizationCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "none"]

    def generate_authorization_code(self) -> str:
        return digests.new_credential()

    def save_authorization_code(self, code: str, request) -> None:
        login = request.login  # set by the authorize view with the consenting user
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
            auth_time=login.auth_time,
            sid=login.sid,
        )

    def query_authorization_code(self, code: str, client) -> AuthorizationCode | None:
        return codes.redeem_code(code, client)

    def delete_authorization_code(self, authorization_code: AuthorizationCode) -> None:
        """Nothing to do: ``redeem_code`` consumed the code atomically."""

    def authenticate_user(self, authorization_code: AuthorizationCode) -> User | None:
        user = db.session.get(User, authorization_code.user_id)
        return user if user is not None and not user.disabled else None

    def generate_token(self, user=None, scope=None, grant_type=None, expires_in=None,
                       include_refresh_token=True) -> dict:
        code: AuthorizationCode = self.request.authorization_code
        issued = issue_tokens(
            client=self.request.client,
            scope=scope,
            user=user,
            login=LoginContext(sid=code.sid, auth_time=code.auth_time),
            refresh_token=digests.new_credential() if include_refresh_token else None,
        )
        self.request.issued_tokens = issued
        return issued.response


class RefreshTokenGrant(ClientScopePolicy, grants.RefreshTokenGrant):
    """Rotation in token families; see ``refresh_tokens`` for the guarantees."""

    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "none"]
    INCLUDE_NEW_REFRESH_TOKEN = True

    def validate_requested_scope(self) -> None:
        """Narrowing is checked against the token's own scope by Authlib."""

    def authenticate_refresh_token(self, refresh_token: str) -> RefreshGrant | None:
        return redeem_refresh_token(refresh_token, self.request.client)

    def authenticate_user(self, grant: RefreshGrant) -> User | None:
        return grant.user  # checked enabled when the token was redeemed

    def revoke_old_credential(self, grant: RefreshGrant) -> None:
        """Nothing to do: ``redeem_refresh_token`` consumed the token atomically."""

    def generate_token(self, user=None, scope=None, grant_type=None, expires_in=None,
                       include_refresh_token=True) -> dict:
        grant: RefreshGrant = self.request.refresh_token
        family = grant.family
        issued = issue_tokens(
            client=self.request.client,
            scope=scope,
            user=user,
            login=LoginContext(sid=family.sid, auth_time=family.auth_time),
            refresh_token=grant.successor,
        )
        self.request.issued_tokens = issued
        return issued.response


class ClientCredentialsGrant(grants.ClientCredentialsGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]

    def validate_requested_scope(self) -> None:
        self.request.scope = service_scope(self.request.client, self.request.payload.scope)

    def generate_token(self, user=None, scope=None, grant_type=None, expires_in=None,
                       include_refresh_token=False) -> dict:
        issued = issue_tokens(client=self.request.client, scope=self.request.scope)
        self.request.issued_tokens = issued
        return issued.response
