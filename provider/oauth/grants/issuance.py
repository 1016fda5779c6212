"""What a grant issued, as one typed record, and the one place it is recorded.

Every grant mints through ``IssuingGrant.issue`` and keeps its own rows in
``store``; Authlib's ``save_token`` then records the common part (the audit
event and the issued access token). A grant that forgets to issue fails
loudly instead of storing half a record.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from ... import audit, metrics
from ...models import Client, RefreshTokenFamily, User
from .. import refresh_tokens
from ..tokens import IssuedTokens, LoginContext


@dataclass(frozen=True)
class Issuance:
    grant_type: str
    client: Client
    tokens: IssuedTokens
    user: User | None = None
    login: LoginContext | None = None  # the browser login the tokens descend from
    family: RefreshTokenFamily | None = None  # the refresh-token family they belong to


class IssuingGrant:
    """Mixin for our Authlib grants: ``issue`` mints, ``store`` keeps the grant's
    own rows, ``save_token`` records the issuance."""

    issuance: Issuance | None = None

    def issue(self, *, user: User | None, scope: str, include_refresh_token: bool) -> Issuance:
        raise NotImplementedError

    def store(self, issuance: Issuance) -> RefreshTokenFamily | None:
        """Rows only this grant keeps; returns the family the tokens belong to."""
        return None

    # --- Authlib's hooks ------------------------------------------------------------

    def generate_token(self, user=None, scope=None, grant_type=None, expires_in=None,
                       include_refresh_token=True) -> dict:
        self.issuance = self.issue(user=user, scope=scope,
                                   include_refresh_token=include_refresh_token)
        return self.issuance.tokens.response

    def save_token(self, token: dict) -> None:
        if self.issuance is None or self.issuance.tokens.response is not token:
            raise RuntimeError("save_token for a token this grant did not issue")
        self.issuance = replace(self.issuance, family=self.store(self.issuance))
        record_issuance(self.issuance)
        metrics.token_issued(self.issuance.grant_type)


def record_issuance(issuance: Issuance) -> None:
    """The audit event and the issued access token of a user's grant; a client's
    own tokens (client_credentials) store nothing."""
    user, family = issuance.user, issuance.family
    if user is None:
        return
    family_id = family.id if family is not None else None
    audit.record("tokens_issued", user_id=user.id, client_id=issuance.client.client_id,
                 family_id=family_id, grant_type=issuance.grant_type,
                 scope=issuance.tokens.response.get("scope"),
                 refresh_token=issuance.tokens.refresh_token is not None)
    refresh_tokens.record_access_token(
        issuance.tokens, client=issuance.client, user=user, family_id=family_id,
        sid=issuance.login.sid if issuance.login is not None else None)
