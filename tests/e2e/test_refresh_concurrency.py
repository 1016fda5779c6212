"""Refresh tokens over real HTTP against ``provider serve`` (two worker
processes on one SQLite file): 50 concurrent refreshes with one token, with and
without the grace window; rotation, scope narrowing and widening, another
client's attempt, and ``provider families show``.

The database is only ever read here (read-only connection), to find a client's
family and to look at its rows."""

from __future__ import annotations

import json
import threading
from collections import Counter

import jwt
import pytest
import requests

from tests.support.live_flows import (
    SCOPE,
    TIMEOUT,
    assert_error,
    new_client,
    obtain_tokens,
    refresh,
    userinfo_status,
)
from tests.support.live_server import query

pytestmark = pytest.mark.e2e

RACERS = 50


# --- helpers -------------------------------------------------------------------------


def assert_ok(response: requests.Response) -> dict:
    assert response.status_code == 200, response.text
    assert response.headers["Cache-Control"] == "no-store"
    body = response.json()
    assert body["access_token"] and body["refresh_token"], body
    return body


def access_scope(access_token: str) -> set[str]:
    claims = jwt.decode(access_token, options={"verify_signature": False})
    return set(claims["scope"].split())


def family_of(provider, client: dict) -> str:
    rows = query(provider, "SELECT id FROM refresh_token_families WHERE client_id = ?",
                 client["client_id"])
    assert len(rows) == 1, rows
    return rows[0][0]


def children_per_parent(provider, family_id: str) -> Counter:
    rows = query(provider, "SELECT parent_id FROM refresh_tokens WHERE family_id = ?",
                 family_id)
    return Counter(parent for (parent,) in rows if parent is not None)


def reuse_outcomes(provider, family_id: str) -> Counter:
    rows = query(provider, "SELECT details FROM audit_events "
                 "WHERE event = 'refresh_token_reuse' AND family_id = ?", family_id)
    return Counter(json.loads(details)["outcome"] for (details,) in rows)


def race(provider, client: dict, token: str) -> list[requests.Response | BaseException]:
    """RACERS simultaneous refreshes with one token, released by one barrier."""
    barrier = threading.Barrier(RACERS)
    results: list[requests.Response | BaseException] = [None] * RACERS  # type: ignore[list-item]

    def run(index: int) -> None:
        try:
            barrier.wait(timeout=TIMEOUT)
            results[index] = refresh(provider, client, token)
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            results[index] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(RACERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=2 * TIMEOUT)
    errors = [r for r in results if not isinstance(r, requests.Response)]
    assert not errors, errors
    assert not any(thread.is_alive() for thread in threads)
    return results


# --- concurrency -----------------------------------------------------------------------


def test_concurrent_refresh_without_grace_has_one_winner_then_revokes(live_provider_no_grace):
    provider = live_provider_no_grace
    client = new_client(provider)
    first = obtain_tokens(provider, client)
    original = first["refresh_token"]

    responses = race(provider, client, original)
    statuses = Counter(r.status_code for r in responses)
    # Exactly one claims the token (one conditional UPDATE). A repeat can only revoke
    # the family after seeing the token consumed, that is after the winner committed,
    # so the winner is never refused; every other request is a repeat and fails.
    assert statuses == {200: 1, 400: RACERS - 1}, (
        statuses, [r.text for r in responses if r.status_code not in (200, 400)][:3])
    for response in responses:
        if response.status_code == 400:
            assert response.json()["error"] == "invalid_grant", response.text
    (winner,) = [assert_ok(r) for r in responses if r.status_code == 200]
    assert winner["refresh_token"] != original

    family_id = family_of(provider, client)
    # one successor, stored once: the original has exactly one child and nothing forked
    assert list(children_per_parent(provider, family_id).values()) == [1]

    # The repeats were theft without a grace window: the family is over, the winner's
    # successor included, although it was handed out before the revocation.
    assert_error(refresh(provider, client, original), "invalid_grant")
    assert_error(refresh(provider, client, winner["refresh_token"]), "invalid_grant")
    assert userinfo_status(provider, winner["access_token"]) == 401  # deny-listed
    (revoked_reason,), = query(provider, "SELECT revoked_reason FROM refresh_token_families "
                                         "WHERE id = ?", family_id)
    assert revoked_reason == "refresh_token_reuse"
    outcomes = reuse_outcomes(provider, family_id)
    assert outcomes["grace"] == 0 and outcomes["family_revoked"] >= 1, outcomes


def test_concurrent_refresh_within_grace_share_one_successor(live_provider):
    client = new_client(live_provider)
    original = obtain_tokens(live_provider, client)["refresh_token"]

    responses = race(live_provider, client, original)
    statuses = Counter(r.status_code for r in responses)
    assert statuses == {200: RACERS}, (statuses, [r.text for r in responses
                                                   if r.status_code != 200][:3])
    bodies = [assert_ok(r) for r in responses]
    successors = {body["refresh_token"] for body in bodies}
    assert len(successors) == 1, f"the family forked into {len(successors)} successors"
    (successor,) = successors
    assert successor != original
    # a fresh access token each time, all of them working
    assert len({body["access_token"] for body in bodies}) == RACERS
    assert userinfo_status(live_provider, bodies[0]["access_token"]) == 200

    family_id = family_of(live_provider, client)
    assert list(children_per_parent(live_provider, family_id).values()) == [1]  # no fork
    assert reuse_outcomes(live_provider, family_id) == {"grace": RACERS - 1}

    # the successor works once and has its own successor
    following = assert_ok(refresh(live_provider, client, successor))
    newest = following["refresh_token"]
    assert newest not in (original, successor)
    assert userinfo_status(live_provider, following["access_token"]) == 200

    # the original again, now that its successor was used: reuse, the family ends
    assert_error(refresh(live_provider, client, original), "invalid_grant")
    assert_error(refresh(live_provider, client, newest), "invalid_grant")
    assert userinfo_status(live_provider, following["access_token"]) == 401
    assert reuse_outcomes(live_provider, family_id) == {"grace": RACERS - 1,
                                                       "family_revoked": 1}

# --- sequential ------------------------------------------------------------------------


def test_rotation_scope_and_other_clients(live_provider):
    client = new_client(live_provider)
    token = obtain_tokens(live_provider, client)["refresh_token"]
    seen = [token]

    for _ in range(3):
        body = assert_ok(refresh(live_provider, client, token))
        assert body["refresh_token"] not in seen
        assert set(body["scope"].split()) == set(SCOPE.split())
        assert userinfo_status(live_provider, body["access_token"]) == 200
        token = body["refresh_token"]
        seen.append(token)

    # narrowing: this access token only, not the family
    narrowed = assert_ok(refresh(live_provider, client, token, scope="openid"))
    assert access_scope(narrowed["access_token"]) == {"openid"}
    assert narrowed["scope"] == "openid"
    token = narrowed["refresh_token"]
    restored = assert_ok(refresh(live_provider, client, token, scope=SCOPE))
    assert access_scope(restored["access_token"]) == set(SCOPE.split())
    token = restored["refresh_token"]
    unscoped = assert_ok(refresh(live_provider, client, token))
    assert access_scope(unscoped["access_token"]) == set(SCOPE.split())
    token = unscoped["refresh_token"]

    # widening, or an unknown scope, is refused without burning the token
    for wider in (SCOPE + " offline_access", "openid no-such-scope"):
        assert_error(refresh(live_provider, client, token, scope=wider), "invalid_scope")
        body = assert_ok(refresh(live_provider, client, token))
        token = body["refresh_token"]

    # another client cannot use it, and its attempt does not end the family
    other = new_client(live_provider, "other")
    assert_error(refresh(live_provider, other, token), "invalid_grant")
    body = assert_ok(refresh(live_provider, client, token))
    assert userinfo_status(live_provider, body["access_token"]) == 200
    family_id = family_of(live_provider, client)
    assert reuse_outcomes(live_provider, family_id) == {}
    (revoked_at,), = query(live_provider, "SELECT revoked_at FROM refresh_token_families "
                                          "WHERE id = ?", family_id)
    assert revoked_at is None


def test_families_show_prints_lineage_without_tokens(live_provider):
    client = new_client(live_provider)
    first = obtain_tokens(live_provider, client)
    values = [first["refresh_token"], first["access_token"], first["id_token"]]
    token = first["refresh_token"]
    for _ in range(3):
        body = assert_ok(refresh(live_provider, client, token))
        token = body["refresh_token"]
        values += [token, body["access_token"]]
    family_id = family_of(live_provider, client)

    result = live_provider.cli("families", "show", family_id)
    assert result.returncode == 0, result.stderr
    lineage = json.loads(result.stdout)
    assert lineage["family_id"] == family_id
    assert lineage["client_id"] == client["client_id"]
    assert lineage["user_id"]
    assert set(lineage["scope"].split()) == set(SCOPE.split())
    assert lineage["revoked_at"] is None

    tokens = lineage["tokens"]
    assert len(tokens) == 4
    ids = [t["id"] for t in tokens]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert tokens[0]["parent_id"] is None
    assert [t["parent_id"] for t in tokens[1:]] == ids[:-1]
    assert all(t["used_at"] is not None for t in tokens[:-1])
    assert tokens[-1]["used_at"] is None
    assert all(t["issued_at"] <= t["expires_at"] for t in tokens)

    digests = [d for (d,) in query(live_provider, "SELECT token_digest FROM refresh_tokens "
                                                  "WHERE family_id = ?", family_id)]
    assert len(digests) == 4
    for secret in values + digests:
        assert secret not in result.stdout and secret not in result.stderr

    unknown = live_provider.cli("families", "show", "0" * 32)
    assert unknown.returncode != 0
