"""What every deny-list backend offers, and the one way it may fail."""

from __future__ import annotations

from typing import Protocol


class DenyListUnavailable(Exception):
    """The deny-list could not be read or written.

    Callers must not treat this as "not denied": a token check that cannot
    consult the deny-list fails closed (the app answers 503
    ``temporarily_unavailable``). A write that fails is kept in the database
    (``denylist.pending``), so a revocation never fails because of it.
    """


class DenyList(Protocol):
    """``jti`` values of access tokens recalled before their ``exp``.

    An entry lives exactly as long as the token it recalls: after ``exp`` the
    token fails verification anyway, so keeping the entry would only cost space.
    """

    name: str

    def deny(self, jti: str, expires_at: int, reason: str) -> bool:
        """Recall ``jti`` until ``expires_at``; True if this call added the entry."""
        ...

    def is_denied(self, jti: str) -> bool:
        """One indexed lookup or one round trip: this runs on every token check."""
        ...

    def purge_expired(self) -> int:
        """Drop entries whose token is dead anyway and commit; how many were dropped.
        A maintenance step: run it outside any request's transaction."""
        ...

    def close(self) -> None:
        """Release connections (tests and shutdown)."""
        ...
