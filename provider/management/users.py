"""End-user accounts: create, disable or enable, end their sessions, unlock sign-in."""

from __future__ import annotations

import re

from sqlalchemy.exc import IntegrityError

from .. import audit, clock
from ..accounts import throttle
from ..accounts.passwords import hash_password
from ..database import writing
from ..extensions import db
from ..models import LoginSession, User
from ..oauth import client_metadata
from ..oauth.logout import end_login_session
from ..oauth.refresh_tokens import revoke_families
from .errors import ManagementError

USERNAME = re.compile(r"^[A-Za-z0-9._@+-]{1,150}$")


@writing
def create_user(username: str, password: str, *, email: str | None = None,
                name: str | None = None, roles: list[str] | None = None) -> User:
    if not USERNAME.match(username):
        raise ManagementError("username must be 1-150 letters, digits or . _ @ + -")
    if len(password) < 8:
        raise ManagementError("password must be at least 8 characters")
    if len(password) > 1024:
        raise ManagementError("password must be at most 1024 characters")
    if email is not None and not re.match(r"^[^@\s]+@[^@\s]+$", email):
        raise ManagementError(f"not an email address: {email!r}")
    for role in roles or []:
        if not client_metadata.SCOPE_TOKEN.match(role):
            raise ManagementError(f"invalid role name: {role!r}")
    if db.session.scalar(db.select(User.id).where(User.username == username)):
        raise _exists(username)
    user = User(username=username, email=email, name=name, roles=list(roles or []),
                password_hash=hash_password(password), email_verified=False)
    db.session.add(user)
    try:
        db.session.commit()
    except IntegrityError:
        # on PostgreSQL a concurrent create of the name committed after our check
        db.session.rollback()
        raise _exists(username) from None
    return user


def _exists(username: str) -> ManagementError:
    return ManagementError(f"user {username!r} already exists")


@writing
def set_user_disabled(username: str, disabled: bool) -> None:
    user = db.session.scalar(db.select(User).where(User.username == username))
    if user is None:
        raise ManagementError(f"no user {username!r}")
    user.disabled = disabled
    if disabled:
        user.tokens_not_before = clock.now()  # also the tokens no family tracks
        end_user_sessions(user.id, "user_disabled")
        revoke_families("user_disabled", user_id=user.id)
    db.session.commit()  # the servers' outbox jobs deliver the back-channel notices


def end_user_sessions(user_id: str, reason: str) -> int:
    """End every live provider session of the user as a logout does (families, the
    deny-list, back-channel notices), in the caller's transaction."""
    now = clock.now()
    live = db.session.scalars(db.select(LoginSession).where(
        LoginSession.user_id == user_id, LoginSession.ended_at.is_(None),
        LoginSession.expires_at > now)).all()
    for login in live:
        end_login_session(login, reason=reason)
    return len(live)


@writing
def unlock_user(username: str) -> int:
    """Clear a user's login throttle at once; returns how many counters went."""
    user = db.session.scalar(db.select(User).where(User.username == username))
    if user is None:
        raise ManagementError(f"no user {username!r}")
    cleared = throttle.unlock(username)
    audit.record("login_unlocked", user_id=user.id, counters=cleared)
    db.session.commit()
    return cleared
