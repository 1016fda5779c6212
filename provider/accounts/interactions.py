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
Finishing an interaction takes its id off the list. The cookie is the client's,
though, and a saved copy lists the id again: so an interaction that finishes
after the user signed in or consented in it (a value worth replaying, since it
says "logged in here") is also recorded as spent, one row claimed atomically,
and never accepted again. Anonymous interactions carry nothing worth replaying
and still write nothing.
"""

from __future__ import annotations

import secrets
from dataclasses import asdict, dataclass

from flask import current_app, session
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import bindparam, select
from sqlalchemy.exc import IntegrityError

from .. import clock
from ..extensions import db
from ..models import SpentInteraction

KEY = "interactions"
MAX_PER_BROWSER = 5
MAX_TOKEN_LENGTH = 6000  # bounded: it travels in URLs and the request line is 8190
_SALT = "provider.interaction"
_IS_SPENT = select(SpentInteraction.id).where(SpentInteraction.id == bindparam("id"))


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
    def carries_state(self) -> bool:
        """Whether the value vouches for something the user did in it."""
        return self.logged_in_at is not None or self.consented_scope is not None

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
    if interaction.carries_state and _is_spent(interaction.id):
        return None  # finished already, presented again with an old cookie
    return interaction


def _is_spent(interaction_id: str) -> bool:
    return db.session.connection().execute(_IS_SPENT, {"id": interaction_id}).first() \
        is not None


def is_expired(interaction: Interaction) -> bool:
    return interaction.expires_at <= clock.now()


def finish_interaction(interaction: Interaction) -> bool:
    """End the interaction; False if it had been finished already (a replay), in
    which case the caller must not act on it. The spent row is the claim: of two
    requests finishing one interaction, exactly one inserts it."""
    session[KEY] = [i for i in session.get(KEY, []) if i != interaction.id]
    if not interaction.carries_state:
        return True
    try:
        with db.session.begin_nested():
            db.session.add(SpentInteraction(id=interaction.id,
                                            expires_at=interaction.expires_at))
    except IntegrityError:
        return False
    return True


def purge_spent() -> int:
    """Drop the records of interactions whose values have expired anyway."""
    return db.session.execute(db.delete(SpentInteraction).where(
        SpentInteraction.expires_at <= clock.now())).rowcount or 0
