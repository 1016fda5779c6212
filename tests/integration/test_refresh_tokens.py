"""Refresh tokens: rotation, the grace window, reuse that revokes the family,
expiry with a controllable clock, and what ends a family."""

from __future__ import annotations

import re

import pytest

from provider import clock, management
from provider.extensions import db
from provider.models import AuditEvent, RefreshToken
from tests.support.flows import obtain, post_token, refresh, userinfo_status
from tests.support.records import family_of

DAY = 24 * 3600


@pytest.fixture
def rp(make_client):
    return make_client(name="RP", trusted=True)


def test_rotation_returns_a_successor_in_the_same_family(app, client, browser, alice, rp):
    first = obtain(client, browser, rp)
    second = refresh(client, rp, first["refresh_token"])
    assert second.status_code == 200, second.data
    assert second.headers["Cache-Control"] == "no-store"
    body = second.get_json()
    assert body["refresh_token"] != first["refresh_token"]
    assert body["scope"] == "openid profile email offline_access"
    assert userinfo_status(client, body["access_token"]) == 200
    third = refresh(client, rp, body["refresh_token"])
    assert third.status_code == 200
    with app.app_context():
        tokens = db.session.scalars(db.select(RefreshToken).order_by(RefreshToken.id)).all()
        assert [t.parent_id for t in tokens] == [None, tokens[0].id, tokens[1].id]
        assert len({t.family_id for t in tokens}) == 1
        stored = {t.token_digest for t in tokens}
        assert all(re.fullmatch(r"[0-9a-f]{64}", digest) for digest in stored)
        assert not stored & {first["refresh_token"], body["refresh_token"]}


def test_scope_may_narrow_but_never_widen(client, browser, alice, rp):
    first = obtain(client, browser, rp, scope="openid profile")
    narrowed = refresh(client, rp, first["refresh_token"], scope="openid")
    assert narrowed.status_code == 200
    assert narrowed.get_json()["scope"] == "openid"
    successor = narrowed.get_json()["refresh_token"]
    widened = refresh(client, rp, successor, scope="openid profile email")
    assert widened.status_code == 400 and widened.get_json()["error"] == "invalid_scope"
    full = refresh(client, rp, successor)  # the refused request did not burn it
    assert full.status_code == 200
    assert full.get_json()["scope"] == "openid profile"


def test_another_clients_token_is_refused_and_revokes_nothing(client, browser, alice, rp,
                                                              make_client):
    other = make_client(name="Other")
    first = obtain(client, browser, rp)
    stolen = refresh(client, other, first["refresh_token"])
    assert stolen.status_code == 400 and stolen.get_json()["error"] == "invalid_grant"
    assert refresh(client, rp, first["refresh_token"]).status_code == 200


def test_repeat_inside_the_grace_window_returns_the_same_successor(app, client, browser,
                                                                   alice, rp):
    first = obtain(client, browser, rp)
    a = refresh(client, rp, first["refresh_token"]).get_json()
    with clock.advance(app, 5):
        b = refresh(client, rp, first["refresh_token"])
    assert b.status_code == 200
    assert b.get_json()["refresh_token"] == a["refresh_token"]
    assert b.get_json()["access_token"] != a["access_token"]
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(RefreshToken.id))) == 2
        event = db.session.scalar(db.select(AuditEvent).where(
            AuditEvent.event == "refresh_token_reuse"))
        assert event.details["outcome"] == "grace"
        assert 5 <= event.details["seconds_since_rotation"] <= 7  # real seconds may tick too
    assert refresh(client, rp, a["refresh_token"]).status_code == 200


def test_reuse_after_the_window_revokes_the_family(app, client, browser, alice, rp):
    first = obtain(client, browser, rp)
    second = refresh(client, rp, first["refresh_token"]).get_json()
    with clock.advance(app, 11):
        replay = refresh(client, rp, first["refresh_token"])
        assert replay.status_code == 400 and replay.get_json()["error"] == "invalid_grant"
        newest = refresh(client, rp, second["refresh_token"])
        assert newest.status_code == 400 and newest.get_json()["error"] == "invalid_grant"
        assert userinfo_status(client, second["access_token"]) == 401
        assert userinfo_status(client, first["access_token"]) == 401
    family = family_of(app, rp)
    assert family.revoked_reason == "refresh_token_reuse"
    with app.app_context():
        event = db.session.scalar(db.select(AuditEvent).where(
            AuditEvent.details["outcome"].as_string() == "family_revoked"))
        assert event.family_id == family.id and event.client_id == rp["client_id"]
        assert 11 <= event.details["seconds_since_rotation"] <= 13


def test_reuse_after_the_successor_was_used_revokes_even_inside_the_window(
        app, client, browser, alice, rp):
    first = obtain(client, browser, rp)
    second = refresh(client, rp, first["refresh_token"]).get_json()
    third = refresh(client, rp, second["refresh_token"]).get_json()
    assert refresh(client, rp, first["refresh_token"]).status_code == 400
    assert refresh(client, rp, third["refresh_token"]).status_code == 400
    assert family_of(app, rp).revoked_at is not None


@pytest.mark.config(PROVIDER_REFRESH_GRACE_SECONDS=0)
def test_grace_zero_makes_any_repeat_revoke_the_family(app, client, browser, alice, rp):
    first = obtain(client, browser, rp)
    second = refresh(client, rp, first["refresh_token"]).get_json()
    assert refresh(client, rp, first["refresh_token"]).status_code == 400
    assert refresh(client, rp, second["refresh_token"]).status_code == 400


def test_idle_expiry(app, client, browser, alice, rp):
    first = obtain(client, browser, rp)
    with clock.advance(app, 14 * DAY + 1):
        expired = refresh(client, rp, first["refresh_token"])
    assert expired.status_code == 400 and expired.get_json()["error"] == "invalid_grant"
    assert family_of(app, rp).revoked_at is None  # expiry is not theft


@pytest.mark.config(PROVIDER_REFRESH_IDLE_TTL=100, PROVIDER_REFRESH_ABSOLUTE_TTL=250)
def test_rotation_never_extends_the_family(app, client, browser, alice, rp):
    token = obtain(client, browser, rp)["refresh_token"]
    for elapsed in (90, 180):
        with clock.advance(app, elapsed):
            response = refresh(client, rp, token)
            assert response.status_code == 200
            token = response.get_json()["refresh_token"]
    with app.app_context():
        newest = db.session.scalar(db.select(RefreshToken).order_by(RefreshToken.id.desc()))
        assert newest.expires_at == family_of(app, rp).expires_at  # capped, not now + 100
    with clock.advance(app, 251):
        assert refresh(client, rp, token).status_code == 400


def logout(client) -> None:
    page = client.get("/").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    assert client.post("/logout", data={"csrf_token": csrf}).status_code == 303


def test_without_offline_access_the_family_ends_with_the_session(app, client, browser, alice,
                                                                 rp):
    first = obtain(client, browser, rp, scope="openid profile")
    assert refresh(client, rp, first["refresh_token"]).status_code == 200
    logout(client)
    assert family_of(app, rp).revoked_reason == "logout"  # ended with the session, at once
    second = refresh(client, rp, first["refresh_token"])
    assert second.status_code == 400


def test_a_session_that_expires_ends_its_families(app, client, browser, alice, rp):
    first = obtain(client, browser, rp, scope="openid profile")
    with clock.advance(app, 8 * 3600 + 1):  # PROVIDER_SESSION_TTL
        assert refresh(client, rp, first["refresh_token"]).status_code == 400
    assert family_of(app, rp).revoked_reason == "session_ended"


def test_offline_access_outlives_the_session(app, client, browser, alice, rp):
    first = obtain(client, browser, rp)
    logout(client)
    assert refresh(client, rp, first["refresh_token"]).status_code == 200
    assert family_of(app, rp).offline is True


def test_disabled_user_ends_the_family(app, client, browser, alice, rp):
    first = obtain(client, browser, rp)
    with app.app_context():
        management.set_user_disabled("alice", True)
    assert refresh(client, rp, first["refresh_token"]).status_code == 400
    assert family_of(app, rp).revoked_reason == "user_disabled"
    with app.app_context():
        management.set_user_disabled("alice", False)
    assert refresh(client, rp, first["refresh_token"]).status_code == 400


def test_disabled_client_ends_the_family(app, client, browser, alice, rp):
    first = obtain(client, browser, rp)
    with app.app_context():
        management.disable_client(rp["client_id"])
    assert refresh(client, rp, first["refresh_token"]).status_code == 401
    assert family_of(app, rp).revoked_reason == "client_disabled"


def test_replayed_code_revokes_the_family_it_started(app, client, browser, alice, rp):
    first = obtain(client, browser, rp)
    replay = post_token(client, rp, {"grant_type": "authorization_code", "code": first["code"],
                                     "code_verifier": first["verifier"],
                                     "redirect_uri": rp["redirect_uris"][0]})
    assert replay.status_code == 400
    assert refresh(client, rp, first["refresh_token"]).status_code == 400
    assert family_of(app, rp).revoked_reason == "code_replay"


def test_public_client_refreshes_with_rotation(client, browser, alice, make_client):
    native = make_client(name="Native", public=True, trusted=True,
                         redirect_uris=("http://127.0.0.1:8765/callback",))
    first = obtain(client, browser, native)
    second = refresh(client, native, first["refresh_token"])
    assert second.status_code == 200
    assert second.get_json()["refresh_token"] != first["refresh_token"]


def test_no_refresh_token_without_the_grant(client, browser, alice, make_client):
    code_only = make_client(name="Code only", trusted=True, grant_types=("authorization_code",))
    body = obtain(client, browser, code_only)
    assert "refresh_token" not in body
    refused = refresh(client, code_only, "anything")
    assert refused.status_code == 400 and refused.get_json()["error"] == "unauthorized_client"


@pytest.mark.parametrize(("token", "error"), [("", "invalid_request"),
                                               ("x" * 600, "invalid_grant"),
                                               ("not-a-token", "invalid_grant")])
def test_bad_refresh_tokens(client, browser, alice, rp, token, error):
    obtain(client, browser, rp)
    response = refresh(client, rp, token)
    assert response.status_code == 400
    assert response.get_json()["error"] == error
