"""Pending authorization interactions (login, consent), kept in the browser.

An interaction carries the original authorization request so that, once the user
has logged in or decided on consent, the request resumes exactly as sent, and so
that an expired or abandoned interaction can still answer the client at its
validated redirect URI.

Nothing is stored server-side for it: anyone can send authorization requests, and
a row per request would let anonymous traffic grow the database without bound.
The interaction travels as a signed, size-bounded value (the ``interaction``
parameter of the login and consent pages), and it is bound to the browser that
started it: the cookie session lists the ids of its live interactions (at most
``MAX_PER_BROWSER``), and a value whose id is not listed there is not accepted.
Finishing an interaction takes its id off the list, so it cannot be used again.
"""

from __future__ import annotations

import secrets
from dataclasses import asdict, dataclass

from flask import current_app, session
from itsdangerous import BadSignature, URLSafeSerializer

from .. import clock

KEY = "interactions"
MAX_PER_BROWSER = 5
MAX_TOKEN_LENGTH = 6000  # bounded: it travels in URLs and the request line is 8190
_SALT = "provider.interaction"


class InteractionTooLarge(Exception):
    """The authorization request does not fit in a bounded interaction."""


@dataclass
class Interaction:
    id: str
    params: dict[str, str]
    created_at: int
    expires_at: int
    logged_in_at: int | None = None
    consented_scope: str | None = None

    @property
    def token(self) -> str:
        """The signed value that stands for this interaction in pages and URLs."""
        return _serializer().dumps(asdict(self))


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.secret_key, salt=_SALT)


def start_interaction(params: dict[str, str]) -> Interaction:
    now = clock.now()
    interaction = Interaction(
        id=secrets.token_urlsafe(16),
        params=params,
        created_at=now,
        expires_at=now + int(current_app.config["PROVIDER_INTERACTION_TTL"]),
    )
    if len(interaction.token) > MAX_TOKEN_LENGTH:
        raise InteractionTooLarge
    ids = [i for i in session.get(KEY, []) if isinstance(i, str)][-(MAX_PER_BROWSER - 1):]
    session[KEY] = [*ids, interaction.id]
    return interaction


def find_interaction(token: str | None) -> Interaction | None:
    """This browser's interaction behind that value (expired ones included)."""
    if not isinstance(token, str) or len(token) > MAX_TOKEN_LENGTH:
        return None
    try:
        fields = _serializer().loads(token)
        interaction = Interaction(**fields)
    except (BadSignature, TypeError, ValueError):
        return None
    if interaction.id not in session.get(KEY, []):
        return None  # another browser's, or finished already
    return interaction


def is_expired(interaction: Interaction) -> bool:
    return interaction.expires_at <= clock.now()


def finish_interaction(interaction: Interaction) -> None:
    session[KEY] = [i for i in session.get(KEY, []) if i != interaction.id]
