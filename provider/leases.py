"""Database leases: a background job runs in one process at a time across all
workers and hosts. Taking a lease is one conditional UPDATE (or the INSERT that
creates the row), so two processes can never both believe they hold it."""

from __future__ import annotations

import os
import secrets
import socket
import threading

from sqlalchemy.exc import IntegrityError

from . import clock
from .database import write_transaction
from .extensions import db
from .models import Lease

_holder_lock = threading.Lock()
_holder: tuple[int, str] | None = None  # (pid it was made in, id)


def holder() -> str:
    """This process's name on the leases it takes: host, pid and a random part.

    Made on first use in each process and remade when the pid changes. A name
    fixed at import would be made in the gunicorn master and inherited by every
    worker it forks, so each worker could renew, or release, another's lease; the
    random part keeps a reused pid on another boot or container apart too.
    """
    global _holder
    pid = os.getpid()
    with _holder_lock:
        if _holder is None or _holder[0] != pid:
            _holder = (pid, f"{socket.gethostname()}:{pid}:{secrets.token_hex(4)}")
        return _holder[1]


def _forget_holder() -> None:
    global _holder, _holder_lock
    _holder, _holder_lock = None, threading.Lock()  # a lock copied mid-use stays locked


os.register_at_fork(after_in_child=_forget_holder)


def try_acquire(name: str, seconds: int, holder_id: str | None = None,
                renew: bool = True) -> bool:
    """Take lease ``name`` for ``seconds``; False if it is held.

    With ``renew`` the current holder may extend its own lease; without it a
    held lease is refused to everyone, its holder included (once-per-period jobs).
    """
    me = holder_id or holder()
    now = clock.now()
    free = Lease.expires_at <= now
    with write_transaction():
        taken = db.session.execute(
            db.update(Lease)
            .where(Lease.name == name, (free | (Lease.holder == me)) if renew else free)
            .values(holder=me, expires_at=now + seconds)
        ).rowcount
        if taken:
            return True
        if db.session.get(Lease, name) is not None:
            return False
        try:
            with db.session.begin_nested():
                db.session.add(Lease(name=name, holder=me, expires_at=now + seconds))
        except IntegrityError:
            return False
        return True


def release(name: str, holder_id: str | None = None) -> None:
    """Give up lease ``name`` if this process (or ``holder_id``) holds it."""
    me = holder_id or holder()
    with write_transaction():
        db.session.execute(
            db.update(Lease).where(Lease.name == name, Lease.holder == me)
            .values(expires_at=0, holder=None))


def release_all(holder_id: str | None = None) -> int:
    """Give up every lease this process (or ``holder_id``) holds, at shutdown, so
    that another process takes the work up at once instead of when they run out;
    returns how many there were."""
    me = holder_id or holder()
    with write_transaction():
        return db.session.execute(
            db.update(Lease).where(Lease.holder == me).values(expires_at=0, holder=None)
        ).rowcount
