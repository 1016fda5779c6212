"""The grants this provider offers, one module each, listed once in ``GRANTS``.

The server wiring, the token view's request-shape checks, discovery and the
client metadata rules read the registry. Adding a grant is a module declaring
its ``GrantSpec`` and a line here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .. import client_auth
from . import authorization_code, client_credentials, refresh_token
from .issuance import Issuance, IssuingGrant
from .spec import GrantSpec

GRANTS: tuple[GrantSpec, ...] = (
    authorization_code.GRANT,
    refresh_token.GRANT,
    client_credentials.GRANT,
)
BY_TYPE: dict[str, GrantSpec] = {grant.grant_type: grant for grant in GRANTS}

# parameters of every token request whichever the grant (``resource``: RFC 8707)
COMMON_PARAMETERS = ("grant_type", "scope", "resource")


def grant_types() -> list[str]:
    return [grant.grant_type for grant in GRANTS]


def token_request_parameters() -> frozenset[str]:
    """Every parameter name a token request may carry."""
    return frozenset(COMMON_PARAMETERS).union(
        *(grant.parameters for grant in GRANTS), client_auth.form_parameters())


def register_grants(server, config: Mapping[str, Any]) -> None:
    for grant in GRANTS:
        server.register_grant(grant.grant_class, grant.extensions(config))


__all__ = ["BY_TYPE", "GRANTS", "GrantSpec", "Issuance", "IssuingGrant", "grant_types",
           "register_grants", "token_request_parameters"]
