"""Configuration: the settings table, loading, instance secrets and the start-up safety rules."""

from .instance_secrets import (
    KEK_FILE,
    SECRET_KEY_FILE,
    InstanceSecrets,
    create_instance_secrets,
    decode_kek,
    read_instance_secrets,
)
from .loading import INSTANCE_PATH_VARIABLE, REPOSITORY_ROOT, instance_path, load, validate
from .safety import (
    KNOWN_DEVELOPMENT_SECRETS,
    MIN_SECRET_BYTES,
    Finding,
    is_loopback_host,
    refuse_unsafe_start,
    unsafe_settings,
)
from .settings import DEFAULTS, ENVIRONMENT, FLASK_SETTINGS, SETTING, SETTINGS, Setting
from .validation import ALGORITHMS, ConfigurationError

__all__ = [
    "ALGORITHMS",
    "DEFAULTS",
    "ENVIRONMENT",
    "FLASK_SETTINGS",
    "INSTANCE_PATH_VARIABLE",
    "KEK_FILE",
    "KNOWN_DEVELOPMENT_SECRETS",
    "MIN_SECRET_BYTES",
    "REPOSITORY_ROOT",
    "SECRET_KEY_FILE",
    "SETTING",
    "SETTINGS",
    "ConfigurationError",
    "Finding",
    "InstanceSecrets",
    "Setting",
    "create_instance_secrets",
    "decode_kek",
    "instance_path",
    "is_loopback_host",
    "load",
    "read_instance_secrets",
    "refuse_unsafe_start",
    "unsafe_settings",
    "validate",
]
