"""Tokens presented back to the provider at revocation (RFC 7009 §2.1) and
introspection (RFC 7662 §2.1): the request's shape, and finding the token by
value whatever its type.

``token_type_hint`` only decides which type is tried first: a hint that is
wrong, or a type we do not know, never makes a token unfindable. Finding a
token says nothing about whether it is live or whose it is; the endpoints
decide that.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from authlib.oauth2.rfc6749 import InvalidRequestError, OAuth2Request

from .. import digests
from ..extensions import db
from ..models import RefreshToken, RefreshTokenFamily
from .descriptions import repeated_parameter
from .refresh_tokens import MAX_TOKEN_LENGTH as MAX_REFRESH_TOKEN_LENGTH
from .tokens import CLIENT_SUBJECT_PREFIX, InvalidAccessToken, decode_access_token

ACCESS_TOKEN = "access_token"  # noqa: S105 - a token type name
REFRESH_TOKEN = "refresh_token"  # noqa: S105 - a token type name
KNOWN_PARAMETERS = ("token", "token_type_hint", "client_id", "client_secret")


@dataclass(frozen=True)
class PresentedAccessToken:
    """One of our JWT access tokens, signature and issuer verified; maybe expired or denied."""

    claims: dict

    token_type = ACCESS_TOKEN

    @property
    def client_id(self) -> str | None:
        return self.claims.get("client_id")

    @property
    def jti(self) -> str:
        return self.claims["jti"]

    @property
    def expires_at(self) -> int:
        return self.claims["exp"]

    @property
    def user_id(self) -> str | None:
        """The user's ``sub``; None for a client's own (client_credentials) token."""
        sub = self.claims.get("sub")
        if not isinstance(sub, str) or sub.startswith(CLIENT_SUBJECT_PREFIX):
            return None
        return sub

    @property
    def audiences(self) -> set[str]:
        aud = self.claims.get("aud")
        values = aud if isinstance(aud, list) else [aud]
        return {value for value in values if isinstance(value, str)}


@dataclass(frozen=True)
class PresentedRefreshToken:
    """A stored refresh token, found by digest, with its family; in any state."""

    row: RefreshToken
    family: RefreshTokenFamily

    token_type = REFRESH_TOKEN

    @property
    def client_id(self) -> str:
        return self.row.client_id

    @property
    def user_id(self) -> str:
        return self.family.user_id


PresentedToken = PresentedAccessToken | PresentedRefreshToken


def token_parameters(request: OAuth2Request) -> tuple[str, str | None]:
    """The presented ``token`` and the hint, or ``invalid_request``.

    Parameters belong in the form body, once each (RFC 7009 §2.1, RFC 7662 §2.1;
    a query string could end up in logs). An empty ``token`` counts as missing,
    as empty parameters do at the token endpoint.
    """
    if request.args:
        raise InvalidRequestError("Request parameters belong in the request body.")
    form = request.form
    repeated = repeated_parameter(form, KNOWN_PARAMETERS)
    if repeated:
        raise InvalidRequestError(repeated)
    token = form.get("token")
    if not token:
        raise InvalidRequestError("Missing token.")
    return token, form.get("token_type_hint")


def find(value: str, hint: str | None) -> PresentedToken | None:
    """The token ``value`` is, of either type (the hinted one tried first), or None."""
    order = (REFRESH_TOKEN, ACCESS_TOKEN) if hint == REFRESH_TOKEN else (ACCESS_TOKEN,
                                                                          REFRESH_TOKEN)
    for token_type in order:
        found = FINDERS[token_type](value)
        if found is not None:
            return found
    return None


def find_access_token(value: str) -> PresentedAccessToken | None:
    try:
        claims = decode_access_token(value)
    except InvalidAccessToken:
        return None
    if not isinstance(claims.get("jti"), str) or not isinstance(claims.get("exp"), int):
        return None  # not one we minted: every token of ours has both
    return PresentedAccessToken(claims)


def find_refresh_token(value: str) -> PresentedRefreshToken | None:
    """By digest (only digests are stored): one indexed lookup, then the family row."""
    if len(value) > MAX_REFRESH_TOKEN_LENGTH:
        return None
    row = db.session.scalar(
        db.select(RefreshToken).where(RefreshToken.token_digest == digests.digest(value)))
    if row is None:
        return None
    return PresentedRefreshToken(row=row, family=db.session.get(RefreshTokenFamily,
                                                                row.family_id))


FINDERS: dict[str, Callable[[str], PresentedToken | None]] = {
    ACCESS_TOKEN: find_access_token,
    REFRESH_TOKEN: find_refresh_token,
}
