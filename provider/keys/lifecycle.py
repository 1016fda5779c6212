"""Signing-key lifecycle: next → active → retired → removed.

A key is published in the JWKS as ``next`` before it signs anything, for longer
than the JWKS ``max-age`` plus the key-ring cache interval, so every relying
party that honours the cache headers already holds it when the first token it
signed arrives. A retired key stays published until every token it signed has
expired. Each enabled algorithm has exactly one active key.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from flask import current_app

from .. import audit, clock
from ..database import serialise, write_transaction
from ..extensions import db
from ..models import SigningKey
from ..models.signing_key import ACTIVE, NEXT, RETIRED
from .encryption import decrypt_private_key, encrypt_private_key
from .keyset import create_signing_key, invalidate_key_ring, key_encryption_keys

CLOCK_SKEW = 30
SIGNING_KEYS = "signing-keys"  # the advisory lock every key-changing transaction takes


class KeyLifecycleError(Exception):
    """A key operation that cannot be done; the message says why."""


@contextmanager
def key_transaction() -> Iterator[None]:
    """One writing transaction that is the only key operation in progress anywhere:
    BEGIN IMMEDIATE on SQLite, and on PostgreSQL (READ COMMITTED, many processes) the
    ``signing-keys`` advisory lock as well, before anything reads the key table, so two
    operations never decide from the same keys (two ``provider init`` each creating a
    pair; a revoke deleting the next key a forced rotation has just promoted).
    Committed on success, rolled back on any error."""
    with write_transaction():
        serialise(SIGNING_KEYS)
        yield


@dataclass
class RotationReport:
    changed: bool = False
    lines: list[str] = field(default_factory=list)


def publication_delay() -> int:
    """How long a ``next`` key must be published before it may sign."""
    config = current_app.config
    return int(config["PROVIDER_DISCOVERY_MAX_AGE"]) + int(config["PROVIDER_KEY_CACHE_SECONDS"])


def signs_from(created_at: int) -> int:
    """When a next key created at ``created_at`` may start signing. ``created_at`` is
    truncated to the second: counting from the second after, the key has been
    published for the whole delay whatever the fraction was."""
    return created_at + 1 + publication_delay()


def retention() -> int:
    """How long a retired key stays published: the longest-lived token it signed."""
    config = current_app.config
    longest = max(int(config["PROVIDER_ACCESS_TOKEN_TTL"]), int(config["PROVIDER_ID_TOKEN_TTL"]))
    return longest + CLOCK_SKEW + int(config["PROVIDER_KEY_CACHE_SECONDS"])


def _keys(alg: str, state: str) -> list[SigningKey]:
    return list(db.session.scalars(
        db.select(SigningKey).where(SigningKey.alg == alg, SigningKey.state == state)
        .order_by(SigningKey.created_at.desc(), SigningKey.kid)))


def _kek() -> bytes:
    return current_app.config["PROVIDER_KEK"]


def ensure_signing_keys() -> list[SigningKey]:
    """Give every enabled algorithm an active and a next key; retire disabled ones.

    Used by ``provider init``: a new installation signs with all four
    algorithms at once, and each already has its successor published. Run it, like
    every operation below that changes keys, in a ``key_transaction``.
    """
    created = []
    enabled = current_app.config["PROVIDER_SIGNING_ALGORITHMS"]
    for alg in enabled:
        if not _keys(alg, ACTIVE):
            created.append(create_signing_key(_kek(), alg, state=ACTIVE))
        if not _keys(alg, NEXT):
            created.append(create_signing_key(_kek(), alg, state=NEXT))
    now = clock.now()
    for key in db.session.scalars(db.select(SigningKey).where(
            SigningKey.state == ACTIVE, SigningKey.alg.not_in(enabled))):
        key.state, key.retired_at = RETIRED, now
    db.session.flush()
    invalidate_key_ring()
    return created


def rotate(force: bool = False) -> RotationReport:
    """Promote each algorithm's next key once it has been published long enough.

    Without ``force`` nothing is promoted early; the report says when it will be
    safe. A fresh next key is always left behind.
    """
    report = RotationReport()
    now = clock.now()
    for alg in current_app.config["PROVIDER_SIGNING_ALGORITHMS"]:
        upcoming = _keys(alg, NEXT)
        if not upcoming:
            key = create_signing_key(_kek(), alg, state=NEXT)
            report.changed = True
            report.lines.append(f"{alg}: published next key {key.kid}; it may sign from "
                                f"{_when(signs_from(key.created_at), now)}")
            continue
        candidate = upcoming[-1]  # the longest-published
        safe_at = signs_from(candidate.created_at)
        if safe_at > now and not force:
            report.lines.append(f"{alg}: next key {candidate.kid} is not yet safe to use; "
                                f"rotate again {_when(safe_at, now)}")
            continue
        _promote(candidate, now)
        create_signing_key(_kek(), alg, state=NEXT)
        report.changed = True
        note = ""
        if safe_at > now:
            note = (" (forced: relying parties that cached the JWKS before it was published "
                    "will reject its tokens until their cache expires)")
        report.lines.append(f"{alg}: {candidate.kid} now signs{note}")
    report.lines.extend(remove_expired_retired_keys())
    if report.changed:
        audit.record("signing_keys_rotated", forced=force)
    db.session.flush()
    invalidate_key_ring()
    return report


def _promote(candidate: SigningKey, now: int) -> None:
    for active in _keys(candidate.alg, ACTIVE):
        active.state, active.retired_at = RETIRED, now
    candidate.state, candidate.activated_at = ACTIVE, now


def _when(at: int, now: int) -> str:
    seconds = max(0, at - now)
    return "now" if seconds == 0 else f"in {seconds} s"


def remove_expired_retired_keys() -> list[str]:
    """Drop retired keys whose every token has expired."""
    cutoff = clock.now() - retention()
    lines = []
    for key in db.session.scalars(db.select(SigningKey).where(
            SigningKey.state == RETIRED, SigningKey.retired_at <= cutoff)):
        lines.append(f"{key.alg}: removed retired key {key.kid}")
        db.session.delete(key)
    return lines


def revoke_key(kid: str) -> list[str]:
    """Emergency removal: out of the JWKS at once, so every token it signed stops
    verifying wherever the JWKS is re-read. An active key is replaced at once."""
    key = db.session.get(SigningKey, kid, populate_existing=True)  # its state as of now
    if key is None:
        raise KeyLifecycleError(f"no signing key {kid!r}")
    lines = [f"{key.alg}: revoked {kid}; tokens it signed no longer verify once relying "
             f"parties re-read the JWKS (at most {current_app.config['PROVIDER_DISCOVERY_MAX_AGE']}"
             " s for those honouring its max-age)"]
    was_active = key.state == ACTIVE
    db.session.delete(key)
    db.session.flush()
    if was_active and key.alg in current_app.config["PROVIDER_SIGNING_ALGORITHMS"]:
        upcoming = _keys(key.alg, NEXT)
        replacement = upcoming[-1] if upcoming else create_signing_key(_kek(), key.alg, NEXT)
        _promote(replacement, clock.now())
        create_signing_key(_kek(), key.alg, state=NEXT)
        lines.append(f"{key.alg}: {replacement.kid} signs in its place at once (it was "
                     "published for less than the JWKS max-age if it was just created)")
    audit.record("signing_key_revoked", kid=kid, alg=key.alg, was_active=was_active)
    db.session.flush()
    invalidate_key_ring()
    return lines


def rewrap_keys() -> int:
    """Re-encrypt every stored private key under the current KEK."""
    keks = key_encryption_keys()
    count = 0
    for key in db.session.scalars(db.select(SigningKey)):
        plaintext = decrypt_private_key(keks, key.kid, key.private_jwk_encrypted)
        key.private_jwk_encrypted = encrypt_private_key(_kek(), key.kid, plaintext)
        count += 1
    db.session.flush()
    return count


def check_keys_open() -> None:
    """Raise KeyDecryptionError unless the configured KEKs open every stored key."""
    keks = key_encryption_keys()
    for key in db.session.scalars(db.select(SigningKey)):
        decrypt_private_key(keks, key.kid, key.private_jwk_encrypted)
