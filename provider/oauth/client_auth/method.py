"""What a client authentication method declares: its name, whether it proves a
credential, the form parameters it reads, how to tell it was used, and the
check Authlib runs for it (``register_client_auth_method``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from authlib.oauth2.rfc6749 import InvalidClientError, OAuth2Request

from ...models import Client

AUTHENTICATION_FAILED = "Client authentication failed."
MAX_CREDENTIAL_LENGTH = 512


def authentication_failed(description: str = AUTHENTICATION_FAILED) -> InvalidClientError:
    """Every failure answers 401 (RFC 6749 §5.2), so ``WWW-Authenticate`` goes out."""
    return InvalidClientError(description=description, status_code=401)


@dataclass(frozen=True)
class ClientAuthMethod:
    """One row of the methods table (``client_auth.METHODS``)."""

    name: str
    # proves possession of a credential; a public client may use only the others
    confidential: bool
    # form parameters the method reads (the token view may echo these names)
    parameters: tuple[str, ...]
    # whether the request carries this method's credentials; at most one may
    presented: Callable[[OAuth2Request], bool]
    # the client id the credentials name (an OAuth2Error when they are malformed)
    client_id: Callable[[OAuth2Request], str | None]
    # the authenticated client or None; registered with Authlib under ``name``
    authenticate: Callable[[Any, OAuth2Request], Client | None]
