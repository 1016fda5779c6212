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


def start_login_session(user: User) -> LoginSession:
    """Record a login and bind a fresh cookie session to it.

    The cookie session is cleared first so that nothing from before the login
    (a planted session id, an old CSRF token) survives it. Pending authorization
    interactions are carried over: they belong to the same browser.
    """
    carried = session.get("interactions")
    session.clear()
    if carried:
        session["interactions"] = carried
    now = clock.now()
    login = LoginSession(
        user_id=user.id,
        auth_time=now,
        expires_at=now + int(current_app.config["PROVIDER_SESSION_TTL"]),
        ip=request.remote_addr,
        user_agent=(request.user_agent.string or "")[:400] or None,
    )
    db.session.add(login)
    db.session.flush()
    session[SID_KEY] = login.sid
    session.permanent = False
    rotate_csrf_token()
    return login


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
