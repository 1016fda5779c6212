"""What a store of sign-in failure counters offers (``throttle`` decides, a store
counts), and the one way it may fail."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol


class CountersUnavailable(Exception):
    """The counters could not be read or written. Sign-in fails closed (503): an
    attempt that cannot be counted is not checked, or guessing would be unbounded."""


@dataclass(frozen=True)
class Schedule:
    """The back-off rules a store applies inside its atomic claim."""

    free: int  # per (account, address)
    account_free: int
    backoff: int  # the first back-off, seconds
    backoff_max: int
    reset: int  # a counter with no failure for this long starts again

    @classmethod
    def from_config(cls, config: Any) -> Schedule:
        return cls(free=int(config["PROVIDER_LOGIN_FREE_ATTEMPTS"]),
                   account_free=int(config["PROVIDER_LOGIN_ACCOUNT_FREE_ATTEMPTS"]),
                   backoff=int(config["PROVIDER_LOGIN_BACKOFF_SECONDS"]),
                   backoff_max=int(config["PROVIDER_LOGIN_BACKOFF_MAX_SECONDS"]),
                   reset=int(config["PROVIDER_LOGIN_THROTTLE_RESET_SECONDS"]))


@dataclass(frozen=True)
class Counter:
    failures: int
    last_failure_at: int
    blocked_until: int


class LoginCounters(Protocol):
    name: str

    def claim(self, account: str, pair: str, schedule: Schedule, now: int) -> int:
        """Count one failure in both counters unless either is in back-off, atomically;
        0 when counted, else the seconds until the back-off ends (at least 1)."""
        ...

    def forget_success(self, account: str, pair: str, schedule: Schedule) -> None:
        """A correct password: the pair starts again; the account gives back one claim."""
        ...

    def unlock(self, account: str) -> int:
        """Drop every counter of the account; how many there were."""
        ...

    def purge_stale(self, schedule: Schedule, now: int) -> int:
        """Drop counters that are forgotten anyway; how many."""
        ...

    def counter(self, key: str) -> Counter | None:
        """One counter as stored (operators and tests)."""
        ...
