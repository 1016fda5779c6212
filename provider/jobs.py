"""Background jobs inside the server: each runs in one process at a time across
all workers and hosts (a database lease), on a daemon thread per worker, and
never in the request path."""

from __future__ import annotations

import logging
import threading
import time

from flask import Flask

from . import clock, leases
from .database import write_transaction
from .extensions import db
from .keys.lifecycle import rotate
from .models import SigningKey
from .models.signing_key import ACTIVE

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
            with write_transaction():  # read-then-write: take SQLite's lock up front
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


JOBS = (rotate_keys_if_due,)


def run_due_jobs(app: Flask) -> None:
    for job in JOBS:
        try:
            job(app)
        except Exception:  # a failing job must not kill the scheduler thread
            log.exception("background job %s failed", job.__name__)


def start_scheduler(app: Flask, tick_seconds: float = 15.0) -> threading.Thread:
    """Run the due jobs every ``tick_seconds`` on a daemon thread of this process."""

    def loop() -> None:
        while True:
            run_due_jobs(app)
            time.sleep(tick_seconds)

    thread = threading.Thread(target=loop, name="provider-jobs", daemon=True)
    thread.start()
    return thread
