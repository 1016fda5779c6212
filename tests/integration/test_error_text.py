"""Every ``error_description`` the provider writes stays inside RFC 6749 §5.2's
characters (%x20-21 / %x23-5B / %x5D-7E), whatever the client sent: parameter
names and values with newlines, quotes, backslashes or U+202E are never echoed,
in JSON bodies, in redirects or in ``WWW-Authenticate``."""

from __future__ import annotations

import re
from urllib.parse import urlencode

import pytest

from tests.support.protocol import basic_auth, pkce_pair, query_of

ALLOWED = re.compile(r'[\x20\x21\x23-\x5b\x5d-\x7e]*')
HOSTILE = ['a\nb', 'q"uote', 'back\\slash', 'rtl\u202eevil', 'tab\there', 'nul\x00',
           '\u00e9t\u00e9']


@pytest.fixture
def rp(make_client):
    return make_client(name="RP", scope="openid profile api:read", trusted=True,
                       grant_types=("authorization_code", "refresh_token",
                                    "client_credentials"))


def repeated(name: str, extra: dict | None = None) -> str:
    return urlencode([(name, "1"), (name, "2"), *(extra or {}).items()])


def json_requests(rp: dict) -> list[tuple[str, str, dict, str]]:
    """(method, path, headers, form body) for every JSON endpoint's error paths."""
    auth = basic_auth(rp["client_id"], rp["client_secret"])
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    cases = []
    for name in HOSTILE:
        for path in ("/token", "/revoke", "/introspect"):
            cases.append(("POST", path, {**auth, **form},
                          repeated(name, {"grant_type": "client_credentials", "token": "x"})))
        cases.append(("POST", "/token", {**auth, **form},
                      urlencode({"grant_type": "client_credentials", "scope": name})))
        cases.append(("POST", "/token", {**auth, **form},
                      urlencode({"grant_type": name})))
        cases.append(("POST", "/token", {**auth, **form},
                      urlencode({"grant_type": "refresh_token", "refresh_token": name})))
        cases.append(("POST", "/token", {**basic_auth(name, name), **form},
                      urlencode({"grant_type": "client_credentials"})))
        cases.append(("POST", "/token", form,
                      urlencode({"grant_type": "authorization_code", "code": name,
                                 "client_id": name})))
        cases.append(("GET", "/userinfo", {"Authorization": "Bearer " + name.replace(
            "\n", "").encode("latin-1", "replace").decode("latin-1")}, ""))
        cases.append(("POST", "/userinfo", form, repeated(name, {"access_token": "x"})))
    return cases


def test_json_error_descriptions_stay_in_range(client, rp):
    seen = 0
    for method, path, headers, body in json_requests(rp):
        response = client.open(path, method=method, headers=headers, data=body)
        assert response.status_code < 500, (path, body, response.data)
        if response.status_code == 200:
            continue
        payload = response.get_json()
        assert payload is not None, (path, body, response.data)
        description = payload.get("error_description", "")
        assert ALLOWED.fullmatch(description), (path, body, description)
        challenge = response.headers.get("WWW-Authenticate", "")
        assert ALLOWED.fullmatch(challenge.replace('"', "")), (path, body, challenge)
        seen += 1
    assert seen >= len(HOSTILE) * 8


def test_authorization_redirect_descriptions_stay_in_range(client, rp):
    _, challenge = pkce_pair()
    base = {"response_type": "code", "client_id": rp["client_id"], "state": "s",
            "redirect_uri": rp["redirect_uris"][0], "code_challenge": challenge,
            "code_challenge_method": "S256"}
    for name in HOSTILE:
        for query in ({**base, "scope": f"openid {name}"}, {**base, "prompt": name},
                      {**base, "response_type": name}, {**base, "max_age": name}):
            response = client.get("/authorize?" + urlencode(query))
            assert response.status_code == 302, (query, response.data)
            description = query_of(response.headers["Location"]).get("error_description", "")
            assert description and ALLOWED.fullmatch(description), (query, description)
