"""`provider db copy` moves a whole installation into an empty PostgreSQL database.

The source is the test's own database (SQLite, and PostgreSQL where the test runs on
both), the target a database made empty for the test; the command is the real one
(click's CliRunner), the target is then served by an app of its own on the same
instance folder. A refresh token issued before the copy rotates after it, the
browser's session cookie still signs in, and the JWKS is the same; every row is
copied as it was, leases excepted; a target that holds anything, or a source that a
server holds a lease on, is refused without a change to the target.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from click.testing import CliRunner, Result
from flask import Flask
from sqlalchemy import create_engine, func, inspect, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.pool import NullPool

from provider import clock, create_app
from provider.cli import main
from provider.config.database import normalise_database_url
from provider.extensions import db
from provider.models import Lease, LoginSession
from tests.support.every_table import fill_every_table, revisions
from tests.support.flows import obtain, refresh, token_request
from tests.support.postgres_server import PostgresServer
from tests.support.protocol import pkce_pair, query_of
from tests.support.settings import CHEAP_HASHING, ISSUER

TARGET = "PROVIDER_COPY_TARGET_URL"
# the test cluster trusts loopback connections: any password is let in, and none may show
PASSWORD = "do-not-print-me"
SESSION_COOKIE = "provider_session"


# --- the target, the command, and reading a database -----------------------------------


def target_url(server: PostgresServer, database: str) -> str:
    """An operator's spelling of the target URL (postgres://), with a password."""
    return f"postgres://postgres:{PASSWORD}@127.0.0.1:{server.port}/{database}"


@pytest.fixture
def empty_target(postgres_server: PostgresServer) -> Iterator[str]:
    """The URL of a new, empty PostgreSQL database, dropped afterwards."""
    name = f"copy_{uuid.uuid4().hex[:16]}"
    postgres_server.execute(f"CREATE DATABASE {name}")
    try:
        yield target_url(postgres_server, name)
    finally:
        postgres_server.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def copy(instance: Path, operator_environment: None, monkeypatch: pytest.MonkeyPatch):
    """Run ``provider db copy`` against the test's instance, with ``target`` (or no
    PROVIDER_COPY_TARGET_URL at all) in the environment; returns the click Result."""
    monkeypatch.delenv("PROVIDER_INSTANCE_PATH", raising=False)
    monkeypatch.delenv(TARGET, raising=False)

    def run(target: str | None) -> Result:
        env = {"PROVIDER_INSTANCE_PATH": str(instance)}
        if target is not None:
            env[TARGET] = target
        return CliRunner().invoke(main, ["db", "copy"], env=env)

    return run


def copied(result: Result) -> Result:
    assert result.exit_code == 0, (result.output, result.stderr, result.exception)
    assert PASSWORD not in result.output + result.stderr
    return result


def refused(result: Result) -> str:
    """The one-line error of a refused copy (never a traceback, never the password)."""
    assert result.exit_code != 0, result.output
    assert isinstance(result.exception, SystemExit | None), result.exception
    assert "Traceback" not in result.output + result.stderr
    assert PASSWORD not in result.output + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("provider: "), result.stderr
    return lines[0]


def engine_for(url: str) -> Engine:
    return create_engine(normalise_database_url(url), poolclass=NullPool)


def stored_rows(engine: Engine) -> dict[str, list[dict[str, Any]]]:
    """Every row of every table of the schema, in primary-key order."""
    def plain(value: Any) -> Any:
        return bytes(value) if isinstance(value, memoryview) else value

    with engine.connect() as connection:
        return {table.name: [{key: plain(value) for key, value in row.items()}
                             for row in connection.execute(select(table).order_by(
                                 *table.primary_key.columns)).mappings()]
                for table in db.metadata.sorted_tables}


def tables_and_revision(url: str) -> tuple[set[str], list[str]]:
    engine = engine_for(url)
    with engine.connect() as connection:
        names = set(inspect(connection).get_table_names())
        versions = list(connection.execute(text("SELECT version_num FROM alembic_version"))
                        .scalars()) if "alembic_version" in names else []
    engine.dispose()
    return names, versions


@pytest.fixture
def app_on(instance: Path) -> Iterator:
    """Apps on the test's instance folder (its secrets) and a given database."""
    made: list[Flask] = []

    def build(url: str) -> Flask:
        app = create_app({"PROVIDER_INSTANCE_PATH": str(instance), "DATABASE_URL": url,
                          "PROVIDER_ISSUER": ISSUER, **CHEAP_HASHING})
        app.config["TESTING"] = True
        made.append(app)
        return app

    yield build
    for app in made:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


# --- a copy the provider carries on from -----------------------------------------------


def test_tokens_sessions_and_keys_carry_on_against_the_target(
        app, instance, client, browser, alice, make_client, copy, empty_target, app_on):
    rp = make_client(name="RP")  # not trusted: the consent given before must be copied too
    tokens = obtain(client, browser, rp)
    jwks = client.get("/.well-known/jwks.json").get_json()
    with app.app_context():
        (sid,) = db.session.scalars(db.select(LoginSession.sid)).all()
        source_before = stored_rows(db.engine)

    result = copied(copy(empty_target))
    assert f"next: set DATABASE_URL to the target's URL (as in {TARGET})" in result.stdout
    assert "Redis" in result.stdout
    with app.app_context():
        assert stored_rows(db.engine) == source_before  # the copy only reads the source
    init = CliRunner().invoke(main, ["init"], env={"PROVIDER_INSTANCE_PATH": str(instance),
                                                   "DATABASE_URL": empty_target})
    assert init.exit_code == 0 and "created" not in init.stdout, (init.output, init.stderr)

    target_app = app_on(empty_target)
    target = target_app.test_client()
    assert target.get("/.well-known/jwks.json").get_json() == jwks

    rotated = refresh(target, rp, tokens["refresh_token"])
    assert rotated.status_code == 200, rotated.data
    again = refresh(target, rp, rotated.get_json()["refresh_token"])
    assert again.status_code == 200, again.data  # new ids past the copied ones

    cookie = client.get_cookie(SESSION_COOKIE)
    target.set_cookie(SESSION_COOKIE, cookie.value, domain=cookie.domain)
    verifier, challenge = pkce_pair()
    signed_in = target.get("/authorize?" + urlencode({
        "response_type": "code", "client_id": rp["client_id"], "scope": "openid profile",
        "redirect_uri": rp["redirect_uris"][0], "code_challenge": challenge,
        "code_challenge_method": "S256"}))
    location = signed_in.headers.get("Location", "")
    assert signed_in.status_code == 302 and location.startswith(rp["redirect_uris"][0]), (
        "the session (or the consent) did not survive: " + location)
    exchanged = token_request(target, rp, query_of(location)["code"], verifier)
    assert exchanged.status_code == 200, exchanged.data
    with target_app.app_context():
        assert db.session.scalars(db.select(LoginSession.sid)).all() == [sid]


def test_every_row_is_copied_as_it_was_and_leases_are_dropped(app, copy, empty_target):
    with app.app_context(), db.engine.begin() as connection:
        fill_every_table(connection, db.metadata, app.config["PROVIDER_KEK"])
    with app.app_context():
        before = stored_rows(db.engine)
    assert all(before.values()), "every table has rows to copy"

    result = copied(copy(empty_target))

    target = engine_for(empty_target)
    try:
        after = stored_rows(target)
        with target.connect() as connection:
            next_ids = {table.name: (connection.scalar(select(func.nextval(
                func.pg_get_serial_sequence(table.name, table.autoincrement_column.name)))),
                max(row[table.autoincrement_column.name] for row in after[table.name]))
                for table in db.metadata.sorted_tables if table.autoincrement_column is not None}
    finally:
        target.dispose()
    assert after.pop("leases") == [] and before.pop("leases")
    assert after == before
    assert next_ids and all(next_id > highest for next_id, highest in next_ids.values()), next_ids

    summary = {words[0]: words[1] for words in map(str.split, result.stdout.splitlines())
               if len(words) > 1 and words[0] in db.metadata.tables}
    assert summary == {**{name: str(len(rows)) for name, rows in before.items()},
                       "leases": "dropped"}
    assert tables_and_revision(empty_target)[1] == [revisions()[1]]


# --- what is refused ------------------------------------------------------------------


@pytest.mark.sqlite_only
def test_a_target_with_rows_is_refused_and_left_unchanged(app, copy, postgres_databases):
    name = postgres_databases.take()  # initialised: the schema and its signing keys
    try:
        url = target_url(postgres_databases.server, name)
        engine = engine_for(url)
        try:
            before = stored_rows(engine)
            assert before["signing_keys"]
            assert "table signing_keys has rows" in refused(copy(url))
            assert stored_rows(engine) == before
        finally:
            engine.dispose()
    finally:
        postgres_databases.discard(name)


@pytest.mark.sqlite_only
def test_a_target_at_another_revision_is_refused_and_left_unchanged(app, copy, empty_target):
    previous, _ = revisions()
    engine = engine_for(empty_target)
    try:
        with engine.begin() as connection:
            connection.execute(text("CREATE TABLE alembic_version (version_num varchar(32))"))
            connection.execute(text("INSERT INTO alembic_version VALUES (:v)"), {"v": previous})
    finally:
        engine.dispose()
    assert f"schema revision {previous}" in refused(copy(empty_target))
    assert tables_and_revision(empty_target) == ({"alembic_version"}, [previous])


@pytest.mark.sqlite_only
def test_a_source_a_server_holds_a_lease_on_is_refused(app, copy, empty_target):
    with app.app_context():
        db.session.add(Lease(name="purge", holder="web-1:4242:0badf00d",
                             expires_at=clock.now() + 3600))
        db.session.commit()
    error = refused(copy(empty_target))
    assert "`provider serve` holds the lease 'purge'" in error and "web-1:4242" in error
    assert tables_and_revision(empty_target) == (set(), [])  # not even migrated


@pytest.mark.sqlite_only
def test_an_expired_lease_does_not_stop_the_copy(app, copy, empty_target):
    with app.app_context():
        db.session.add(Lease(name="purge", holder="web-1:4242:0badf00d",
                             expires_at=clock.now() - 1))  # a server that crashed an hour ago
        db.session.commit()
    copied(copy(empty_target))


@pytest.mark.sqlite_only
@pytest.mark.parametrize("value", [None, "", "not a database url"])
def test_a_missing_or_malformed_target_url_is_a_clear_error(app, copy, value):
    assert TARGET in refused(copy(value))


@pytest.mark.sqlite_only
def test_a_failed_copy_leaves_the_target_without_rows(app, alice, copy, empty_target):
    # SQLite keeps a value longer than its column; PostgreSQL refuses it mid-copy,
    # after the tables before login_sessions have been written
    with app.app_context():
        db.session.add(LoginSession(user_id=alice.id, auth_time=clock.now(),
                                    expires_at=clock.now() + 60, user_agent="x" * 401))
        db.session.commit()
    assert "copying table login_sessions failed" in refused(copy(empty_target))
    engine = engine_for(empty_target)
    try:
        assert not any(stored_rows(engine).values())
    finally:
        engine.dispose()

    with app.app_context():
        db.session.execute(db.update(LoginSession).values(user_agent="x"))
        db.session.commit()
    copied(copy(empty_target))  # the schema is there, empty: the copy runs again


@pytest.mark.sqlite_only
def test_a_new_sqlite_file_is_a_target_too(app, copy, tmp_path, app_on):
    with app.app_context(), db.engine.begin() as connection:
        fill_every_table(connection, db.metadata, app.config["PROVIDER_KEK"])
    with app.app_context():
        before = stored_rows(db.engine)
    url = f"sqlite:///{tmp_path / 'copy.db'}"
    copied(copy(url))
    with app_on(url).app_context():
        after = stored_rows(db.engine)
    assert after.pop("leases") == [] and before.pop("leases")
    assert after == before
