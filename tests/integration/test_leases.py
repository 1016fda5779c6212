"""Leases are held under a name unique to each process, made after a fork: a
forked worker can neither take, renew nor release its parent's (or a sibling's)
lease, as every gunicorn worker once could with the master's name."""

from __future__ import annotations

import json
import os
import threading

from provider import background, clock, leases
from provider.extensions import db
from provider.models import Lease
from provider.serving.shutdown import stop_jobs


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


def test_shutdown_waits_for_the_running_job_then_hands_its_leases_back(app):
    """SIGTERM's path (``Front.__rsgi_del__``): the job in progress finishes, no new
    one starts, and every lease this process holds is free for the next process."""
    started, finish, runs = threading.Event(), threading.Event(), []

    def slow_job(job_app) -> None:
        with job_app.app_context():
            assert leases.try_acquire("slow-job", seconds=600)
        runs.append(clock.now())
        started.set()
        finish.wait(5)

    scheduler = background.scheduler(app)
    scheduler.jobs = (slow_job,)
    with app.app_context():
        assert leases.try_acquire("held-elsewhere", seconds=600, holder_id="other:1:aa")
    scheduler.start(app, tick_seconds=0.01)
    assert started.wait(5)
    threading.Timer(0.2, finish.set).start()
    stop_jobs(app, timeout=5)
    assert not scheduler.thread.is_alive() and len(runs) == 1
    with app.app_context():
        holders = dict(db.session.execute(db.select(Lease.name, Lease.holder)).all())
        assert holders == {"slow-job": None, "held-elsewhere": "other:1:aa"}
        other = leases.holder() + "-restarted"
        assert leases.try_acquire("slow-job", seconds=60, holder_id=other)
