"""Remembered consent per user and client: granted scopes only ever grow here;
withdrawing removes the row."""

from __future__ import annotations

from authlib.oauth2.rfc6749.util import scope_to_list

from .. import clock
from ..extensions import db
from ..models import Client, Consent, User


def has_consent(user: User, client: Client, scope: str) -> bool:
    consent = _find(user, client)
    return consent is not None and consent.covers(set(scope_to_list(scope) or []))


def remember_consent(user: User, client: Client, scope: str) -> None:
    consent = _find(user, client)
    granted = set(scope_to_list(scope) or [])
    if consent is None:
        db.session.add(Consent(user_id=user.id, client_id=client.client_id,
                               scope=" ".join(sorted(granted))))
        return
    consent.scope = " ".join(sorted(granted | set(consent.scope.split())))
    consent.granted_at = clock.now()


def _find(user: User, client: Client) -> Consent | None:
    return db.session.scalar(
        db.select(Consent).where(Consent.user_id == user.id, Consent.client_id == client.client_id)
    )
