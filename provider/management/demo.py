"""Demo data: a demo user and three demo clients, recorded in instance/demo.json."""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

from flask import current_app

from ..database import writing
from ..extensions import db
from ..models import Client, User
from .clients import create_client
from .errors import ManagementError
from .users import create_user

DEMO_FILE = "demo.json"


@writing
def seed_demo_data() -> list[str]:
    """A demo user and two demo clients, into an empty database, never under https."""
    issuer = current_app.config["PROVIDER_ISSUER"]
    demo_file = Path(current_app.instance_path) / DEMO_FILE
    if issuer.startswith("https://"):
        return ["demo data not seeded: the issuer is https"]
    has_data = db.session.scalar(db.select(User.id).limit(1)) or db.session.scalar(
        db.select(Client.client_id).limit(1))
    if has_data:
        return describe_demo(demo_file)
    password = secrets.token_urlsafe(9)
    try:
        create_user("demo", password, email="demo@example.com", name="Demo User",
                    roles=["user", "admin"])
    except ManagementError:
        # the one error these arguments can meet: on PostgreSQL a concurrent seed made
        # the demo user after our check, so the database has data, as above
        return describe_demo(demo_file)
    web = create_client(name="Demo web app", redirect_uris=("http://127.0.0.1:8000/callback",),
                        scope="openid profile email offline_access",
                        post_logout_redirect_uris=("http://127.0.0.1:8000/",))
    native = create_client(name="Demo native app", public=True,
                           redirect_uris=("http://127.0.0.1:8765/callback",),
                           scope="openid profile email offline_access")
    service = create_client(name="Demo service", redirect_uris=("http://127.0.0.1:8000/unused",),
                            grant_types=("client_credentials",), scope="api:read api:write")
    demo = {"issuer": issuer, "user": {"username": "demo", "password": password},
            "web_client": web, "native_client": native, "service_client": service}
    _write_private(demo_file, demo)
    return describe_demo(demo_file)


def _write_private(path: Path, data: dict) -> None:
    """``data`` as JSON only the owner may read, in place at once: a concurrent seed
    that finds the data reads the file, and must never find it half written."""
    partial = path.with_name(f".{path.name}.{secrets.token_hex(8)}")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(data, handle, indent=2)
    os.replace(partial, path)


def describe_demo(demo_file: Path) -> list[str]:
    if not demo_file.exists():
        return []
    demo = json.loads(demo_file.read_text())
    return [
        "",
        "Demo data (from instance/demo.json):",
        f"  sign in at {demo['issuer']}/login as "
        f"{demo['user']['username']} / {demo['user']['password']}",
        f"  native (public, PKCE) client_id: {demo['native_client']['client_id']}",
        f"  web (confidential) client_id:    {demo['web_client']['client_id']}",
        f"  service (client_credentials):    {demo['service_client']['client_id']}",
        "  client secrets are in instance/demo.json",
        "",
    ]
