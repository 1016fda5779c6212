"""Fixtures for end-to-end tests: a real provider (``provider serve``, two worker
processes) per run, with and without the refresh-token grace window. The launcher
is ``tests/support/live_server.py``."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.live_server import LiveProvider, launch_provider


@pytest.fixture(scope="session")
def live_provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveProvider]:
    with launch_provider(tmp_path_factory.mktemp("live-instance"),
                         {"PROVIDER_REFRESH_GRACE_SECONDS": "10"}) as provider:
        yield provider


@pytest.fixture(scope="session")
def live_provider_no_grace(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveProvider]:
    """Like ``live_provider``, but with the refresh-token grace window disabled."""
    with launch_provider(tmp_path_factory.mktemp("live-instance-no-grace"),
                         {"PROVIDER_REFRESH_GRACE_SECONDS": "0"}) as provider:
        yield provider
