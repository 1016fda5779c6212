"""Opaque refresh tokens, found by digest and explained from the store: family,
client, user, scope, used or live, expiry, and why a family ended (RFC 6749 §6,
RFC 9700 §4.14.2). The rules are those of ``refresh_tokens.redeem_refresh_token``.

Read-only: looking at a used token does not revoke its family, and neither the
token nor its stored digest is ever part of the verdict.
"""

from __future__ import annotations

import re

from flask import current_app

from ... import clock, digests
from ...extensions import db
from ...models import Client, RefreshToken, RefreshTokenFamily, User
from ..refresh_tokens import MAX_TOKEN_LENGTH, family_end_reason
from .verdict import REFRESH_TOKEN, Verdict, relative, stamp

OPAQUE = re.compile(r"[A-Za-z0-9_-]+")
REVOCATION_REASONS = {
    "refresh_token_reuse": "a used refresh token was presented again (possible theft)",
    "code_replay": "the authorization code that started it was redeemed twice",
    "user_disabled": "the user was disabled",
    "client_disabled": "the client was disabled",
    "session_ended": "the sign-in session it was bound to ended",
}


def inspect_opaque(value: str) -> Verdict:
    verdict = Verdict()
    token = None
    if OPAQUE.fullmatch(value) and len(value) <= MAX_TOKEN_LENGTH:
        token = db.session.scalar(db.select(RefreshToken).where(
            RefreshToken.token_digest == digests.digest(value)))
    if token is None:
        verdict.problem("unknown_token", "not a JWT, and not a refresh token this provider "
                                         "holds (never issued here, or purged)")
        return verdict
    verdict.kind = REFRESH_TOKEN
    family = db.session.get(RefreshTokenFamily, token.family_id)
    client = db.session.get(Client, family.client_id)
    user = db.session.get(User, family.user_id)
    now = clock.now()
    verdict.refresh_token = describe(token, family, client, user, now)
    _check_token(verdict, token, family, now)
    _check_family(verdict, family, client, user, now)
    return verdict


def describe(token: RefreshToken, family: RefreshTokenFamily, client: Client | None,
             user: User | None, now: int) -> dict:
    if token.consumed_at is not None:
        status = "used"
    elif token.expires_at <= now:
        status = "expired"
    else:
        status = "live"
    return {
        "status": status,
        "family_id": family.id,
        "client_id": family.client_id,
        "client_name": client.name if client is not None else None,
        "user_id": family.user_id,
        "username": user.username if user is not None else None,
        "scope": family.scope,
        "offline_access": family.offline,
        "issued_at": token.issued_at,
        "expires_at": token.expires_at,
        "used_at": token.consumed_at,
        "family_created_at": family.created_at,
        "family_expires_at": family.expires_at,
        "family_revoked_at": family.revoked_at,
        "family_revoked_reason": family.revoked_reason,
    }


def _check_token(verdict: Verdict, token: RefreshToken, family: RefreshTokenFamily,
                 now: int) -> None:
    if token.consumed_at is not None:
        message = f"already used: rotated {relative(token.consumed_at, now)}"
        if family.revoked_at is None:
            message += "; presenting it again outside the grace window revokes the whole family"
        verdict.problem("used", message)
        grace = int(current_app.config["PROVIDER_REFRESH_GRACE_SECONDS"])
        if family.revoked_at is None and _in_grace(token, grace, now):
            verdict.warn("grace_window", f"still inside the {grace} s grace window: a repeat by "
                                         "the same client gets the same successor back")
    elif token.expires_at <= now:
        verdict.problem("expired", f"expired {relative(token.expires_at, now)} "
                                   f"({stamp(token.expires_at)})")


def _check_family(verdict: Verdict, family: RefreshTokenFamily, client: Client | None,
                  user: User | None, now: int) -> None:
    if family.revoked_at is not None:
        reason = REVOCATION_REASONS.get(family.revoked_reason, family.revoked_reason)
        verdict.problem("family_revoked", f"its family was revoked "
                                          f"{relative(family.revoked_at, now)}: {reason}")
    if family.expires_at <= now:
        verdict.problem("family_expired", f"its family ended {relative(family.expires_at, now)} "
                                          f"({stamp(family.expires_at)}): the absolute "
                                          "lifetime since sign-in is over")
    # the family's end the next refresh would record (it has not happened yet)
    pending = family_end_reason(family, user, now) if family.revoked_at is None else None
    if user is None:
        verdict.problem("user_disabled", f"the user {family.user_id} no longer exists")
    elif user.disabled:
        verdict.problem("user_disabled", f"the user {user.username} is disabled")
    if client is None:
        verdict.problem("client_disabled", f"the client {family.client_id} no longer exists")
    elif client.disabled:
        verdict.problem("client_disabled", f"the client {family.client_id} is disabled")
    if pending == "session_ended":
        verdict.problem("session_ended", "the sign-in session it is bound to has ended, and "
                                         "offline_access was not granted")


def _in_grace(token: RefreshToken, grace: int, now: int) -> bool:
    if grace <= 0 or now - token.consumed_at > grace:
        return False
    successor = db.session.scalar(db.select(RefreshToken).where(
        RefreshToken.parent_id == token.id))
    return successor is not None and successor.consumed_at is None
