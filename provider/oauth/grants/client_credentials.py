"""The client credentials grant (RFC 6749 §4.4): confidential clients only, and
it stores nothing, so it takes no write lock."""

from __future__ import annotations

from authlib.oauth2.rfc6749 import grants

from ...models import User
from .. import client_auth
from ..scopes import service_scope
from ..tokens import issue_tokens
from .issuance import Issuance, IssuingGrant
from .spec import GrantSpec


class ClientCredentialsGrant(IssuingGrant, grants.ClientCredentialsGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = client_auth.method_names(public=False)

    def validate_requested_scope(self) -> None:
        self.request.scope = service_scope(self.request.client, self.request.payload.scope)

    def issue(self, *, user: User | None, scope: str, include_refresh_token: bool) -> Issuance:
        tokens = issue_tokens(client=self.request.client, scope=self.request.scope)
        return Issuance(grant_type=self.GRANT_TYPE, client=self.request.client, tokens=tokens)


GRANT = GrantSpec(ClientCredentialsGrant, required_parameter=None, writes=False)
