"""The text of ``error_description`` (RFC 6749 §4.1.2.1, §5.2; RFC 6750 §3): only
%x20-21 / %x23-5B / %x5D-7E, i.e. printable ASCII without ``"`` and ``\\``.

Descriptions are fixed sentences wherever the client's text could appear; this
is the last guard on every error the provider writes, so that nothing a client
sent (a parameter name with a newline, a quote, U+202E) is echoed into a JSON
body, a redirect or a ``WWW-Authenticate`` header."""

from __future__ import annotations

import re
from collections.abc import Collection
from typing import Any

MAX_LENGTH = 200
_OUT_OF_RANGE = re.compile(r'[^\x20\x21\x23-\x5b\x5d-\x7e]')


def safe_description(text: str | None) -> str | None:
    if text is None:
        return None
    return _OUT_OF_RANGE.sub("?", text)[:MAX_LENGTH]


def repeated_parameter(form: Any, known: Collection[str]) -> str | None:
    """The description for a parameter sent more than once (RFC 6749 §3.1, §3.2), or
    None. The name is the client's text: only a ``known`` one is echoed."""
    for name, values in form.lists():
        if len(values) > 1:
            return f"Parameter {name} is repeated." if name in known \
                else "A parameter is repeated."
    return None
