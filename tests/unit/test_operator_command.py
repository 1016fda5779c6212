"""Whatever an operator command raises ends as one stderr line and exit 1."""

from __future__ import annotations

import click
import pytest
from click.testing import CliRunner

from provider.cli.operator_command import operator_command


@pytest.mark.parametrize(("raised", "line"), [
    (OSError("disk full\nsecond line"), "provider: OSError: disk full"),
    (RuntimeError(), "provider: RuntimeError"),  # no message at all: never a traceback
    (ValueError("\n"), "provider: ValueError"),
])
def test_unexpected_failures_are_one_line(raised, line):
    @click.command()
    @operator_command(app_context=False)
    def failing() -> None:
        raise raised

    result = CliRunner().invoke(failing, [])
    assert result.exit_code == 1
    assert result.output.strip() == line
    assert "Traceback" not in result.output
