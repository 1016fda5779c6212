"""Helpers for the revocation, introspection and deny-list tests: calling the two
endpoints as a given client, and a snapshot of everything stored, to show that
a refused or no-op request changed nothing."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient

from provider.extensions import db
from provider.models import RefreshToken, RefreshTokenFamily
from tests.conftest import basic_auth


def client_auth(caller: dict) -> tuple[dict, dict]:
    """Headers and form fields that authenticate ``caller`` as it registered."""
    if caller.get("client_secret"):
        return basic_auth(caller["client_id"], caller["client_secret"]), {}
    return {}, {"client_id": caller["client_id"]}


def revoke(http: FlaskClient, caller: dict, token: str, hint: str | None = None):
    headers, form = client_auth(caller)
    form["token"] = token
    if hint is not None:
        form["token_type_hint"] = hint
    return http.post("/revoke", headers=headers, data=form)


def introspect(http: FlaskClient, caller: dict, token: str, hint: str | None = None,
               accept: str | None = None):
    headers, form = client_auth(caller)
    form["token"] = token
    if hint is not None:
        form["token_type_hint"] = hint
    if accept is not None:
        headers["Accept"] = accept
    return http.post("/introspect", headers=headers, data=form)


def active(http: FlaskClient, caller: dict, token: str) -> bool:
    response = introspect(http, caller, token)
    assert response.status_code == 200, response.data
    return response.get_json()["active"]


def snapshot(app: Flask) -> dict:
    """Row counts of every table, plus the revoked families and used refresh tokens
    (updates that counts alone would miss)."""
    with app.app_context():
        counts = {table.name: db.session.execute(
            db.select(db.func.count()).select_from(table)).scalar_one()
            for table in db.metadata.sorted_tables}
        counts["revoked families"] = db.session.scalar(db.select(db.func.count()).where(
            RefreshTokenFamily.revoked_at.is_not(None)))
        counts["used refresh tokens"] = db.session.scalar(db.select(db.func.count()).where(
            RefreshToken.consumed_at.is_not(None)))
    return counts
