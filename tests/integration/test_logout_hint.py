"""RP-Initiated Logout's ``id_token_hint`` must be an ID token: a token the provider
signed with every claim of the real hint but typed ``at+jwt`` names nothing."""

from __future__ import annotations

from urllib.parse import urlencode

import jwt
import pytest

from tests.support.bad_tokens import resigned
from tests.support.flows import obtain


@pytest.fixture
def rp(make_client):
    return make_client(name="RP", trusted=True)


def signed_in(http) -> bool:
    return "Signed in" in http.get("/").get_data(as_text=True)


def end_session(http, hint: str):
    return http.get("/end-session?" + urlencode({"id_token_hint": hint}))


def test_a_provider_signed_access_token_is_refused_as_id_token_hint(app, client, browser,
                                                                     alice, rp):
    id_token = obtain(client, browser, rp, scope="openid")["id_token"]
    claims = jwt.decode(id_token, options={"verify_signature": False})
    assert claims["aud"] == rp["client_id"] and claims["sid"]  # names this very session
    as_access_token = resigned(app, id_token, "at+jwt")

    refused = end_session(client, as_access_token)
    assert refused.status_code == 400
    assert "not an ID token" in refused.get_data(as_text=True)
    assert signed_in(client)  # nothing ended, not even after a confirmation page

    # the real hint, same claims typed JWT, ends the session it names without asking
    done = end_session(client, id_token)
    assert done.status_code == 200
    assert not signed_in(client)
