"""Token introspection (RFC 7662) and its signed answers (RFC 9701).

- Only confidential clients, authenticated as at the token endpoint, may ask
  (§2.1); a request without client credentials answers 401.
- A caller sees a token only if it is the token's client or, for an access
  token, a resource server named in its ``aud`` (§4: the server decides which
  callers may see which tokens). Anyone else gets exactly ``{"active": false}``,
  the same answer as for an unknown token, so nothing leaks.
- Live means: an access token with a valid signature, not expired, not on the
  deny-list, whose client and user are still enabled; a refresh token not yet
  used, not expired, in a family that is neither revoked nor expired and could
  still mint tokens (user enabled; the login session alive unless
  ``offline_access``). Anything else is exactly ``{"active": false}``.
- With ``Accept: application/token-introspection+jwt`` the answer is a JWT
  signed with the provider's key (RFC 9701 §5), so a resource server can prove
  what the provider said; its ``typ`` keeps it from passing as an access token.
- Read-only: nothing here writes, not even when a family turns out unusable
  (the token endpoint ends it on its next use).
"""

from __future__ import annotations

from authlib.oauth2.rfc6749 import InvalidClientError, OAuth2Request
from authlib.oauth2.rfc7662 import IntrospectionEndpoint as AuthlibIntrospectionEndpoint
from flask import current_app
from werkzeug.datastructures import MIMEAccept
from werkzeug.http import parse_accept_header

from .. import clock, denylist
from ..extensions import db
from ..models import Client, User
from . import client_auth, presented_tokens
from .presented_tokens import PresentedAccessToken, PresentedRefreshToken, PresentedToken
from .refresh_tokens import family_end_reason
from .tokens import CLOCK_SKEW, recalled_by_holder, sign_jwt

JSON_MEDIA_TYPE = "application/json"
JWT_MEDIA_TYPE = "application/token-introspection+jwt"
JWT_TYP = "token-introspection+jwt"
INACTIVE: dict = {"active": False}
NO_STORE = [("Cache-Control", "no-store"), ("Pragma", "no-cache")]


class IntrospectionEndpoint(AuthlibIntrospectionEndpoint):
    # a secret is required: public clients cannot keep one, so they cannot introspect
    CLIENT_AUTH_METHODS = client_auth.method_names(public=False)

    def authenticate_endpoint_client(self, request: OAuth2Request) -> Client:
        if not client_auth.presents_credential(request):
            raise InvalidClientError(description="Introspection requires client authentication.",
                                     status_code=401)
        return super().authenticate_endpoint_client(request)

    def authenticate_token(self, request: OAuth2Request, client: Client
                           ) -> PresentedToken | None:
        value, hint = presented_tokens.token_parameters(request)
        token = self.query_token(value, hint)
        if token is not None and self.check_permission(token, client, request):
            return token
        return None

    def query_token(self, token_string: str, token_type_hint: str | None
                    ) -> PresentedToken | None:
        return presented_tokens.find(token_string, token_type_hint)

    def check_permission(self, token: PresentedToken, client: Client,
                         request: OAuth2Request) -> bool:
        if token.client_id == client.client_id:
            return True
        return (isinstance(token, PresentedAccessToken)
                and client.client_id in token.audiences)

    def create_introspection_payload(self, token: PresentedToken | None) -> dict:
        return describe(token) if token is not None else dict(INACTIVE)

    def create_endpoint_response(self, request: OAuth2Request) -> tuple[int, object, list]:
        status, answer, headers = super().create_endpoint_response(request)
        if not wants_signed_answer(request):
            return status, answer, headers
        body = signed_answer(answer, audience=request.client.client_id)
        return status, body, [("Content-Type", JWT_MEDIA_TYPE), *NO_STORE]


def wants_signed_answer(request: OAuth2Request) -> bool:
    """RFC 9701 §4: the caller asks for a JWT by ``Accept``; JSON wins ties and absence."""
    accept = parse_accept_header(request.headers.get("Accept"), MIMEAccept)
    return accept.best_match([JSON_MEDIA_TYPE, JWT_MEDIA_TYPE]) == JWT_MEDIA_TYPE


def signed_answer(answer: dict, *, audience: str) -> str:
    """RFC 9701 §5: ``iss``, ``aud`` (the caller), ``iat`` and the answer as a claim."""
    claims = {"iss": current_app.config["PROVIDER_ISSUER"], "aud": audience,
              "iat": clock.now(), "token_introspection": answer}
    return sign_jwt(claims, typ=JWT_TYP)


def describe(token: PresentedToken) -> dict:
    """The RFC 7662 §2.2 answer for a token the caller may see."""
    if isinstance(token, PresentedRefreshToken):
        return _describe_refresh_token(token)
    return _describe_access_token(token)


def _enabled_client(client_id: object) -> Client | None:
    client = db.session.get(Client, client_id) if isinstance(client_id, str) else None
    return client if client is not None and not client.disabled else None


def _describe_access_token(token: PresentedAccessToken) -> dict:
    claims, now = token.claims, clock.now()
    iat = claims.get("iat")
    if token.expires_at <= now or not isinstance(iat, int) or iat > now + CLOCK_SKEW:
        return dict(INACTIVE)
    if recalled_by_holder(claims) is not None:
        return dict(INACTIVE)
    user = db.session.get(User, token.user_id) if token.user_id is not None else None
    # last: the one check that may leave the database (Redis); dead tokens never need it
    if denylist.is_denied(token.jti):
        return dict(INACTIVE)
    answer = {
        "active": True,
        "scope": claims.get("scope", ""),
        "client_id": token.client_id,
        "sub": claims.get("sub"),
        "exp": token.expires_at,
        "iat": iat,
        "nbf": iat,  # our access tokens are valid from issue
        "aud": claims.get("aud"),
        "iss": claims.get("iss"),
        "jti": token.jti,
        "token_type": "Bearer",
    }
    if user is not None:
        answer["username"] = user.username
    if isinstance(claims.get("roles"), list):
        answer["roles"] = claims["roles"]  # what a resource server authorizes on, as in the JWT
    return answer


def _describe_refresh_token(token: PresentedRefreshToken) -> dict:
    row, family, now = token.row, token.family, clock.now()
    if row.consumed_at is not None or row.expires_at <= now:
        return dict(INACTIVE)
    if family.revoked_at is not None or family.expires_at <= now:
        return dict(INACTIVE)
    if _enabled_client(family.client_id) is None:
        return dict(INACTIVE)
    user = db.session.get(User, family.user_id)
    if family_end_reason(family, user, now) is not None:
        return dict(INACTIVE)
    issuer = current_app.config["PROVIDER_ISSUER"]
    return {
        "active": True,
        "scope": family.scope,
        "client_id": family.client_id,
        "sub": user.id,
        "username": user.username,
        "exp": row.expires_at,
        "iat": row.issued_at,
        "nbf": row.issued_at,
        "aud": issuer,  # a refresh token is only ever redeemed here, at the token endpoint
        "iss": issuer,
        # what the provider stores: the SHA-256 of the token, which its holder can compute
        "jti": row.token_digest,
        "token_type": "refresh_token",
    }
