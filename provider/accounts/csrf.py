"""CSRF tokens for every HTML form: one random token per browser session,
sent back in a hidden ``csrf_token`` field and compared in constant time."""

from __future__ import annotations

import hmac
import secrets

from flask import abort, request, session

FIELD = "csrf_token"


def csrf_token() -> str:
    token = session.get(FIELD)
    if not token:
        token = secrets.token_urlsafe(32)
        session[FIELD] = token
    return token


def rotate_csrf_token() -> None:
    session[FIELD] = secrets.token_urlsafe(32)


def require_csrf() -> None:
    """Abort with 400 unless the submitted form carries this session's token."""
    expected = session.get(FIELD)
    submitted = request.form.get(FIELD, "")
    if not expected or not hmac.compare_digest(expected.encode(), submitted.encode()):
        abort(400, description="The form expired or was not sent by this site. Please try again.")
