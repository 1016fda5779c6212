"""Leases are held under a name unique to each process, made after a fork: a
forked worker can neither take, renew nor release its parent's (or a sibling's)
lease, as every gunicorn worker once could with the master's name."""

from __future__ import annotations

import json
import os
import threading

from provider import clock, leases
from provider.extensions import db
from provider.models import Lease


def in_a_fork(app, work) -> dict:
    """Run ``work()`` in a forked child (with its own database connections) and
    return the dict it returned."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never return into pytest
        code = 1
        try:
            os.close(read)
            with app.app_context():
                db.engine.dispose(close=False)  # the parent's connections stay the parent's
                os.write(write, json.dumps(work()).encode())
            code = 0
        finally:
            os._exit(code)
    os.close(write)
    with os.fdopen(read) as pipe:
        report = pipe.read()
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    return json.loads(report)


def test_a_forked_process_cannot_take_renew_or_release_its_parents_lease(app):
    with app.app_context():
        parent = leases.holder()  # made before the fork, as in gunicorn's master
        assert leases.try_acquire("test-lease", seconds=60)
        db.engine.dispose()

    def child() -> dict:
        took = leases.try_acquire("test-lease", seconds=60)  # renew=True: a holder may renew
        leases.release("test-lease")
        return {"holder": leases.holder(), "took": took}

    first, second = in_a_fork(app, child), in_a_fork(app, child)
    assert len({parent, first["holder"], second["holder"]}) == 3
    assert not first["took"] and not second["took"]
    with app.app_context():
        lease = db.session.get(Lease, "test-lease")
        assert lease.holder == parent and lease.expires_at > clock.now()  # released by no one
        assert leases.try_acquire("test-lease", seconds=60)  # its holder still renews it
        leases.release("test-lease")
        assert db.session.get(Lease, "test-lease").holder is None


def test_a_process_keeps_one_name_across_its_threads():
    names: list[str] = []
    threads = [threading.Thread(target=lambda: names.append(leases.holder())) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(names)) == 1 and f":{os.getpid()}:" in names[0]
