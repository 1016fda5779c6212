"""What each setting must be: the checks the settings table names, raising ConfigurationError."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

from limits import parse_many

ALGORITHMS = ("RS256", "PS256", "ES256", "EdDSA")

Check = Callable[[str, Mapping[str, Any]], None]
"""Raises ConfigurationError unless ``config[name]`` is usable; may read other settings."""


class ConfigurationError(Exception):
    """The configuration cannot be used; the message says what to change."""


def port_number(name: str, config: Mapping[str, Any]) -> None:
    """A TCP port: a whole number from 1 to 65535."""
    port = config[name]
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        raise ConfigurationError(f"{name}={port!r} must be a whole number from 1 to 65535")


def issuer_url(name: str, config: Mapping[str, Any]) -> None:
    """An http(s) URL with a host and without query or fragment (RFC 8414)."""
    issuer = config[name]
    try:
        parts = urlsplit(issuer)
        parts.port  # noqa: B018 - raises ValueError for an out-of-range port
    except ValueError:
        raise ConfigurationError(f"{name}={issuer!r} is not a valid URL") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigurationError(f"{name}={issuer!r} must be an http(s) URL")
    if "?" in issuer or "#" in issuer:
        raise ConfigurationError(f"{name} must not have a query or fragment (RFC 8414)")


def pkce_policy(name: str, config: Mapping[str, Any]) -> None:
    """``public`` or ``all``."""
    if config[name] not in ("public", "all"):
        raise ConfigurationError(f"{name} must be 'public' or 'all', not {config[name]!r}")


def one_of(*choices: str) -> Check:
    """One of ``choices``."""

    def check(name: str, config: Mapping[str, Any]) -> None:
        if config[name] not in choices:
            raise ConfigurationError(f"{name} must be one of {', '.join(choices)}, "
                                     f"not {config[name]!r}")

    return check


def ip_networks(name: str, config: Mapping[str, Any]) -> None:
    """A list of IP addresses or CIDR networks."""
    values = config[name]
    if isinstance(values, str) or not isinstance(values, list | tuple):
        raise ConfigurationError(f"{name} must be a list of IP addresses or networks")
    for value in values:
        try:
            ipaddress.ip_network(str(value), strict=False)
        except ValueError:
            raise ConfigurationError(f"{name}: {value!r} is not an IP address or network "
                                     "(such as 10.0.0.0/8 or 127.0.0.1)") from None


def signing_algorithms(name: str, config: Mapping[str, Any]) -> None:
    """Some of ALGORITHMS, always with RS256 (OpenID Connect requires it)."""
    enabled = list(config[name])
    unknown = [alg for alg in enabled if alg not in ALGORITHMS]
    if unknown or not enabled:
        raise ConfigurationError(f"{name} must name some of {', '.join(ALGORITHMS)}")
    if "RS256" not in enabled:
        raise ConfigurationError("RS256 cannot be switched off: OpenID Connect requires it")


def enabled_signing_algorithm(name: str, config: Mapping[str, Any]) -> None:
    """One of PROVIDER_SIGNING_ALGORITHMS (checked before this)."""
    if config[name] not in list(config["PROVIDER_SIGNING_ALGORITHMS"]):
        raise ConfigurationError(f"{name} must be one of the signing algorithms")


def interval_seconds(name: str, config: Mapping[str, Any]) -> None:
    """Seconds between repetitions, 0 for never."""
    if int(config[name]) < 0:
        raise ConfigurationError(f"{name} must be >= 0 seconds")


def non_negative_whole_seconds(name: str, config: Mapping[str, Any]) -> None:
    """A whole number of seconds, 0 or more."""
    if not isinstance(config[name], int) or config[name] < 0:
        raise ConfigurationError(f"{name} must be a non-negative whole number of seconds")


def positive_seconds(name: str, config: Mapping[str, Any]) -> None:
    """A number of seconds above 0, fractions allowed."""
    value = config[name]
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise ConfigurationError(f"{name} must be a positive number of seconds")


def outbound_deadline_seconds(name: str, config: Mapping[str, Any]) -> None:
    """More than 0 and at most 60 seconds."""
    value = config[name]
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 60:
        raise ConfigurationError(f"{name} must be more than 0 and at most 60 seconds")


def whole_number_from_one(name: str, config: Mapping[str, Any]) -> None:
    """A whole number of at least 1."""
    value = config[name]
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigurationError(f"{name} must be a whole number of at least 1")


def whole_number_from_zero(name: str, config: Mapping[str, Any]) -> None:
    """A whole number, 0 or more."""
    value = config[name]
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ConfigurationError(f"{name} must be a whole number, 0 or more")


def boolean(name: str, config: Mapping[str, Any]) -> None:
    """True or False."""
    if not isinstance(config[name], bool):
        raise ConfigurationError(f"{name} must be True or False, not {config[name]!r}")


MIN_METRICS_TOKEN_CHARS = 16


def metrics_token(name: str, config: Mapping[str, Any]) -> None:
    """Unset, or at least 16 visible ASCII characters (it travels in a header)."""
    token = config[name]
    if token is None:
        return
    if not isinstance(token, str) or not all("!" <= char <= "~" for char in token):
        raise ConfigurationError(f"{name} must be visible ASCII characters, without spaces")
    if len(token) < MIN_METRICS_TOKEN_CHARS:
        raise ConfigurationError(
            f"{name} must be at least {MIN_METRICS_TOKEN_CHARS} characters long")


def not_with(other: str) -> Check:
    """A true value excludes setting ``other`` (checked before this one)."""

    def check(name: str, config: Mapping[str, Any]) -> None:
        if config[name] and config[other] is not None:
            raise ConfigurationError(f"set {name} or {other}, not both")

    return check


RATE_LIMIT_OFF = ("", "off")


def rate_limit_text(value: Any) -> str | None:
    """A rate-limit setting's limits, or None when it is off (unset, empty or ``off``)."""
    if value is None or (isinstance(value, str) and value.strip().lower() in RATE_LIMIT_OFF):
        return None
    return value


def rate_limit(name: str, config: Mapping[str, Any]) -> None:
    """Off, or limits in the notation of ``limits`` ("600 per minute", "10/second",
    several separated by ";"), each allowing at least one request."""
    text = rate_limit_text(config[name])
    if text is None:
        return
    example = 'such as "600 per minute" or "10/second; 1000/hour", or "" for none'
    try:
        items = parse_many(text) if isinstance(text, str) else None
    except ValueError:
        items = None
    if not items:
        raise ConfigurationError(f"{name}={text!r} is not a rate limit ({example})")
    if any(item.amount < 1 for item in items):
        raise ConfigurationError(f"{name}={text!r} would refuse every request; "
                                 "switch the limit off with \"\" instead")


def at_least(other: str) -> Check:
    """The value must not be below setting ``other`` (checked before this one)."""

    def check(name: str, config: Mapping[str, Any]) -> None:
        if config[name] < config[other]:
            raise ConfigurationError(f"{name} must be at least {other}")

    return check


def exceeding(other: str) -> Check:
    """The value must be above setting ``other`` (checked before this one)."""

    def check(name: str, config: Mapping[str, Any]) -> None:
        if config[name] <= config[other]:
            raise ConfigurationError(f"{name} must exceed {other}")

    return check
