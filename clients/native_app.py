"""A native-app style OpenID Connect client (RFC 8252): authorization code + PKCE
through the system browser, loopback redirect, no client secret.

Standard library only and no import of ``provider``: it talks to the provider
over HTTP, finding every endpoint through discovery.

    python clients/native_app.py --client-id CLIENT_ID [--issuer http://127.0.0.1:5000]

It prints the authorization URL (open it in a browser, sign in, allow), waits
on http://127.0.0.1:8765/callback for the redirect, checks ``state`` and
``iss``, redeems the code with the PKCE verifier, and prints the token
response and the UserInfo answer.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import secrets
import sys
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, HTTPServer


def fetch_json(url: str, data: dict | None = None, token: str | None = None) -> dict:
    if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
        raise ValueError(f"not an http(s) URL: {url}")
    body = urllib.parse.urlencode(data).encode() if data is not None else None
    request = urllib.request.Request(url, data=body)  # noqa: S310 - scheme checked above
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - http(s) only
        return json.load(response)


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    return verifier, challenge.decode().rstrip("=")


def wait_for_redirect(port: int) -> dict[str, str]:
    received: dict[str, str] = {}

    class Callback(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the http.server API
            query = urllib.parse.urlsplit(self.path).query
            received.update(dict(urllib.parse.parse_qsl(query)))
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.end_headers()
            self.wfile.write(b"Done. You can close this window and return to the terminal.\n")

        def log_message(self, *args: object) -> None:
            pass

    with HTTPServer(("127.0.0.1", port), Callback) as server:
        while not received:
            server.handle_request()
    return received


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--issuer", default="http://127.0.0.1:5000")
    parser.add_argument("--client-id", required=True)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--scope", default="openid profile email")
    args = parser.parse_args()

    metadata = fetch_json(f"{args.issuer}/.well-known/openid-configuration")
    redirect_uri = f"http://127.0.0.1:{args.port}/callback"
    verifier, challenge = pkce_pair()
    state, nonce = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
    query = urllib.parse.urlencode({
        "response_type": "code", "client_id": args.client_id, "redirect_uri": redirect_uri,
        "scope": args.scope, "state": state, "nonce": nonce,
        "code_challenge": challenge, "code_challenge_method": "S256",
    })
    print(f"Open this URL in your browser:\n\n  {metadata['authorization_endpoint']}?{query}\n")
    result = wait_for_redirect(args.port)
    if result.get("state") != state or result.get("iss") != metadata["issuer"]:
        print(f"refusing the response: state or iss mismatch: {result}", file=sys.stderr)
        return 1
    if "error" in result:
        print(f"authorization failed: {result}", file=sys.stderr)
        return 1
    tokens = fetch_json(metadata["token_endpoint"], {
        "grant_type": "authorization_code", "code": result["code"], "client_id": args.client_id,
        "redirect_uri": redirect_uri, "code_verifier": verifier,
    })
    print(json.dumps(tokens, indent=2))
    userinfo = fetch_json(metadata["userinfo_endpoint"], token=tokens["access_token"])
    print(json.dumps(userinfo, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
