"""client_secret_post: the id and secret in the form body (RFC 6749 §2.3.1)."""

from __future__ import annotations

from authlib.oauth2.rfc6749 import OAuth2Request

from ...models import Client
from .client_secret import client_with_secret
from .method import ClientAuthMethod


def presented(request: OAuth2Request) -> bool:
    return request.form.get("client_secret") is not None


def client_id(request: OAuth2Request) -> str | None:
    return request.form.get("client_id")


def authenticate(query_client, request: OAuth2Request) -> Client | None:
    return client_with_secret(request.form.get("client_id"), request.form.get("client_secret"))


METHOD = ClientAuthMethod(
    name="client_secret_post", confidential=True, parameters=("client_id", "client_secret"),
    presented=presented, client_id=client_id, authenticate=authenticate)
