"""The app's background jobs: their registry and the event that wakes them live
on the app (``init_app``), so two apps in one process have their own, and a view
wakes the jobs through the app without importing the operator layer that the
jobs use. (The outbox's delivery threads are bounded per process, not per app:
``outbox.WORKERS``.)"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, Response, current_app

log = logging.getLogger("provider.jobs")
EXTENSION_KEY = "provider_background_jobs"
Job = Callable[[Flask], Any]


@dataclass
class Scheduler:
    jobs: tuple[Job, ...]
    wakeup: threading.Event = field(default_factory=threading.Event)
    stopping: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None

    def run_due(self, app: Flask) -> None:
        for job in self.jobs:
            if self.stopping.is_set():
                return
            try:
                job(app)
            except Exception:  # a failing job must not kill the scheduler thread
                log.exception("background job %s failed", job.__name__)

    def start(self, app: Flask, tick_seconds: float) -> threading.Thread:
        """Run the due jobs every ``tick_seconds`` on a daemon thread of this process."""

        def loop() -> None:
            while not self.stopping.is_set():
                self.run_due(app)
                self.wakeup.wait(tick_seconds)
                self.wakeup.clear()

        self.stopping.clear()
        self.thread = threading.Thread(target=loop, name="provider-jobs", daemon=True)
        self.thread.start()
        return self.thread

    def stop(self, timeout: float) -> bool:
        """Start no further job and wait up to ``timeout`` for the running one to end
        (it releases its own lease); False if it is still running."""
        self.stopping.set()
        self.wakeup.set()
        if self.thread is None:
            return True
        self.thread.join(timeout)
        return not self.thread.is_alive()


def init_app(app: Flask, jobs: Sequence[Job]) -> None:
    app.extensions[EXTENSION_KEY] = Scheduler(tuple(jobs))


def scheduler(app: Flask | None = None) -> Scheduler:
    return (app or current_app).extensions[EXTENSION_KEY]


def wake() -> None:
    """Run this process's jobs now instead of at the next tick (after a logout)."""
    scheduler().wakeup.set()


def wake_after(response: Response) -> Response:
    """``after_this_request`` hook: wake the jobs once the view's transaction has
    committed, so back-channel logout notices go out now."""
    wake()
    return response
