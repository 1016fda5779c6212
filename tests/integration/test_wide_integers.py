"""Epoch seconds and row ids past 2**31 - 1, the most a 32-bit INTEGER holds (as
PostgreSQL's INTEGER is): a long refresh lifetime reaches it today, every ``now``
reaches it in January 2038, and a busy table's ids reach it some day. Each is stored
and read back exactly, on both databases."""

from __future__ import annotations

import time

import flask_migrate
import jwt
import pytest
from sqlalchemy import inspect, text

from provider import clock
from provider.database import MIGRATIONS
from provider.extensions import db
from provider.models import (
    AuditEvent,
    AuthorizationCode,
    Consent,
    LoginSession,
    RefreshToken,
)
from tests.support.flows import obtain, refresh, userinfo_status
from tests.support.records import family_of

INT32_MAX = 2**31 - 1
YEAR = 365 * 24 * 3600
LONG = 40 * YEAR
AFTER_2038 = 2_208_988_800  # 2040-01-01T00:00:00Z
WIDENING, BEFORE_WIDENING = "b04f26765bb5", "f6c3a8e2b5d0"  # the migration and its parent


@pytest.fixture
def rp(make_client):
    return make_client(name="RP", trusted=True)


def refresh_tokens(app) -> list[RefreshToken]:
    with app.app_context():
        return db.session.scalars(db.select(RefreshToken).order_by(RefreshToken.id)).all()


@pytest.mark.config(PROVIDER_REFRESH_ABSOLUTE_TTL=LONG, PROVIDER_REFRESH_IDLE_TTL=LONG)
def test_a_refresh_lifetime_past_2038_is_stored_exactly(app, client, browser, alice, rp):
    first = obtain(client, browser, rp)
    family = family_of(app, rp)
    assert family.expires_at == family.created_at + LONG
    assert family.expires_at > INT32_MAX
    second = refresh(client, rp, first["refresh_token"])
    assert second.status_code == 200, second.data
    assert userinfo_status(client, second.get_json()["access_token"]) == 200
    tokens = refresh_tokens(app)
    assert len(tokens) == 2
    # the idle expiry is capped by the family's, to the second
    assert [t.expires_at for t in tokens] == [family.expires_at, family.expires_at]
    assert family_of(app, rp).expires_at == family.created_at + LONG  # rotation kept it
    third = refresh(client, rp, second.get_json()["refresh_token"])
    assert third.status_code == 200, third.data


def test_sign_in_and_code_exchange_after_2038(app, client, browser, alice, rp):
    offset = AFTER_2038 - int(time.time())
    with clock.advance(app, offset):
        first = obtain(client, browser, rp)
        assert userinfo_status(client, first["access_token"]) == 200
        second = refresh(client, rp, first["refresh_token"])
        assert second.status_code == 200, second.data
        assert userinfo_status(client, second.get_json()["access_token"]) == 200
    with app.app_context():
        session = db.session.scalar(db.select(LoginSession))
        code = db.session.scalar(db.select(AuthorizationCode))
        signed_in_at = db.session.scalar(db.select(AuditEvent.at).where(
            AuditEvent.event == "login_succeeded"))
        issued_at = db.session.scalars(db.select(AuditEvent.at).where(
            AuditEvent.event == "tokens_issued").order_by(AuditEvent.id)).all()
    family = family_of(app, rp)
    assert AFTER_2038 <= session.auth_time <= signed_in_at <= family.created_at
    assert len(issued_at) == 2 and family.created_at <= issued_at[0] <= issued_at[1]
    assert session.expires_at == session.auth_time + 8 * 3600  # PROVIDER_SESSION_TTL
    assert code.auth_time == session.auth_time
    assert code.expires_at == code.issued_at + 60  # PROVIDER_CODE_TTL
    assert code.consumed_at >= code.issued_at > INT32_MAX
    access_exp = jwt.decode(first["access_token"], options={"verify_signature": False})["exp"]
    assert code.issued_access_expires_at == access_exp
    assert 0 <= access_exp - 900 - code.consumed_at <= 1  # access-token TTL, same second or next
    assert family.auth_time == session.auth_time
    assert family.expires_at == family.created_at + 30 * 24 * 3600
    assert [t.consumed_at is not None for t in refresh_tokens(app)] == [True, False]


def move_newest_row_past_int32(app, database: str, model) -> int:
    """Renumber ``model``'s newest row to 2**31 and make the next id 2**31 + 1 (on
    SQLite, max(rowid) + 1; on PostgreSQL, the ``id`` column's sequence)."""
    big = INT32_MAX + 1
    with app.app_context():
        newest = db.select(db.func.max(model.id)).scalar_subquery()
        assert db.session.execute(db.update(model).where(model.id == newest)
                                  .values(id=big)).rowcount == 1
        if database == "postgresql":
            db.session.execute(text("SELECT setval(pg_get_serial_sequence(:table, 'id'), :big)"),
                               {"table": model.__tablename__, "big": big})
        db.session.commit()
    return big


def test_row_ids_count_past_2_31(app, database, client, browser, alice, rp, make_client):
    obtain(client, browser, make_client(name="Other"))  # not trusted: a consents row
    first = obtain(client, browser, rp)  # the newest refresh token
    big = {model: move_newest_row_past_int32(app, database, model)
           for model in (RefreshToken, AuthorizationCode, AuditEvent, Consent)}
    response = refresh(client, rp, first["refresh_token"])
    assert response.status_code == 200, response.data
    successor = refresh_tokens(app)[-1]
    assert (successor.id, successor.parent_id) == (big[RefreshToken] + 1,
                                                   big[RefreshToken])

    third = make_client(name="Third")
    obtain(client, browser, third)
    with app.app_context():
        code = db.session.scalar(db.select(db.func.max(AuthorizationCode.id)))
        consent = db.session.scalar(db.select(Consent.id).where(
            Consent.client_id == third["client_id"]))
        newest_event = db.session.scalar(db.select(db.func.max(AuditEvent.id)))
    assert code == big[AuthorizationCode] + 1
    assert family_of(app, third).authorization_code_id == code
    assert consent == big[Consent] + 1
    assert newest_event > big[AuditEvent]


def column_and_sequence_types(database: str) -> tuple[str, str, str | None]:
    """The types of ``refresh_tokens.expires_at`` and ``.id`` and of the id's sequence."""
    columns = {c["name"]: c["type"] for c in inspect(db.engine).get_columns("refresh_tokens")}
    sequence = None
    if database == "postgresql":
        sequence = db.session.scalar(text(
            "SELECT data_type FROM information_schema.sequences "
            "WHERE sequence_name = 'refresh_tokens_id_seq'"))
    db.session.rollback()
    return str(columns["expires_at"]), str(columns["id"]), sequence


def test_the_widening_migration_goes_down_and_up_again(app, database):
    wide = {"sqlite": ("INTEGER", "INTEGER", None),
            "postgresql": ("BIGINT", "BIGINT", "bigint")}[database]
    narrow = {"sqlite": wide, "postgresql": ("INTEGER", "INTEGER", "integer")}[database]
    with app.app_context():
        assert column_and_sequence_types(database) == wide
        flask_migrate.downgrade(directory=str(MIGRATIONS), revision=BEFORE_WIDENING)
        assert column_and_sequence_types(database) == narrow
        flask_migrate.upgrade(directory=str(MIGRATIONS), revision=WIDENING)
        assert column_and_sequence_types(database) == wide
        flask_migrate.upgrade(directory=str(MIGRATIONS))
        db.engine.dispose()
