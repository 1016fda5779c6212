"""Registered clients: create, rotate a secret, disable."""

from __future__ import annotations

import secrets

from flask import current_app

from .. import clock, digests
from ..database import writing
from ..extensions import db
from ..models import Client
from ..oauth import client_metadata
from ..oauth.refresh_tokens import revoke_families
from .errors import ManagementError


@writing
def create_client(*, name: str, redirect_uris: tuple[str, ...], public: bool = False,
                  scope: str = "openid profile email offline_access",
                  grant_types: tuple[str, ...] = (), auth_method: str | None = None,
                  post_logout_redirect_uris: tuple[str, ...] = (),
                  trusted: bool = False, id_token_alg: str | None = None,
                  backchannel_logout_uri: str | None = None,
                  backchannel_logout_session_required: bool = False) -> dict:
    metadata = client_metadata.with_defaults(
        name=name, redirect_uris=redirect_uris, public=public, scope=scope,
        grant_types=grant_types, auth_method=auth_method,
        post_logout_redirect_uris=post_logout_redirect_uris, id_token_alg=id_token_alg,
        backchannel_logout_uri=backchannel_logout_uri,
        backchannel_logout_session_required=backchannel_logout_session_required)
    try:
        client_metadata.check_client_metadata(
            metadata, signing_algorithms=current_app.config["PROVIDER_SIGNING_ALGORITHMS"])
    except client_metadata.ClientMetadataError as broken:
        raise ManagementError(broken.message) from None
    client_id = new_client_id()
    secret = None if public else digests.new_credential()
    method, grants = metadata.token_endpoint_auth_method, list(metadata.grant_types)
    client = Client(
        client_id=client_id, name=metadata.client_name, token_endpoint_auth_method=method,
        secret_digest=digests.digest(secret) if secret else None,
        redirect_uris=list(metadata.redirect_uris),
        post_logout_redirect_uris=list(metadata.post_logout_redirect_uris),
        grant_types=grants, allowed_scope=metadata.scope, trusted=trusted,
        id_token_signed_response_alg=metadata.id_token_signed_response_alg,
        backchannel_logout_uri=metadata.backchannel_logout_uri,
        backchannel_logout_session_required=metadata.backchannel_logout_session_required,
    )
    db.session.add(client)
    db.session.commit()
    created = {"client_id": client_id, "name": metadata.client_name,
               "token_endpoint_auth_method": method, "redirect_uris": client.redirect_uris,
               "grant_types": grants, "scope": client.allowed_scope,
               "id_token_signed_response_alg": metadata.id_token_signed_response_alg}
    if secret:
        created["client_secret"] = secret
    return created


def new_client_id() -> str:
    """128 random bits, URL-safe, never starting with '-' (it would read as a CLI option)."""
    while True:
        candidate = secrets.token_urlsafe(16)
        if candidate[0].isalnum():
            return candidate


def _client(client_id: str) -> Client:
    client = db.session.get(Client, client_id)
    if client is None:
        raise ManagementError(f"no client {client_id!r}")
    return client


@writing
def rotate_client_secret(client_id: str) -> str:
    client = _client(client_id)
    if client.is_public:
        raise ManagementError(f"client {client_id!r} is public and has no secret")
    secret = digests.new_credential()
    client.secret_digest = digests.digest(secret)
    client.secret_rotated_at = clock.now()
    db.session.commit()
    return secret


@writing
def disable_client(client_id: str) -> None:
    client = _client(client_id)
    client.disabled = True
    client.tokens_not_before = clock.now()  # also its client_credentials tokens
    revoke_families("client_disabled", client_id=client_id)
    db.session.commit()
