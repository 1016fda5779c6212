"""client_secret_basic: the id and secret in ``Authorization: Basic`` (RFC 6749 §2.3.1)."""

from __future__ import annotations

import base64
import binascii
from urllib.parse import unquote

from authlib.oauth2.rfc6749 import OAuth2Request

from ...models import Client
from .client_secret import client_with_secret
from .method import ClientAuthMethod, authentication_failed


def parse_basic_header(header: str) -> tuple[str, str]:
    """Client id and secret from ``Authorization: Basic``, form-urldecoded (§2.3.1)."""
    scheme, _, encoded = header.partition(" ")
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        raise authentication_failed("Malformed Basic authorization header.") from None
    client_id, sep, secret = decoded.partition(":")
    if not sep or not client_id:
        raise authentication_failed("Malformed Basic authorization header.")
    return unquote(client_id.replace("+", " ")), unquote(secret.replace("+", " "))


def presented(request: OAuth2Request) -> bool:
    """An ``Authorization`` header; any scheme but Basic is refused outright."""
    header = request.headers.get("Authorization", "")
    if header and not header.lower().startswith("basic "):
        raise authentication_failed(
            "Only HTTP Basic client authentication is accepted in the header.")
    return bool(header)


def client_id(request: OAuth2Request) -> str:
    return parse_basic_header(request.headers["Authorization"])[0]


def authenticate(query_client, request: OAuth2Request) -> Client | None:
    return client_with_secret(*parse_basic_header(request.headers["Authorization"]))


METHOD = ClientAuthMethod(
    name="client_secret_basic", confidential=True, parameters=(),
    presented=presented, client_id=client_id, authenticate=authenticate)
