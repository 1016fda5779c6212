"""The user's sessions and consents page (/account/sessions): what it lists and
what it hides, and what each of its three actions ends, with CSRF and with
another user's identifiers (404, nothing changed)."""

from __future__ import annotations

import re

import pytest

from provider import clock
from provider.extensions import db
from provider.models import (
    AuditEvent,
    Client,
    Consent,
    LoginSession,
    LogoutDelivery,
    RefreshTokenFamily,
)
from tests.support.forms import CSRF, Browser
from tests.support.protocol import basic_auth, pkce_pair, query_of

PAGE = "/account/sessions"
SCOPE = "openid profile offline_access"


@pytest.fixture
def bob(make_user):
    return make_user("bob")


@pytest.fixture
def rp(make_client):
    return make_client(name="Photo Album")


def browser_for(app, ip: str, user_agent: str) -> Browser:
    """Another browser: its own cookie jar, address and user agent."""
    http = app.test_client()
    http.environ_base.update({"REMOTE_ADDR": ip, "HTTP_USER_AGENT": user_agent})
    return Browser(http)


def sign_in(browser: Browser, rp: dict, scope: str = SCOPE, username: str = "alice") -> dict:
    """Authorize ``rp`` in this browser (login and consent as needed) and exchange the code."""
    verifier, challenge = pkce_pair()
    response = browser.authorize({
        "response_type": "code", "client_id": rp["client_id"], "scope": scope,
        "redirect_uri": rp["redirect_uris"][0], "code_challenge": challenge,
        "code_challenge_method": "S256"}, username=username)
    code = query_of(response.headers["Location"])["code"]
    token = browser.http.post("/token", headers=basic_auth(rp["client_id"], rp["client_secret"]),
                              data={"grant_type": "authorization_code", "code": code,
                                    "redirect_uri": rp["redirect_uris"][0],
                                    "code_verifier": verifier})
    assert token.status_code == 200, token.data
    return token.get_json()


def refresh(http, rp: dict, tokens: dict):
    return http.post("/token", headers=basic_auth(rp["client_id"], rp["client_secret"]),
                     data={"grant_type": "refresh_token",
                           "refresh_token": tokens["refresh_token"]})


def page(http) -> str:
    response = http.get(PAGE)
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def post(http, action: str, csrf: bool = True, **fields):
    if csrf:
        fields["csrf_token"] = CSRF.search(page(http)).group(1)
    return http.post(action, data=fields)


def sid_of(app, username_browser_ua: str) -> str:
    with app.app_context():
        return db.session.scalar(db.select(LoginSession.sid).where(
            LoginSession.user_agent == username_browser_ua))


def family_states(app) -> dict[tuple[str, bool], str | None]:
    """(client name, offline) → revoked_reason, for every family."""
    with app.app_context():
        rows = db.session.execute(db.select(Client.name, RefreshTokenFamily.offline,
                                            RefreshTokenFamily.revoked_reason)
                                  .join(Client)).all()
    return {(name, offline): reason for name, offline, reason in rows}


def state(app) -> tuple:
    """Everything an action could change, to show that a refused one changed nothing."""
    with app.app_context():
        sessions = sorted(db.session.execute(db.select(LoginSession.sid,
                                                       LoginSession.ended_at)).all())
        families = sorted(db.session.execute(db.select(RefreshTokenFamily.id,
                                                       RefreshTokenFamily.revoked_at)).all())
        consents = sorted(db.session.execute(db.select(Consent.user_id, Consent.client_id,
                                                       Consent.scope)).all())
        audits = db.session.scalar(db.select(db.func.count()).select_from(AuditEvent))
    return sessions, families, consents, audits


def audit_events(app, event: str) -> list[AuditEvent]:
    with app.app_context():
        return list(db.session.scalars(db.select(AuditEvent).where(AuditEvent.event == event)))


# --- access --------------------------------------------------------------------------


def test_signed_out_visitors_are_sent_to_login(app, client, alice, rp):
    assert client.get(PAGE).status_code == 303
    assert client.get(PAGE).headers["Location"] == "/login"
    for action in ("/account/sessions/end", "/account/applications/revoke",
                   "/account/consents/withdraw"):
        response = client.post(action, data={"sid": "x", "client_id": rp["client_id"]})
        assert (response.status_code, response.headers["Location"]) == (303, "/login")


def test_the_home_page_links_to_the_sessions_page(app, alice, rp):
    laptop = browser_for(app, "198.51.100.1", "Laptop/1.0")
    assert PAGE not in laptop.http.get("/").get_data(as_text=True)
    sign_in(laptop, rp)
    assert f'href="{PAGE}"' in laptop.http.get("/").get_data(as_text=True)


# --- listing -------------------------------------------------------------------------


def test_the_page_lists_the_users_sessions_applications_and_consents_only(
        app, alice, bob, rp, make_client):
    notes = make_client(name="Notes")
    laptop = browser_for(app, "198.51.100.1", "Laptop/1.0")
    phone = browser_for(app, "203.0.113.9", "Phone/2.0")
    sign_in(laptop, rp)                          # offline: an application, a consent
    sign_in(phone, notes, scope="openid email")  # bound to the phone's session
    bobs = browser_for(app, "192.0.2.77", "BobsBrowser/9")
    sign_in(bobs, make_client(name="Bob's Diary"), username="bob")
    with app.app_context():  # an ended and an expired session of alice's are not listed
        now = clock.now()
        db.session.add_all([
            LoginSession(user_id=alice.id, auth_time=now - 99, expires_at=now + 99,
                         ended_at=now - 1, user_agent="EndedBrowser/1"),
            LoginSession(user_id=alice.id, auth_time=now - 99, expires_at=now - 1,
                         user_agent="ExpiredBrowser/1")])
        db.session.commit()

    html = page(laptop.http)
    sessions = html.split('id="sessions"')[1].split("</table>")[0]
    assert sessions.count("<tr") == 3  # the header and alice's two live sessions
    assert "Laptop/1.0" in sessions and "198.51.100.1" in sessions
    assert "Phone/2.0" in sessions and "203.0.113.9" in sessions
    assert sessions.count("This browser") == 1
    current = sessions.split('class="current"')[1].split("</tr>")[0]
    assert "Laptop/1.0" in current
    assert f'value="{sid_of(app, "Phone/2.0")}"' in sessions
    applications = html.split('id="applications-heading"')[1].split('id="consents-heading"')[0]
    assert "Photo Album" in applications and "Notes" in applications
    assert "Offline access" in applications and "Ends with its session" in applications
    assert "<code>offline_access</code>" in applications
    consents = html.split('id="consents"')[1]
    assert "Photo Album" in consents and "Notes" in consents
    assert "Stay connected to your account when you are not using the app" in consents
    assert "See your email address" in consents
    for absent in ("EndedBrowser", "ExpiredBrowser", "BobsBrowser", "192.0.2.77",
                   "Bob&#39;s Diary", "Bob's Diary", sid_of(app, "BobsBrowser/9")):
        assert absent not in html
    assert len(re.findall(r">End session<", html)) == 2
    assert html.count(">Revoke access<") == 2 and html.count(">Withdraw consent<") == 2


def test_applications_whose_tokens_cannot_be_used_are_not_listed(app, alice, rp, make_client):
    laptop = browser_for(app, "198.51.100.1", "Laptop/1.0")
    sign_in(laptop, rp)
    with app.app_context():
        family = db.session.scalar(db.select(RefreshTokenFamily))
        family.revoked_at, family.revoked_reason = clock.now(), "test"
        db.session.commit()
    html = page(laptop.http)
    assert "No application holds a refresh token for your account." in html
    assert "Photo Album" in html  # still a remembered consent


def test_the_family_records_where_it_was_granted(app, alice, rp):
    laptop = browser_for(app, "198.51.100.1", "Laptop/1.0")
    sign_in(laptop, rp)
    with app.app_context():
        family = db.session.scalar(db.select(RefreshTokenFamily))
    assert (family.ip, family.user_agent) == ("198.51.100.1", "Laptop/1.0")


# --- actions -------------------------------------------------------------------------


def test_ending_another_session_ends_it_and_its_session_bound_tokens(app, alice, make_client):
    bound_rp = make_client(name="Bound", backchannel_logout_uri="https://bound.example/bc")
    offline_rp = make_client(name="Offline")
    laptop = browser_for(app, "198.51.100.1", "Laptop/1.0")
    phone = browser_for(app, "203.0.113.9", "Phone/2.0")
    sign_in(laptop, bound_rp, scope="openid")
    bound = sign_in(phone, bound_rp, scope="openid")
    offline = sign_in(phone, offline_rp)
    phone_sid = sid_of(app, "Phone/2.0")

    response = post(laptop.http, "/account/sessions/end", sid=phone_sid)
    assert (response.status_code, response.headers["Location"]) == (303, PAGE)
    assert "The session was ended." in page(laptop.http)
    with app.app_context():
        assert db.session.get(LoginSession, phone_sid).ended_at is not None
        assert db.session.get(LoginSession, sid_of(app, "Laptop/1.0")).ended_at is None
        queued = db.session.scalars(db.select(LogoutDelivery)).all()
        assert [(d.sid, d.client_id) for d in queued] == [(phone_sid, bound_rp["client_id"])]
    assert refresh(phone.http, bound_rp, bound).get_json()["error"] == "invalid_grant"
    assert refresh(phone.http, offline_rp, offline).status_code == 200  # offline survives
    assert phone.http.get(PAGE).status_code == 303  # the phone is signed out
    listed = page(laptop.http)
    assert "Phone/2.0" not in listed.split('id="sessions"')[1].split("</table>")[0]
    assert "Offline" in listed.split('id="applications-heading"')[1]
    [event] = audit_events(app, "session_ended_by_user")
    assert (event.user_id, event.details["sid"], event.details["families_revoked"]) == (
        alice.id, phone_sid, 1)


def test_ending_the_current_session_signs_this_browser_out(app, alice, rp):
    laptop = browser_for(app, "198.51.100.1", "Laptop/1.0")
    tokens = sign_in(laptop, rp, scope="openid profile")
    sid = sid_of(app, "Laptop/1.0")
    response = post(laptop.http, "/account/sessions/end", sid=sid)
    assert (response.status_code, response.headers["Location"]) == (303, "/")
    assert "You are not signed in" in laptop.http.get("/").get_data(as_text=True)
    assert laptop.http.get(PAGE).headers["Location"] == "/login"
    with app.app_context():
        assert db.session.get(LoginSession, sid).ended_at is not None
    assert refresh(laptop.http, rp, tokens).get_json()["error"] == "invalid_grant"
    assert family_states(app) == {("Photo Album", False): "user_ended_session"}


def test_revoking_an_application_ends_its_refresh_tokens_at_once(app, alice, rp, make_client):
    other = make_client(name="Other")
    laptop = browser_for(app, "198.51.100.1", "Laptop/1.0")
    phone = browser_for(app, "203.0.113.9", "Phone/2.0")
    first = sign_in(laptop, rp)
    second = sign_in(phone, rp, scope="openid")
    kept = sign_in(laptop, other)

    response = post(laptop.http, "/account/applications/revoke", client_id=rp["client_id"])
    assert (response.status_code, response.headers["Location"]) == (303, PAGE)
    for tokens in (first, second):
        assert refresh(laptop.http, rp, tokens).get_json()["error"] == "invalid_grant"
    userinfo = laptop.http.get("/userinfo", headers={
        "Authorization": "Bearer " + first["access_token"]})
    assert userinfo.status_code == 401  # its access tokens are deny-listed too
    assert refresh(laptop.http, other, kept).status_code == 200
    assert family_states(app) == {("Photo Album", True): "user_revoked",
                                  ("Photo Album", False): "user_revoked",
                                  ("Other", True): None}
    html = page(laptop.http)
    applications = html.split('id="applications-heading"')[1].split('id="consents-heading"')[0]
    assert "Photo Album" not in applications and "Other" in applications
    assert "Photo Album" in html.split('id="consents"')[1]  # the consent is remembered
    [event] = audit_events(app, "tokens_revoked_by_user")
    assert (event.user_id, event.client_id, event.details) == (
        alice.id, rp["client_id"], {"families_revoked": 2})


def test_withdrawing_consent_forgets_it_and_revokes_the_application(app, alice, rp):
    laptop = browser_for(app, "198.51.100.1", "Laptop/1.0")
    tokens = sign_in(laptop, rp)
    response = post(laptop.http, "/account/consents/withdraw", client_id=rp["client_id"])
    assert (response.status_code, response.headers["Location"]) == (303, PAGE)
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(Consent)) == 0
    assert refresh(laptop.http, rp, tokens).get_json()["error"] == "invalid_grant"
    assert family_states(app) == {("Photo Album", True): "consent_withdrawn"}
    assert "You have not allowed any application yet." in page(laptop.http)
    [event] = audit_events(app, "consent_withdrawn")
    assert (event.user_id, event.client_id, event.details["scope"]) == (
        alice.id, rp["client_id"], "offline_access openid profile")

    verifier, challenge = pkce_pair()
    again = laptop.http.get("/authorize", query_string={
        "response_type": "code", "client_id": rp["client_id"], "scope": SCOPE,
        "redirect_uri": rp["redirect_uris"][0], "code_challenge": challenge,
        "code_challenge_method": "S256"})
    assert again.status_code in (302, 303)
    assert again.headers["Location"].startswith("/consent")  # still signed in, asked again


@pytest.mark.parametrize("action", ["end", "revoke", "withdraw"])
@pytest.mark.parametrize("token", [None, "forged"])
def test_without_the_csrf_token_nothing_changes(app, alice, rp, action, token):
    laptop = browser_for(app, "198.51.100.1", "Laptop/1.0")
    sign_in(laptop, rp)
    before = state(app)
    path, fields = {
        "end": ("/account/sessions/end", {"sid": sid_of(app, "Laptop/1.0")}),
        "revoke": ("/account/applications/revoke", {"client_id": rp["client_id"]}),
        "withdraw": ("/account/consents/withdraw", {"client_id": rp["client_id"]}),
    }[action]
    if token:
        fields["csrf_token"] = token
    response = laptop.http.post(path, data=fields)
    assert response.status_code == 400
    assert state(app) == before


@pytest.mark.parametrize("action", ["end", "revoke", "withdraw"])
def test_another_users_identifiers_are_not_found_and_nothing_changes(
        app, alice, bob, rp, make_client, action):
    bobs_app = make_client(name="Bob's Diary")
    laptop = browser_for(app, "198.51.100.1", "Laptop/1.0")
    sign_in(laptop, rp)
    bobs = browser_for(app, "192.0.2.77", "BobsBrowser/9")
    bob_tokens = sign_in(bobs, bobs_app, username="bob")
    sign_in(bobs, rp, username="bob")  # bob also uses alice's application
    before = state(app)
    path, field, values = {
        "end": ("/account/sessions/end", "sid", [sid_of(app, "BobsBrowser/9")]),
        "revoke": ("/account/applications/revoke", "client_id", [bobs_app["client_id"]]),
        "withdraw": ("/account/consents/withdraw", "client_id", [bobs_app["client_id"]]),
    }[action]
    for value in [*values, "", "unknown", "x" * 500]:
        response = post(laptop.http, path, **{field: value})
        assert response.status_code == 404, value
        assert "Nothing was changed" in response.get_data(as_text=True)
        assert state(app) == before
    assert refresh(bobs.http, bobs_app, bob_tokens).status_code == 200
    assert bobs.http.get(PAGE).status_code == 200  # bob is still signed in


def test_a_session_already_ended_is_not_found(app, alice, rp):
    laptop = browser_for(app, "198.51.100.1", "Laptop/1.0")
    phone = browser_for(app, "203.0.113.9", "Phone/2.0")
    sign_in(laptop, rp)
    sign_in(phone, rp)
    phone_sid = sid_of(app, "Phone/2.0")
    assert post(laptop.http, "/account/sessions/end", sid=phone_sid).status_code == 303
    assert post(laptop.http, "/account/sessions/end", sid=phone_sid).status_code == 404
    assert len(audit_events(app, "session_ended_by_user")) == 1
