"""Client authentication at the token endpoint (RFC 6749 §2.3, §5.2).

Replaces Authlib's lenient defaults: exactly one method per request, the
method must be the one the client registered, a malformed Basic header is
``invalid_client`` rather than a crash, and every failure answers 401 with
``WWW-Authenticate``. Unknown clients cost the same digest comparison as
known ones, and every failure to authenticate says the same, so the answer
never tells which client ids exist or how they authenticate.
"""

from __future__ import annotations

import base64
import binascii
from urllib.parse import unquote

from authlib.oauth2.rfc6749 import InvalidClientError, InvalidRequestError, OAuth2Request

from .. import digests
from ..extensions import db
from ..models import Client

MAX_CREDENTIAL_LENGTH = 512
AUTHENTICATION_FAILED = "Client authentication failed."


def _fail(description: str) -> InvalidClientError:
    return InvalidClientError(description=description, status_code=401)


def parse_basic_header(header: str) -> tuple[str, str]:
    """Client id and secret from ``Authorization: Basic``, form-urldecoded (§2.3.1)."""
    scheme, _, encoded = header.partition(" ")
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        raise _fail("Malformed Basic authorization header.") from None
    client_id, sep, secret = decoded.partition(":")
    if not sep or not client_id:
        raise _fail("Malformed Basic authorization header.")
    return unquote(client_id.replace("+", " ")), unquote(secret.replace("+", " "))


def authenticate_client(request: OAuth2Request, methods: list[str]) -> Client:
    """The authenticated client, or an OAuth2Error (invalid_client / invalid_request)."""
    header = request.headers.get("Authorization", "")
    form = request.form
    body_id, body_secret = form.get("client_id"), form.get("client_secret")
    if header and not header.lower().startswith("basic "):
        raise _fail("Only HTTP Basic client authentication is accepted in the header.")
    if header:
        if body_secret is not None:
            raise InvalidRequestError("Client credentials were sent in more than one place.")
        client_id, secret = parse_basic_header(header)
        if body_id is not None and body_id != client_id:
            raise InvalidRequestError("'client_id' differs from the authenticated client.")
        method = "client_secret_basic"
    elif body_secret is not None:
        client_id, secret, method = body_id, body_secret, "client_secret_post"
    else:
        client_id, secret, method = body_id, None, "none"
    if not client_id:
        raise _fail("Client authentication is required.")
    if len(client_id) > MAX_CREDENTIAL_LENGTH or len(secret or "") > MAX_CREDENTIAL_LENGTH:
        raise _fail(AUTHENTICATION_FAILED)
    client = db.session.get(Client, client_id)
    secret_ok = digests.matches(secret or "", client.secret_digest if client else None)
    if client is None or client.disabled \
            or method not in methods or not client.check_endpoint_auth_method(method, "token") \
            or (method != "none" and not secret_ok):
        raise _fail(AUTHENTICATION_FAILED)
    request.auth_method = method
    return client
