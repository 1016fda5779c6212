"""Login throttling (RFC 6749 §10.10: the server MUST prevent password guessing):
two counters of failed sign-ins, shared by every worker and host through the
database (``login_throttles``), or through Redis when ``REDIS_URL`` is set
(``login_counters``):

- per account and client address (the *pair*): ``PROVIDER_LOGIN_FREE_ATTEMPTS``
  free, then a back-off that starts at ``PROVIDER_LOGIN_BACKOFF_SECONDS`` and
  doubles with each further failure up to ``PROVIDER_LOGIN_BACKOFF_MAX_SECONDS``;
- per account from every address: a looser ceiling
  (``PROVIDER_LOGIN_ACCOUNT_FREE_ATTEMPTS``) with the same back-off. It is what
  limits guessing spread over many addresses, and, because the pair key always
  holds the account, one address (a reverse proxy, a NAT) guessing at one user
  never blocks another.

An attempt is *claimed* before its password is checked: one atomic step counts it
as a failure in both counters unless either is in back-off. So any
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
import json
from dataclasses import dataclass

from flask import current_app

from .. import clock
from ..client_address import client_network
from ..extensions import db
from .login_counters import Schedule, backoff_seconds, store
from .passwords import VerifiedPassword, verify_password

__all__ = ["Claim", "LoginAttempt", "Policy", "account_digest", "backoff_seconds",
           "claim_attempt", "client_network", "forget_success", "pair_digest", "purge_stale",
           "try_password", "unlock"]

KEY_CONTEXT = b"provider login throttle v1"
Policy = Schedule  # the settings' back-off rules, as every counter store applies them


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
    """Count this attempt as a failure in both counters, unless either is in back-off;
    committed (on the database, its own short write transaction) before the password
    is checked."""
    account, pair = account_digest(username), pair_digest(username, address)
    wait = store().claim(account, pair, Policy.from_config(current_app.config), clock.now())
    return Claim(pair, account, wait)


def forget_success(claim: Claim) -> None:
    """A correct password (in the caller's write transaction, on the database): the
    pair starts again from zero; the account counter gives back only this attempt's
    claim."""
    store().forget_success(claim.account, claim.pair, Policy.from_config(current_app.config))


# --- operators -----------------------------------------------------------------------


def unlock(username: str) -> int:
    """Drop every counter of ``username`` (in the caller's transaction, on the database)."""
    return store().unlock(account_digest(username))


def purge_stale() -> int:
    """Drop counters that have been forgotten anyway (in the caller's transaction)."""
    return store().purge_stale(Policy.from_config(current_app.config), clock.now())
