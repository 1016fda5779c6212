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


def try_acquire(name: str, seconds: int, holder: str = HOLDER) -> bool:
    """Take or renew lease ``name`` for ``seconds``; False if another holder has it."""
    now = clock.now()
    with write_transaction():
        taken = db.session.execute(
            db.update(Lease)
            .where(Lease.name == name, (Lease.expires_at <= now) | (Lease.holder == holder))
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
