"""Operator actions behind the CLI; each validates, raises ManagementError, commits its own work."""

from __future__ import annotations

from .clients import create_client, disable_client, new_client_id, rotate_client_secret
from .demo import DEMO_FILE, describe_demo, seed_demo_data
from .errors import ManagementError
from .families import family_lineage
from .housekeeping import RETENTION, audit_events, purge
from .instance import check, initialise, stored_key_count
from .keys import list_keys, revoke_signing_key, rewrap_signing_keys, rotate_keys
from .logout_deliveries import list_logout_deliveries
from .users import USERNAME, create_user, end_user_sessions, set_user_disabled, unlock_user

__all__ = [
    "DEMO_FILE",
    "RETENTION",
    "USERNAME",
    "ManagementError",
    "audit_events",
    "check",
    "create_client",
    "create_user",
    "describe_demo",
    "disable_client",
    "end_user_sessions",
    "family_lineage",
    "initialise",
    "list_keys",
    "list_logout_deliveries",
    "new_client_id",
    "purge",
    "revoke_signing_key",
    "rewrap_signing_keys",
    "rotate_client_secret",
    "rotate_keys",
    "seed_demo_data",
    "set_user_disabled",
    "stored_key_count",
    "unlock_user",
]
