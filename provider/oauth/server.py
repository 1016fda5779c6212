"""The one wiring point: Authlib's authorization server with our grants,
client authentication, PKCE policy, ID tokens and ``save_token``."""

from __future__ import annotations

from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749 import OAuth2Request
from flask import Flask, current_app

from .. import audit
from ..extensions import db
from ..models import Client
from . import codes, refresh_tokens
from .client_auth import authenticate_client
from .descriptions import safe_description
from .grants import AuthorizationCodeGrant, ClientCredentialsGrant, RefreshTokenGrant
from .introspection import IntrospectionEndpoint
from .openid import IdTokenExtension
from .pkce import S256CodeChallenge
from .requests import HttpOAuth2Request, StoredOAuth2Request
from .revocation import RevocationEndpoint
from .tokens import LoginContext

EXTENSION_KEY = "provider_authorization_server"


class ProviderAuthorizationServer(AuthorizationServer):
    def authenticate_client(self, request, methods, endpoint="token"):
        return authenticate_client(request, methods)

    def handle_error_response(self, request, error):
        error.description = safe_description(error.description)
        return super().handle_error_response(request, error)

    def create_oauth2_request(self, request) -> OAuth2Request:
        """The current HTTP request, or a stored authorization request (a dict)."""
        if isinstance(request, OAuth2Request):
            return request
        if isinstance(request, dict):
            return StoredOAuth2Request(request)
        return HttpOAuth2Request()


def query_client(client_id: str) -> Client | None:
    if not isinstance(client_id, str) or len(client_id) > 64:
        return None
    client = db.session.get(Client, client_id)
    return client if client is not None and not client.disabled else None


def save_token(token: dict, request) -> None:
    """Record what a grant issued. The one place every grant's tokens pass through."""
    issued = request.issued_tokens
    code = getattr(request, "authorization_code", None)
    grant = getattr(request, "refresh_token", None)
    family = None
    if code is not None:
        codes.record_issuance(code, issued)
        if issued.refresh_token is not None:
            family = refresh_tokens.start_family(
                client=request.client, user=request.user, scope=code.scope,
                login=LoginContext(sid=code.sid, auth_time=code.auth_time),
                authorization_code_id=code.id)
            refresh_tokens.store_refresh_token(family, issued.refresh_token, parent=None)
    elif grant is not None:
        family = grant.family
        if not grant.replay:
            refresh_tokens.store_refresh_token(family, grant.successor, parent=grant.token)
    if request.user is not None:
        audit.record("tokens_issued", user_id=request.user.id, client_id=request.client.client_id,
                     family_id=family.id if family is not None else None,
                     grant_type=request.payload.grant_type, scope=token.get("scope"),
                     refresh_token=issued.refresh_token is not None)
        refresh_tokens.record_access_token(
            issued, client=request.client, user=request.user,
            family_id=family.id if family is not None else None,
            sid=code.sid if code is not None else (family.sid if family else None))


def init_authorization_server(app: Flask) -> ProviderAuthorizationServer:
    server = ProviderAuthorizationServer()
    server.init_app(app, query_client=query_client, save_token=save_token)
    require_all = app.config["PROVIDER_REQUIRE_PKCE"] == "all"
    server.register_grant(
        AuthorizationCodeGrant,
        [S256CodeChallenge(require_for_all=require_all), IdTokenExtension(require_nonce=False)],
    )
    server.register_grant(RefreshTokenGrant)
    server.register_grant(ClientCredentialsGrant)
    server.register_endpoint(RevocationEndpoint)
    server.register_endpoint(IntrospectionEndpoint)
    app.extensions[EXTENSION_KEY] = server
    return server


def authorization_server() -> ProviderAuthorizationServer:
    return current_app.extensions[EXTENSION_KEY]
