"""Loading: defaults, ``instance/config.py``, the environment (read nowhere else), derivation."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .database import engine_options, normalise_database_url
from .settings import DEFAULTS, ENVIRONMENT, SETTING, SETTINGS
from .validation import ConfigurationError

REPOSITORY_ROOT = Path(__file__).resolve().parents[2]
INSTANCE_PATH_VARIABLE = "PROVIDER_INSTANCE_PATH"  # read before anything else: it holds config.py


def instance_path() -> Path:
    """The Flask instance folder: ``PROVIDER_INSTANCE_PATH`` or ``instance/``."""
    configured = os.environ.get(INSTANCE_PATH_VARIABLE)
    return Path(configured).resolve() if configured else REPOSITORY_ROOT / "instance"


def load(config: dict[str, Any], instance: Path, overrides: dict[str, Any] | None) -> None:
    """Fill ``config`` in the documented order, then derive the dependent values."""
    config.update(DEFAULTS)
    config_file = instance / "config.py"
    if config_file.exists():
        config.update(_read_config_file(config_file))
    config.update(_read_environment())
    if overrides:
        config.update(overrides)
    _derive(config, instance)


def validate(config: Mapping[str, Any]) -> None:
    """Run every setting's checks, in table order; the first failure raises."""
    for setting in SETTINGS:
        for check in setting.checks:
            check(setting.name, config)


def _read_config_file(path: Path) -> dict[str, Any]:
    namespace: dict[str, Any] = {"__file__": str(path)}
    try:
        exec(compile(path.read_bytes(), str(path), "exec"), namespace)  # noqa: S102
    except Exception as exc:  # a broken config file must name itself, not dump a traceback
        raise ConfigurationError(f"{path}: {type(exc).__name__}: {exc}") from None
    return {key: value for key, value in namespace.items() if key.isupper()}


def _read_environment() -> dict[str, Any]:
    values: dict[str, Any] = {}
    for variable, setting in ENVIRONMENT.items():
        raw = os.environ.get(variable)
        if raw is None or raw == "":
            continue
        parse = setting.parse
        assert parse is not None  # ENVIRONMENT holds only settings with a parser
        try:
            values[setting.name] = parse(raw)
        except ValueError:
            raise ConfigurationError(
                f"{variable}={raw!r} is not a valid {parse.__name__}") from None
    return values


def _derive(config: dict[str, Any], instance: Path) -> None:
    port_setting = SETTING["PORT"]
    for check in port_setting.checks:  # the default issuer is built from it
        check(port_setting.name, config)
    if not config.get("PROVIDER_ISSUER"):
        config["PROVIDER_ISSUER"] = f"http://127.0.0.1:{config['PORT']}"
    config["PROVIDER_ISSUER"] = config["PROVIDER_ISSUER"].rstrip("/")
    if not config.get("PROVIDER_DEFAULT_AUDIENCE"):
        config["PROVIDER_DEFAULT_AUDIENCE"] = config["PROVIDER_ISSUER"]
    if not config.get("DATABASE_URL"):
        config["DATABASE_URL"] = f"sqlite:///{instance / 'provider.db'}"
    config["DATABASE_URL"] = normalise_database_url(config["DATABASE_URL"])
    config["SQLALCHEMY_DATABASE_URI"] = config["DATABASE_URL"]
    validate(config)
    config["SQLALCHEMY_ENGINE_OPTIONS"] = engine_options(config)
    issuer_is_https = config["PROVIDER_ISSUER"].startswith("https://")
    config["SESSION_COOKIE_SECURE"] = issuer_is_https
    config["PREFERRED_URL_SCHEME"] = "https" if issuer_is_https else "http"
