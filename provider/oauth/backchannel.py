"""Back-channel logout delivery (OpenID Connect Back-Channel Logout 1.0 §2.4-§2.8).

The outbox is worked by a background job that holds a lease, so one process
delivers at a time. Each attempt signs a fresh logout token (its ``iat``,
``exp`` and ``jti`` are new), POSTs it under the outbound policy, and records
the outcome; failures are retried with exponential backoff and given up after
``MAX_ATTEMPTS``. No write lock is held while waiting on a relying party.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable

from flask import current_app

from .. import audit, clock
from ..database import write_transaction
from ..extensions import db
from ..keys import key_ring
from ..models import Client, LogoutDelivery
from ..models.logout_delivery import DELIVERED, FAILED, PENDING
from ..outbound import OutboundRefused, post_form
from .tokens import sign_jwt

log = logging.getLogger("provider.backchannel")
BACKCHANNEL_EVENT = "http://schemas.openid.net/event/backchannel-logout"
LOGOUT_TOKEN_TTL = 120
MAX_ATTEMPTS = 8
BATCH = 50


def logout_token(client: Client, delivery: LogoutDelivery) -> str:
    """A logout token (§2.4): iss, aud, iat, exp, jti, events, sub and sid; no nonce."""
    now = clock.now()
    claims = {
        "iss": current_app.config["PROVIDER_ISSUER"],
        "aud": client.client_id,
        "iat": now,
        "exp": now + LOGOUT_TOKEN_TTL,
        "jti": secrets.token_urlsafe(16),
        "events": {BACKCHANNEL_EVENT: {}},
        "sub": delivery.user_id,
        "sid": delivery.sid,
    }
    alg = client.id_token_signed_response_alg
    if alg not in key_ring().algorithms:
        alg = "RS256"
    return sign_jwt(claims, typ="logout+jwt", alg=alg)


def backoff_seconds(attempts: int) -> int:
    return min(5 * 2 ** (attempts - 1), 3600)


def deliver_due(limit: int = BATCH, still_mine: Callable[[], bool] = lambda: True) -> int:
    """Attempt every due delivery once; returns how many were attempted.

    ``still_mine`` is asked before each attempt (the caller renews its lease
    there) and stops the batch when another process has taken over.
    """
    now = clock.now()
    due = db.session.scalars(db.select(LogoutDelivery).where(
        LogoutDelivery.status == PENDING, LogoutDelivery.next_attempt_at <= now)
        .order_by(LogoutDelivery.next_attempt_at).limit(limit)).all()
    db.session.rollback()  # end the read; each outcome is written on its own
    attempted = 0
    for delivery in due:
        if not still_mine():
            break
        _attempt(delivery)
        attempted += 1
    return attempted


def _attempt(delivery: LogoutDelivery) -> None:
    client = db.session.get(Client, delivery.client_id)
    error = None
    if client is None or client.disabled or not client.backchannel_logout_uri:
        error = "client gone, disabled or without a back-channel logout URI"
    else:
        token, uri = logout_token(client, delivery), client.backchannel_logout_uri
        db.session.rollback()  # hold no transaction while waiting on the relying party
        try:
            response = post_form(uri, {"logout_token": token})
            if not 200 <= response.status < 300:
                error = f"HTTP {response.status}"
        except OutboundRefused as exc:
            error = f"refused by policy: {exc}"
        except OSError as exc:  # connection refused, timeout, TLS failure
            error = f"{type(exc).__name__}: {exc}"
    _record(delivery.id, error, give_up=client is None or error is not None
            and error.startswith(("refused by policy", "client gone")))


def _record(delivery_id: int, error: str | None, give_up: bool) -> None:
    now = clock.now()
    with write_transaction():
        delivery = db.session.get(LogoutDelivery, delivery_id)
        if delivery is None or delivery.status != PENDING:
            return
        delivery.attempts += 1
        delivery.last_attempt_at = now
        delivery.last_error = error
        if error is None:
            delivery.status, delivery.delivered_at = DELIVERED, now
        elif give_up or delivery.attempts >= MAX_ATTEMPTS:
            delivery.status = FAILED
        else:
            delivery.next_attempt_at = now + backoff_seconds(delivery.attempts)
        audit.record("backchannel_logout_delivery", user_id=delivery.user_id,
                     client_id=delivery.client_id, sid=delivery.sid, outcome=delivery.status,
                     attempts=delivery.attempts, error=error)
    if error:
        log.warning("back-channel logout to %s failed (attempt %s): %s",
                    delivery.client_id, delivery.attempts, error)
