"""Shared fixtures: a fresh instance per test (copied from a template that was
initialised once), the Flask test client, factories, a browser-style helper that
walks the authorization flow through the real login and consent forms, a real
redis-server and a real PostgreSQL. The machinery behind them lives in
``tests/support/``.

Every test that uses an instance runs twice, on SQLite and on PostgreSQL (the
``database`` parameter), except the browser tests, whose subject is the pages."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from provider import config as provider_config
from provider import create_app
from provider.extensions import db
from tests.support import factories
from tests.support.forms import Browser
from tests.support.postgres_server import (
    MISSING,
    DatabaseSupply,
    PostgresServer,
    find_postgres_bin,
    postgres_required,
    run_postgres_server,
)
from tests.support.redis_server import run_redis_server
from tests.support.settings import CHEAP_HASHING, ISSUER, PASSWORD
from tests.support.snapshots import (
    copy_template_instance,
    make_template_database,
    make_template_instance,
)

DATABASES = ("sqlite", "postgresql")
TEMPLATE_DATABASE = "provider_template"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "e2e: real sockets")
    config.addinivalue_line("markers", "sqlite_only: the test's subject is not the database")


# the live providers of tests/e2e/conftest.py, one per database for the whole run
LIVE_PROVIDERS = ("live_provider", "live_provider_no_grace")


def pytest_terminal_summary(terminalreporter) -> None:
    if find_postgres_bin() is None and not postgres_required():
        terminalreporter.write_sep("!", MISSING, red=True, bold=True)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    once = any(metafunc.definition.get_closest_marker(name) for name in ("browser",
                                                                         "sqlite_only"))
    databases = DATABASES[:1] if once else DATABASES
    if "database" in metafunc.fixturenames:
        metafunc.parametrize("database", databases, indirect=True)
    for name in LIVE_PROVIDERS:
        if name in metafunc.fixturenames:
            metafunc.parametrize(name, databases, indirect=True, scope="session")


@pytest.fixture
def database(request: pytest.FixtureRequest) -> str:
    """``sqlite`` or ``postgresql``: the backend this run of the test uses."""
    return request.param


@pytest.fixture(scope="session")
def template_instance(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An initialised instance (secrets, schema, signing key), made once per run."""
    return make_template_instance(tmp_path_factory.mktemp("template-instance"))


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A real PostgreSQL cluster (``tests/support/postgres_server.py``), one per run."""
    with run_postgres_server() as server:
        yield server


@pytest.fixture(scope="session")
def postgres_databases(postgres_server: PostgresServer,
                       template_instance: Path) -> Iterator[DatabaseSupply]:
    """Fresh PostgreSQL databases, each a copy (``CREATE DATABASE ... TEMPLATE``) of one
    initialised like the template instance."""
    postgres_server.execute(f"CREATE DATABASE {TEMPLATE_DATABASE}")
    make_template_database(template_instance, postgres_server.url(TEMPLATE_DATABASE))
    supply = DatabaseSupply(postgres_server, TEMPLATE_DATABASE)
    yield supply
    supply.close()


@pytest.fixture
def database_url(database: str, request: pytest.FixtureRequest) -> Iterator[str | None]:
    """The test's own database: ``None`` (the instance's SQLite file) or a fresh
    PostgreSQL database copied from the template, dropped afterwards."""
    if database == "sqlite":
        yield None
        return
    supply: DatabaseSupply = request.getfixturevalue("postgres_databases")
    name = supply.take()
    try:
        yield supply.server.url(name)
    finally:
        supply.discard(name)


@pytest.fixture
def instance(template_instance: Path, tmp_path: Path, database_url: str | None,
             monkeypatch: pytest.MonkeyPatch) -> Path:
    """The test's instance folder; on PostgreSQL ``DATABASE_URL`` names its database
    for the app and for every ``provider`` command the test runs."""
    if database_url is not None:
        monkeypatch.setenv("DATABASE_URL", database_url)
    return copy_template_instance(template_instance, tmp_path / "instance")


@pytest.fixture
def operator_environment(database_url: str | None, monkeypatch: pytest.MonkeyPatch) -> None:
    """No provider setting from the developer's environment, only the test's database
    (for ``provider`` commands run against the test's instance)."""
    for name in provider_config.ENVIRONMENT:
        monkeypatch.delenv(name, raising=False)
    if database_url is not None:
        monkeypatch.setenv("DATABASE_URL", database_url)


@pytest.fixture
def app_config(request: pytest.FixtureRequest) -> dict:
    """Per-test overrides: ``@pytest.mark.config(PROVIDER_REQUIRE_PKCE="all")``."""
    marker = request.node.get_closest_marker("config")
    return dict(marker.kwargs) if marker else {}


@pytest.fixture
def app(instance: Path, app_config: dict) -> Iterator[Flask]:
    app = create_app({"PROVIDER_INSTANCE_PATH": str(instance), "PROVIDER_ISSUER": ISSUER,
                      **CHEAP_HASHING, **app_config})
    app.config["TESTING"] = True
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def make_user(app: Flask):
    def factory(username: str = "alice", password: str = PASSWORD, **kwargs):
        return factories.create_user(app, username, password, **kwargs)

    return factory


@pytest.fixture
def alice(make_user):
    """The user most tests sign in as (password ``PASSWORD``)."""
    return make_user("alice")


@pytest.fixture
def make_client(app: Flask):
    def factory(**kwargs) -> dict:
        return factories.create_client(app, **kwargs)

    return factory


@pytest.fixture
def browser(client: FlaskClient) -> Browser:
    return Browser(client)


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The URL of a real redis-server (see ``tests/support/redis_server.py``), one per run."""
    with run_redis_server(tmp_path_factory.mktemp("redis")) as url:
        yield url
