"""Database leases: a background job runs in one process at a time across all
workers and hosts. Taking a lease is one conditional UPDATE (or the INSERT that
creates the row), so two processes can never both believe they hold it."""

from __future__ import annotations

import os
import socket

from sqlalchemy.exc import IntegrityError

from . import clock
from .database import write_transaction
from .extensions import db
from .models import Lease

HOLDER = f"{socket.gethostname()}:{os.getpid()}"


def try_acquire(name: str, seconds: int, holder: str = HOLDER, renew: bool = True) -> bool:
    """Take lease ``name`` for ``seconds``; False if it is held.

    With ``renew`` the current holder may extend its own lease; without it a
    held lease is refused to everyone, its holder included (once-per-period jobs).
    """
    now = clock.now()
    free = Lease.expires_at <= now
    with write_transaction():
        taken = db.session.execute(
            db.update(Lease)
            .where(Lease.name == name, (free | (Lease.holder == holder)) if renew else free)
            .values(holder=holder, expires_at=now + seconds)
        ).rowcount
        if taken:
            return True
        if db.session.get(Lease, name) is not None:
            return False
        try:
            with db.session.begin_nested():
                db.session.add(Lease(name=name, holder=holder, expires_at=now + seconds))
        except IntegrityError:
            return False
        return True


def release(name: str, holder: str = HOLDER) -> None:
    with write_transaction():
        db.session.execute(
            db.update(Lease).where(Lease.name == name, Lease.holder == holder)
            .values(expires_at=0, holder=None))
