"""What each grant declares for the registry (``grants.GRANTS``): the token
view, the server wiring, discovery and the client metadata rules read these
facts here and nowhere else."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .. import client_auth


def _no_extensions(config: Mapping[str, Any]) -> list:
    return []


@dataclass(frozen=True)
class GrantSpec:
    # an Authlib grant class; its GRANT_TYPE and TOKEN_ENDPOINT_AUTH_METHODS are the
    # grant type and the accepted client authentication methods
    grant_class: type
    # the parameter whose absence (or empty value) is "missing", not "invalid grant"
    required_parameter: str | None
    # whether a token request stores anything (takes the database's write lock)
    writes: bool
    # the token request parameters the grant reads, beyond grant_type and scope
    parameters: tuple[str, ...] = ()
    # Authlib grant extensions (PKCE, ID tokens), built from the configuration
    extensions: Callable[[Mapping[str, Any]], list] = field(default=_no_extensions)

    @property
    def grant_type(self) -> str:
        return self.grant_class.GRANT_TYPE

    @property
    def auth_methods(self) -> tuple[str, ...]:
        return tuple(self.grant_class.TOKEN_ENDPOINT_AUTH_METHODS)

    @property
    def public_clients(self) -> bool:
        """Whether a client without a credential may use the grant."""
        return any(not client_auth.BY_NAME[name].confidential for name in self.auth_methods)
