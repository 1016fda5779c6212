"""The scaling row's database: 100,000 users, 10,000 clients and 100,000 live
refresh-token families (each with its current token and an issued access token),
written straight into a provider's SQLite file after ``provider init``.

The rows are shaped as the provider writes them, but nobody can use them: the
password hashes and secret digests are random, so nothing seeded signs in or
authenticates. They are there to be skipped by indexed lookups.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import time
import uuid
from pathlib import Path

USERS, CLIENTS, FAMILIES = 100_000, 10_000, 100_000
DAY = 86_400


def seed(database: Path, users: int = USERS, clients: int = CLIENTS,
         families: int = FAMILIES) -> dict[str, int]:
    now = int(time.time())
    user_ids = [str(uuid.uuid4()) for _ in range(users)]
    client_ids = [secrets.token_urlsafe(16) for _ in range(clients)]
    with sqlite3.connect(database) as connection:
        connection.executemany(
            "INSERT INTO users (id, username, email, email_verified, name, roles, "
            "password_hash, disabled, created_at) VALUES (?, ?, ?, 1, ?, '[\"user\"]', ?, 0, ?)",
            ((uid, f"seeded-{n}", f"seeded-{n}@example.test", f"Seeded {n}",
              "$argon2id$v=19$m=8,t=1,p=1$" + secrets.token_hex(16), now)
             for n, uid in enumerate(user_ids)))
        connection.executemany(
            "INSERT INTO clients (client_id, name, secret_digest, token_endpoint_auth_method, "
            "redirect_uris, post_logout_redirect_uris, grant_types, allowed_scope, "
            "id_token_signed_response_alg, trusted, disabled, created_at, "
            "backchannel_logout_session_required, generation) "
            "VALUES (?, ?, ?, 'client_secret_basic', ?, '[]', ?, 'openid profile email "
            "offline_access', 'RS256', 0, 0, ?, 0, 1)",
            ((cid, f"Seeded client {n}", secrets.token_hex(32),
              json.dumps([f"https://rp{n}.example.test/cb"]),
              json.dumps(["authorization_code", "refresh_token"]), now)
             for n, cid in enumerate(client_ids)))
        family_rows = [(secrets.token_hex(16), client_ids[n % clients], user_ids[n % users])
                       for n in range(families)]
        connection.executemany(
            "INSERT INTO refresh_token_families (id, client_id, user_id, scope, offline, "
            "auth_time, created_at, expires_at) VALUES (?, ?, ?, 'openid offline_access', 1, "
            "?, ?, ?)", ((fid, cid, uid, now, now, now + 30 * DAY)
                         for fid, cid, uid in family_rows))
        connection.executemany(
            "INSERT INTO refresh_tokens (token_digest, family_id, client_id, issued_at, "
            "expires_at) VALUES (?, ?, ?, ?, ?)",
            ((secrets.token_hex(32), fid, cid, now, now + 30 * DAY)
             for fid, cid, _ in family_rows))
        connection.executemany(
            "INSERT INTO issued_access_tokens (jti, family_id, client_id, user_id, expires_at) "
            "VALUES (?, ?, ?, ?, ?)",
            ((secrets.token_hex(16), fid, cid, uid, now + 900) for fid, cid, uid in family_rows))
    return {"users": users, "clients": clients, "families": families}
