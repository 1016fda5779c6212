"""Signing keys: every algorithm end to end, rotation without a failed
verification, revocation, and the key-encryption key (KEK) at rest."""

from __future__ import annotations

import base64
import json
import secrets

import jwt
import pytest

from provider import clock, create_app
from provider.config import ConfigurationError
from provider.extensions import db
from provider.keys.lifecycle import revoke_key, rewrap_keys, rotate
from provider.models import SigningKey
from provider.oauth.tokens import InvalidAccessToken, sign_jwt, verify_access_token
from tests.support.protocol import basic_auth, pkce_pair, query_of
from tests.support.settings import CHEAP_HASHING, ISSUER

ALGORITHMS = ["RS256", "PS256", "ES256", "EdDSA"]


def jwks(client) -> dict:
    return client.get("/.well-known/jwks.json").get_json()


def verify_independently(client, token: str, audience: str) -> tuple[dict, dict]:
    """PyJWT, not the provider's own JOSE library, against the served JWKS."""
    header = jwt.get_unverified_header(token)
    key = jwt.PyJWK(next(k for k in jwks(client)["keys"] if k["kid"] == header["kid"]))
    claims = jwt.decode(token, key.key, algorithms=[header["alg"]], audience=audience,
                        issuer=ISSUER)
    return header, claims


def code_flow(client, browser, rp: dict) -> dict:
    verifier, challenge = pkce_pair()
    response = browser.authorize({
        "response_type": "code", "client_id": rp["client_id"], "scope": "openid email",
        "redirect_uri": rp["redirect_uris"][0], "nonce": "n", "code_challenge": challenge,
        "code_challenge_method": "S256"})
    code = query_of(response.headers["Location"])["code"]
    token = client.post("/token", headers=basic_auth(rp["client_id"], rp["client_secret"]),
                        data={"grant_type": "authorization_code", "code": code,
                              "redirect_uri": rp["redirect_uris"][0], "code_verifier": verifier})
    assert token.status_code == 200, token.data
    return token.get_json()


@pytest.mark.parametrize("alg", ALGORITHMS)
def test_each_algorithm_end_to_end(app, client, browser, alice, make_client, alg):
    app.config["PROVIDER_ACCESS_TOKEN_ALG"] = alg
    rp = make_client(name=f"RP {alg}", trusted=True, id_token_alg=alg)
    body = code_flow(client, browser, rp)
    id_header, id_claims = verify_independently(client, body["id_token"], rp["client_id"])
    assert id_header["alg"] == alg and id_claims["nonce"] == "n"
    at_header, at_claims = verify_independently(client, body["access_token"], ISSUER)
    assert at_header["alg"] == alg and at_header["typ"] == "at+jwt"
    assert client.get("/userinfo", headers={
        "Authorization": "Bearer " + body["access_token"]}).status_code == 200


def test_discovery_lists_exactly_the_algorithms_with_an_active_key(client):
    config = client.get("/.well-known/openid-configuration").get_json()
    assert sorted(config["id_token_signing_alg_values_supported"]) == sorted(ALGORITHMS)
    published = jwks(client)["keys"]
    assert sorted(k["alg"] for k in published) == sorted(ALGORITHMS * 2)  # active + next
    for key in published:
        assert {"kid", "use", "alg"} <= key.keys() and key["use"] == "sig"
        assert not {"d", "p", "q", "dp", "dq", "qi"} & key.keys()


@pytest.mark.config(PROVIDER_SIGNING_ALGORITHMS=["RS256", "ES256"])
def test_an_operator_can_switch_algorithms_off(client):
    config = client.get("/.well-known/openid-configuration").get_json()
    assert sorted(config["id_token_signing_alg_values_supported"]) == ["ES256", "RS256"]


def test_rotation_waits_until_the_next_key_was_published_long_enough(app):
    with app.app_context():
        # published this second, whenever the template instance was made
        db.session.execute(db.update(SigningKey).where(SigningKey.state == "next")
                           .values(created_at=clock.now()))
        before = {k.alg: k.kid for k in db.session.scalars(
            db.select(SigningKey).where(SigningKey.state == "active"))}
        early = rotate()
        assert not early.changed
        assert all("not yet safe" in line for line in early.lines)
        # max-age 300 + key cache 10, counted from the second after created_at (which
        # is truncated): at 310 s the key may have been published for only 309.x s
        with clock.advance(app, 310):
            assert not rotate().changed
        with clock.advance(app, 311):
            report = rotate()
        assert report.changed
        after = {k.alg: k.kid for k in db.session.scalars(
            db.select(SigningKey).where(SigningKey.state == "active"))}
        assert set(after) == set(ALGORITHMS) and not set(after.values()) & set(before.values())
        states = {k.kid: k.state for k in db.session.scalars(db.select(SigningKey))}
        assert all(states[kid] == "retired" for kid in before.values())
        assert sorted(states.values()).count("next") == 4


def test_tokens_of_a_retired_key_verify_until_they_expire(app, make_client):
    service = make_client(name="Service", grant_types=("client_credentials",), scope="api")
    subject = "client:" + service["client_id"]
    with app.app_context():
        now = clock.now()
        claims = {"iss": ISSUER, "sub": subject, "aud": ISSUER, "iat": now, "exp": now + 900,
                  "jti": secrets.token_urlsafe(8), "client_id": service["client_id"],
                  "scope": "api"}
        old_token = sign_jwt(claims, typ="at+jwt")
        with clock.advance(app, 311):
            rotate()
            db.session.commit()
            assert verify_access_token(old_token, {ISSUER})["sub"] == subject
            new_kid = jwt.get_unverified_header(sign_jwt(claims, typ="at+jwt"))["kid"]
            assert new_kid != jwt.get_unverified_header(old_token)["kid"]
        with clock.advance(app, 311 + 3600 + 100):  # past the longest token lifetime (ID tokens)
            report = rotate()  # removes keys retired longer than any token lives
            db.session.commit()
            assert any("removed retired key" in line for line in report.lines)
            with pytest.raises(InvalidAccessToken):
                verify_access_token(old_token, {ISSUER})


def test_forced_rotation_says_what_it_risks(app):
    with app.app_context():
        report = rotate(force=True)
    assert report.changed
    assert all("forced" in line for line in report.lines if "now signs" in line)


def test_revoked_key_leaves_the_jwks_at_once(app, client):
    with app.app_context():
        active = db.session.scalar(db.select(SigningKey).where(
            SigningKey.state == "active", SigningKey.alg == "RS256"))
        now = clock.now()
        token = sign_jwt({"iss": ISSUER, "sub": "s", "aud": ISSUER, "iat": now,
                          "exp": now + 900, "jti": "j1", "client_id": "c", "scope": "openid"},
                         typ="at+jwt")
        lines = revoke_key(active.kid)
        db.session.commit()
        assert "revoked" in lines[0]
        with pytest.raises(InvalidAccessToken):
            verify_access_token(token, {ISSUER})
    assert active.kid not in {k["kid"] for k in jwks(client)["keys"]}
    algs = client.get("/.well-known/openid-configuration").get_json()[
        "id_token_signing_alg_values_supported"]
    assert "RS256" in algs  # a replacement signs at once


def test_private_keys_are_encrypted_at_rest(app):
    with app.app_context():
        for key in db.session.scalars(db.select(SigningKey)):
            blob = key.private_jwk_encrypted
            assert b"PRIVATE KEY" not in blob and b'"d"' not in blob and b'"kty"' not in blob
            assert "d" not in key.public_jwk


def kek_text() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode().rstrip("=")


def test_a_wrong_kek_fails_start_up_with_a_clear_message(instance):
    with pytest.raises(ConfigurationError, match="cannot be decrypted"):
        create_app({"PROVIDER_INSTANCE_PATH": str(instance),
                    "PROVIDER_KEY_ENCRYPTION_KEY": kek_text(), **CHEAP_HASHING})


def test_kek_rotation_with_rewrap(instance):
    old = (instance / "key_encryption_key").read_text().strip()
    new = kek_text()
    rotating = create_app({"PROVIDER_INSTANCE_PATH": str(instance), **CHEAP_HASHING,
                           "PROVIDER_KEY_ENCRYPTION_KEY": new,
                           "PROVIDER_PREVIOUS_KEY_ENCRYPTION_KEYS": [old]})
    with rotating.app_context():
        assert rewrap_keys() == 8
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    rotated = create_app({"PROVIDER_INSTANCE_PATH": str(instance), **CHEAP_HASHING,
                          "PROVIDER_KEY_ENCRYPTION_KEY": new})
    with rotated.app_context():
        token = sign_jwt({"iss": ISSUER, "sub": "s"}, typ="JWT")
        assert json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))["kid"]
        db.session.remove()
        db.engine.dispose()
    with pytest.raises(ConfigurationError, match="cannot be decrypted"):
        create_app({"PROVIDER_INSTANCE_PATH": str(instance), **CHEAP_HASHING,
                    "PROVIDER_KEY_ENCRYPTION_KEY": old})


def test_jwks_is_cacheable_with_etag_and_304(client):
    first = client.get("/.well-known/jwks.json")
    assert "max-age=300" in first.headers["Cache-Control"]
    assert first.headers["Access-Control-Allow-Origin"] == "*"
    again = client.get("/.well-known/jwks.json", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304


def test_the_cached_jwks_and_discovery_follow_a_rotation_within_the_key_cache(app, client):
    before = client.get("/.well-known/jwks.json")
    discovery_before = client.get("/.well-known/openid-configuration")
    with clock.advance(app, 311), app.app_context():
        rotate()
        db.session.commit()
        new_kids = {k.kid for k in db.session.scalars(
            db.select(SigningKey).where(SigningKey.state == "next"))}
    with clock.advance(app, 311 + app.config["PROVIDER_KEY_CACHE_SECONDS"]):
        after = client.get("/.well-known/jwks.json")
        assert after.headers["ETag"] != before.headers["ETag"]
        assert new_kids <= {key["kid"] for key in after.get_json()["keys"]}
        assert client.get("/.well-known/jwks.json", headers={
            "If-None-Match": after.headers["ETag"]}).status_code == 304
        # discovery is served from the same ring: still answered, still conditional
        discovery = client.get("/.well-known/openid-configuration")
        assert discovery.get_json() == discovery_before.get_json()
