"""Shared fixtures: a fresh instance per test (copied from a template that was
initialised once), the Flask test client, factories, a browser-style helper that
walks the authorization flow through the real login and consent forms, and a
real redis-server. The machinery behind them lives in ``tests/support/``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from provider import create_app
from provider.extensions import db
from tests.support import factories
from tests.support.forms import Browser
from tests.support.redis_server import run_redis_server
from tests.support.settings import CHEAP_HASHING, ISSUER, PASSWORD
from tests.support.snapshots import copy_template_instance, make_template_instance


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "e2e: real sockets")


@pytest.fixture(scope="session")
def template_instance(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An initialised instance (secrets, schema, signing key), made once per run."""
    return make_template_instance(tmp_path_factory.mktemp("template-instance"))


@pytest.fixture
def instance(template_instance: Path, tmp_path: Path) -> Path:
    return copy_template_instance(template_instance, tmp_path / "instance")


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
