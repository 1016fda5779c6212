"""Tokens the provider must refuse: malformed and unknown strings, an unsigned JWT
in the shape of our access tokens, and a real token's claims signed again by the
provider's own key under another ``typ``."""

from __future__ import annotations

import base64

import jwt
from flask import Flask

from provider.oauth.tokens import sign_jwt
from tests.support.settings import ISSUER

GARBAGE = [
    "unknown-token",
    "a.b.c",
    "....",
    "é" * 40,
    "\x00\x01",
    "x" * 9000,  # longer than any token of ours
    "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.AAAA",
]


def forged_jwt() -> str:
    def part(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).decode().rstrip("=")

    return ".".join([part(b'{"alg":"none","typ":"at+jwt"}'),
                     part(b'{"iss":"' + ISSUER.encode() + b'","jti":"x","exp":9999999999}'),
                     ""])


def resigned(app: Flask, token: str, typ: str) -> str:
    """``token``'s claims signed again by the provider's own key under another ``typ``."""
    claims = jwt.decode(token, options={"verify_signature": False})
    with app.app_context():
        return sign_jwt(claims, typ=typ)
