"""Resource-server side: verify the provider's access tokens offline (RFC 9068).

No import of ``provider``: it fetches discovery and the JWKS over HTTP and
caches the JWKS for as long as its ``Cache-Control: max-age`` allows. The
provider publishes every key as ``next`` for longer than that max-age before it
signs with it, so a verifier that honours the header never meets an unknown
``kid`` during a rotation and need not refetch on one (``refetch_unknown_kid``
exists for verifiers that cannot keep that promise, rate-limited).

Needs PyJWT with its crypto extra (``pip install 'pyjwt[crypto]'``).

    verifier = AccessTokenVerifier.discover("https://login.example.com",
                                            audience="https://api.example.com")
    claims = verifier.verify(token)   # raises InvalidToken with the reason
"""

from __future__ import annotations

import json
import re
import threading
import time
import urllib.request
from urllib.parse import urlsplit

import jwt

ALGORITHMS = ["RS256", "PS256", "ES256", "EdDSA"]
ACCESS_TOKEN_TYPES = {"at+jwt", "application/at+jwt"}
REQUIRED_CLAIMS = ["iss", "sub", "aud", "exp", "iat", "jti", "client_id"]


class InvalidToken(Exception):
    """The token must be refused; the message says why."""


def _get_json(url: str) -> tuple[dict, int]:
    if urlsplit(url).scheme not in ("http", "https"):
        raise ValueError(f"not an http(s) URL: {url}")
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - scheme checked
        match = re.search(r"max-age=(\d+)", response.headers.get("Cache-Control", ""))
        return json.load(response), int(match.group(1)) if match else 0


class JwksCache:
    """The provider's JWKS, re-fetched when its max-age has passed."""

    def __init__(self, jwks_uri: str, refetch_unknown_kid: bool = False,
                 min_refetch_interval: float = 30.0) -> None:
        self.jwks_uri = jwks_uri
        self.refetch_unknown_kid = refetch_unknown_kid
        self.min_refetch_interval = min_refetch_interval
        self._lock = threading.Lock()
        self._keys: dict[str, jwt.PyJWK] = {}
        self._expires = 0.0
        self._fetched = 0.0
        self.fetches = 0

    def key(self, kid: str) -> jwt.PyJWK:
        with self._lock:
            now = time.monotonic()
            stale = now >= self._expires
            unknown = (kid not in self._keys and self.refetch_unknown_kid
                       and now - self._fetched >= self.min_refetch_interval)
            if stale or unknown:
                self._fetch(now)
            try:
                return self._keys[kid]
            except KeyError:
                raise InvalidToken(f"unknown kid {kid!r}") from None

    def _fetch(self, now: float) -> None:
        document, max_age = _get_json(self.jwks_uri)
        self._keys = {jwk["kid"]: jwt.PyJWK(jwk) for jwk in document["keys"] if "kid" in jwk}
        self._fetched, self._expires = now, now + max_age
        self.fetches += 1


class AccessTokenVerifier:
    def __init__(self, issuer: str, audience: str, jwks: JwksCache, leeway: int = 30) -> None:
        self.issuer = issuer
        self.audience = audience
        self.jwks = jwks
        self.leeway = leeway

    @classmethod
    def discover(cls, issuer: str, audience: str | None = None,
                 **jwks_options: object) -> AccessTokenVerifier:
        metadata, _ = _get_json(issuer.rstrip("/") + "/.well-known/openid-configuration")
        return cls(metadata["issuer"], audience or metadata["issuer"],
                   JwksCache(metadata["jwks_uri"], **jwks_options))

    def verify(self, token: str) -> dict:
        """The claims of a valid access token, or InvalidToken."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError as exc:
            raise InvalidToken(f"malformed: {exc}") from None
        if str(header.get("typ", "")).lower() not in ACCESS_TOKEN_TYPES:
            raise InvalidToken("not an access token (typ must be at+jwt)")
        if header.get("alg") not in ALGORITHMS:
            raise InvalidToken(f"algorithm {header.get('alg')!r} not accepted")
        key = self.jwks.key(str(header.get("kid")))
        try:
            return jwt.decode(token, key.key, algorithms=[header["alg"]], issuer=self.issuer,
                              audience=self.audience, leeway=self.leeway,
                              options={"require": REQUIRED_CLAIMS})
        except jwt.InvalidTokenError as exc:
            raise InvalidToken(str(exc)) from None
