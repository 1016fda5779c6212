"""Signing-key operations at the same moment, as from several processes: each thread
has its own app context, so its own session and database connection, and a barrier
starts them together. On SQLite every writer is alone anyway (BEGIN IMMEDIATE); on
PostgreSQL (READ COMMITTED) each key operation takes the ``signing-keys`` advisory
lock, and ``provider init`` a lock around the schema upgrade. Whatever the order, each
enabled algorithm ends with exactly one active and one next key."""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from alembic.script import ScriptDirectory
from flask import Flask
from sqlalchemy import text

from provider import clock, create_app, management
from provider.config import create_instance_secrets
from provider.database import MIGRATIONS
from provider.extensions import db
from provider.jobs import rotate_keys_if_due
from provider.keys.lifecycle import ensure_signing_keys, key_transaction
from provider.models import SigningKey
from provider.oauth.tokens import sign_jwt
from tests.support.settings import CHEAP_HASHING, ISSUER

ALGORITHMS = ["RS256", "PS256", "ES256", "EdDSA"]
# the algorithms the repeated races run with: an Ed25519 key is made in microseconds, an
# RSA one in tens of milliseconds (RS256 cannot be switched off). EdDSA comes first, so
# a rotation reaches its keys at once, while the revocation racing it is still running.
QUICK = ["EdDSA", "RS256"]
ROUNDS = 6


def run_together(app: Flask, *operations: Callable[[], Any]) -> list[Any]:
    """Run each operation on a thread of its own, in an app context of its own, all
    released at once; their results in order, or the first error raised."""
    barrier = threading.Barrier(len(operations))
    results: list[Any] = [None] * len(operations)
    errors: list[BaseException] = []

    def run(index: int, operation: Callable[[], Any]) -> None:
        with app.app_context():
            try:
                barrier.wait(timeout=10)
                results[index] = operation()
            except BaseException as error:  # handed to the test below
                errors.append(error)

    threads = [threading.Thread(target=run, args=pair) for pair in enumerate(operations)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not any(thread.is_alive() for thread in threads), "a key operation never ended"
    if errors:
        raise errors[0]
    return results


def key_states(app: Flask) -> dict[str, Counter]:
    """How many keys of each state every algorithm has."""
    with app.app_context():
        rows = db.session.execute(db.select(SigningKey.alg, SigningKey.state)).all()
    states: dict[str, Counter] = {}
    for alg, state in rows:
        states.setdefault(alg, Counter())[state] += 1
    return states


def assert_one_active_and_one_next(app: Flask, algorithms: list[str]) -> None:
    states = key_states(app)
    for alg in algorithms:
        held = states.get(alg, Counter())
        assert (held["active"], held["next"]) == (1, 1), f"{alg}: {dict(held)}"


def next_kid(app: Flask, alg: str) -> str:
    with app.app_context():
        return db.session.scalar(db.select(SigningKey.kid).where(
            SigningKey.alg == alg, SigningKey.state == "next"))


def ensure_keys() -> list[SigningKey]:
    with key_transaction():  # what `provider init` runs once the schema is up to date
        return ensure_signing_keys()


def test_concurrent_inits_create_one_active_and_one_next_key_per_algorithm(app):
    with app.app_context():
        db.session.execute(db.delete(SigningKey))
        db.session.commit()
    created = run_together(app, *[ensure_keys] * 4)
    assert sorted(len(keys) for keys in created) == [0, 0, 0, 2 * len(ALGORITHMS)]
    assert_one_active_and_one_next(app, ALGORITHMS)


@pytest.mark.config(PROVIDER_SIGNING_ALGORITHMS=QUICK)
def test_a_forced_rotation_racing_a_revocation_of_the_next_key_keeps_a_signing_key(app):
    for _ in range(ROUNDS):
        victim = next_kid(app, "EdDSA")
        run_together(app, lambda: management.rotate_keys(force=True),
                     lambda kid=victim: management.revoke_signing_key(kid))
        assert_one_active_and_one_next(app, QUICK)
    with app.app_context():
        for alg in QUICK:
            assert sign_jwt({"iss": ISSUER, "sub": "s"}, typ="JWT", alg=alg)


@pytest.mark.config(PROVIDER_SIGNING_ALGORITHMS=QUICK, PROVIDER_KEY_ROTATION_INTERVAL=400)
def test_the_rotation_job_and_the_operators_rotation_promote_each_next_key_once(app):
    for round_ in range(1, ROUNDS + 1):
        before = {alg: next_kid(app, alg) for alg in QUICK}
        with clock.advance(app, 500 * round_):  # every next key may sign, a rotation is due
            job, command = run_together(app, lambda: rotate_keys_if_due(app),
                                        lambda: management.rotate_keys(force=False))
        assert job is not None  # the job ran: it took its lease and found a rotation due
        assert sum("now signs" in line for line in job + command) == len(QUICK)
        assert_one_active_and_one_next(app, QUICK)
        with app.app_context():
            active = set(db.session.scalars(db.select(SigningKey.kid).where(
                SigningKey.state == "active", SigningKey.alg.in_(QUICK))))
        assert active == set(before.values())


@pytest.fixture
def new_postgresql_app(postgres_server, tmp_path) -> Iterator[Flask]:
    """An app on an empty PostgreSQL database: no schema yet, as at first deployment."""
    name = f"fresh_{uuid.uuid4().hex[:16]}"
    postgres_server.execute(f"CREATE DATABASE {name}")
    create_instance_secrets(tmp_path)
    app = create_app({"PROVIDER_INSTANCE_PATH": str(tmp_path), **CHEAP_HASHING,
                      "DATABASE_URL": postgres_server.url(name)})
    try:
        yield app
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        postgres_server.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def test_concurrent_inits_of_a_new_postgresql_database_upgrade_it_once(new_postgresql_app):
    """One ``provider init`` per container at first deployment: one upgrades the schema
    and creates the keys, the others wait for it and find both done."""
    app = new_postgresql_app
    outputs = run_together(app, *[management.initialise] * 3)
    created = [line for lines in outputs for line in lines if "created signing key" in line]
    assert len(created) == 2 * len(ALGORITHMS)
    assert_one_active_and_one_next(app, ALGORITHMS)
    head = ScriptDirectory(str(MIGRATIONS)).get_current_head()
    with app.app_context():
        versions = db.session.scalars(text("SELECT version_num FROM alembic_version")).all()
    assert versions == [head]
