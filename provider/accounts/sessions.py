"""Provider login sessions, referenced from the signed session cookie by ``sid``."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app, request, session

from .. import clock
from ..extensions import db
from ..models import LoginSession, User
from .csrf import rotate_csrf_token

SID_KEY = "sid"


@dataclass(frozen=True)
class CurrentLogin:
    session: LoginSession
    user: User


def start_login_session(user: User, continuing: LoginSession | None = None) -> LoginSession:
    """Record a login and bind a fresh cookie session to it.

    The cookie session is cleared first so that nothing from before the login
    (a planted session id, an old CSRF token) survives it. Pending authorization
    interactions are carried over: they belong to the same browser.

    ``continuing`` is this browser's live provider session of the same user (a
    re-authentication for ``prompt=login`` or ``max_age``): it keeps its ``sid``,
    so everything bound to it still ends with one logout, and only its
    ``auth_time`` and lifetime move. A session of another user must have been
    ended by the caller, as a logout ends it.
    """
    carried = session.get("interactions")
    session.clear()
    if carried:
        session["interactions"] = carried
    now = clock.now()
    expires_at = now + int(current_app.config["PROVIDER_SESSION_TTL"])
    if continuing is not None:
        continuing = _locked(continuing)
    if continuing is not None and continuing.user_id == user.id and continuing.ended_at is None:
        continuing.auth_time, continuing.expires_at = now, expires_at
        login = continuing
    else:
        login = LoginSession(
            user_id=user.id,
            auth_time=now,
            expires_at=expires_at,
            ip=request.remote_addr,
            user_agent=(request.user_agent.string or "")[:400] or None,
        )
        db.session.add(login)
    db.session.flush()
    session[SID_KEY] = login.sid
    session.permanent = False
    rotate_csrf_token()
    return login


def _locked(login: LoginSession) -> LoginSession | None:
    """``login`` read again FOR UPDATE: a logout that ended it since it was read (on
    PostgreSQL, between this request's two reads) shows here, and one that comes
    next waits, so a re-login never extends a session that a logout has ended."""
    return db.session.get(LoginSession, login.sid, with_for_update=True,
                          populate_existing=True)


def current_login() -> CurrentLogin | None:
    """The signed-in user of this browser, if the session is live and the user enabled."""
    sid = session.get(SID_KEY)
    if not isinstance(sid, str):
        return None
    login = db.session.get(LoginSession, sid)
    if login is None or login.ended_at is not None or login.expires_at <= clock.now():
        return None
    user = db.session.get(User, login.user_id)
    if user is None or user.disabled:
        return None
    return CurrentLogin(session=login, user=user)


def forget_login() -> None:
    """Drop this browser's cookie session (the provider session is ended elsewhere)."""
    session.clear()
