"""A worker's background work, ended in order at shutdown: the job scheduler, then
the outbox threads (their attempts in flight finish), then the leases this process
still holds, handed back so another process takes the work up at once."""

from __future__ import annotations

import logging

from flask import Flask

from .. import background, leases
from ..outbox import WORKERS as OUTBOX

log = logging.getLogger("provider.serve")
# within granian's workers_kill_timeout (10 s): a job or a delivery still running
# after this is cut off, and its lease or claim runs out by itself
JOBS_STOP_SECONDS = 4.0


def stop_jobs(app: Flask, timeout: float) -> None:
    """Stop the worker's jobs, waiting ``timeout`` at most for each kind; then release
    its leases. A database that cannot be reached leaves the leases to run out."""
    if not background.scheduler(app).stop(timeout):
        log.warning("a background job was still running at shutdown")
    if not OUTBOX.stop(timeout):
        log.warning("a back-channel delivery was still in flight at shutdown")
    try:
        with app.app_context():
            released = leases.release_all()
    except Exception as error:  # noqa: BLE001 - shutdown goes on; the leases expire
        log.warning("leases not released at shutdown: %s", str(error).splitlines()[0])
        return
    log.info("background jobs stopped; %d lease(s) released", released)
