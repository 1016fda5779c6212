"""Users and clients for tests, made through ``provider.management`` as the CLI
makes them, and the redirect URIs test clients register."""

from __future__ import annotations

from flask import Flask

from provider import management
from provider.extensions import db
from provider.models import Client
from tests.support.settings import PASSWORD

CALLBACK = "https://rp.example/callback"
OTHER_CALLBACK = "https://rp.example/other"
NATIVE_CALLBACK = "http://127.0.0.1:8765/callback"


def create_user(app: Flask, username: str = "alice", password: str = PASSWORD, **kwargs):
    """A user with an email, a name and the ``user`` role unless told otherwise."""
    kwargs.setdefault("email", f"{username}@example.com")
    kwargs.setdefault("name", username.title())
    kwargs.setdefault("roles", ["user"])
    with app.app_context():
        return management.create_user(username, password, **kwargs)


def create_client(app: Flask, **kwargs) -> dict:
    """A confidential client redirecting to ``CALLBACK`` unless told otherwise; the
    registration answer (with ``client_secret``)."""
    kwargs.setdefault("name", "Test app")
    kwargs.setdefault("redirect_uris", (CALLBACK,))
    with app.app_context():
        return management.create_client(**kwargs)


def register(app: Flask, make_client, **extra) -> dict:
    """A trusted relying party with a post-logout redirect URI; ``extra`` sets further
    columns of its row (``backchannel_logout_uri``...)."""
    rp = make_client(name=extra.pop("name", "RP"), trusted=True,
                     post_logout_redirect_uris=("https://rp.example/bye",))
    if extra:
        with app.app_context():
            row = db.session.get(Client, rp["client_id"])
            for key, value in extra.items():
                setattr(row, key, value)
            db.session.commit()
    return rp
