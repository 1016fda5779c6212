"""Smoke test of bench/node/server.mjs (node-oidc-provider) over HTTP.

    .venv/bin/python bench/node/smoke.py

Starts the node server on a free loopback port, walks through the flows the
benchmark uses, prints a short report and exits non-zero if a check fails.
A second, short-lived server with CC_TOKEN_FORMAT=opaque checks introspection of
client_credentials tokens, which oidc-provider refuses for JWT access tokens.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
import select
import signal
import socket
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit

import requests

HERE = Path(__file__).resolve().parent
SERVICE = (
    "bench-service",
    os.environ.get("SERVICE_SECRET", "service-secret-0123456789abcdef0123456789abcdef"),
)
WEB = ("bench-web", os.environ.get("WEB_SECRET", "web-secret-0123456789abcdef0123456789abcdef"))
REDIRECT_URI = "http://127.0.0.1:9/cb"
TIMEOUT = 10

failures: list[str] = []


def check(ok: bool, label: str, detail: str = "") -> bool:
    print(f"[{'ok' if ok else 'FAIL'}] {label}{': ' + detail if detail else ''}")
    if not ok:
        failures.append(label)
    return ok


def note(label: str, detail: str) -> None:
    print(f"[note] {label}: {detail}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def b64url_json(part: str) -> dict:
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def jwt_parts(token: str) -> tuple[dict, dict] | None:
    parts = token.split(".")
    if len(parts) != 3:
        return None
    return b64url_json(parts[0]), b64url_json(parts[1])


def start(extra_env: dict[str, str] | None = None) -> tuple[subprocess.Popen, dict]:
    port = free_port()
    env = {**os.environ, "PORT": str(port), "NODE_ENV": "production", **(extra_env or {})}
    proc = subprocess.Popen(
        ["node", str(HERE / "server.mjs")],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    ready, _, _ = select.select([proc.stdout], [], [], 15)
    line = proc.stdout.readline() if ready else ""
    if not line:
        proc.kill()
        raise SystemExit(f"server did not start: {proc.stderr.read()}")
    return proc, json.loads(line)


def stop(proc: subprocess.Popen) -> tuple[int, str]:
    proc.send_signal(signal.SIGTERM)
    try:
        rc = proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
        rc = proc.wait()
    rest_out = proc.stdout.read()
    err = proc.stderr.read()
    return rc, rest_out + err


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = (
        base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    )
    return verifier, challenge


def authorize(
    session: requests.Session, meta: dict, challenge: str, scope: str
) -> tuple[str | None, list[str]]:
    """GET the authorization endpoint and follow redirects by hand until the
    redirect_uri; returns the code and the Location of every hop."""
    url = (
        meta["authorization_endpoint"]
        + "?"
        + urlencode(
            {
                "client_id": WEB[0],
                "response_type": "code",
                "redirect_uri": REDIRECT_URI,
                "scope": scope,
                "state": secrets.token_urlsafe(8),
                "nonce": secrets.token_urlsafe(8),
                "code_challenge": challenge,
                "code_challenge_method": "S256",
            }
        )
    )
    hops: list[str] = []
    for _ in range(10):
        resp = session.get(url, allow_redirects=False, timeout=TIMEOUT)
        if resp.status_code not in (301, 302, 303, 307, 308):
            print(f"       authorize stopped at {resp.status_code} {url}: {resp.text[:300]}")
            return None, hops
        location = urljoin(url, resp.headers["Location"])
        hops.append(f"{resp.status_code} {urlsplit(location).path}")
        if location.startswith(REDIRECT_URI):
            query = parse_qs(urlsplit(location).query)
            if "error" in query:
                print(f"       authorize error: {query}")
            return query.get("code", [None])[0], hops
        url = location
    return None, hops


def token(meta: dict, auth: tuple[str, str], **form: str) -> requests.Response:
    return requests.post(meta["token_endpoint"], data=form, auth=auth, timeout=TIMEOUT)


def main() -> int:
    node = subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip()
    package = json.loads((HERE / "node_modules/oidc-provider/package.json").read_text())
    print(f"node {node}, oidc-provider {package['version']}")
    proc, meta = start()
    try:
        run(meta)
    finally:
        rc, output = stop(proc)
        check(rc == 0, "server exits cleanly on SIGTERM", f"exit code {rc}")
        if output.strip():
            note(
                "server stderr/stdout after the JSON line", " | ".join(output.strip().splitlines())
            )

    proc, meta = start({"CC_TOKEN_FORMAT": "opaque"})
    try:
        resp = token(meta, SERVICE, grant_type="client_credentials", scope="api:read")
        opaque = resp.json().get("access_token", "")
        check(
            resp.status_code == 200 and opaque.count(".") == 0,
            "CC_TOKEN_FORMAT=opaque: client_credentials returns an opaque token",
            f"{len(opaque)} chars",
        )
        resp = requests.post(
            meta["introspection_endpoint"], data={"token": opaque}, auth=SERVICE, timeout=TIMEOUT
        )
        body = resp.json()
        check(
            resp.status_code == 200 and body.get("active") is True,
            "CC_TOKEN_FORMAT=opaque: introspection of the client_credentials token is active",
            json.dumps(
                {k: body.get(k) for k in ("active", "client_id", "aud", "scope", "token_type")}
            ),
        )
    finally:
        rc, _ = stop(proc)
        check(rc == 0, "second server exits cleanly on SIGTERM", f"exit code {rc}")

    print()
    print("FAILED: " + ", ".join(failures) if failures else "all checks passed")
    return 1 if failures else 0


def run(meta: dict) -> None:
    print(f"server: {json.dumps(meta)}")

    # Discovery and JWKS.
    resp = requests.get(meta["issuer"] + "/.well-known/openid-configuration", timeout=TIMEOUT)
    check(
        resp.status_code == 200 and resp.json().get("issuer") == meta["issuer"],
        "discovery answers",
        f"{resp.status_code}, {len(resp.json())} fields",
    )
    resp = requests.get(meta["jwks_uri"], timeout=TIMEOUT)
    keys = resp.json().get("keys", []) if resp.ok else []
    check(
        resp.status_code == 200
        and any(k.get("kty") == "RSA" and k.get("alg") == "RS256" for k in keys)
        and not any("d" in k for k in keys),
        "JWKS answers with a public RS256 key",
        json.dumps(
            [{k: v for k, v in key.items() if k in ("kty", "alg", "use", "kid")} for key in keys]
        ),
    )

    # client_credentials -> RFC 9068 JWT access token.
    resp = token(meta, SERVICE, grant_type="client_credentials", scope="api:read")
    body = resp.json()
    cc_token = body.get("access_token", "")
    parsed = jwt_parts(cc_token)
    if check(
        resp.status_code == 200 and parsed is not None,
        "client_credentials returns a JWT access token",
        json.dumps({k: v for k, v in body.items() if k != "access_token"}),
    ):
        header, claims = parsed
        check(
            header.get("typ") == "at+jwt" and header.get("alg") == "RS256",
            "JWT header",
            json.dumps(header),
        )
        check(
            claims.get("aud") == "urn:bench:api" and claims.get("scope") == "api:read",
            "JWT claims",
            json.dumps(claims),
        )
    resp = token(meta, SERVICE, grant_type="client_credentials")
    body = resp.json()
    parsed = jwt_parts(body.get("access_token", ""))
    check(
        resp.status_code == 200 and parsed is not None,
        "client_credentials without scope returns a JWT",
        f"scope claim {parsed[1].get('scope')!r}, response scope {body.get('scope')!r}"
        if parsed
        else resp.text[:200],
    )

    # Authorization code flow with PKCE S256 through the auto-approving interaction.
    session = requests.Session()
    scope = "openid profile email offline_access"
    verifier, challenge = pkce()
    code, hops = authorize(session, meta, challenge, scope)
    check(
        code is not None,
        "first authorize (no session) reaches the redirect_uri with a code",
        f"{len(hops)} redirects: " + " -> ".join(hops),
    )
    tokens: dict = {}
    if code:
        resp = token(
            meta,
            WEB,
            grant_type="authorization_code",
            code=code,
            redirect_uri=REDIRECT_URI,
            code_verifier=verifier,
        )
        tokens = resp.json()
        check(
            resp.status_code == 200
            and all(k in tokens for k in ("access_token", "refresh_token", "id_token")),
            "code exchange returns access, refresh and ID tokens",
            json.dumps(
                {
                    k: (v if k in ("scope", "expires_in", "token_type") else f"<{len(v)} chars>")
                    for k, v in tokens.items()
                }
            ),
        )
        id_parts = jwt_parts(tokens.get("id_token", ""))
        if id_parts:
            note("ID token", f"header {json.dumps(id_parts[0])}, claims {sorted(id_parts[1])}")
        at = tokens.get("access_token", "")
        note("code-flow access token", "JWT" if jwt_parts(at) else f"opaque, {len(at)} chars")

    verifier2, challenge2 = pkce()
    code2, hops2 = authorize(session, meta, challenge2, scope)
    check(
        code2 is not None and len(hops2) == 1,
        "second authorize (same session) returns a code directly",
        f"{len(hops2)} redirect(s): " + " -> ".join(hops2),
    )
    if code2:
        resp = token(
            meta,
            WEB,
            grant_type="authorization_code",
            code=code2,
            redirect_uri=REDIRECT_URI,
            code_verifier=verifier2,
        )
        check(
            resp.status_code == 200 and "refresh_token" in resp.json(), "second code exchanges too"
        )

    # Without PKCE the authorization request must fail.
    resp = session.get(
        meta["authorization_endpoint"]
        + "?"
        + urlencode(
            {
                "client_id": WEB[0],
                "response_type": "code",
                "redirect_uri": REDIRECT_URI,
                "scope": "openid",
            }
        ),
        allow_redirects=False,
        timeout=TIMEOUT,
    )
    location = resp.headers.get("Location", "")
    check(
        "error=invalid_request" in location,
        "authorize without PKCE is refused",
        parse_qs(urlsplit(location).query).get("error_description", [resp.text[:120]])[0],
    )

    # UserInfo with the code-flow access token. (Replaying a code or a rotated
    # refresh token makes oidc-provider revoke the whole grant, which both
    # codes above share, so those checks come last.)
    if tokens.get("access_token"):
        resp = requests.get(
            meta["userinfo_endpoint"],
            headers={"Authorization": f"Bearer {tokens['access_token']}"},
            timeout=TIMEOUT,
        )
        check(
            resp.status_code == 200 and resp.json().get("sub") == "bench-user",
            "UserInfo answers 200",
            resp.text[:200],
        )

    # Introspection.
    resp = requests.post(
        meta["introspection_endpoint"], data={"token": cc_token}, auth=SERVICE, timeout=TIMEOUT
    )
    if resp.status_code == 200 and resp.json().get("active") is True:
        check(True, "introspection of the client_credentials JWT is active")
    else:
        note(
            "LIMITATION introspection of the client_credentials JWT (bench-service Basic auth)",
            f"{resp.status_code} {resp.text[:200]}",
        )
    if tokens.get("access_token"):
        resp = requests.post(
            meta["introspection_endpoint"],
            data={"token": tokens["access_token"]},
            auth=SERVICE,
            timeout=TIMEOUT,
        )
        body = resp.json()
        check(
            resp.status_code == 200 and body.get("active") is True,
            "introspection of the (opaque) code-flow access token by bench-service is active",
            json.dumps(
                {k: body.get(k) for k in ("active", "client_id", "sub", "scope", "token_type")}
            ),
        )

    # Refresh token rotation.
    old = tokens.get("refresh_token")
    if old:
        resp = token(meta, WEB, grant_type="refresh_token", refresh_token=old)
        new = resp.json().get("refresh_token")
        check(
            resp.status_code == 200 and new and new != old,
            "refresh returns a new refresh token",
            json.dumps(
                {
                    k: (v if k in ("scope", "expires_in") else f"<{len(v)} chars>")
                    for k, v in resp.json().items()
                }
            ),
        )
        resp = token(meta, WEB, grant_type="refresh_token", refresh_token=new)
        newer = resp.json().get("refresh_token")
        check(
            resp.status_code == 200 and newer and newer != new,
            "the new refresh token rotates again",
        )
        resp = token(meta, WEB, grant_type="refresh_token", refresh_token=old)
        check(
            resp.status_code == 400 and resp.json().get("error") == "invalid_grant",
            "the old refresh token fails afterwards",
            resp.text[:120],
        )
        resp = token(meta, WEB, grant_type="refresh_token", refresh_token=newer)
        check(
            resp.status_code == 400,
            "the latest refresh token fails after the old one was replayed "
            "(oidc-provider revokes the grant on reuse)",
            resp.text[:120],
        )

    if code:
        resp = token(
            meta,
            WEB,
            grant_type="authorization_code",
            code=code,
            redirect_uri=REDIRECT_URI,
            code_verifier=verifier,
        )
        check(resp.status_code == 400, "the first code cannot be redeemed twice", resp.text[:120])


if __name__ == "__main__":
    sys.exit(main())
