"""The SQLite write gate: one holder at a time across processes and threads, a
waiter let in as soon as the holder leaves, and no deadlock for a thread that
asks twice or a connection returned by another thread."""

from __future__ import annotations

import multiprocessing
import sqlite3
import threading
import time
from pathlib import Path

from provider.write_gate import WriteGate

BOUND = 10  # seconds: every wait below ends long before, or the test fails


def _hold_then_report(path: str, entered, leave, events) -> None:
    gate = WriteGate(Path(path))
    gate.acquire()
    events.put("child in")
    entered.set()
    leave.wait(BOUND)
    events.put("child out")
    gate.release()


def test_a_writer_in_another_process_waits_until_the_holder_leaves(tmp_path):
    database = tmp_path / "provider.db"
    context = multiprocessing.get_context("fork")
    entered, leave, events = context.Event(), context.Event(), context.Queue()
    child = context.Process(target=_hold_then_report, args=(str(database), entered, leave,
                                                            events))
    child.start()
    try:
        assert entered.wait(BOUND)
        gate = WriteGate(database)
        waiter = threading.Thread(target=lambda: (gate.acquire(), events.put("parent in")))
        waiter.start()
        waiter.join(0.5)
        assert waiter.is_alive(), "the gate let a second writer in"
        leave.set()
        waiter.join(BOUND)
        assert not waiter.is_alive()
        order = [events.get(timeout=BOUND) for _ in range(3)]
        assert order == ["child in", "child out", "parent in"]
        gate.release()
    finally:
        leave.set()
        child.join(BOUND)
    assert child.exitcode == 0


def test_threads_of_one_process_take_turns(tmp_path):
    gate = WriteGate(tmp_path / "provider.db")
    inside, most = 0, 0
    lock = threading.Lock()

    def write() -> None:
        nonlocal inside, most
        for _ in range(20):
            gate.acquire()
            with lock:
                inside += 1
                most = max(most, inside)
            time.sleep(0.001)  # long enough for any other thread to come in, were it let
            with lock:
                inside -= 1
            gate.release()

    threads = [threading.Thread(target=write) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(BOUND)
    assert not any(thread.is_alive() for thread in threads)
    assert most == 1


def test_a_writer_gives_up_after_the_timeout_as_sqlite_would(tmp_path):
    holder = WriteGate(tmp_path / "provider.db")
    waiter = WriteGate(tmp_path / "provider.db", timeout=0.2)
    holder.acquire()
    failure: list[BaseException] = []

    def wait() -> None:
        try:
            waiter.acquire()
        except sqlite3.OperationalError as exc:
            failure.append(exc)

    thread = threading.Thread(target=wait)  # another gate object: as another process
    thread.start()
    thread.join(BOUND)
    holder.release()
    assert not thread.is_alive()
    assert len(failure) == 1 and "database is locked" in str(failure[0])
    assert waiter.acquire() is True  # free again: the failed wait left nothing behind
    waiter.release()


def test_a_second_acquire_by_the_holder_returns_at_once_and_another_thread_may_release(
        tmp_path):
    gate = WriteGate(tmp_path / "provider.db")
    assert gate.acquire() is True
    assert gate.acquire() is False  # the same thread: no self-deadlock
    releaser = threading.Thread(target=gate.release)
    releaser.start()
    releaser.join(BOUND)
    taken = threading.Event()
    other = threading.Thread(target=lambda: (gate.acquire(), taken.set(), gate.release()))
    other.start()
    assert taken.wait(BOUND)
    other.join(BOUND)
