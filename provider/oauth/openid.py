"""ID tokens for the authorization code flow (OIDC Core §2, §3.1.3.6, §5.4)."""

from __future__ import annotations

from authlib.oidc.core import OpenIDCode
from flask import current_app

from .. import clock
from ..keys import key_ring
from ..models import AuthorizationCode, Client, User
from .scopes import user_claims


class IdTokenExtension(OpenIDCode):
    """Authlib's OpenIDCode with our keys, issuer, lifetimes and ``sid``.

    Nonce replay is the relying party's check (it binds the nonce to its own
    session and compares it with the ID token's), as in node-oidc-provider and
    Keycloak; refusing a repeated nonce here would only break RPs that retry an
    authorization URL.
    """

    def exists_nonce(self, nonce: str, request) -> bool:
        return False

    def resolve_client_private_key(self, client: Client):
        return key_ring().signing_key(self.get_client_algorithm(client))

    def get_client_algorithm(self, client: Client) -> str:
        """The client's registered algorithm while it has an active key, else RS256
        (an operator may switch an algorithm off after clients registered it)."""
        alg = client.id_token_signed_response_alg or "RS256"
        return alg if alg in key_ring().algorithms else "RS256"

    def get_encode_header(self, client: Client) -> dict:
        alg = self.get_client_algorithm(client)
        return {"alg": alg, "typ": "JWT", "kid": key_ring().signing_key(alg).kid}

    def get_client_claims(self, client: Client) -> dict:
        now = clock.now()
        return {
            "iss": current_app.config["PROVIDER_ISSUER"],
            "aud": client.client_id,
            "iat": now,
            "exp": now + int(current_app.config["PROVIDER_ID_TOKEN_TTL"]),
        }

    def get_authorization_code_claims(self, authorization_code: AuthorizationCode) -> dict:
        claims = super().get_authorization_code_claims(authorization_code)
        if authorization_code.sid:
            claims["sid"] = authorization_code.sid
        return claims

    def generate_user_info(self, user: User, scope: str) -> dict:
        return user_claims(user, scope)
