"""A hung request ends its worker, as gunicorn's worker timeout did: the app runs
one request at a time per worker, so a request that never returns would otherwise
take that worker out of service for good. granian starts a new worker in its place.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

log = logging.getLogger(__name__)
EXIT_STATUS = 70  # EX_SOFTWARE


def _end_worker() -> None:
    os._exit(EXIT_STATUS)  # no clean-up: the worker is stuck inside a request


class Watchdog:
    """Calls ``on_overrun`` once a request has run for ``timeout`` seconds."""

    def __init__(self, timeout: float, on_overrun: Callable[[], None] = _end_worker,
                 tick: float = 1.0) -> None:
        self.timeout = timeout
        self.on_overrun = on_overrun
        self.tick = tick
        self._started: float | None = None
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None

    @contextmanager
    def watching(self) -> Iterator[None]:
        self._started = time.monotonic()
        try:
            yield
        finally:
            self._started = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._watch, name="request-watchdog",
                                        daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopped.set()
        if self._thread is not None:
            self._thread.join(timeout=self.tick * 2)

    def _watch(self) -> None:
        while not self._stopped.wait(self.tick):
            started = self._started
            if started is not None and time.monotonic() - started >= self.timeout:
                log.critical("a request has run for over %s s: replacing this worker "
                             "(pid %s)", self.timeout, os.getpid())
                self.on_overrun()
                return
