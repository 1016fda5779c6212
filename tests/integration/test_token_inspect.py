"""``provider token inspect``: the verdict on real tokens minted by the app (valid,
expired, tampered, foreign, alg none, ID tokens, revoked, retired and removed keys,
every algorithm) and on opaque refresh tokens (live, used, revoked family), through
the real click command against the test's instance. No output ever holds a stored
digest, and inspecting never changes anything."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from joserfc import jws
from joserfc.jwk import RSAKey

from provider import clock, denylist, digests, management
from provider import config as provider_config
from provider.cli import main
from provider.extensions import db
from provider.keys.lifecycle import revoke_key, rotate
from provider.models import Client, LoginSession, RefreshToken, RefreshTokenFamily
from provider.oauth.tokens import sign_jwt
from tests.support.flows import sign_in
from tests.support.protocol import basic_auth
from tests.support.settings import ISSUER

OFFLINE = "openid email offline_access"  # the scope the inspected tokens get by default

CHEAP_CONFIG = """\
PROVIDER_PASSWORD_TIME_COST = 1
PROVIDER_PASSWORD_MEMORY_COST = 8
PROVIDER_PASSWORD_PARALLELISM = 1
"""
ALGORITHMS = ["RS256", "PS256", "ES256", "EdDSA"]


@pytest.fixture
def inspect(app, instance: Path, operator_environment: None):
    """``provider token inspect ARGS`` on the test's app (so ``clock.advance(app, …)``
    reaches it), configured as the instance would be; the click Result."""
    (instance / "config.py").write_text(CHEAP_CONFIG)

    def run(*args: str, stdin: str | None = None) -> Result:
        return CliRunner().invoke(main, ["token", "inspect", *args], input=stdin, obj=app,
                                  env={"PROVIDER_INSTANCE_PATH": str(instance),
                                       "PROVIDER_ISSUER": ISSUER})

    return run


def verdict(inspect, token: str) -> dict:
    """The --json verdict; its exit status agrees with it."""
    result = inspect("--json", "--", token)
    assert result.exit_code in (0, 1), (result.stdout, result.stderr, result.exception)
    document = json.loads(result.stdout)
    assert result.exit_code == (0 if document["valid"] else 1)
    assert result.stderr == ""
    return document


def codes(document: dict, field: str = "problems") -> list[str]:
    return [finding["code"] for finding in document[field]]


def messages(document: dict, field: str = "problems") -> list[str]:
    return [finding["message"] for finding in document[field]]


def assert_messages(document: dict, patterns: list[str], field: str = "problems") -> None:
    """Messages matching regular expressions, where a second may tick while the test runs."""
    found = messages(document, field)
    assert len(found) == len(patterns), found
    for message, pattern in zip(found, patterns, strict=True):
        assert re.fullmatch(pattern, message), (message, pattern)


SECONDS_AGO = r"\d+ seconds? ago"
STAMP = r"\(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC\)"


# --- minting -------------------------------------------------------------------------


@pytest.fixture
def service(make_client) -> dict:
    return make_client(name="Service", grant_types=("client_credentials",), scope="api:read")


def service_token(client, service: dict) -> str:
    response = client.post("/token", data={"grant_type": "client_credentials"},
                           headers=basic_auth(service["client_id"], service["client_secret"]))
    assert response.status_code == 200, response.data
    return response.get_json()["access_token"]


@pytest.fixture(autouse=True)
def svc(app) -> None:
    """The client the minted tokens name: the provider refuses a token whose client
    it does not know (or has disabled), and so does the debugger."""
    with app.app_context():
        db.session.add(Client(client_id="svc", name="Minted tokens' client",
                              token_endpoint_auth_method="client_secret_basic",
                              grant_types=["client_credentials"], allowed_scope="api:read"))
        db.session.commit()


def access_claims(**changes) -> dict:
    now = clock.now()
    claims = {"iss": ISSUER, "sub": "client:svc", "aud": ISSUER, "exp": now + 900, "iat": now,
              "jti": f"jti-{now}", "client_id": "svc", "scope": "api:read"}
    claims.update(changes)
    return {name: value for name, value in claims.items() if value is not None}


def mint(app, claims: dict, typ: str = "at+jwt", alg: str = "RS256") -> str:
    with app.app_context():
        return sign_jwt(claims, typ=typ, alg=alg)


def segment(document: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(document).encode()).decode().rstrip("=")


def tamper(text: str) -> str:
    """Flip one character in the middle of the signature."""
    head, _, signature = text.rpartition(".")
    middle = len(signature) // 2
    flipped = "A" if signature[middle] != "A" else "B"
    return f"{head}.{signature[:middle]}{flipped}{signature[middle + 1:]}"


def refresh(client, rp: dict, token: str):
    return client.post("/token", headers=basic_auth(rp["client_id"], rp["client_secret"]),
                       data={"grant_type": "refresh_token", "refresh_token": token})


@pytest.fixture
def rp(make_user, make_client) -> dict:
    make_user("alice")
    return make_client(name="Web app", trusted=True)


# --- access tokens -------------------------------------------------------------------


def test_a_valid_access_token(app, client, service, inspect):
    token = service_token(client, service)
    result = inspect("--", token)
    assert result.exit_code == 0, (result.stdout, result.stderr)
    lines = result.stdout.splitlines()
    assert lines[0] == "VALID: access token"
    assert "Header:" in lines and "Claims:" in lines and "Times:" in lines
    assert '    "typ": "at+jwt",' in lines
    assert f'    "client_id": "{service["client_id"]}",' in lines
    assert any(re.fullmatch(r"  exp  .* UTC \(in 1[45] minutes\)", line) for line in lines)
    document = verdict(inspect, token)
    assert document["valid"] is True and document["kind"] == "access_token"
    assert document["problems"] == [] and document["warnings"] == []
    assert document["header"]["kid"] == document["key"]["kid"]
    assert document["key"]["state"] == "active" and document["key"]["alg"] == "RS256"
    assert document["claims"]["sub"] == f"client:{service['client_id']}"
    assert "refresh_token" not in document


def test_a_token_read_from_stdin_or_pasted_with_its_scheme(client, service, inspect):
    token = service_token(client, service)
    for args, stdin in ((("-",), token + "\n"), ((), token + "\n"), ((f"Bearer {token}",), None),
                        ((), f"  Bearer {token}  \nignored second line\n")):
        result = inspect(*args, stdin=stdin)
        assert result.exit_code == 0, (args, result.stdout, result.stderr)
        assert result.stdout.startswith("VALID: access token\n")


def test_an_expired_token_says_how_long_ago(app, client, service, inspect):
    token = service_token(client, service)
    with clock.advance(app, 900 + 180):
        document = verdict(inspect, token)
        result = inspect("--", token)
    assert codes(document) == ["expired"]
    assert_messages(document, [f"expired 3 minutes ago {STAMP}"])
    assert result.exit_code == 1
    assert result.stdout.splitlines()[:3] == ["INVALID: access token", "1 problem:",
                                              f"  - {messages(document)[0]}"]


def test_a_tampered_signature_or_payload_does_not_verify(app, client, service, inspect):
    token = service_token(client, service)
    kid = json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))["kid"]
    document = verdict(inspect, tamper(token))
    assert codes(document) == ["bad_signature"]
    assert messages(document) == [f"signature does not verify with key {kid}"]
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    widened = segment({**claims, "scope": "api:read api:admin"})
    document = verdict(inspect, f"{header}.{widened}.{signature}")
    assert codes(document) == ["bad_signature"]
    assert document["claims"]["scope"] == "api:read api:admin"  # shown as it claims to be


def test_a_foreign_token_names_a_kid_the_jwks_does_not_hold(app, inspect):
    foreign = RSAKey.generate_key(2048, private=True)
    kid = foreign.thumbprint()
    token = jws.serialize_compact({"alg": "RS256", "typ": "at+jwt", "kid": kid},
                                  json.dumps(access_claims()).encode(), foreign,
                                  algorithms=["RS256"])
    document = verdict(inspect, token)
    assert document["kind"] == "access_token"
    assert codes(document) == ["unknown_kid"]
    assert messages(document) == [f"unknown kid {kid} (not in the JWKS), so the signature "
                                  "cannot be checked"]
    assert document["key"] is None


def test_alg_none_is_never_accepted(app, client, service, inspect):
    real = service_token(client, service)
    header = json.loads(base64.urlsafe_b64decode(real.split(".")[0] + "=="))
    unsigned = f"{segment({**header, 'alg': 'none'})}.{real.split('.')[1]}."
    document = verdict(inspect, unsigned)
    assert codes(document) == ["alg_none"]
    assert messages(document) == ["alg none is never accepted (the token is unsigned)"]
    hs256 = f"{segment({**header, 'alg': 'HS256'})}.{real.split('.')[1]}.c2ln"
    document = verdict(inspect, hs256)
    assert codes(document) == ["alg_not_accepted", "alg_mismatch"]
    assert messages(document)[1] == (f"alg HS256 does not match the alg of key {header['kid']} "
                                     "(RS256)")


def test_an_id_token_presented_as_an_access_token(client, browser, rp, inspect):
    body = sign_in(client, browser, rp, scope=OFFLINE)
    document = verdict(inspect, body["id_token"])
    assert document["kind"] == "id_token"
    assert document["claims"]["aud"] == rp["client_id"]
    assert messages(document) == [
        "ID token used as an access token: typ is JWT, not at+jwt",
        f"audience is {rp['client_id']}, expected {ISSUER}",
    ]
    # the access token of the same response is fine
    assert verdict(inspect, body["access_token"])["valid"] is True


def test_a_revoked_jti_is_on_the_deny_list(app, client, service, inspect):
    token = service_token(client, service)
    claims = verdict(inspect, token)["claims"]
    with app.app_context():
        denylist.deny(claims["jti"], claims["exp"], "test")
        db.session.commit()
    document = verdict(inspect, token)
    assert codes(document) == ["revoked"]
    assert messages(document) == [f"revoked (jti {claims['jti']} is on the deny-list)"]


def test_every_reason_is_listed_at_once(app, inspect):
    now = clock.now()
    token = mint(app, access_claims(iss="https://evil.example", aud="https://api.example",
                                    nbf=now + 630, iat=now + 3 * 3600 + 30, client_id=None),
                 typ="JWT")
    document = verdict(inspect, tamper(token))
    assert document["kind"] == "unknown"
    assert_messages(document, [
        f"signature does not verify with key {document['key']['kid']}",
        "typ is JWT, not at\\+jwt",
        "issuer is https://evil.example, expected http://127.0.0.1:5000",
        "audience is https://api.example, expected http://127.0.0.1:5000",
        f"not yet valid: usable in 10 minutes {STAMP}",
        f"issued in the future: iat is in 3 hours {STAMP}",
        "no client_id claim \\(RFC 9068 requires one\\)",
    ])


def test_a_token_missing_its_expiry_and_jti(app, inspect):
    token = mint(app, access_claims(exp=None, jti=None))
    document = verdict(inspect, token)
    assert messages(document) == ["no exp claim (expiry)",
                                  "no jti claim, so revocation cannot be checked"]


@pytest.mark.parametrize("alg", ALGORITHMS)
def test_every_signing_algorithm_verifies(app, inspect, alg):
    token = mint(app, access_claims(), alg=alg)
    document = verdict(inspect, token)
    assert document["valid"] is True, document["problems"]
    assert document["key"]["alg"] == alg and document["header"]["alg"] == alg
    assert codes(verdict(inspect, tamper(token))) == ["bad_signature"]


def test_a_retired_key_still_verifies_with_a_warning_until_it_is_removed(app, client, service,
                                                                        inspect):
    token = service_token(client, service)
    kid = verdict(inspect, token)["key"]["kid"]
    with app.app_context():
        rotate(force=True)
        db.session.commit()
    document = verdict(inspect, token)
    assert document["valid"] is True
    assert document["key"] == {"kid": kid, "alg": "RS256", "state": "retired"}
    assert codes(document, "warnings") == ["retired_key"]
    assert_messages(document, [
        f"signed by a retired key \\({kid}, retired {SECONDS_AGO}\\): it verifies only while "
        "the key stays in the JWKS"], "warnings")
    result = inspect("--", token)
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[:2] == ["VALID: access token", "Warnings:"]
    assert re.fullmatch(f"  - signed by a retired key \\({kid}, retired {SECONDS_AGO}\\): .*",
                        lines[2]), lines[2]
    with app.app_context():
        revoke_key(kid)
        db.session.commit()
    assert codes(verdict(inspect, token)) == ["unknown_kid"]


def test_not_a_token_at_all(inspect):
    assert messages(verdict(inspect, "a.b")) == [
        "not a JWT: expected three dot-separated base64url parts, the first a JSON header"]
    assert codes(verdict(inspect, "a.b.c.d.e")) == ["encrypted"]
    document = verdict(inspect, f"{segment({'alg': 'RS256'})}.!!.x")
    assert messages(document) == [
        "the payload is not a base64url-encoded JSON object",
        "no kid in the header (this provider always names its key)",
        "no typ in the header: access tokens carry typ at+jwt"]
    document = verdict(inspect, "not-a-token-we-know")
    assert document == {"valid": False, "kind": "unknown", "header": None, "claims": None,
                        "problems": [{"code": "unknown_token", "message": (
                            "not a JWT, and not a refresh token this provider holds (never "
                            "issued here, or purged)")}],
                        "warnings": [], "key": None}


# --- refresh tokens ------------------------------------------------------------------


def assert_no_secrets(result: Result, *tokens: str) -> None:
    for token in tokens:
        for secret in (token, digests.digest(token)):
            assert secret not in result.stdout and secret not in result.stderr


def family(app) -> RefreshTokenFamily:
    with app.app_context():
        return db.session.scalar(db.select(RefreshTokenFamily))


def test_a_live_refresh_token_is_explained_without_its_digest(app, client, browser, rp, inspect):
    body = sign_in(client, browser, rp, scope=OFFLINE)
    token = body["refresh_token"]
    # refresh tokens are random: one in 64 starts with "-", which only "--" keeps a token
    result = inspect("--json", "--", token)
    assert result.exit_code == 0, (result.stdout, result.stderr)
    assert_no_secrets(result, token)
    document = json.loads(result.stdout)
    assert document["kind"] == "refresh_token" and document["valid"] is True
    assert document["header"] is None and document["claims"] is None
    details = document["refresh_token"]
    expected = family(app)
    assert details["status"] == "live"
    assert details["family_id"] == expected.id
    assert details["client_id"] == rp["client_id"] and details["client_name"] == "Web app"
    assert details["username"] == "alice" and details["user_id"] == expected.user_id
    assert details["scope"] == "openid email offline_access"
    assert details["offline_access"] is True and details["used_at"] is None
    assert details["family_revoked_at"] is None
    assert details["expires_at"] - details["issued_at"] == 14 * 86400
    text = inspect("--", token)
    assert text.exit_code == 0
    assert_no_secrets(text, token)
    lines = text.stdout.splitlines()
    assert lines[0] == "VALID: refresh token"
    assert f"  family          {expected.id}" in lines
    assert "  user            alice" in lines
    assert "  offline access  yes" in lines


def test_a_used_refresh_token_inside_and_outside_the_grace_window(app, client, browser, rp,
                                                                  inspect):
    first = sign_in(client, browser, rp, scope=OFFLINE)["refresh_token"]
    second = refresh(client, rp, first)
    assert second.status_code == 200
    document = verdict(inspect, first)
    assert codes(document) == ["used"]
    assert_messages(document, [f"already used: rotated {SECONDS_AGO}; presenting it again "
                               "outside the grace window revokes the whole family"])
    assert messages(document, "warnings") == [
        "still inside the 10 s grace window: a repeat by the same client gets the same "
        "successor back"]
    with clock.advance(app, 11):
        document = verdict(inspect, first)
        assert codes(document) == ["used"] and document["warnings"] == []
        assert document["refresh_token"]["status"] == "used"
    # inspecting is read-only: the family was not revoked by looking at a used token
    assert family(app).revoked_at is None
    assert verdict(inspect, second.get_json()["refresh_token"])["valid"] is True


def test_a_refresh_token_of_a_revoked_family_says_why(app, client, browser, rp, inspect):
    first = sign_in(client, browser, rp, scope=OFFLINE)["refresh_token"]
    successor = refresh(client, rp, first).get_json()["refresh_token"]
    with clock.advance(app, 60):
        assert refresh(client, rp, first).status_code == 400  # reuse: the family is revoked
        result = inspect("--json", "--", successor)
        used = verdict(inspect, first)
    assert_no_secrets(result, first, successor)
    document = json.loads(result.stdout)
    assert result.exit_code == 1
    assert_messages(document, [f"its family was revoked {SECONDS_AGO}: a used refresh token "
                               "was presented again \\(possible theft\\)"])
    assert document["refresh_token"]["family_revoked_reason"] == "refresh_token_reuse"
    assert codes(used) == ["used", "family_revoked"]
    assert messages(used)[0] == "already used: rotated 1 minute ago"


def test_refresh_tokens_that_expired_or_lost_their_session_or_user(app, client, browser, rp,
                                                                   inspect):
    offline = sign_in(client, browser, rp, scope=OFFLINE)["refresh_token"]
    bound = sign_in(client, browser, rp, scope="openid email")["refresh_token"]
    with app.app_context():
        for session in db.session.scalars(db.select(LoginSession)):
            session.ended_at = clock.now()
        db.session.commit()
    assert verdict(inspect, offline)["valid"] is True
    document = verdict(inspect, bound)
    assert messages(document) == ["the sign-in session it is bound to has ended, and "
                                  "offline_access was not granted"]
    with app.app_context():
        family_id = db.session.scalar(db.select(RefreshToken.family_id).where(
            RefreshToken.token_digest == digests.digest(bound)))
        assert db.session.get(RefreshTokenFamily, family_id).revoked_at is None  # read-only
    with clock.advance(app, 15 * 86400):
        document = verdict(inspect, offline)
    assert_messages(document, [f"expired 24 hours ago {STAMP}"])
    with app.app_context():
        management.set_user_disabled("alice", True)
    document = verdict(inspect, offline)
    assert_messages(document, [f"its family was revoked {SECONDS_AGO}: the user was disabled",
                               "the user alice is disabled"])


# --- usage ---------------------------------------------------------------------------


def test_usage_errors_exit_2_with_one_line(inspect):
    for args, stdin in (((), ""), (("-",), "\n"), (("   ",), None),
                        ((), "x" * 70000 + "\n")):
        result = inspect(*args, stdin=stdin)
        assert result.exit_code == 2, (args, result.stdout, result.stderr)
        assert result.stdout == ""
        lines = result.stderr.splitlines()
        assert len(lines) == 1 and lines[0].startswith("provider: "), result.stderr
    assert inspect().stderr == "provider: no token given: pass TOKEN or pipe it on stdin\n"
    # an opaque token may start with "-": after "--" it is a token, not an option
    result = inspect("--json", "--", "-starts-with-a-dash")
    assert result.exit_code == 1 and codes(json.loads(result.stdout)) == ["unknown_token"]


def test_an_uninitialised_instance_is_a_one_line_error(tmp_path, monkeypatch):
    for name in provider_config.ENVIRONMENT:
        monkeypatch.delenv(name, raising=False)
    result = CliRunner().invoke(main, ["token", "inspect", "a.b.c"],
                                env={"PROVIDER_INSTANCE_PATH": str(tmp_path / "none")})
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.startswith("provider: the instance folder ")
    assert len(result.stderr.splitlines()) == 1
