"""Log lines: one JSON object a line with the request id and the caller's fields, or
one text line in which nothing a client sent can start a line of its own."""

from __future__ import annotations

import json
import logging

from provider import request_ids
from provider.logs import JsonFormatter, TextFormatter


def record(text: str, **fields) -> logging.LogRecord:
    made = logging.LogRecord("provider.access", logging.INFO, __file__, 1, text, (), None)
    made.fields = fields
    return made


def test_a_json_line_has_the_request_id_and_the_fields():
    bound = request_ids.bind("trace-9")
    try:
        line = JsonFormatter().format(record("GET /x 200", path="/x\n{\"forged\": 1}",
                                             status=200))
    finally:
        request_ids.unbind(bound)
    assert "\n" not in line
    parsed = json.loads(line)
    assert parsed["request_id"] == "trace-9" and parsed["status"] == 200
    assert parsed["path"] == "/x\n{\"forged\": 1}"
    assert parsed["logger"] == "provider.access" and parsed["level"] == "info"
    assert parsed["time"].endswith("Z")


def test_a_field_never_overrides_the_line_s_own_keys():
    parsed = json.loads(JsonFormatter().format(record("m", level="fake", message="fake")))
    assert (parsed["level"], parsed["message"]) == ("info", "m")


def test_a_text_line_escapes_control_characters():
    line = TextFormatter().format(record("GET /a\nFAKE 200", user="eve\r\nroot ok"))
    assert "\n" not in line and "\r" not in line
    assert "GET /a\\x0aFAKE 200" in line and "user=eve\\x0d\\x0aroot ok" in line
    assert "[-]" in line  # no request: no id
