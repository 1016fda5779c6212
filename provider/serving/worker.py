"""What granian imports in each worker process: the provider's front around an app
built in that process, from the same configuration the command line checked."""

from __future__ import annotations

from .. import create_app
from .front import Front


def front() -> Front:
    return Front(create_app())
