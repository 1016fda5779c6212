"""JWT access tokens (RFC 9068, RFC 8725): minting and verification.

``issue_tokens`` is the one service that mints a token response; every grant
calls it and ``grants.IssuingGrant.save_token`` records what it issued.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from flask import current_app
from joserfc import jwt
from joserfc.errors import JoseError
from sqlalchemy import bindparam, select

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


def token_user(claims: dict) -> User | None:
    """The enabled user a verified access token was issued to, or None (a client's
    own token, or a user since removed or disabled)."""
    sub = claims.get("sub")
    user = db.session.get(User, sub) if isinstance(sub, str) else None
    return user if user is not None and not user.disabled else None


def recalled_by_holder(claims: dict) -> str | None:
    """Why the token's client or user no longer stands behind it, or None.

    A disabled client or user, or one whose ``tokens_not_before`` is at or after the
    token's ``iat``, recalls it: that covers the tokens no family tracks (a
    client_credentials token stores nothing), which cannot be deny-listed one by one.
    Checked wherever the deny-list is, so it is one indexed statement past the ORM,
    as the deny-list check is (bench/README.md).
    """
    iat = claims.get("iat") if isinstance(claims.get("iat"), int) else 0
    client_id, sub = claims.get("client_id"), claims.get("sub")
    if not isinstance(client_id, str):
        return "client disabled or recalled"
    user_id = sub if isinstance(sub, str) and not sub.startswith(CLIENT_SUBJECT_PREFIX) \
        else None
    row = db.session.connection().execute(_HOLDERS, {"client_id": client_id,
                                                     "user_id": user_id}).first()
    if row is None or row.client_disabled or _recalled_since(row.client_not_before, iat):
        return "client disabled or recalled"
    if user_id is not None and (row.user_disabled is None or row.user_disabled
                                or _recalled_since(row.user_not_before, iat)):
        return "user disabled or recalled"
    return None


_HOLDERS = (
    select(Client.disabled.label("client_disabled"),
           Client.tokens_not_before.label("client_not_before"),
           User.disabled.label("user_disabled"),
           User.tokens_not_before.label("user_not_before"))
    .select_from(Client)
    .outerjoin(User, User.id == bindparam("user_id"))
    .where(Client.client_id == bindparam("client_id"))
)


def _recalled_since(not_before: int | None, iat: int) -> bool:
    return not_before is not None and iat <= not_before
