"""The one wiring point: Authlib's authorization server with the grants
registry, the client authentication table, and the revocation and
introspection endpoints."""

from __future__ import annotations

from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749 import InvalidClientError, OAuth2Request
from flask import Flask, current_app

from ..models import Client
from . import client_auth
from .client_cache import current_client
from .descriptions import safe_description
from .grants import register_grants
from .introspection import IntrospectionEndpoint
from .requests import HttpOAuth2Request, StoredOAuth2Request
from .revocation import RevocationEndpoint

EXTENSION_KEY = "provider_authorization_server"


class ProviderAuthorizationServer(AuthorizationServer):
    def authenticate_client(self, request, methods, endpoint="token"):
        """Detect the one method the request uses, then run its check (``client_auth``)."""
        method = client_auth.detect_method(request)
        client_auth.claimed_client_id(request, method)
        client_auth.check_allowed(method, methods)
        try:
            return super().authenticate_client(request, [method.name], endpoint)
        except InvalidClientError:
            raise client_auth.authentication_failed() from None

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
    if not isinstance(client_id, str):
        return None
    client = current_client(client_id)
    return client if client is not None and not client.disabled else None


def save_token(token: dict, request) -> None:
    """Never called: every grant records what it issued itself (``grants.IssuingGrant``)."""
    raise RuntimeError("a grant must record its tokens through IssuingGrant")


def init_authorization_server(app: Flask) -> ProviderAuthorizationServer:
    server = ProviderAuthorizationServer()
    server.init_app(app, query_client=query_client, save_token=save_token)
    client_auth.register_methods(server)
    register_grants(server, app.config)
    server.register_endpoint(RevocationEndpoint)
    server.register_endpoint(IntrospectionEndpoint)
    app.extensions[EXTENSION_KEY] = server
    return server


def authorization_server() -> ProviderAuthorizationServer:
    return current_app.extensions[EXTENSION_KEY]
