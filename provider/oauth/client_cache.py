"""Clients as each process last parsed them, confirmed on every use.

Loading a client through the ORM was a third of a client_credentials request. Here a
process keeps each client it loaded, detached from any session, and every lookup
reads that client's ``generation`` and ``created_at`` (one indexed ``SELECT``): the
row's version counter, one more on every change (the ORM's version counter, and on
SQLite a trigger for changes made outside the provider). Same number, the kept client is current;
another, or no row, and it is loaded again or forgotten. So a disabled client, or
one with a new secret, is refused by the very next request, in every process, and
the saving is the ORM load, never the check.
"""

from __future__ import annotations

from flask import current_app

from ..extensions import db
from ..models import Client

CACHE_KEY = "provider_client_cache"
MAX_CLIENT_ID = 64  # clients.client_id is String(64)
MAX_CLIENTS = 20_000  # per process; past it the oldest entries make room
_TABLE = Client.__table__
# Core, on the session's connection: the ORM's execute path would cost what is saved
_GENERATION = db.select(_TABLE.c.generation, _TABLE.c.created_at).where(
    _TABLE.c.client_id == db.bindparam("client_id"))


def current_client(client_id: str) -> Client | None:
    """The client ``client_id`` as stored now (disabled ones included), or None. The
    object is shared by the process's requests: read it, never change it."""
    if len(client_id) > MAX_CLIENT_ID or "\x00" in client_id:
        return None  # no stored id is like it (PostgreSQL would refuse the lookup)
    row = db.session.connection().execute(_GENERATION, {"client_id": client_id}).first()
    cache: dict[str, Client] = current_app.extensions.setdefault(CACHE_KEY, {})
    if row is None:
        cache.pop(client_id, None)
        return None
    client = cache.get(client_id)
    # created_at too: a client removed and made again under its id starts at generation 1
    if client is not None and (client.generation, client.created_at) == tuple(row):
        return client
    client = db.session.get(Client, client_id, populate_existing=True)
    if client is None:
        return None
    db.session.expunge(client)  # no later commit expires it, no flush writes it
    if len(cache) >= MAX_CLIENTS:
        del cache[next(iter(cache))]
    cache[client_id] = client
    return client
