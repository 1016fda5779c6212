"""Operator actions behind the CLI: initialise, users, clients, keys, checks.

Every function validates its input and raises ``ManagementError`` with a
one-line message; each commits its own work.
"""

from __future__ import annotations

import json
import os
import re
import secrets
from pathlib import Path
from urllib.parse import urlsplit

import flask_migrate
from flask import Flask, current_app

from . import audit, clock, denylist, digests
from .accounts import interactions, throttle
from .accounts.passwords import hash_password
from .config import Finding, is_loopback_host, unsafe_settings
from .database import MIGRATIONS, begin_write, writing
from .extensions import db
from .keys.lifecycle import (
    KeyLifecycleError,
    ensure_signing_keys,
    revoke_key,
    rewrap_keys,
    rotate,
)
from .models import (
    AuditEvent,
    Client,
    IssuedAccessToken,
    LoginSession,
    LogoutDelivery,
    RefreshToken,
    RefreshTokenFamily,
    SigningKey,
    User,
)
from .oauth import client_metadata, codes
from .oauth.logout import end_login_session
from .oauth.refresh_tokens import revoke_families

USERNAME = re.compile(r"^[A-Za-z0-9._@+-]{1,150}$")
DEMO_FILE = "demo.json"


class ManagementError(Exception):
    """An operator request that cannot be carried out; the message says why."""


# --- instance ------------------------------------------------------------------------


def initialise(seed_demo: bool = False) -> list[str]:
    """Upgrade the schema, ensure signing keys, optionally seed the demo."""
    lines = []
    flask_migrate.upgrade(directory=str(MIGRATIONS))
    lines.append(f"database ready: {_safe_url(current_app.config['DATABASE_URL'])}")
    begin_write()
    created = ensure_signing_keys()
    db.session.commit()
    for key in created:
        lines.append(f"created signing key {key.kid} ({key.alg})")
    if seed_demo:
        lines.extend(seed_demo_data())
    return lines


def _safe_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.password:
        return url.replace(f":{parts.password}@", ":***@")
    return url


def check(app: Flask) -> list[Finding]:
    findings = unsafe_settings(app.config)
    if app.config.get("PROVIDER_KEK") is None:
        findings.append(Finding("error", "instance", "not initialised: run `provider init`"))
        return findings
    for client in db.session.scalars(db.select(Client).where(Client.disabled.is_(False))):
        for uri in client.redirect_uris:
            parts = urlsplit(uri)
            if parts.scheme == "http" and not is_loopback_host(parts.hostname):
                findings.append(Finding("warning", f"client {client.client_id}",
                                        f"redirect URI {uri} is plain http (RFC 9700 §2.6)"))
    return findings


# --- users ---------------------------------------------------------------------------


@writing
def create_user(username: str, password: str, *, email: str | None = None,
                name: str | None = None, roles: list[str] | None = None) -> User:
    if not USERNAME.match(username):
        raise ManagementError("username must be 1-150 letters, digits or . _ @ + -")
    if len(password) < 8:
        raise ManagementError("password must be at least 8 characters")
    if len(password) > 1024:
        raise ManagementError("password must be at most 1024 characters")
    if email is not None and not re.match(r"^[^@\s]+@[^@\s]+$", email):
        raise ManagementError(f"not an email address: {email!r}")
    for role in roles or []:
        if not client_metadata.SCOPE_TOKEN.match(role):
            raise ManagementError(f"invalid role name: {role!r}")
    if db.session.scalar(db.select(User.id).where(User.username == username)):
        raise ManagementError(f"user {username!r} already exists")
    user = User(username=username, email=email, name=name, roles=list(roles or []),
                password_hash=hash_password(password), email_verified=False)
    db.session.add(user)
    db.session.commit()
    return user


@writing
def set_user_disabled(username: str, disabled: bool) -> None:
    user = db.session.scalar(db.select(User).where(User.username == username))
    if user is None:
        raise ManagementError(f"no user {username!r}")
    user.disabled = disabled
    if disabled:
        user.tokens_not_before = clock.now()  # also the tokens no family tracks
        end_user_sessions(user.id, "user_disabled")
        revoke_families("user_disabled", user_id=user.id)
    db.session.commit()  # the servers' outbox jobs deliver the back-channel notices


def end_user_sessions(user_id: str, reason: str) -> int:
    """End every live provider session of the user as a logout does (families, the
    deny-list, back-channel notices), in the caller's transaction."""
    now = clock.now()
    live = db.session.scalars(db.select(LoginSession).where(
        LoginSession.user_id == user_id, LoginSession.ended_at.is_(None),
        LoginSession.expires_at > now)).all()
    for login in live:
        end_login_session(login, reason=reason)
    return len(live)


@writing
def unlock_user(username: str) -> int:
    """Clear a user's login throttle at once; returns how many counters went."""
    user = db.session.scalar(db.select(User).where(User.username == username))
    if user is None:
        raise ManagementError(f"no user {username!r}")
    cleared = throttle.unlock(username)
    audit.record("login_unlocked", user_id=user.id, counters=cleared)
    db.session.commit()
    return cleared


# --- clients -------------------------------------------------------------------------


@writing
def create_client(*, name: str, redirect_uris: tuple[str, ...], public: bool = False,
                  scope: str = "openid profile email offline_access",
                  grant_types: tuple[str, ...] = (), auth_method: str | None = None,
                  post_logout_redirect_uris: tuple[str, ...] = (),
                  trusted: bool = False, id_token_alg: str | None = None,
                  backchannel_logout_uri: str | None = None,
                  backchannel_logout_session_required: bool = False) -> dict:
    metadata = client_metadata.with_defaults(
        name=name, redirect_uris=redirect_uris, public=public, scope=scope,
        grant_types=grant_types, auth_method=auth_method,
        post_logout_redirect_uris=post_logout_redirect_uris, id_token_alg=id_token_alg,
        backchannel_logout_uri=backchannel_logout_uri,
        backchannel_logout_session_required=backchannel_logout_session_required)
    try:
        client_metadata.check_client_metadata(
            metadata, signing_algorithms=current_app.config["PROVIDER_SIGNING_ALGORITHMS"])
    except client_metadata.ClientMetadataError as broken:
        raise ManagementError(broken.message) from None
    client_id = new_client_id()
    secret = None if public else digests.new_credential()
    method, grants = metadata.token_endpoint_auth_method, list(metadata.grant_types)
    client = Client(
        client_id=client_id, name=metadata.client_name, token_endpoint_auth_method=method,
        secret_digest=digests.digest(secret) if secret else None,
        redirect_uris=list(metadata.redirect_uris),
        post_logout_redirect_uris=list(metadata.post_logout_redirect_uris),
        grant_types=grants, allowed_scope=metadata.scope, trusted=trusted,
        id_token_signed_response_alg=metadata.id_token_signed_response_alg,
        backchannel_logout_uri=metadata.backchannel_logout_uri,
        backchannel_logout_session_required=metadata.backchannel_logout_session_required,
    )
    db.session.add(client)
    db.session.commit()
    created = {"client_id": client_id, "name": metadata.client_name,
               "token_endpoint_auth_method": method, "redirect_uris": client.redirect_uris,
               "grant_types": grants, "scope": client.allowed_scope,
               "id_token_signed_response_alg": metadata.id_token_signed_response_alg}
    if secret:
        created["client_secret"] = secret
    return created


def new_client_id() -> str:
    """128 random bits, URL-safe, never starting with '-' (it would read as a CLI option)."""
    while True:
        candidate = secrets.token_urlsafe(16)
        if candidate[0].isalnum():
            return candidate


def _client(client_id: str) -> Client:
    client = db.session.get(Client, client_id)
    if client is None:
        raise ManagementError(f"no client {client_id!r}")
    return client


@writing
def rotate_client_secret(client_id: str) -> str:
    client = _client(client_id)
    if client.is_public:
        raise ManagementError(f"client {client_id!r} is public and has no secret")
    secret = digests.new_credential()
    client.secret_digest = digests.digest(secret)
    client.secret_rotated_at = clock.now()
    db.session.commit()
    return secret


@writing
def disable_client(client_id: str) -> None:
    client = _client(client_id)
    client.disabled = True
    client.tokens_not_before = clock.now()  # also its client_credentials tokens
    revoke_families("client_disabled", client_id=client_id)
    db.session.commit()


def family_lineage(family_id: str) -> dict:
    """A refresh-token family and each token's issue and use times; never a token."""
    family = db.session.get(RefreshTokenFamily, family_id)
    if family is None:
        raise ManagementError(f"no refresh-token family {family_id!r}")
    tokens = db.session.scalars(db.select(RefreshToken).where(
        RefreshToken.family_id == family_id).order_by(RefreshToken.id)).all()
    return {
        "family_id": family.id, "client_id": family.client_id, "user_id": family.user_id,
        "scope": family.scope, "offline": family.offline, "sid": family.sid,
        "created_at": family.created_at, "expires_at": family.expires_at,
        "revoked_at": family.revoked_at, "revoked_reason": family.revoked_reason,
        "tokens": [{"id": t.id, "parent_id": t.parent_id, "issued_at": t.issued_at,
                    "expires_at": t.expires_at, "used_at": t.consumed_at} for t in tokens],
    }


# --- housekeeping and audit ------------------------------------------------------------

RETENTION = 30 * 24 * 3600  # ended sessions, dead families and finished deliveries


@writing
def purge() -> dict[str, int]:
    """Remove what can never be used again; returns how many rows went, per kind."""
    now = clock.now()
    old = now - RETENTION
    counts = {
        "issued_access_tokens": db.session.execute(db.delete(IssuedAccessToken).where(
            IssuedAccessToken.expires_at <= now)).rowcount,
        "refresh_token_families": db.session.execute(db.delete(RefreshTokenFamily).where(
            (RefreshTokenFamily.expires_at <= now) | (RefreshTokenFamily.revoked_at <= old)
        )).rowcount,
        "refresh_tokens": db.session.execute(db.delete(RefreshToken).where(
            RefreshToken.family_id.not_in(db.select(RefreshTokenFamily.id)))).rowcount,
        "spent_interactions": interactions.purge_spent(),
        # after the families: a redeemed code stays while its family may be replayed
        "authorization_codes": codes.purge_expired(),
        "login_sessions": db.session.execute(db.delete(LoginSession).where(
            (LoginSession.expires_at <= old) | (LoginSession.ended_at <= old))).rowcount,
        "logout_deliveries": db.session.execute(db.delete(LogoutDelivery).where(
            LogoutDelivery.status != "pending", LogoutDelivery.created_at <= old)).rowcount,
        "login_throttles": throttle.purge_stale(),
    }
    db.session.commit()
    counts["denied_access_tokens"] = denylist.purge_expired()  # its own backend and commit
    return counts


def audit_events(*, username: str | None = None, client_id: str | None = None,
                 event: str | None = None, limit: int = 100) -> list[dict]:
    """Security events, newest first, filtered by user, client and event name."""
    query = db.select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit)
    if username is not None:
        user = db.session.scalar(db.select(User).where(User.username == username))
        if user is None:
            raise ManagementError(f"no user {username!r}")
        query = query.where(AuditEvent.user_id == user.id)
    if client_id is not None:
        query = query.where(AuditEvent.client_id == client_id)
    if event is not None:
        query = query.where(AuditEvent.event == event)
    return [{"id": e.id, "at": e.at, "event": e.event, "user_id": e.user_id,
             "client_id": e.client_id, "family_id": e.family_id, "ip": e.ip,
             "user_agent": e.user_agent, **({"details": e.details} if e.details else {})}
            for e in db.session.scalars(query)]


# --- logout --------------------------------------------------------------------------


def list_logout_deliveries(status: str | None = None, limit: int = 100) -> list[dict]:
    """The back-channel logout outbox, newest first."""
    query = db.select(LogoutDelivery).order_by(LogoutDelivery.id.desc()).limit(limit)
    if status:
        query = query.where(LogoutDelivery.status == status)
    return [{"id": d.id, "client_id": d.client_id, "sid": d.sid, "status": d.status,
             "attempts": d.attempts, "created_at": d.created_at,
             "last_attempt_at": d.last_attempt_at, "next_attempt_at": d.next_attempt_at,
             "delivered_at": d.delivered_at, "last_error": d.last_error}
            for d in db.session.scalars(query)]


# --- keys ----------------------------------------------------------------------------


def stored_key_count() -> int:
    """Signing keys in the database; 0 before the schema exists."""
    if not db.inspect(db.engine).has_table(SigningKey.__tablename__):
        return 0
    return db.session.scalar(db.select(db.func.count()).select_from(SigningKey)) or 0


@writing
def rotate_keys(force: bool) -> list[str]:
    report = rotate(force=force)
    db.session.commit()
    return report.lines


@writing
def revoke_signing_key(kid: str) -> list[str]:
    try:
        lines = revoke_key(kid)
    except KeyLifecycleError as exc:
        raise ManagementError(str(exc)) from None
    db.session.commit()
    return lines


@writing
def rewrap_signing_keys() -> int:
    count = rewrap_keys()
    db.session.commit()
    return count


def list_keys() -> list[dict]:
    rows = db.session.scalars(db.select(SigningKey).order_by(SigningKey.created_at)).all()
    return [{"kid": k.kid, "alg": k.alg, "state": k.state, "created_at": k.created_at,
             "activated_at": k.activated_at, "retired_at": k.retired_at} for k in rows]


# --- demo ----------------------------------------------------------------------------


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
    create_user("demo", password, email="demo@example.com", name="Demo User",
                roles=["user", "admin"])
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
    fd = os.open(demo_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(demo, handle, indent=2)
    return describe_demo(demo_file)


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
