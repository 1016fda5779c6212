"""The label values metrics may carry, each from a fixed set: never a username, a
client id, a raw path or anything else a client chose."""

from __future__ import annotations

from collections.abc import Iterable

from ..models.logout_delivery import DELIVERED, FAILED, PENDING

OTHER = "other"
UNMATCHED = "unmatched"  # the request's path matched no URL rule (404, 405)
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
REUSE_OUTCOMES = ("grace", "family_revoked")
# a back-channel delivery's status after an attempt, as the metric names it
BACKCHANNEL_OUTCOMES = {DELIVERED: "delivered", PENDING: "retrying", FAILED: "given_up"}
POOL_STATES = ("checked_out", "idle")

_grant_types: frozenset[str] = frozenset()


def allow_grant_types(grant_types: Iterable[str]) -> None:
    """The grant types the provider registers; any other is counted as ``other``."""
    global _grant_types
    _grant_types = frozenset(grant_types)


def allowed_grant_types() -> list[str]:
    return sorted(_grant_types)


def grant_type(value: str) -> str:
    return value if value in _grant_types else OTHER


def method(value: str) -> str:
    return value if value in METHODS else OTHER


def status(value: int) -> str:
    return str(value) if 100 <= value <= 599 else OTHER


def reuse_outcome(value: str) -> str:
    return value if value in REUSE_OUTCOMES else OTHER


def backchannel_outcome(delivery_status: str) -> str:
    return BACKCHANNEL_OUTCOMES.get(delivery_status, OTHER)
