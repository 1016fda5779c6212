"""Fixtures for end-to-end tests: a real provider (``provider serve``, two worker
processes) per run and database, with and without the refresh-token grace window.
The launcher is ``tests/support/live_server.py``."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.live_server import LiveProvider, launch_provider


def database_env(request: pytest.FixtureRequest, name: str) -> dict[str, str]:
    """The live provider's ``DATABASE_URL``: none (its SQLite file) or a new database
    ``name`` on the session's PostgreSQL (the parameter conftest gives the fixture; a
    test that asks for the provider by name, with no parameter, gets SQLite)."""
    if getattr(request, "param", "sqlite") == "sqlite":
        return {}
    server = request.getfixturevalue("postgres_server")
    server.execute(f"CREATE DATABASE {name}")
    return {"DATABASE_URL": server.url(name)}


@pytest.fixture(scope="session")
def live_provider(request: pytest.FixtureRequest,
                  tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveProvider]:
    with launch_provider(tmp_path_factory.mktemp("live-instance"),
                         {"PROVIDER_REFRESH_GRACE_SECONDS": "10",
                          **database_env(request, "live")}) as provider:
        yield provider


@pytest.fixture(scope="session")
def live_provider_no_grace(request: pytest.FixtureRequest,
                           tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveProvider]:
    """Like ``live_provider``, but with the refresh-token grace window disabled."""
    with launch_provider(tmp_path_factory.mktemp("live-instance-no-grace"),
                         {"PROVIDER_REFRESH_GRACE_SECONDS": "0",
                          **database_env(request, "live_no_grace")}) as provider:
        yield provider
