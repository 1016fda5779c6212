"""The grants this provider offers: authorization_code and client_credentials.

Adding a grant is a class here and a line in ``server.py``.
"""

from __future__ import annotations

from authlib.oauth2.rfc6749 import grants

from .. import digests
from ..extensions import db
from ..models import AuthorizationCode, User
from . import codes
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
