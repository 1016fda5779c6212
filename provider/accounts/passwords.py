"""argon2id password hashing with rehash-on-login."""

from __future__ import annotations

from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app

from ..extensions import db
from ..models import User

# A hash of a random password, verified against when the username is unknown, so
# that unknown users and wrong passwords cost the same time.
_DUMMY_PASSWORD = "not-a-password-0d3b1f"  # noqa: S105 - never a real credential


def password_hasher() -> PasswordHasher:
    config = current_app.config
    hasher = current_app.extensions.get("provider_password_hasher")
    if hasher is None:
        hasher = PasswordHasher(
            time_cost=int(config["PROVIDER_PASSWORD_TIME_COST"]),
            memory_cost=int(config["PROVIDER_PASSWORD_MEMORY_COST"]),
            parallelism=int(config["PROVIDER_PASSWORD_PARALLELISM"]),
        )
        current_app.extensions["provider_password_hasher"] = hasher
    return hasher


def hash_password(password: str) -> str:
    return password_hasher().hash(password)


def _dummy_hash() -> str:
    cached = current_app.extensions.get("provider_dummy_hash")
    if cached is None:
        cached = hash_password(_DUMMY_PASSWORD)
        current_app.extensions["provider_dummy_hash"] = cached
    return cached


@dataclass(frozen=True)
class VerifiedPassword:
    user_id: str
    new_hash: str | None  # set when the stored hash used older parameters


def verify_password(username: str, password: str) -> VerifiedPassword | None:
    """Check a username and password without writing anything.

    Unknown users, disabled users and wrong passwords all run one argon2
    verification and return None, so neither the answer nor its timing tells
    them apart. Callers run this outside any write transaction: argon2 takes
    ~100 ms, and on SQLite a writer holding the lock that long stalls every
    other request.
    """
    hasher = password_hasher()
    user = db.session.scalar(db.select(User).where(User.username == username))
    stored = user.password_hash if user is not None else _dummy_hash()
    try:
        hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return None
    if user is None or user.disabled:
        return None
    new_hash = hasher.hash(password) if hasher.check_needs_rehash(stored) else None
    return VerifiedPassword(user_id=user.id, new_hash=new_hash)


def complete_login(verified: VerifiedPassword) -> User | None:
    """Inside the write transaction: the user again (still enabled), hash upgraded."""
    user = db.session.get(User, verified.user_id)
    if user is None or user.disabled:
        return None
    if verified.new_hash:
        user.password_hash = verified.new_hash
    return user
