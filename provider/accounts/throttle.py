"""Login throttling (RFC 6749 §10.10: the server MUST prevent password guessing):
two counters of failed sign-ins, shared by every worker and host through the
database (``login_throttles``):

- per account and client address (the *pair*): ``PROVIDER_LOGIN_FREE_ATTEMPTS``
  free, then a back-off that starts at ``PROVIDER_LOGIN_BACKOFF_SECONDS`` and
  doubles with each further failure up to ``PROVIDER_LOGIN_BACKOFF_MAX_SECONDS``;
- per account from every address: a looser ceiling
  (``PROVIDER_LOGIN_ACCOUNT_FREE_ATTEMPTS``) with the same back-off. It is what
  limits guessing spread over many addresses, and, because the pair key always
  holds the account, one address (a reverse proxy, a NAT) guessing at one user
  never blocks another.

An attempt is *claimed* before its password is checked: one conditional upsert
per counter counts it as a failure unless that counter is in back-off. So any
number of concurrent requests gets exactly the free attempts verified, and a
throttled attempt never reaches argon2. A correct password then resets its pair
and gives back its claim on the account counter; the account's other failures
stay, since one correct login from one place says nothing about guesses from the
others. A counter with no failure for ``PROVIDER_LOGIN_THROTTLE_RESET_SECONDS``
starts again from zero, and purge drops it.

Unknown usernames are counted exactly like known ones, so a throttled unknown
name and a throttled real one look the same. Keys are HMACs under a key derived
from the instance secret: the table shows neither the usernames typed (often a
password typed into the wrong field) nor the addresses.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
from dataclasses import dataclass
from typing import Any

from flask import current_app
from sqlalchemy import case, func

from .. import clock
from ..database import begin_write, upsert_insert
from ..extensions import db
from ..models import LoginThrottle
from .passwords import VerifiedPassword, verify_password

KEY_CONTEXT = b"provider login throttle v1"
MAX_DOUBLINGS = 40  # far past any cap; keeps the shift small for absurd failure counts


@dataclass(frozen=True)
class Policy:
    free: int  # per (account, address)
    account_free: int
    backoff: int  # the first back-off, seconds
    backoff_max: int
    reset: int  # a counter with no failure for this long starts again

    @classmethod
    def from_config(cls, config: Any) -> Policy:
        return cls(free=int(config["PROVIDER_LOGIN_FREE_ATTEMPTS"]),
                   account_free=int(config["PROVIDER_LOGIN_ACCOUNT_FREE_ATTEMPTS"]),
                   backoff=int(config["PROVIDER_LOGIN_BACKOFF_SECONDS"]),
                   backoff_max=int(config["PROVIDER_LOGIN_BACKOFF_MAX_SECONDS"]),
                   reset=int(config["PROVIDER_LOGIN_THROTTLE_RESET_SECONDS"]))


def backoff_seconds(failures: int, free: int, first: int, cap: int) -> int:
    """The back-off after the ``failures``-th failure: none before ``free``, then
    ``first``, doubling with each further failure, never more than ``cap``."""
    if failures < free:
        return 0
    return min(first << min(failures - free, MAX_DOUBLINGS), cap)


@dataclass(frozen=True)
class Claim:
    """One sign-in attempt's place in the two counters."""

    pair: str
    account: str
    retry_after: int  # 0: go ahead and check the password; else seconds to wait

    @property
    def throttled(self) -> bool:
        return self.retry_after > 0


@dataclass(frozen=True)
class LoginAttempt:
    claim: Claim
    verified: VerifiedPassword | None  # None: wrong, unknown, disabled or throttled


# --- keys ------------------------------------------------------------------------------


def client_network(address: str | None) -> str:
    """What one client is, for counting: its IPv4 address, or its IPv6 /64 (one
    subscriber or host usually holds a whole /64 and could rotate through it)."""
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return address or ""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network(f"{ip}/64", strict=False))
    return str(ip)


def _mac(*parts: str) -> str:
    secret = current_app.config["SECRET_KEY"].encode()
    key = hmac.new(secret, KEY_CONTEXT, hashlib.sha256).digest()
    message = json.dumps(parts).encode()  # unambiguous whatever a username holds
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def account_digest(username: str) -> str:
    """The account counter's key (and every counter's ``account``): exactly the
    string the user lookup compares, so no spelling escapes it."""
    return _mac("account", username)


def pair_digest(username: str, address: str | None) -> str:
    return _mac("pair", username, client_network(address))


# --- the attempt -------------------------------------------------------------------


def try_password(username: str, password: str, address: str | None) -> LoginAttempt:
    """Claim the attempt, then, unless throttled, run argon2 (outside any lock)."""
    claim = claim_attempt(username, address)
    if claim.throttled:
        return LoginAttempt(claim, None)
    verified = verify_password(username, password)
    db.session.rollback()
    return LoginAttempt(claim, verified)


def claim_attempt(username: str, address: str | None) -> Claim:
    """Count this attempt as a failure in both counters, unless either is in back-off.

    Its own short write transaction (BEGIN IMMEDIATE on SQLite), committed
    before the password is checked. The account row is claimed first and the
    pair second, one order everywhere, so on PostgreSQL two requests for one
    account queue on the same row instead of deadlocking.
    """
    policy = Policy.from_config(current_app.config)
    account, pair = account_digest(username), pair_digest(username, address)
    now = clock.now()
    begin_write()
    try:
        if _claim(account, account, policy.account_free, policy, now) and _claim(
                pair, account, policy.free, policy, now):
            db.session.commit()
            return Claim(pair, account, 0)
        blocked_until = db.session.scalar(
            db.select(func.max(LoginThrottle.blocked_until))
            .where(LoginThrottle.key.in_((account, pair))))
        db.session.rollback()  # a refused attempt counts in neither counter
    except BaseException:
        db.session.rollback()
        raise
    return Claim(pair, account, max(1, int(blocked_until or 0) - now))


def _claim(key: str, account: str, free: int, policy: Policy, now: int) -> bool:
    """One conditional upsert: +1 failure unless in back-off; False when refused."""
    table = LoginThrottle.__table__
    forgotten = table.c.last_failure_at <= now - policy.reset
    statement = (
        upsert_insert(table)
        .values(key=key, account=account, failures=1, last_failure_at=now, blocked_until=0)
        .on_conflict_do_update(
            index_elements=[table.c.key],
            set_={"failures": case((forgotten, 1), else_=table.c.failures + 1),
                  "last_failure_at": now},
            where=table.c.blocked_until <= now)
        .returning(table.c.failures)
    )
    failures = db.session.execute(statement).scalar()
    if failures is None:
        return False
    delay = backoff_seconds(failures, free, policy.backoff, policy.backoff_max)
    if delay:  # the row is ours until commit: the count above is the one that holds
        db.session.execute(db.update(LoginThrottle).where(
            LoginThrottle.key == key, LoginThrottle.blocked_until < now + delay
        ).values(blocked_until=now + delay))
    return True


def forget_success(claim: Claim) -> None:
    """A correct password (in the caller's write transaction): the pair starts
    again from zero; the account counter gives back only this attempt's claim."""
    free = int(current_app.config["PROVIDER_LOGIN_ACCOUNT_FREE_ATTEMPTS"])
    # The account row first, then the pair row: the order ``claim_attempt`` locks
    # them in, so two sign-ins of one user can never deadlock on PostgreSQL.
    failures = LoginThrottle.failures
    db.session.execute(db.update(LoginThrottle).where(
        LoginThrottle.key == claim.account, failures > 0
    ).values(failures=failures - 1,
             blocked_until=case((failures - 1 < free, 0), else_=LoginThrottle.blocked_until)))
    # an account with nothing against it keeps no row (our update holds it until commit)
    db.session.execute(db.delete(LoginThrottle).where(
        LoginThrottle.key == claim.account, failures <= 0))
    db.session.execute(db.delete(LoginThrottle).where(LoginThrottle.key == claim.pair))


# --- operators -----------------------------------------------------------------------


def unlock(username: str) -> int:
    """Drop every counter of ``username`` (in the caller's transaction)."""
    return db.session.execute(db.delete(LoginThrottle).where(
        LoginThrottle.account == account_digest(username))).rowcount or 0


def purge_stale() -> int:
    """Drop counters that have been forgotten anyway (in the caller's transaction)."""
    now = clock.now()
    reset = int(current_app.config["PROVIDER_LOGIN_THROTTLE_RESET_SECONDS"])
    return db.session.execute(db.delete(LoginThrottle).where(
        LoginThrottle.last_failure_at <= now - reset, LoginThrottle.blocked_until <= now
    )).rowcount or 0
