"""Back-channel logout delivery (OpenID Connect Back-Channel Logout 1.0 §2.4-§2.8).

Each delivery is claimed on its own by one conditional UPDATE before it is
attempted, so two threads or processes never attempt the same delivery at once
and one slow relying party holds up nothing but its own deliveries. The claim
counts the attempt up front: one that never reports back (its process stopped)
still shows, and the delivery becomes due again when the claim runs out.

Each attempt signs a fresh logout token (its ``iat``, ``exp`` and ``jti`` are
new), POSTs it under the outbound policy within a deadline, and records the
outcome; whatever goes wrong in an attempt is that attempt's failure, never the
caller's. Failures are retried with exponential backoff and given up after
``MAX_ATTEMPTS``. No write lock is held while waiting on a relying party.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Collection
from dataclasses import dataclass

from flask import current_app

from .. import audit, clock, metrics
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
# Beyond the outbound deadline, time to sign, resolve and record; a claim outliving
# its attempt only delays a retry, one running out early would allow a second attempt.
CLAIM_MARGIN_SECONDS = 30
IN_FLIGHT = "attempt started, no outcome recorded yet"
NO_OUTCOME = "given up: the last attempt recorded no outcome (its process stopped)"
MAX_ERROR_CHARS = 300


@dataclass(frozen=True)
class Claim:
    """One delivery, claimed for one attempt: ``attempt`` is its number, and only
    the claim that made it may record that attempt's outcome."""

    delivery_id: int
    attempt: int
    client_id: str
    user_id: str
    sid: str


def logout_token(client: Client, delivery: LogoutDelivery | Claim) -> str:
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


def claim_seconds() -> int:
    return int(current_app.config["PROVIDER_OUTBOUND_DEADLINE_SECONDS"]) + CLAIM_MARGIN_SECONDS


def due(limit: int = BATCH, exclude_clients: Collection[str] = ()) -> list[tuple[int, str]]:
    """``(delivery id, client id)`` of pending deliveries that are due, oldest first."""
    query = (db.select(LogoutDelivery.id, LogoutDelivery.client_id)
             .where(LogoutDelivery.status == PENDING,
                    LogoutDelivery.next_attempt_at <= clock.now())
             .order_by(LogoutDelivery.next_attempt_at, LogoutDelivery.id).limit(limit))
    if exclude_clients:
        query = query.where(LogoutDelivery.client_id.not_in(list(exclude_clients)))
    rows = [(row.id, row.client_id) for row in db.session.execute(query)]
    db.session.rollback()  # end the read; claims are written on their own
    return rows


def claim(delivery_id: int) -> Claim | None:
    """Take ``delivery_id`` for one attempt; None when it is not due or someone
    else took it first. The attempt is counted now, not when it ends."""
    now = clock.now()
    still_due = (LogoutDelivery.id == delivery_id, LogoutDelivery.status == PENDING,
                 LogoutDelivery.next_attempt_at <= now)
    with write_transaction():
        # the last attempt's claim ran out without an outcome: nothing more to try
        if db.session.execute(db.update(LogoutDelivery).where(
                *still_due, LogoutDelivery.attempts >= MAX_ATTEMPTS)
                .values(status=FAILED, last_error=NO_OUTCOME)).rowcount:
            return None
        taken = db.session.execute(db.update(LogoutDelivery).where(*still_due).values(
            attempts=LogoutDelivery.attempts + 1, last_attempt_at=now, last_error=IN_FLIGHT,
            next_attempt_at=now + claim_seconds())).rowcount
        if not taken:
            return None
        row = db.session.get(LogoutDelivery, delivery_id)
        return Claim(delivery_id, row.attempts, row.client_id, row.user_id, row.sid)


def attempt(claimed: Claim) -> str | None:
    """POST a fresh logout token for ``claimed`` and record the outcome; returns the
    error, or None when the relying party accepted it."""
    error, give_up = None, False
    try:
        client = db.session.get(Client, claimed.client_id)
        if client is None or client.disabled or not client.backchannel_logout_uri:
            error, give_up = "client gone, disabled or without a back-channel logout URI", True
        else:
            token, uri = logout_token(client, claimed), client.backchannel_logout_uri
            db.session.rollback()  # hold no transaction while waiting on the relying party
            response = post_form(uri, {"logout_token": token})
            if not 200 <= response.status < 300:
                error = f"HTTP {response.status}"
    except OutboundRefused as exc:
        error, give_up = f"refused by policy: {exc}", True
    except Exception as exc:  # noqa: BLE001 - whatever an endpoint does fails this attempt only
        db.session.rollback()
        error = describe(exc)
    _record(claimed, error, give_up)
    return error


def describe(exc: BaseException) -> str:
    """A one-line reason: the exception's class and message, escaped and cut short,
    because part of it (a bad status line, say) is whatever the endpoint sent."""
    text = ascii(f"{type(exc).__name__}: {exc}")[1:-1]
    return text if len(text) <= MAX_ERROR_CHARS else text[:MAX_ERROR_CHARS - 1] + "…"


def deliver_due(limit: int = BATCH) -> int:
    """Claim and attempt each due delivery once, one after another, in this thread;
    returns how many were attempted."""
    attempted = 0
    for delivery_id, _client_id in due(limit):
        claimed = claim(delivery_id)
        if claimed is not None:
            attempt(claimed)
            attempted += 1
    return attempted


def _record(claimed: Claim, error: str | None, give_up: bool) -> None:
    now = clock.now()
    with write_transaction():
        # FOR UPDATE: a new claim of a delivery whose claim ran out (its UPDATE) waits
        # for this outcome, and one made first shows here as a higher attempt count
        delivery = db.session.get(LogoutDelivery, claimed.delivery_id, with_for_update=True,
                                  populate_existing=True)
        if delivery is None or delivery.status != PENDING \
                or delivery.attempts != claimed.attempt:
            return  # purged, finished or claimed again after this claim ran out
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
        metrics.backchannel_delivery(delivery.status)
    if error:
        log.warning("back-channel logout to %s failed (attempt %s): %s",
                    claimed.client_id, claimed.attempt, error)
