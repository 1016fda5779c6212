"""The back-off schedule, the same for every store."""

from __future__ import annotations

MAX_DOUBLINGS = 40  # far past any cap; keeps the shift small for absurd failure counts


def backoff_seconds(failures: int, free: int, first: int, cap: int) -> int:
    """The back-off after the ``failures``-th failure: none before ``free``, then
    ``first``, doubling with each further failure, never more than ``cap``."""
    if failures < free:
        return 0
    return min(first << min(failures - free, MAX_DOUBLINGS), cap)
