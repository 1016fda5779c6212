"""The token debugger behind ``provider token inspect``: decode a token, verify
it against the published key set and explain every reason it is refused.

JWTs are judged as this provider's access tokens (``signed``); anything else is
looked up as an opaque refresh token (``refresh``). The ``/debug`` page does the
JWT part in the browser (``static/debug.js``) so that a pasted token never
leaves it.
"""

from __future__ import annotations

from .refresh import inspect_opaque
from .report import render_text
from .signed import inspect_jwt
from .verdict import Finding, Verdict

__all__ = ["Finding", "Verdict", "inspect_token", "normalise", "render_text"]


def normalise(value: str) -> str:
    """The token in ``value``: surrounding space and an ``Authorization`` scheme dropped."""
    token = value.strip()
    scheme, _, rest = token.partition(" ")
    if scheme.lower() == "bearer" and rest.strip():
        token = rest.strip()
    return token


def inspect_token(value: str) -> Verdict:
    """The verdict on ``value``, which is never stored, logged or echoed."""
    token = normalise(value)
    if "." in token:
        return inspect_jwt(token)
    return inspect_opaque(token)
