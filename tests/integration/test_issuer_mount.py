"""Endpoint URLs come from the issuer, never from a request header: a SCRIPT_NAME
that a server took from a client's header (gunicorn's forwarder_headers) changes
neither discovery nor any redirect, and an issuer with a path is served under it."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest

from provider import create_app
from provider.extensions import db
from tests.support.protocol import pkce_pair
from tests.support.settings import CHEAP_HASHING, ISSUER


@pytest.mark.parametrize("script_name", ["/evil", "//evil.example", "/%5Cevil"])
def test_a_forged_script_name_changes_no_url(client, make_client, script_name):
    rp = make_client(name="RP")
    forged = {"base_url": ISSUER + script_name}  # the test client's way to set SCRIPT_NAME
    metadata = client.get("/.well-known/openid-configuration", **forged).get_json()
    endpoints = [v for k, v in metadata.items() if k.endswith(("_endpoint", "_uri"))]
    assert endpoints and all(url.startswith(ISSUER + "/") for url in endpoints), endpoints
    assert all("evil" not in url for url in endpoints)
    _, challenge = pkce_pair()
    query = urlencode({"response_type": "code", "client_id": rp["client_id"],
                       "scope": "openid", "redirect_uri": rp["redirect_uris"][0],
                       "code_challenge": challenge, "code_challenge_method": "S256"})
    response = client.get("/authorize?" + query, **forged)
    assert response.status_code == 303
    assert response.headers["Location"].startswith("/login?"), response.headers["Location"]
    login_page = client.get(response.headers["Location"], **forged)
    assert "evil" not in login_page.get_data(as_text=True)


def test_an_issuer_with_a_path_is_served_under_it(instance):
    app = create_app({"PROVIDER_INSTANCE_PATH": str(instance),
                      "PROVIDER_ISSUER": ISSUER + "/auth", **CHEAP_HASHING})
    http = app.test_client()
    # a proxy that forwards /auth/... as it is, and one that strips /auth
    for path in ("/auth/.well-known/openid-configuration", "/.well-known/openid-configuration"):
        metadata = http.get(path).get_json()
        assert metadata["issuer"] == ISSUER + "/auth"
        assert metadata["token_endpoint"] == ISSUER + "/auth/token"
    home = http.get("/auth/").get_data(as_text=True)
    assert 'href="/auth/login"' in home
    with app.app_context():
        db.engine.dispose()
