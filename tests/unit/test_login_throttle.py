"""The login throttle's pure parts: the back-off schedule under the default
settings, how a client address is counted, and the settings' validation."""

from __future__ import annotations

from pathlib import Path

import pytest

from provider import config as provider_config
from provider.accounts.throttle import Policy, backoff_seconds, client_network
from provider.config import DEFAULTS, ConfigurationError, load, unsafe_settings


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in provider_config.ENVIRONMENT:
        monkeypatch.delenv(name, raising=False)


def loaded(tmp_path: Path, **overrides) -> dict:
    config: dict = {}
    load(config, tmp_path, overrides)
    return config


def test_default_schedule_five_free_then_doubling_from_one_second_to_fifteen_minutes():
    policy = Policy.from_config(DEFAULTS)
    pair = [backoff_seconds(n, policy.free, policy.backoff, policy.backoff_max)
            for n in range(1, 18)]
    assert pair == [0, 0, 0, 0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 900, 900, 900]
    account = [backoff_seconds(n, policy.account_free, policy.backoff, policy.backoff_max)
               for n in (19, 20, 21, 30, 10_000_000)]
    assert account == [0, 1, 2, 900, 900]  # an absurd count still ends at the cap


@pytest.mark.parametrize(("address", "counted_as"), [
    ("192.0.2.1", "192.0.2.1"),
    ("::ffff:192.0.2.1", "192.0.2.1"),  # IPv4 seen through an IPv6 socket
    ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"),
    ("2001:db8:1:2::1", "2001:db8:1:2::/64"),
    (None, ""),
])
def test_a_client_is_an_ipv4_address_or_an_ipv6_slash_64(address, counted_as):
    assert client_network(address) == counted_as


@pytest.mark.parametrize("overrides", [
    {"PROVIDER_LOGIN_FREE_ATTEMPTS": 0},
    {"PROVIDER_LOGIN_ACCOUNT_FREE_ATTEMPTS": "20"},
    {"PROVIDER_LOGIN_BACKOFF_SECONDS": True},
    {"PROVIDER_LOGIN_BACKOFF_SECONDS": 60, "PROVIDER_LOGIN_BACKOFF_MAX_SECONDS": 30},
    {"PROVIDER_LOGIN_THROTTLE_RESET_SECONDS": 900},  # not longer than the cap
])
def test_unusable_throttle_settings_are_refused_at_start(tmp_path, overrides):
    with pytest.raises(ConfigurationError, match="PROVIDER_LOGIN_"):
        loaded(tmp_path, **overrides)


def test_a_cap_above_fifteen_minutes_is_a_warning(tmp_path):
    config = loaded(tmp_path, PROVIDER_LOGIN_BACKOFF_MAX_SECONDS=3600)
    assert [f.severity for f in unsafe_settings(config)
            if f.setting == "PROVIDER_LOGIN_BACKOFF_MAX_SECONDS"] == ["warning"]
    defaults = loaded(tmp_path)
    assert not [f for f in unsafe_settings(defaults)
                if f.setting == "PROVIDER_LOGIN_BACKOFF_MAX_SECONDS"]
