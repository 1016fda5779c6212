"""A client changed by the operator, in another process, is seen by the very next
request in every worker of ``provider serve``: each worker keeps the clients it
parsed, but confirms each one's generation on every use (``oauth/client_cache.py``)."""

from __future__ import annotations

import json
import sqlite3

import pytest
import requests
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

pytestmark = pytest.mark.e2e
REQUESTS = 12  # on fresh connections, so both workers answer some


def token_statuses(provider, client_id: str, secret: str) -> set[int]:
    statuses = set()
    for _ in range(REQUESTS):
        with requests.Session() as http:
            statuses.add(http.post(provider.issuer + "/token", timeout=10,
                                   auth=(client_id, secret),
                                   data={"grant_type": "client_credentials"}).status_code)
    return statuses


def working_service(provider, name: str) -> tuple[str, str]:
    """A new client_credentials client, already used on both workers: its id and secret."""
    service = provider.create_client("--name", name, "--redirect-uri", "http://127.0.0.1:9/cb",
                                     "--grant-type", "client_credentials", "--scope", "api:read")
    client_id, secret = service["client_id"], service["client_secret"]
    assert token_statuses(provider, client_id, secret) == {200}
    return client_id, secret


def test_a_rotated_secret_and_a_disabled_client_are_refused_at_once(live_provider):
    client_id, old_secret = working_service(live_provider, "changing")

    rotated = live_provider.cli("clients", "rotate-secret", client_id)
    assert rotated.returncode == 0, rotated.stderr
    new_secret = json.loads(rotated.stdout)["client_secret"]
    assert token_statuses(live_provider, client_id, old_secret) == {401}
    assert token_statuses(live_provider, client_id, new_secret) == {200}

    disabled = live_provider.cli("clients", "disable", client_id)
    assert disabled.returncode == 0, disabled.stderr
    assert token_statuses(live_provider, client_id, new_secret) == {401}


def test_a_change_made_outside_the_provider_is_seen_at_once(live_provider):
    """An operator's UPDATE in the sqlite3 shell or psql: the trigger counts it as a
    change."""
    client_id, secret = working_service(live_provider, "edited")
    url = live_provider.env.get("DATABASE_URL")
    if url:
        engine = create_engine(url, poolclass=NullPool)
        with engine.begin() as connection:
            connection.execute(text("UPDATE clients SET disabled = true WHERE client_id = :id"),
                               {"id": client_id})
        engine.dispose()
    else:
        with sqlite3.connect(live_provider.instance / "provider.db", timeout=30) as connection:
            connection.execute("UPDATE clients SET disabled = 1 WHERE client_id = ?",
                               (client_id,))
    assert token_statuses(live_provider, client_id, secret) == {401}
