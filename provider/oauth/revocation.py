"""Token revocation (RFC 7009), for refresh tokens and our JWT access tokens.

- The client authenticates exactly as at the token endpoint (RFC 7009 §2.1);
  a public client names itself with ``client_id``, and holding the token is
  the proof.
- A refresh token revokes its whole family: every refresh token in it, and
  the access tokens it issued that are still alive go on the deny-list
  (§2.1: "SHOULD also invalidate all access tokens based on the same grant").
- An access token (RFC 9068 JWT, signature and issuer verified) goes on the
  deny-list until its own ``exp``; an expired one needs nothing.
- Unknown, malformed, expired or already revoked tokens, and tokens of another
  client, all answer 200 with an empty body (§2.2), so the answer tells the
  caller nothing about a token it does not own. Authlib's endpoint would
  answer ``invalid_grant`` for another client's token; that would confirm the
  token exists. The attempt is audited instead.
- ``token_type_hint`` only orders the search; an unknown hint is ignored
  (§2.1: the server MAY ignore it) rather than refused.
- If the deny-list cannot be written, nothing is revoked and the client gets
  503, which §2.2.1 defines as "not revoked, retry later".
"""

from __future__ import annotations

from authlib.oauth2.rfc6749 import OAuth2Request
from authlib.oauth2.rfc7009 import RevocationEndpoint as AuthlibRevocationEndpoint

from .. import audit, clock, denylist
from ..models import Client
from . import client_auth, presented_tokens
from .presented_tokens import PresentedAccessToken, PresentedRefreshToken, PresentedToken
from .refresh_tokens import revoke_family

REASON = "revoked"
SUCCESS_HEADERS = [("Cache-Control", "no-store"), ("Pragma", "no-cache")]


class RevocationEndpoint(AuthlibRevocationEndpoint):
    # as at the token endpoint: confidential clients by secret, public by id
    CLIENT_AUTH_METHODS = client_auth.method_names(public=True)

    def authenticate_token(self, request: OAuth2Request, client: Client) -> PresentedToken | None:
        """The presented token if it is the caller's; another client's counts as unknown."""
        value, hint = presented_tokens.token_parameters(request)
        token = self.query_token(value, hint)
        if token is not None and token.client_id != client.client_id:
            audit.record("token_revocation_refused", user_id=token.user_id,
                         client_id=client.client_id, token_type=token.token_type,
                         token_client_id=token.client_id)
            return None
        return token

    def query_token(self, token_string: str, token_type_hint: str | None
                    ) -> PresentedToken | None:
        return presented_tokens.find(token_string, token_type_hint)

    def revoke_token(self, token: PresentedToken, request: OAuth2Request) -> None:
        if isinstance(token, PresentedRefreshToken):
            _revoke_refresh_token(token, request.client)
        else:
            _revoke_access_token(token, request.client)

    def create_endpoint_response(self, request: OAuth2Request) -> tuple[int, str, list]:
        status, _body, _headers = super().create_endpoint_response(request)
        return status, "", list(SUCCESS_HEADERS)


def _revoke_refresh_token(token: PresentedRefreshToken, client: Client) -> None:
    family = token.family
    # revoked already, here or by a concurrent request: nothing changes, nothing to record
    if family.revoked_at is not None or not revoke_family(family, REASON):
        return
    audit.record("token_revoked", user_id=family.user_id, client_id=client.client_id,
                 family_id=family.id, token_type=token.token_type)


def _revoke_access_token(token: PresentedAccessToken, client: Client) -> None:
    if token.expires_at <= clock.now():
        return  # dead already
    if denylist.deny(token.jti, token.expires_at, REASON):
        audit.record("token_revoked", user_id=token.user_id, client_id=client.client_id,
                     token_type=token.token_type, jti=token.jti)
