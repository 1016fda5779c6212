"""PROVIDER_REQUEST_READ_TIMEOUT_SECONDS (``provider serve``): a positive number of
seconds, refused at start-up otherwise."""

from __future__ import annotations

from pathlib import Path

import pytest

from provider import config as provider_config
from provider.config import ConfigurationError, load


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in provider_config.ENVIRONMENT:
        monkeypatch.delenv(name, raising=False)


def loaded(tmp_path: Path, **overrides) -> dict:
    config: dict = {}
    load(config, tmp_path, overrides)
    return config


def test_the_default_and_other_positive_values(tmp_path):
    assert loaded(tmp_path)["PROVIDER_REQUEST_READ_TIMEOUT_SECONDS"] == 30
    for value in (1, 2.5, 120):
        config = loaded(tmp_path, PROVIDER_REQUEST_READ_TIMEOUT_SECONDS=value)
        assert config["PROVIDER_REQUEST_READ_TIMEOUT_SECONDS"] == value


@pytest.mark.parametrize("value", [0, -1, True, "30", None])
def test_anything_else_is_refused(tmp_path, value):
    with pytest.raises(ConfigurationError, match="PROVIDER_REQUEST_READ_TIMEOUT_SECONDS"):
        loaded(tmp_path, PROVIDER_REQUEST_READ_TIMEOUT_SECONDS=value)
