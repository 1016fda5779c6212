"""Structured logs: one JSON object a line, each with the time, level, logger,
message, the request id of the request that caused it, and the fields the caller
passed (``extra={"fields": {...}}``), so a log pipeline indexes them as they are.

``provider serve`` installs this for every logger of every worker (``dictconfig``),
and writes the access log (``access``) itself: a line per request with the method,
the path without its query string (``/end-session?id_token_hint=…`` carries an ID
token, and ``/authorize``'s query carries a client's state and PKCE challenge), the
status, the duration and the client's address. ``PROVIDER_LOG_FORMAT=text`` gives
the same lines as plain text, for a terminal.
"""

from __future__ import annotations

import datetime
import json
import logging
from typing import Any

from . import request_ids

ACCESS_LOGGER = "provider.access"
FORMATS = ("json", "text")
access_log = logging.getLogger(ACCESS_LOGGER)
# made once: json.dumps with options builds a new encoder on every call
_encode = json.JSONEncoder(default=str, ensure_ascii=False).encode


class JsonFormatter(logging.Formatter):
    """A log record as one line of JSON."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": _timestamp(record.created),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = getattr(record, "request_id", None) or request_ids.current()
        if request_id is not None:
            line["request_id"] = request_id
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            line.update({key: value for key, value in fields.items() if key not in line})
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return _encode(line)


# control characters as escapes: a path or a username holding a newline must not
# start a forged line of its own in a text log
_ESCAPES = {code: f"\\x{code:02x}" for code in (*range(32), 127)}


class TextFormatter(logging.Formatter):
    """The same line as text: time, level, logger, request id, message, fields."""

    def format(self, record: logging.LogRecord) -> str:
        request_id = getattr(record, "request_id", None) or request_ids.current() or "-"
        fields = getattr(record, "fields", None)
        extra = "".join(f" {key}={_printable(value)}" for key, value in fields.items()
                        ) if isinstance(fields, dict) else ""
        text = (f"{_timestamp(record.created)} {record.levelname} {record.name} "
                f"[{request_id}] {_printable(record.getMessage())}{extra}")
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        return text


def _printable(value: object) -> str:
    return str(value).translate(_ESCAPES)


def _timestamp(created: float) -> str:
    """ISO 8601 in UTC with milliseconds; the part down to the second is made once a
    second (a busy process logs thousands of lines in it)."""
    global _second
    second = int(created)
    cached = _second  # one read: another thread may replace it meanwhile
    if cached[0] != second:
        moment = datetime.datetime.fromtimestamp(second, datetime.UTC)
        cached = _second = (second, moment.strftime("%Y-%m-%dT%H:%M:%S"))
    return f"{cached[1]}.{int((created - second) * 1000):03d}Z"


_second: tuple[int, str] = (-1, "")  # the second last formatted, and its text


def dictconfig(log_format: str, level: str = "INFO") -> dict[str, Any]:
    """A ``logging.config.dictConfig`` for every logger of the process, on stderr."""
    formatter = JsonFormatter if log_format == "json" else TextFormatter
    handler = {"class": "logging.StreamHandler", "stream": "ext://sys.stderr",
               "formatter": "provider"}
    quiet = {"handlers": ["provider"], "level": "WARNING", "propagate": False}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"provider": {"()": formatter}},
        "handlers": {"provider": handler},
        "root": {"handlers": ["provider"], "level": level},
        "loggers": {
            # the app's: configured here, so that Flask's own text handler, which it adds
            # when the app is built before this runs, is replaced rather than doubled
            "provider": {"handlers": ["provider"], "level": level, "propagate": False},
            # granian's own (started, stopped, a worker replaced)
            "_granian": {"handlers": ["provider"], "level": level, "propagate": False},
            # the provider writes the access log itself, with the request id
            "granian.access": quiet,
            "alembic": quiet,
        },
    }


def access(method: str, path: str, status: int, seconds: float, client: str | None) -> None:
    """The access-log line of one request (the query string is never logged).

    Made and handed to the handlers directly: ``Logger.info`` would also walk the
    stack for the caller's file and line, which an access line has no use for, and
    this runs for every request, answers from memory included."""
    if not access_log.isEnabledFor(logging.INFO):
        return
    record = access_log.makeRecord(ACCESS_LOGGER, logging.INFO, __file__, 0,
                                   "%s %s %d", (method, path, status), None)
    record.fields = {"method": method, "path": path, "status": status,
                     "duration_ms": round(seconds * 1000, 3), "client": client}
    access_log.handle(record)
