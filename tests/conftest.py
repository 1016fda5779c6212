"""Shared fixtures: a fresh instance per test (copied from a template that was
initialised once), the Flask test client, factories, and a browser-style
helper that walks the authorization flow through the real login and consent
forms."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient

from provider import create_app, management
from provider.config import create_instance_secrets

CHEAP_HASHING = {
    "PROVIDER_PASSWORD_TIME_COST": 1,
    "PROVIDER_PASSWORD_MEMORY_COST": 8,
    "PROVIDER_PASSWORD_PARALLELISM": 1,
}
ISSUER = "http://127.0.0.1:5000"
PASSWORD = "correct horse battery"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "e2e: real sockets")


@pytest.fixture(scope="session")
def template_instance(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An initialised instance (secrets, schema, signing key), made once per run."""
    path = tmp_path_factory.mktemp("template-instance")
    create_instance_secrets(path)
    app = create_app({"PROVIDER_INSTANCE_PATH": str(path), **CHEAP_HASHING})
    with app.app_context():
        management.initialise()
        from provider.extensions import db

        db.engine.dispose()
    return path


@pytest.fixture
def instance(template_instance: Path, tmp_path: Path) -> Path:
    path = tmp_path / "instance"
    shutil.copytree(template_instance, path)
    return path


@pytest.fixture
def app_config(request: pytest.FixtureRequest) -> dict:
    """Per-test overrides: ``@pytest.mark.config(PROVIDER_REQUIRE_PKCE="all")``."""
    marker = request.node.get_closest_marker("config")
    return dict(marker.kwargs) if marker else {}


@pytest.fixture
def app(instance: Path, app_config: dict) -> Iterator[Flask]:
    app = create_app({"PROVIDER_INSTANCE_PATH": str(instance), "PROVIDER_ISSUER": ISSUER,
                      **CHEAP_HASHING, **app_config})
    app.config["TESTING"] = True
    yield app
    with app.app_context():
        from provider.extensions import db

        db.engine.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def make_user(app: Flask):
    def factory(username: str = "alice", password: str = PASSWORD, **kwargs):
        kwargs.setdefault("email", f"{username}@example.com")
        kwargs.setdefault("name", username.title())
        kwargs.setdefault("roles", ["user"])
        with app.app_context():
            return management.create_user(username, password, **kwargs)

    return factory


@pytest.fixture
def alice(make_user):
    """The user most tests sign in as (password ``PASSWORD``)."""
    return make_user("alice")


@pytest.fixture
def make_client(app: Flask):
    def factory(**kwargs) -> dict:
        kwargs.setdefault("name", "Test app")
        kwargs.setdefault("redirect_uris", ("https://rp.example/callback",))
        with app.app_context():
            return management.create_client(**kwargs)

    return factory


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).decode().rstrip("=")


def basic_auth(client_id: str, secret: str) -> dict:
    raw = f"{client_id}:{secret}".encode()
    return {"Authorization": "Basic " + base64.b64encode(raw).decode()}


def query_of(location: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
INTERACTION = re.compile(r'name="interaction" value="([^"]+)"')


@dataclass
class Browser:
    """Drives the login and consent forms with the Flask test client."""

    http: FlaskClient

    def form_fields(self, html: str) -> dict[str, str]:
        fields = {"csrf_token": CSRF.search(html).group(1)}
        match = INTERACTION.search(html)
        if match:
            fields["interaction"] = match.group(1)
        return fields

    def login(self, location: str, username: str = "alice", password: str = PASSWORD):
        page = self.http.get(location)
        assert page.status_code == 200, page.data
        fields = self.form_fields(page.get_data(as_text=True))
        return self.http.post("/login", data={**fields, "username": username,
                                              "password": password, "action": "login"})

    def decide(self, location: str, decision: str = "allow"):
        page = self.http.get(location)
        assert page.status_code == 200, page.data
        fields = self.form_fields(page.get_data(as_text=True))
        return self.http.post("/consent", data={**fields, "decision": decision})

    def authorize(self, params: dict, username: str = "alice", consent: str = "allow"):
        """Follow /authorize through login and consent; return the final response."""
        response = self.http.get("/authorize?" + urlencode(params))
        for _ in range(4):
            location = response.headers.get("Location", "")
            if response.status_code not in (302, 303) or not location.startswith("/"):
                return response
            if location.startswith("/login"):
                response = self.login(location, username=username)
            elif location.startswith("/consent"):
                response = self.decide(location, consent)
            else:
                response = self.http.get(location)
        return response


@pytest.fixture
def browser(client: FlaskClient) -> Browser:
    return Browser(client)


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The URL of a real redis-server (see ``tests/redis_server.py``), one per run."""
    from tests.redis_server import run_redis_server

    with run_redis_server(tmp_path_factory.mktemp("redis")) as url:
        yield url
