"""Background jobs inside the server: each runs in one process at a time across
all workers and hosts (a database lease), on a daemon thread per worker, and
never in the request path. The logout outbox only starts its own threads here
(``provider/outbox.py``), so no relying party can hold the other jobs up."""

from __future__ import annotations

import logging
import threading

from flask import Flask

from . import background, clock, denylist, leases
from .extensions import db
from .keys.lifecycle import key_transaction, rotate
from .management import purge
from .models import SigningKey
from .models.signing_key import ACTIVE
from .outbox import WORKERS as OUTBOX

log = logging.getLogger("provider.jobs")
KEY_ROTATION_LEASE = "key-rotation"


def rotate_keys_if_due(app: Flask) -> list[str] | None:
    """Rotate the signing keys when the oldest active key is older than the interval.

    Returns what the rotation reported, or None when nothing was due or another
    process holds the lease.
    """
    interval = int(app.config["PROVIDER_KEY_ROTATION_INTERVAL"])
    if not interval:
        return None
    with app.app_context():
        if not leases.try_acquire(KEY_ROTATION_LEASE, seconds=60):
            return None
        try:
            # the lease keeps other workers' jobs out; the key transaction keeps out the
            # operator's commands too, from before the read that says a rotation is due
            with key_transaction():
                oldest = db.session.scalar(db.select(db.func.min(SigningKey.activated_at))
                                           .where(SigningKey.state == ACTIVE))
                if oldest is not None and clock.now() - oldest < interval:
                    return None
                report = rotate()
        finally:
            leases.release(KEY_ROTATION_LEASE)
    for line in report.lines:
        log.info("automatic key rotation: %s", line)
    return report.lines


def deliver_logout_tokens(app: Flask) -> int:
    """Hand due back-channel logouts to this process's outbox threads and return at
    once; returns how many threads started. No lease: each delivery is claimed on
    its own (``backchannel.claim``), so every process may work the outbox."""
    return OUTBOX.dispatch(app)


PURGE_LEASE = "purge"
PURGE_INTERVAL = 3600


def purge_hourly(app: Flask) -> dict[str, int] | None:
    """`provider purge` once an hour across all processes: the lease is kept, not
    released, so nobody takes it again before the hour is over."""
    with app.app_context():
        if not leases.try_acquire(PURGE_LEASE, seconds=PURGE_INTERVAL, renew=False):
            return None
        counts = purge()  # the operator command and the job are one
    log.info("purge: %s", counts)
    return counts


def flush_pending_denials(app: Flask) -> int:
    """Hand Redis the deny-list entries it missed during an outage. No lease: every
    write is an idempotent SET NX, and an empty outbox costs one read."""
    with app.app_context():
        try:
            return denylist.flush_pending()
        finally:
            db.session.rollback()


JOBS = (rotate_keys_if_due, deliver_logout_tokens, purge_hourly, flush_pending_denials)


def run_due_jobs(app: Flask) -> None:
    background.scheduler(app).run_due(app)


def start_scheduler(app: Flask, tick_seconds: float = 15.0) -> threading.Thread:
    """Run the app's due jobs every ``tick_seconds`` on a daemon thread of this process."""
    return background.scheduler(app).start(app, tick_seconds)
