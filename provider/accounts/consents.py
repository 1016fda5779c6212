"""Remembered consent per user and client: granted scopes only ever grow here;
withdrawing removes the row."""

from __future__ import annotations

from authlib.oauth2.rfc6749.util import scope_to_list

from .. import clock
from ..database import upsert_insert
from ..extensions import db
from ..models import Client, Consent, User


def has_consent(user: User, client: Client, scope: str) -> bool:
    consent = _find(user, client)
    return consent is not None and consent.covers(set(scope_to_list(scope) or []))


def remember_consent(user: User, client: Client, scope: str) -> None:
    """Add ``scope`` to the user's consent for ``client`` (in the caller's transaction).

    One upsert makes the row or, if it is there, takes its lock (and returns it as
    committed); the scopes are merged under that lock. On PostgreSQL two first
    consents at once would otherwise both insert (one failing on the unique key),
    and two grants to one row would each merge into the scopes it read, the later
    write dropping the other's. (``ON CONFLICT DO UPDATE`` rather than ``DO
    NOTHING``: the row is ours at once, so a concurrent withdrawal cannot delete it
    between the insert and the merge.)
    """
    granted = set(scope_to_list(scope) or [])
    now = clock.now()
    table = Consent.__table__
    upsert = (
        upsert_insert(Consent)
        .values(user_id=user.id, client_id=client.client_id, scope=" ".join(sorted(granted)),
                granted_at=now)
        .on_conflict_do_update(index_elements=[table.c.user_id, table.c.client_id],
                               set_={"granted_at": now})
        .returning(Consent)
    )
    consent = db.session.scalar(upsert, execution_options={"populate_existing": True})
    consent.scope = " ".join(sorted(granted | set(consent.scope.split())))


def _find(user: User, client: Client) -> Consent | None:
    return db.session.scalar(
        db.select(Consent).where(Consent.user_id == user.id, Consent.client_id == client.client_id)
    )
