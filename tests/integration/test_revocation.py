"""Revocation (RFC 7009) at /revoke: access tokens go on the deny-list until their
``exp``, refresh tokens end their family; client authentication as at /token;
unknown, foreign and already revoked tokens answer 200 and change nothing."""

from __future__ import annotations

import jwt
import pytest

from provider import clock, management
from provider.extensions import db
from provider.models import AuditEvent, DeniedAccessToken, RefreshTokenFamily
from tests.support.bad_tokens import GARBAGE, forged_jwt
from tests.support.flows import active, obtain, refresh, revoke, userinfo_status
from tests.support.protocol import basic_auth, pkce_pair, query_of
from tests.support.records import family_of
from tests.support.settings import ISSUER
from tests.support.snapshots import snapshot

NATIVE_CALLBACK = "http://127.0.0.1:8765/callback"


@pytest.fixture
def rp(make_client):
    return make_client(name="RP", trusted=True)


@pytest.fixture
def other(make_client):
    return make_client(name="Other", trusted=True)


@pytest.fixture
def native(make_client):
    return make_client(name="Native", public=True, trusted=True,
                       redirect_uris=(NATIVE_CALLBACK,))


@pytest.fixture
def service(make_client):
    return make_client(name="Service", grant_types=("client_credentials",), scope="api:read")


def assert_empty_200(response) -> None:
    assert response.status_code == 200, response.data
    assert response.data == b""
    assert response.headers["Cache-Control"] == "no-store"
    assert "Content-Type" not in response.headers


def audit_events(app, event: str) -> list[AuditEvent]:
    with app.app_context():
        return db.session.scalars(db.select(AuditEvent).where(AuditEvent.event == event)).all()


# --- access tokens -------------------------------------------------------------------


def test_revoking_an_access_token_makes_userinfo_refuse_it_at_once(app, client, browser,
                                                                   alice, rp):
    tokens = obtain(client, browser, rp)
    assert userinfo_status(client, tokens["access_token"]) == 200
    assert_empty_200(revoke(client, rp, tokens["access_token"], "access_token"))
    refused = client.get("/userinfo",
                         headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert refused.status_code == 401
    assert refused.get_json()["error"] == "invalid_token"
    assert 'error="invalid_token"' in refused.headers["WWW-Authenticate"]
    assert not active(client, rp, tokens["access_token"])
    with app.app_context():
        row = db.session.scalar(db.select(DeniedAccessToken))
        assert row.reason == "revoked"
        # the entry lives exactly as long as the token
        assert row.expires_at == jwt.decode(tokens["access_token"],
                                            options={"verify_signature": False})["exp"]
    (event,) = audit_events(app, "token_revoked")
    assert event.client_id == rp["client_id"] and event.user_id == alice.id
    assert event.details == {"token_type": "access_token", "jti": row.jti}
    # only that access token: the grant lives on
    successor = refresh(client, rp, tokens["refresh_token"])
    assert successor.status_code == 200
    assert userinfo_status(client, successor.get_json()["access_token"]) == 200


def test_a_client_credentials_token_can_be_revoked_by_its_client(client, service):
    issued = client.post("/token", headers=basic_auth(service["client_id"],
                                                      service["client_secret"]),
                         data={"grant_type": "client_credentials"}).get_json()
    assert active(client, service, issued["access_token"])
    assert_empty_200(revoke(client, service, issued["access_token"]))
    assert not active(client, service, issued["access_token"])


def test_an_expired_access_token_needs_nothing(app, client, browser, alice, rp):
    tokens = obtain(client, browser, rp)
    with clock.advance(app, 901):
        before = snapshot(app)
        assert_empty_200(revoke(client, rp, tokens["access_token"]))
        assert snapshot(app) == before


def test_revoking_twice_changes_nothing_the_second_time(app, client, browser, alice, rp):
    tokens = obtain(client, browser, rp)
    assert_empty_200(revoke(client, rp, tokens["access_token"]))
    assert_empty_200(revoke(client, rp, tokens["refresh_token"]))
    before = snapshot(app)
    assert_empty_200(revoke(client, rp, tokens["access_token"]))
    assert_empty_200(revoke(client, rp, tokens["refresh_token"]))
    assert snapshot(app) == before
    assert len(audit_events(app, "token_revoked")) == 2


# --- refresh tokens ------------------------------------------------------------------


@pytest.mark.parametrize("which", ["current", "already rotated"])
def test_revoking_a_refresh_token_revokes_its_whole_family(app, client, browser, alice, rp,
                                                           which):
    first = obtain(client, browser, rp)
    second = refresh(client, rp, first["refresh_token"]).get_json()
    presented = second["refresh_token"] if which == "current" else first["refresh_token"]
    assert_empty_200(revoke(client, rp, presented, "refresh_token"))
    # every refresh token of the family is dead, the newest included
    denied = refresh(client, rp, second["refresh_token"])
    assert denied.status_code == 400 and denied.get_json()["error"] == "invalid_grant"
    # and the access tokens it issued stop working at once
    assert userinfo_status(client, first["access_token"]) == 401
    assert userinfo_status(client, second["access_token"]) == 401
    assert not active(client, rp, second["refresh_token"])
    family = family_of(app, rp)
    assert family.revoked_reason == "revoked"
    (event,) = audit_events(app, "token_revoked")
    assert event.family_id == family.id and event.client_id == rp["client_id"]
    assert event.details == {"token_type": "refresh_token"}


def test_revoking_one_family_leaves_the_users_other_families_alone(app, client, browser,
                                                                   alice, rp):
    one = obtain(client, browser, rp)
    two = obtain(client, browser, rp)
    assert_empty_200(revoke(client, rp, one["refresh_token"]))
    assert refresh(client, rp, two["refresh_token"]).status_code == 200
    assert userinfo_status(client, two["access_token"]) == 200


def test_a_public_client_revokes_with_its_client_id_alone(app, client, browser, alice, native):
    verifier, challenge = pkce_pair()
    response = browser.authorize({
        "response_type": "code", "client_id": native["client_id"], "scope": "openid",
        "redirect_uri": NATIVE_CALLBACK, "state": "s", "code_challenge": challenge,
        "code_challenge_method": "S256"})
    code = query_of(response.headers["Location"])["code"]
    tokens = client.post("/token", data={
        "grant_type": "authorization_code", "code": code, "code_verifier": verifier,
        "redirect_uri": NATIVE_CALLBACK, "client_id": native["client_id"]}).get_json()
    assert_empty_200(revoke(client, native, tokens["refresh_token"]))
    assert family_of(app, native).revoked_reason == "revoked"
    assert userinfo_status(client, tokens["access_token"]) == 401


# --- the hint is a hint --------------------------------------------------------------


@pytest.mark.parametrize("hint", ["access_token", "refresh_token", "id_token", "bogus", ""])
def test_the_hint_never_decides_whether_a_token_is_found(app, client, browser, alice, rp,
                                                         hint):
    tokens = obtain(client, browser, rp)
    assert_empty_200(revoke(client, rp, tokens["access_token"], hint))
    assert userinfo_status(client, tokens["access_token"]) == 401
    assert_empty_200(revoke(client, rp, tokens["refresh_token"], hint))
    assert family_of(app, rp).revoked_reason == "revoked"


# --- what must change nothing --------------------------------------------------------


def test_another_clients_tokens_are_not_revoked_and_the_answer_reveals_nothing(
        app, client, browser, alice, rp, other):
    tokens = obtain(client, browser, rp)
    before = snapshot(app)
    for token in (tokens["access_token"], tokens["refresh_token"]):
        assert_empty_200(revoke(client, other, token))
    after = snapshot(app)
    assert after.pop("audit_events") == before.pop("audit_events") + 2
    assert after == before
    assert userinfo_status(client, tokens["access_token"]) == 200
    assert refresh(client, rp, tokens["refresh_token"]).status_code == 200
    refused = audit_events(app, "token_revocation_refused")
    assert [e.details for e in refused] == [
        {"token_type": "access_token", "token_client_id": rp["client_id"]},
        {"token_type": "refresh_token", "token_client_id": rp["client_id"]},
    ]
    assert {e.client_id for e in refused} == {other["client_id"]}


@pytest.mark.parametrize("token", [*GARBAGE, "forged"])
def test_unknown_and_malformed_tokens_answer_200_and_change_nothing(app, client, browser,
                                                                     alice, rp, token):
    tokens = obtain(client, browser, rp)
    before = snapshot(app)
    assert_empty_200(revoke(client, rp, forged_jwt() if token == "forged" else token))
    assert snapshot(app) == before
    assert userinfo_status(client, tokens["access_token"]) == 200


def test_an_id_token_is_not_an_access_token(app, client, browser, alice, rp):
    tokens = obtain(client, browser, rp)
    before = snapshot(app)
    assert_empty_200(revoke(client, rp, tokens["id_token"]))
    assert snapshot(app) == before


def test_a_tampered_access_token_revokes_nothing(app, client, browser, alice, rp):
    tokens = obtain(client, browser, rp)
    header, payload, signature = tokens["access_token"].split(".")
    tampered = f"{header}.{payload}.{signature[:-4]}AAAA"
    before = snapshot(app)
    assert_empty_200(revoke(client, rp, tampered))
    assert snapshot(app) == before
    assert userinfo_status(client, tokens["access_token"]) == 200


def bad_auth_requests(rp: dict, native: dict, token: str) -> list[tuple[dict, dict, int, str]]:
    """(headers, form, status, error) of requests whose client authentication fails."""
    good = basic_auth(rp["client_id"], rp["client_secret"])
    return [
        ({}, {"token": token}, 401, "invalid_client"),
        (basic_auth(rp["client_id"], "wrong"), {"token": token}, 401, "invalid_client"),
        ({}, {"token": token, "client_id": rp["client_id"]}, 401, "invalid_client"),
        ({}, {"token": token, "client_id": "nobody"}, 401, "invalid_client"),
        ({}, {"token": token, "client_id": native["client_id"], "client_secret": "x"}, 401,
         "invalid_client"),
        ({"Authorization": "Basic !!!"}, {"token": token}, 401, "invalid_client"),
        ({"Authorization": "Bearer " + token}, {"token": token}, 401, "invalid_client"),
        (good, {"token": token, "client_secret": rp["client_secret"]}, 400, "invalid_request"),
    ]


def test_client_authentication_failures_revoke_nothing(app, client, browser, alice, rp,
                                                       native):
    tokens = obtain(client, browser, rp)
    before = snapshot(app)
    for token in (tokens["access_token"], tokens["refresh_token"]):
        for headers, form, status, error in bad_auth_requests(rp, native, token):
            response = client.post("/revoke", headers=headers, data=form)
            assert response.status_code == status, (headers, form, response.data)
            assert response.get_json()["error"] == error
            assert response.headers["Cache-Control"] == "no-store"
            if status == 401:
                assert response.headers["WWW-Authenticate"].startswith("Basic ")
    assert snapshot(app) == before
    assert userinfo_status(client, tokens["access_token"]) == 200


def test_a_disabled_client_cannot_revoke(app, client, browser, alice, rp):
    tokens = obtain(client, browser, rp)
    with app.app_context():
        management.disable_client(rp["client_id"])
    before = snapshot(app)
    assert revoke(client, rp, tokens["access_token"]).status_code == 401
    assert snapshot(app) == before


def test_malformed_requests_are_refused_and_change_nothing(app, client, browser, alice, rp):
    tokens = obtain(client, browser, rp)
    auth = basic_auth(rp["client_id"], rp["client_secret"])
    token = tokens["refresh_token"]
    before = snapshot(app)
    cases = [
        ({}, 400, "invalid_request"),
        ({"token": ""}, 400, "invalid_request"),
        ({"token": [token, token]}, 400, "invalid_request"),
        ({"token": token, "token_type_hint": ["a", "b"]}, 400, "invalid_request"),
        ({"token": token, 'we"ird\\': ["1", "2"]}, 400, "invalid_request"),
    ]
    for form, status, error in cases:
        response = client.post("/revoke", headers=auth, data=form)
        assert response.status_code == status, (form, response.data)
        assert response.get_json()["error"] == error
    in_query = client.post(f"/revoke?token={token}", headers=auth)
    assert in_query.status_code == 400 and in_query.get_json()["error"] == "invalid_request"
    as_json = client.post("/revoke", headers=auth, json={"token": token})
    assert as_json.status_code == 400
    wrong_method = client.get("/revoke", headers=auth)
    assert wrong_method.status_code == 405 and wrong_method.get_json()["error"]
    too_big = client.post("/revoke", headers=auth, data={"token": "x" * (70 * 1024)})
    assert too_big.status_code == 413 and too_big.get_json()["error"] == "invalid_request"
    assert snapshot(app) == before
    assert refresh(client, rp, token).status_code == 200


def test_revocation_is_in_both_discovery_documents(client):
    for path in ("/.well-known/openid-configuration", "/.well-known/oauth-authorization-server"):
        document = client.get(path).get_json()
        assert document["revocation_endpoint"] == ISSUER + "/revoke"
        assert document["revocation_endpoint_auth_methods_supported"] == [
            "client_secret_basic", "client_secret_post", "none"]


def test_a_family_revoked_by_revocation_stays_revoked(app, client, browser, alice, rp):
    tokens = obtain(client, browser, rp)
    assert_empty_200(revoke(client, rp, tokens["refresh_token"]))
    with app.app_context():
        families = db.session.scalars(db.select(RefreshTokenFamily)).all()
        assert [f.revoked_reason for f in families] == ["revoked"]
    with clock.advance(app, 30):  # past the grace window too
        assert refresh(client, rp, tokens["refresh_token"]).status_code == 400
