"""The provider's notion of now, in whole seconds since the epoch.

Every expiry decision reads this clock so that tests can move time forward
without sleeping (``clock.advance``); production never touches the offset.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

_offset = 0


def now() -> int:
    return int(time.time()) + _offset


@contextmanager
def advance(seconds: int) -> Iterator[None]:
    """Pretend ``seconds`` have passed for the duration of the block."""
    global _offset
    _offset += seconds
    try:
        yield
    finally:
        _offset -= seconds
