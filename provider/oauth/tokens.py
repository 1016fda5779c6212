"""JWT access tokens (RFC 9068, RFC 8725): minting and verification.

``issue_tokens`` is the one service that mints a token response; every grant
calls it and ``save_token`` records what it issued.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from flask import current_app
from joserfc import jwt
from joserfc.errors import JoseError

from .. import clock, denylist
from ..extensions import db
from ..keys import SUPPORTED_ALGORITHMS, key_ring
from ..models import Client, User

ACCESS_TOKEN_TYPES = {"at+jwt", "application/at+jwt"}
CLIENT_SUBJECT_PREFIX = "client:"  # user subjects are UUIDs: the two never collide
CLOCK_SKEW = 30


@dataclass(frozen=True)
class LoginContext:
    """The browser login a token descends from."""

    sid: str | None
    auth_time: int


@dataclass
class IssuedTokens:
    response: dict
    access_jti: str
    access_expires_at: int
    refresh_token: str | None = None


def sign_jwt(claims: dict, typ: str, alg: str = "RS256") -> str:
    ring = key_ring()
    key = ring.signing_key(alg)
    header = {"alg": alg, "typ": typ, "kid": key.kid}
    return jwt.encode(header, claims, key, algorithms=[alg])


def client_subject(client: Client) -> str:
    return CLIENT_SUBJECT_PREFIX + client.client_id


def issue_tokens(
    *,
    client: Client,
    scope: str,
    user: User | None = None,
    login: LoginContext | None = None,
    refresh_token: str | None = None,
) -> IssuedTokens:
    """Mint the access token and the token response body for one grant."""
    config = current_app.config
    now = clock.now()
    ttl = int(config["PROVIDER_ACCESS_TOKEN_TTL"])
    jti = secrets.token_urlsafe(16)
    claims = {
        "iss": config["PROVIDER_ISSUER"],
        "sub": user.id if user is not None else client_subject(client),
        "aud": config["PROVIDER_DEFAULT_AUDIENCE"],
        "exp": now + ttl,
        "iat": now,
        "jti": jti,
        "client_id": client.client_id,
        "scope": scope,
        "roles": list(user.roles) if user is not None else [],
    }
    if login is not None:
        claims["auth_time"] = login.auth_time
        if login.sid:
            claims["sid"] = login.sid
    access_token = sign_jwt(claims, typ="at+jwt", alg=config["PROVIDER_ACCESS_TOKEN_ALG"])
    response = {
        "access_token": access_token,
        "token_type": "Bearer",
        "expires_in": ttl,
        "scope": scope,
    }
    if refresh_token is not None:
        response["refresh_token"] = refresh_token
    return IssuedTokens(response=response, access_jti=jti, access_expires_at=now + ttl,
                        refresh_token=refresh_token)


class InvalidAccessToken(Exception):
    """The bearer token is not a live access token of ours; the message says why."""


def decode_access_token(token: str) -> dict:
    """Claims of an access token this provider signed: signature, ``typ`` and ``iss``
    checked; expiry, audience and the deny-list not (revocation and introspection
    must recognise expired and revoked tokens too)."""
    if not token or len(token) > 8192:
        raise InvalidAccessToken("malformed token")
    try:
        decoded = jwt.decode(token, key_ring().verification, algorithms=list(SUPPORTED_ALGORITHMS))
    except (JoseError, ValueError, TypeError, KeyError):
        raise InvalidAccessToken("signature or format invalid") from None
    if str(decoded.header.get("typ", "")).lower() not in ACCESS_TOKEN_TYPES:
        raise InvalidAccessToken("not an access token")
    claims = decoded.claims
    if claims.get("iss") != current_app.config["PROVIDER_ISSUER"]:
        raise InvalidAccessToken("wrong issuer")
    return claims


def verify_access_token(token: str, audiences: set[str]) -> dict:
    """Claims of a valid, live, not-denied access token whose ``aud`` meets ``audiences``."""
    claims = decode_access_token(token)
    now = clock.now()
    if not isinstance(claims.get("exp"), int) or claims["exp"] <= now:
        raise InvalidAccessToken("expired")
    if isinstance(claims.get("iat"), int) and claims["iat"] > now + CLOCK_SKEW:
        raise InvalidAccessToken("issued in the future")
    aud = claims.get("aud")
    token_audiences = set(aud) if isinstance(aud, list) else {aud}
    if not token_audiences & audiences:
        raise InvalidAccessToken("wrong audience")
    if recalled_by_holder(claims) is not None:
        raise InvalidAccessToken("revoked")
    # last: the one check that may leave the database (Redis)
    if not isinstance(claims.get("jti"), str) or denylist.is_denied(claims["jti"]):
        raise InvalidAccessToken("revoked")
    return claims


def recalled_by_holder(claims: dict) -> str | None:
    """Why the token's client or user no longer stands behind it, or None.

    A disabled client or user, or one whose ``tokens_not_before`` is at or after the
    token's ``iat``, recalls it: that covers the tokens no family tracks (a
    client_credentials token stores nothing), which cannot be deny-listed one by one.
    Checked wherever the deny-list is.
    """
    iat = claims.get("iat") if isinstance(claims.get("iat"), int) else 0
    client_id = claims.get("client_id")
    client = db.session.get(Client, client_id) if isinstance(client_id, str) else None
    if client is None or client.disabled or _recalled_since(client.tokens_not_before, iat):
        return "client disabled or recalled"
    sub = claims.get("sub")
    if isinstance(sub, str) and not sub.startswith(CLIENT_SUBJECT_PREFIX):
        user = db.session.get(User, sub)
        if user is None or user.disabled or _recalled_since(user.tokens_not_before, iat):
            return "user disabled or recalled"
    return None


def _recalled_since(not_before: int | None, iat: int) -> bool:
    return not_before is not None and iat <= not_before
