"""The database URL as the engine needs it, and the engine's options per backend.

``postgres://`` and ``postgresql://`` (what hosting dashboards hand out) mean
PostgreSQL through psycopg 3, the driver the provider ships with. Each worker
process has its own pool; a connection is tested before use, so one the server
closed (a restart, a failover) is replaced instead of failing a request; every
statement has a deadline, so a stuck query cannot hold a worker.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from .validation import ConfigurationError

POSTGRES_SCHEMES = {"postgres", "postgresql", "postgresql+psycopg"}


def normalise_database_url(url: str) -> str:
    """The SQLAlchemy URL for ``url``; PostgreSQL spellings become ``postgresql+psycopg``."""
    scheme, separator, rest = url.partition("://")
    if separator and scheme.lower() in POSTGRES_SCHEMES:
        url = f"postgresql+psycopg://{rest}"
    try:
        make_url(url)
    except ArgumentError:
        raise ConfigurationError("DATABASE_URL is not a database URL "
                                 "(sqlite:///PATH or postgresql://USER:PASSWORD@HOST/NAME)"
                                 ) from None
    return url


def is_postgresql(url: str) -> bool:
    return url.startswith("postgresql")


def engine_options(config: dict[str, Any]) -> dict[str, Any]:
    """``SQLALCHEMY_ENGINE_OPTIONS`` for the configured backend."""
    # a logged database error shows the statement, never its values (a username, a digest)
    hidden = {"hide_parameters": True}
    if not is_postgresql(config["SQLALCHEMY_DATABASE_URI"]):
        return hidden
    statement_ms = int(config["PROVIDER_DB_STATEMENT_TIMEOUT_MS"])
    return {
        **hidden,
        "pool_size": int(config["PROVIDER_DB_POOL_SIZE"]),
        "max_overflow": int(config["PROVIDER_DB_POOL_MAX_OVERFLOW"]),
        "pool_timeout": float(config["PROVIDER_DB_POOL_TIMEOUT_SECONDS"]),
        "pool_pre_ping": True,
        "pool_recycle": 1800,
        "connect_args": {
            "connect_timeout": int(config["PROVIDER_DB_CONNECT_TIMEOUT_SECONDS"]),
            "application_name": "provider",
            # a transaction left open by a stuck worker must not hold row locks for long
            "options": f"-c statement_timeout={statement_ms} -c lock_timeout={statement_ms}"
                       f" -c idle_in_transaction_session_timeout={statement_ms * 6}",
        },
    }
