"""Who initiated a logout (RP-Initiated Logout 1.0 §2): only a client named by a
valid ``id_token_hint`` for the signed-in user. A bare ``client_id`` selects the
client whose post-logout redirect URIs are checked, and nothing more: it never ends
that client's ``offline_access`` families."""

from __future__ import annotations

from provider.extensions import db
from provider.models import RefreshTokenFamily
from tests.support.factories import register
from tests.support.flows import sign_in
from tests.support.forms import CSRF, Browser
from tests.support.protocol import basic_auth, pkce_pair, query_of
from tests.support.records import families, live_sessions


def confirm(client, **fields):
    page = client.get("/end-session", query_string=fields)
    assert page.status_code == 200  # no hint for this session: the user confirms
    csrf = CSRF.search(page.get_data(as_text=True)).group(1)
    return client.post("/end-session", data={"csrf_token": csrf, "decision": "logout",
                                             **fields})


def test_a_bare_client_id_does_not_revoke_that_clients_offline_families(
        app, client, browser, alice, make_client):
    victim = register(app, make_client, name="Victim")
    sign_in(client, browser, victim, scope="openid offline_access")
    done = confirm(client, client_id=victim["client_id"],
                   post_logout_redirect_uri="https://rp.example/bye")
    assert done.status_code == 303 and done.headers["Location"] == "https://rp.example/bye"
    assert live_sessions(app) == 0
    assert families(app) == {victim["client_id"]: None}  # offline access outlives it


def test_a_valid_hint_makes_its_client_the_initiator(app, client, browser, alice,
                                                     make_client):
    initiator = register(app, make_client, name="Initiator")
    tokens = sign_in(client, browser, initiator, scope="openid offline_access")
    client.get("/end-session", query_string={"id_token_hint": tokens["id_token"]})
    assert families(app) == {initiator["client_id"]: "logout"}


def test_a_hint_for_another_user_makes_no_initiator(app, client, browser, alice, make_user,
                                                    make_client):
    make_user("bob")
    rp = register(app, make_client, name="RP")
    sign_in(client, browser, rp, scope="openid offline_access")  # alice, here
    elsewhere = app.test_client()
    verifier, challenge = pkce_pair()
    bobs_code = query_of(Browser(elsewhere).authorize({
        "response_type": "code", "client_id": rp["client_id"], "scope": "openid",
        "redirect_uri": rp["redirect_uris"][0], "code_challenge": challenge,
        "code_challenge_method": "S256"}, username="bob").headers["Location"])["code"]
    bobs = elsewhere.post("/token", headers=basic_auth(rp["client_id"], rp["client_secret"]),
                          data={"grant_type": "authorization_code", "code": bobs_code,
                                "redirect_uri": rp["redirect_uris"][0],
                                "code_verifier": verifier}).get_json()
    confirm(client, id_token_hint=bobs["id_token"])
    assert live_sessions(app) == 1  # bob's, elsewhere
    # alice's offline family with that client survives: bob's hint proves nothing for her
    with app.app_context():
        alices = db.session.scalars(db.select(RefreshTokenFamily).where(
            RefreshTokenFamily.offline.is_(True))).all()
        assert [(f.user_id, f.revoked_at) for f in alices] == [(alice.id, None)]
