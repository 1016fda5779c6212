"""Pending authorization interactions (login, consent).

An interaction keeps the original authorization request server-side so that,
once the user has logged in or decided on consent, the request resumes
exactly as sent, and so that an expired or abandoned interaction can still
answer the client at its validated redirect URI. Interactions are bound to
the browser that started them: the cookie session lists their ids.
"""

from __future__ import annotations

import secrets

from flask import current_app, session

from .. import clock
from ..extensions import db
from ..models import Interaction

KEY = "interactions"
MAX_PER_BROWSER = 5


def start_interaction(params: dict[str, str]) -> Interaction:
    now = clock.now()
    interaction = Interaction(
        id=secrets.token_urlsafe(24),
        params=params,
        created_at=now,
        expires_at=now + int(current_app.config["PROVIDER_INTERACTION_TTL"]),
    )
    db.session.add(interaction)
    ids = [i for i in session.get(KEY, []) if isinstance(i, str)][-(MAX_PER_BROWSER - 1):]
    session[KEY] = [*ids, interaction.id]
    return interaction


def find_interaction(interaction_id: str | None) -> Interaction | None:
    """This browser's interaction with that id (expired ones included)."""
    if not isinstance(interaction_id, str) or interaction_id not in session.get(KEY, []):
        return None
    return db.session.get(Interaction, interaction_id)


def is_expired(interaction: Interaction) -> bool:
    return interaction.expires_at <= clock.now()


def finish_interaction(interaction: Interaction) -> None:
    session[KEY] = [i for i in session.get(KEY, []) if i != interaction.id]
    db.session.delete(interaction)


def purge_expired() -> int:
    result = db.session.execute(db.delete(Interaction).where(Interaction.expires_at <= clock.now()))
    return result.rowcount or 0
