"""The flows walked with the Flask test client: /authorize through sign-in and
consent to a code, a code or a refresh token to tokens at /token, and tokens
presented to UserInfo, /revoke and /introspect."""

from __future__ import annotations

from flask.testing import FlaskClient

from tests.support.forms import Browser
from tests.support.protocol import basic_auth, client_auth, pkce_pair, query_of

# --- to a code and tokens --------------------------------------------------------------


def auth_params(client: dict, challenge: str | None = None, **extra) -> dict:
    """An authorization request of ``client`` (``None`` values left out)."""
    params = {"response_type": "code", "client_id": client["client_id"],
              "redirect_uri": client["redirect_uris"][0], "scope": "openid profile email",
              "state": "st-123", "nonce": "n-456"}
    if challenge:
        params.update(code_challenge=challenge, code_challenge_method="S256")
    params.update(extra)
    return {k: v for k, v in params.items() if v is not None}


def obtain_code(browser: Browser, client: dict, challenge: str | None = None, **extra) -> str:
    response = browser.authorize(auth_params(client, challenge, **extra))
    assert response.status_code == 302, response.data
    result = query_of(response.headers["Location"])
    assert "code" in result, result
    return result["code"]


def token_request(http: FlaskClient, client: dict, code: str, verifier: str | None = None, *,
                  headers: dict | None = None, **extra):
    """The code exchange; ``client`` authenticates as it registered unless ``headers``
    says otherwise, and ``None`` values are left out."""
    data = {"grant_type": "authorization_code", "code": code,
            "redirect_uri": client["redirect_uris"][0]}
    if verifier is not None:
        data["code_verifier"] = verifier
    data.update(extra)
    data = {k: v for k, v in data.items() if v is not None}
    if headers is None:
        if "client_secret" in client:
            headers = basic_auth(client["client_id"], client["client_secret"])
        else:
            headers = {}
            data.setdefault("client_id", client["client_id"])
    return http.post("/token", headers=headers, data=data)


def access_token_for(browser: Browser, http: FlaskClient, rp: dict) -> str:
    verifier, challenge = pkce_pair()
    code = obtain_code(browser, rp, challenge)
    response = token_request(http, rp, code, verifier)
    assert response.status_code == 200, response.data
    return response.get_json()["access_token"]


def obtain(client: FlaskClient, browser: Browser, rp: dict,
           scope: str = "openid profile email offline_access") -> dict:
    """The code flow with PKCE; the token response, plus the code and verifier used."""
    verifier, challenge = pkce_pair()
    response = browser.authorize({
        "response_type": "code", "client_id": rp["client_id"], "scope": scope,
        "redirect_uri": rp["redirect_uris"][0], "state": "s", "code_challenge": challenge,
        "code_challenge_method": "S256"})
    code = query_of(response.headers["Location"])["code"]
    data = {"grant_type": "authorization_code", "code": code, "code_verifier": verifier,
            "redirect_uri": rp["redirect_uris"][0]}
    token = post_token(client, rp, data)
    assert token.status_code == 200, token.data
    return {**token.get_json(), "code": code, "verifier": verifier}


def sign_in(client: FlaskClient, browser: Browser, rp: dict, scope: str = "openid profile"
            ) -> dict:
    """The code flow with PKCE for a confidential ``rp``; the token response."""
    verifier, challenge = pkce_pair()
    response = browser.authorize({
        "response_type": "code", "client_id": rp["client_id"], "scope": scope,
        "redirect_uri": rp["redirect_uris"][0], "code_challenge": challenge,
        "code_challenge_method": "S256"})
    code = query_of(response.headers["Location"])["code"]
    token = client.post("/token", headers=basic_auth(rp["client_id"], rp["client_secret"]),
                        data={"grant_type": "authorization_code", "code": code,
                              "redirect_uri": rp["redirect_uris"][0], "code_verifier": verifier})
    assert token.status_code == 200
    return token.get_json()


def post_token(client: FlaskClient, rp: dict, data: dict):
    if rp.get("client_secret"):
        return client.post("/token", headers=basic_auth(rp["client_id"], rp["client_secret"]),
                           data=data)
    return client.post("/token", data={**data, "client_id": rp["client_id"]})


def refresh(client: FlaskClient, rp: dict, token: str, **extra):
    return post_token(client, rp, {"grant_type": "refresh_token", "refresh_token": token,
                                   **extra})


# --- using tokens ----------------------------------------------------------------------


def userinfo_status(client: FlaskClient, access_token: str) -> int:
    return client.get("/userinfo", headers={"Authorization": f"Bearer {access_token}"}).status_code


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
