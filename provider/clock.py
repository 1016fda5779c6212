"""The provider's notion of now, in whole seconds since the epoch.

Every expiry decision reads this clock. Each app has its own (``init_app``), so a
test moves one app's time forward without sleeping (``advance``) and without
touching another app in the same process; production never sets an offset, and
outside an app context it is the wall clock.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from flask import Flask, current_app, has_app_context

EXTENSION_KEY = "provider_clock"


@dataclass
class Clock:
    offset: int = 0

    def now(self) -> int:
        return int(time.time()) + self.offset


def init_app(app: Flask) -> None:
    app.extensions[EXTENSION_KEY] = Clock()


def now() -> int:
    if has_app_context():
        clock = current_app.extensions.get(EXTENSION_KEY)
        if clock is not None:
            return clock.now()
    return int(time.time())


@contextmanager
def advance(app: Flask, seconds: int) -> Iterator[None]:
    """Pretend ``seconds`` have passed on ``app``'s clock for the duration of the block."""
    clock: Clock = app.extensions[EXTENSION_KEY]
    clock.offset += seconds
    try:
        yield
    finally:
        clock.offset -= seconds
