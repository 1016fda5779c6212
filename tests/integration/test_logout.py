"""RP-Initiated Logout 1.0 and Back-Channel Logout 1.0: what a logout ends,
when the user must confirm, where it may redirect, and the delivery outbox
against a real receiver on loopback."""

from __future__ import annotations

import json

import jwt
import pytest

from provider import clock, management
from provider.extensions import db
from provider.models import LogoutDelivery
from provider.oauth import backchannel
from provider.outbound import OutboundRefused, check_destination
from tests.support.factories import register
from tests.support.flows import sign_in, userinfo_status
from tests.support.forms import CSRF
from tests.support.protocol import basic_auth
from tests.support.receivers import Receiver
from tests.support.records import families, live_sessions
from tests.support.settings import ISSUER

BACKCHANNEL_EVENT = "http://schemas.openid.net/event/backchannel-logout"


@pytest.fixture
def receiver():
    made: list[Receiver] = []

    def factory(failures: int = 0) -> Receiver:
        made.append(Receiver(failures))
        return made[-1]

    yield factory
    for r in made:
        r.close()


def test_logout_with_a_hint_for_this_session_needs_no_confirmation(app, client, browser,
                                                                    alice, make_client):
    rp = register(app, make_client)
    tokens = sign_in(client, browser, rp)
    response = client.get("/end-session", query_string={
        "id_token_hint": tokens["id_token"], "post_logout_redirect_uri": "https://rp.example/bye",
        "state": "s1"})
    assert response.status_code == 303
    assert response.headers["Location"] == "https://rp.example/bye?state=s1"
    assert live_sessions(app) == 0
    # the session's access tokens are deny-listed
    assert userinfo_status(client, tokens["access_token"]) == 401
    refresh = client.post("/token", headers=basic_auth(rp["client_id"], rp["client_secret"]),
                          data={"grant_type": "refresh_token",
                                "refresh_token": tokens["refresh_token"]})
    assert refresh.status_code == 400
    assert client.get("/").get_data(as_text=True).count("not signed in") == 1


def test_logout_without_a_hint_asks_first(app, client, browser, alice, make_client):
    rp = register(app, make_client)
    sign_in(client, browser, rp)
    page = client.get("/end-session", query_string={
        "client_id": rp["client_id"], "post_logout_redirect_uri": "https://rp.example/bye"})
    assert page.status_code == 200 and live_sessions(app) == 1
    html = page.get_data(as_text=True)
    csrf = CSRF.search(html).group(1)
    stay = client.post("/end-session", data={"csrf_token": csrf, "decision": "stay",
                                             "client_id": rp["client_id"]})
    assert stay.status_code == 200 and live_sessions(app) == 1
    forged = client.post("/end-session", data={"csrf_token": "forged", "decision": "logout"})
    assert forged.status_code == 400 and live_sessions(app) == 1
    done = client.post("/end-session", data={
        "csrf_token": csrf, "decision": "logout", "client_id": rp["client_id"],
        "post_logout_redirect_uri": "https://rp.example/bye", "state": "x"})
    assert done.headers["Location"] == "https://rp.example/bye?state=x"
    assert live_sessions(app) == 0


@pytest.mark.parametrize("params", [
    {"post_logout_redirect_uri": "https://rp.example/bye"},  # no client to check it against
    {"post_logout_redirect_uri": "https://evil.example/bye", "client_id": "{rp}"},
    {"post_logout_redirect_uri": "https://rp.example/bye/", "client_id": "{rp}"},
    {"id_token_hint": "not.a.token"},
    {"client_id": "unknown-client"},
])
def test_refused_requests_neither_redirect_nor_sign_out(app, client, browser, alice,
                                                        make_client, params):
    rp = register(app, make_client)
    sign_in(client, browser, rp)
    query = {k: v.replace("{rp}", rp["client_id"]) for k, v in params.items()}
    response = client.get("/end-session", query_string=query)
    assert response.status_code == 400 and "Location" not in response.headers
    assert live_sessions(app) == 1


def test_a_hint_for_another_client_than_client_id_is_refused(app, client, browser, alice,
                                                             make_client):
    rp = register(app, make_client)
    other = register(app, make_client, name="Other")
    tokens = sign_in(client, browser, rp)
    response = client.get("/end-session", query_string={
        "id_token_hint": tokens["id_token"], "client_id": other["client_id"]})
    assert response.status_code == 400 and live_sessions(app) == 1


def test_offline_families_of_other_clients_survive_logout(app, client, browser, alice,
                                                          make_client):
    initiator = register(app, make_client, name="Initiator")
    bystander = register(app, make_client, name="Bystander")
    tokens = sign_in(client, browser, initiator, scope="openid offline_access")
    sign_in(client, browser, bystander, scope="openid offline_access")
    client.get("/end-session", query_string={"id_token_hint": tokens["id_token"]})
    assert families(app) == {initiator["client_id"]: "logout", bystander["client_id"]: None}


@pytest.mark.config(PROVIDER_LOGOUT_REVOKES_OFFLINE=True)
def test_an_operator_can_make_logout_end_offline_families_too(app, client, browser, alice,
                                                              make_client):
    initiator = register(app, make_client, name="Initiator")
    bystander = register(app, make_client, name="Bystander")
    tokens = sign_in(client, browser, initiator, scope="openid offline_access")
    sign_in(client, browser, bystander, scope="openid offline_access")
    client.get("/end-session", query_string={"id_token_hint": tokens["id_token"]})
    assert set(families(app).values()) == {"logout"}


def deliveries(app) -> list[LogoutDelivery]:
    with app.app_context():
        return list(db.session.scalars(db.select(LogoutDelivery)))


def test_backchannel_logout_is_delivered_and_verifiable(app, client, browser, alice,
                                                        make_client, receiver):
    listener = receiver()
    rp = register(app, make_client, backchannel_logout_uri=listener.url)
    tokens = sign_in(client, browser, rp)
    client.get("/end-session", query_string={"id_token_hint": tokens["id_token"]})
    [queued] = deliveries(app)
    assert queued.status == "pending" and listener.tokens == []  # not in the request path
    with app.app_context():
        assert backchannel.deliver_due() == 1
    [delivered] = deliveries(app)
    assert delivered.status == "delivered" and delivered.attempts == 1
    [logout_token] = listener.tokens
    header = jwt.get_unverified_header(logout_token)
    assert header["typ"] == "logout+jwt"
    jwks = client.get("/.well-known/jwks.json").get_json()
    key = jwt.PyJWK(next(k for k in jwks["keys"] if k["kid"] == header["kid"]))
    claims = jwt.decode(logout_token, key.key, algorithms=[header["alg"]],
                        audience=rp["client_id"], issuer=ISSUER)
    id_claims = jwt.decode(tokens["id_token"], options={"verify_signature": False})
    assert claims["events"] == {BACKCHANNEL_EVENT: {}}
    assert claims["sid"] == id_claims["sid"] and claims["sub"] == id_claims["sub"]
    assert "nonce" not in claims and claims["jti"]
    assert claims["exp"] - claims["iat"] <= 120


def test_failed_deliveries_are_retried_with_backoff_and_signed_afresh(
        app, client, browser, alice, make_client, receiver):
    listener = receiver(failures=2)
    rp = register(app, make_client, backchannel_logout_uri=listener.url)
    tokens = sign_in(client, browser, rp)
    client.get("/end-session", query_string={"id_token_hint": tokens["id_token"]})
    with app.app_context():
        assert backchannel.deliver_due() == 1
        assert backchannel.deliver_due() == 0  # not due again before its backoff
    [first] = deliveries(app)
    assert first.status == "pending" and first.attempts == 1 and first.last_error == "HTTP 500"
    with clock.advance(app, 5), app.app_context():
        assert backchannel.deliver_due() == 1
    with clock.advance(app, 5 + 10), app.app_context():
        assert backchannel.deliver_due() == 1
    [done] = deliveries(app)
    assert done.status == "delivered" and done.attempts == 3
    assert len(set(listener.tokens)) == 3  # each attempt a freshly signed token
    jtis = {jwt.decode(t, options={"verify_signature": False})["jti"] for t in listener.tokens}
    assert len(jtis) == 3


def test_a_dead_receiver_is_given_up_after_the_last_attempt(app, client, browser, alice,
                                                            make_client, receiver):
    listener = receiver(failures=100)
    rp = register(app, make_client, backchannel_logout_uri=listener.url)
    tokens = sign_in(client, browser, rp)
    client.get("/end-session", query_string={"id_token_hint": tokens["id_token"]})
    for attempt in range(backchannel.MAX_ATTEMPTS):
        with clock.advance(app, 3600 * (attempt + 1)), app.app_context():
            backchannel.deliver_due()
    [given_up] = deliveries(app)
    assert given_up.status == "failed" and given_up.attempts == backchannel.MAX_ATTEMPTS


def test_only_clients_of_the_session_are_told(app, client, browser, alice, make_client,
                                              receiver):
    used, unused = receiver(), receiver()
    rp = register(app, make_client, backchannel_logout_uri=used.url)
    register(app, make_client, name="Never used", backchannel_logout_uri=unused.url)
    tokens = sign_in(client, browser, rp)
    client.get("/end-session", query_string={"id_token_hint": tokens["id_token"]})
    assert [d.client_id for d in deliveries(app)] == [rp["client_id"]]


@pytest.mark.parametrize("url", ["http://rp.example/logout", "https://127.0.0.1/logout",
                                 "https://10.1.2.3/logout", "https://169.254.169.254/latest",
                                 "https://[::1]/logout", "ftp://rp.example/x"])
def test_the_outbound_policy_refuses_unsafe_destinations(app, url):
    app.config["PROVIDER_ISSUER"] = "https://login.example.com"  # not development any more
    with app.app_context(), pytest.raises(OutboundRefused):
        check_destination(url)


def test_in_development_loopback_http_is_allowed(app):
    with app.app_context():
        assert check_destination("http://127.0.0.1:8000/logout").hostname == "127.0.0.1"
        with pytest.raises(OutboundRefused):
            check_destination("http://10.1.2.3/logout")


def test_deliveries_are_visible_to_an_operator(app, client, browser, alice, make_client,
                                               receiver):
    listener = receiver()
    rp = register(app, make_client, backchannel_logout_uri=listener.url)
    tokens = sign_in(client, browser, rp)
    client.get("/end-session", query_string={"id_token_hint": tokens["id_token"]})
    with app.app_context():
        backchannel.deliver_due()
        rows = management.list_logout_deliveries()
    assert [(r["client_id"], r["status"], r["attempts"]) for r in rows] == [
        (rp["client_id"], "delivered", 1)]
    assert json.dumps(rows)  # plain data for the CLI


def test_cli_registers_backchannel_clients_and_lists_deliveries(app, instance):
    from click.testing import CliRunner

    from provider.cli import main

    (instance / "config.py").write_text("PROVIDER_PASSWORD_TIME_COST = 1\n"
                                        "PROVIDER_PASSWORD_MEMORY_COST = 8\n"
                                        "PROVIDER_PASSWORD_PARALLELISM = 1\n")
    env = {"PROVIDER_INSTANCE_PATH": str(instance)}
    created = CliRunner().invoke(main, [
        "clients", "create", "--name", "BC", "--redirect-uri", "https://rp.example/cb",
        "--backchannel-logout-uri", "https://rp.example/backchannel",
        "--backchannel-logout-session-required"], env=env)
    assert created.exit_code == 0, created.stderr
    client_id = json.loads(created.stdout)["client_id"]
    with app.app_context():
        from provider.models import Client

        row = db.session.get(Client, client_id)
        assert row.backchannel_logout_uri == "https://rp.example/backchannel"
        assert row.backchannel_logout_session_required is True
    refused = CliRunner().invoke(main, [
        "clients", "create", "--name", "BC", "--redirect-uri", "https://rp.example/cb",
        "--backchannel-logout-uri", "https://rp.example/x#frag"], env=env)
    assert refused.exit_code != 0 and refused.stderr.startswith("provider: ")
    listed = CliRunner().invoke(main, ["logout", "deliveries", "--status", "failed"], env=env)
    assert listed.exit_code == 0 and listed.stdout == ""
