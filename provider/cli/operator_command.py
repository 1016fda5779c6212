"""The one wrapper of every command: the app's context, and operator errors as one stderr line."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import IO, Any, TypeVar, cast

import click
from flask import Flask

from ..config import ConfigurationError
from ..extensions import db
from ..keys.encryption import KeyDecryptionError
from ..management import ManagementError

Command = TypeVar("Command", bound=Callable[..., Any])

OPERATOR_ERRORS = (ConfigurationError, ManagementError, KeyDecryptionError)


class CommandError(click.ClickException):
    """Shown as the one line ``provider: <message>`` on stderr; exit status 1 (2: usage)."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code

    def show(self, file: IO[Any] | None = None) -> None:
        click.echo(f"provider: {self.message}", err=True)


def build_app(allow_uninitialised: bool = False, refuse_unsafe: bool = True) -> Flask:
    """The provider app, as the command line needs it, or the app the caller handed
    the command (``main(obj=app)``, as Flask's ``ScriptInfo`` does for its CLI)."""
    context = click.get_current_context(silent=True)
    if context is not None and isinstance(context.obj, Flask):
        return context.obj
    from .. import create_app

    return create_app(allow_uninitialised=allow_uninitialised, refuse_unsafe=refuse_unsafe)


def close_connections() -> None:
    """Close the pooled connections of a command's own app (a server sees a clean
    goodbye, not a dropped socket); an app handed to the command keeps its own."""
    context = click.get_current_context(silent=True)
    if context is None or not isinstance(context.obj, Flask):
        db.session.remove()  # hands the session's connection back to the pool first
        db.engine.dispose()


def operator_command(*, app_context: bool = True, allow_uninitialised: bool = False,
                     refuse_unsafe: bool = True) -> Callable[[Command], Command]:
    """Run the command inside the app's context and turn expected failures into one line.

    ``app_context=False`` is for the commands that build their app themselves (init,
    serve). A ConfigurationError, ManagementError or KeyDecryptionError prints its
    message, any other exception (the database or the file system said no) its type and
    first line; both end with exit status 1, never a traceback.
    """

    def decorate(command: Command) -> Command:
        @wraps(command)
        def run(*args: Any, **kwargs: Any) -> Any:
            try:
                if not app_context:
                    return command(*args, **kwargs)
                with build_app(allow_uninitialised, refuse_unsafe).app_context():
                    try:
                        return command(*args, **kwargs)
                    finally:
                        close_connections()
            except click.ClickException:
                raise
            except OPERATOR_ERRORS as exc:
                raise CommandError(str(exc)) from None
            except Exception as exc:  # the database or the file system said no
                raise CommandError(_first_line(exc)) from None

        return cast(Command, run)

    return decorate


def _first_line(exc: Exception) -> str:
    """``Type: first line of the message``, or the type alone when it has no message."""
    line = next(iter(str(exc).splitlines()), "")
    return f"{type(exc).__name__}: {line}" if line else type(exc).__name__
