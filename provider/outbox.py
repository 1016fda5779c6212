"""The back-channel logout outbox, worked by a few daemon threads per process.

The scheduler thread only hands work over (``dispatch``) and goes on to the
other jobs, so key rotation and purge never wait on a relying party. Each
outbox thread claims one delivery at a time (``backchannel.claim``) and keeps
going until nothing it may take is due; a thread never takes a client another
thread of this process is already delivering to, so one slow relying party
holds at most one thread per process, and every other client's logouts go on.
"""

from __future__ import annotations

import logging
import os
import threading

from flask import Flask

from .extensions import db
from .oauth import backchannel
from .oauth.backchannel import Claim

log = logging.getLogger("provider.outbox")
THREADS = 4  # per process; each is busy for at most one outbound deadline per delivery


class OutboxWorkers:
    """This process's outbox threads: at most ``threads`` at once, started on demand."""

    def __init__(self, threads: int = THREADS) -> None:
        self.threads = threads
        self._reset()

    def _reset(self) -> None:
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._running = 0
        self._busy_clients: set[str] = set()
        self._stopping = False

    def dispatch(self, app: Flask) -> int:
        """Start threads for what is due, up to the bound; returns how many started.
        Never waits on a delivery."""
        with self._lock:
            free, busy = self.threads - self._running, set(self._busy_clients)
        if free <= 0 or self._stopping:
            return 0
        with app.app_context():
            waiting = len(backchannel.due(free, exclude_clients=busy))
        with self._lock:
            started = max(0, min(waiting, self.threads - self._running))
            self._running += started
        for _ in range(started):
            threading.Thread(target=self._work, args=(app,), name="provider-outbox",
                             daemon=True).start()
        return started

    def stop(self, timeout: float) -> bool:
        """Claim nothing more; wait up to ``timeout`` for the attempts in flight (a
        delivery not attempted stays due for another process); False on timeout."""
        with self._lock:
            self._stopping = True
        return self.wait_idle(timeout)

    def wait_idle(self, timeout: float) -> bool:
        """Wait until no outbox thread of this process is running; False on timeout."""
        with self._idle:
            return self._idle.wait_for(lambda: self._running == 0, timeout)

    def _work(self, app: Flask) -> None:
        try:
            with app.app_context():
                while (claimed := self._claim_next()) is not None:
                    try:
                        backchannel.attempt(claimed)
                    except Exception:  # recording failed: the claim runs out, then a retry
                        log.exception("back-channel delivery %s", claimed.delivery_id)
                        db.session.rollback()
                    finally:
                        with self._lock:
                            self._busy_clients.discard(claimed.client_id)
        except Exception:  # the database is unreachable, say: the next tick tries again
            log.exception("outbox thread stopped")
        finally:
            with self._lock:
                self._running -= 1
                self._idle.notify_all()

    def _claim_next(self) -> Claim | None:
        with self._lock:
            if self._stopping:
                return None
            busy = set(self._busy_clients)
        for delivery_id, client_id in backchannel.due(self.threads * 4, exclude_clients=busy):
            with self._lock:
                if client_id in self._busy_clients:
                    continue
                self._busy_clients.add(client_id)
            claimed = None
            try:
                claimed = backchannel.claim(delivery_id)
            finally:
                if claimed is None:
                    with self._lock:
                        self._busy_clients.discard(client_id)
            if claimed is not None:
                return claimed
        return None


WORKERS = OutboxWorkers()
# A child of a fork has none of its parent's threads: it starts counting afresh.
os.register_at_fork(after_in_child=WORKERS._reset)
