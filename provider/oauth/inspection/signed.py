"""Signed tokens (JWS compact serialization, RFC 7515) judged as this
provider's access tokens: the algorithm from an explicit list and the key
named by ``kid`` in the published JWKS (RFC 8725 §3.1, §3.2), ``typ`` at+jwt
(RFC 9068 §4, RFC 8725 §3.11), ``iss``, ``aud``, ``exp``/``nbf``/``iat``
(RFC 7519 §4.1, RFC 9068 §2.2) and the deny-list.

Unlike ``tokens.verify_access_token``, which stops at the first failure, every
check runs, so the verdict names every reason a token is refused.
"""

from __future__ import annotations

import base64
import binascii
import json
import re

from flask import current_app
from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import JWKRegistry

from ... import clock, denylist, keys
from ...extensions import db
from ...models import SigningKey
from ...models.signing_key import NEXT, RETIRED
from ..tokens import ACCESS_TOKEN_TYPES, CLOCK_SKEW, recalled_by_holder
from .verdict import ACCESS_TOKEN, ID_TOKEN, UNKNOWN, Verdict, relative, stamp

MAX_JWT_LENGTH = 8192  # as verify_access_token
# The algorithms a signature is ever checked with, and only the one its JWKS key names.
# Never "none", never a MAC (an RSA public key used as an HMAC secret: RFC 8725 §2.1).
VERIFIABLE_ALGORITHMS = ("RS256", "PS256", "ES256", "EdDSA")
SEGMENT = re.compile(r"[A-Za-z0-9_-]+")
ID_TOKEN_CLAIMS = ("iss", "sub", "aud", "exp", "iat")  # OIDC Core §2: always present
RFC9068_CLAIMS = ("sub", "client_id", "iat")  # checked here; iss, exp, aud, jti have own checks


def decode_segment(text: str) -> dict | None:
    """A base64url (unpadded) JSON object, or None."""
    if not SEGMENT.fullmatch(text) or len(text) % 4 == 1:
        return None
    try:
        value = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
    except (ValueError, binascii.Error, RecursionError):
        return None
    return value if isinstance(value, dict) else None


def token_kind(header: dict, claims: dict | None) -> str:
    """What the token says it is. Access tokens carry ``typ`` at+jwt (RFC 9068);
    ID tokens are plain ``JWT`` with the OIDC claims and no ``client_id``/``scope``."""
    typ = header.get("typ")
    if isinstance(typ, str) and typ.lower() in ACCESS_TOKEN_TYPES:
        return ACCESS_TOKEN
    plain = typ is None or (isinstance(typ, str) and typ.upper() == "JWT")
    if plain and claims is not None and all(name in claims for name in ID_TOKEN_CLAIMS) \
            and "client_id" not in claims and "scope" not in claims:
        return ID_TOKEN
    return UNKNOWN


def inspect_jwt(token: str) -> Verdict:
    parts = token.split(".")
    if len(parts) == 5:
        verdict = Verdict()
        verdict.problem("encrypted", "an encrypted token (JWE): this provider issues none and "
                                     "cannot read it")
        return verdict
    header = decode_segment(parts[0]) if len(parts) == 3 else None
    if header is None:
        verdict = Verdict()
        verdict.problem("malformed", "not a JWT: expected three dot-separated base64url parts, "
                                     "the first a JSON header")
        return verdict
    claims = decode_segment(parts[1])
    verdict = Verdict(kind=token_kind(header, claims), header=header, claims=claims)
    if claims is None:
        verdict.problem("malformed", "the payload is not a base64url-encoded JSON object")
    if len(token) > MAX_JWT_LENGTH:
        verdict.problem("too_long", f"longer than {MAX_JWT_LENGTH} characters: the provider "
                                    "refuses it unread")
    check_signature(verdict, token)
    check_type(verdict)
    if claims is not None:
        check_claims(verdict, claims)
    return verdict


# --- the signature -------------------------------------------------------------------


def check_signature(verdict: Verdict, token: str) -> None:
    header = verdict.header
    alg = header.get("alg")
    if not isinstance(alg, str) or not alg:
        verdict.problem("no_alg", "no alg in the header")
        return
    if alg.lower() == "none":
        verdict.problem("alg_none", "alg none is never accepted (the token is unsigned)")
        return
    accepted = tuple(keys.SUPPORTED_ALGORITHMS)
    if alg not in accepted:
        verdict.problem("alg_not_accepted", f"alg {alg} is not accepted (this provider "
                                            f"accepts {', '.join(accepted)})")
    if "crit" in header:
        verdict.problem("crit", f"critical header parameters not understood: {header['crit']}")
        return
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        verdict.problem("no_kid", "no kid in the header (this provider always names its key)")
        return
    jwk = next((k for k in keys.public_jwks()["keys"] if k.get("kid") == kid), None)
    if jwk is None:
        verdict.problem("unknown_kid", f"unknown kid {kid} (not in the JWKS), so the "
                                       "signature cannot be checked")
        return
    if jwk.get("alg") != alg:
        verdict.problem("alg_mismatch", f"alg {alg} does not match the alg of key {kid} "
                                        f"({jwk.get('alg')})")
        return
    if alg not in VERIFIABLE_ALGORITHMS:
        verdict.problem("alg_not_accepted", f"alg {alg} cannot be checked here")
        return
    row = db.session.get(SigningKey, kid)
    state = row.state if row is not None else "unknown"
    verdict.key = {"kid": kid, "alg": alg, "state": state}
    if not signature_verifies(token, jwk, alg):
        verdict.problem("bad_signature", f"signature does not verify with key {kid}")
        return
    if state == RETIRED:
        when = f" {relative(row.retired_at, clock.now())}" if row.retired_at else ""
        verdict.warn("retired_key", f"signed by a retired key ({kid}, retired{when}): it "
                                    "verifies only while the key stays in the JWKS")
    elif state == NEXT:
        verdict.warn("next_key", f"signed by key {kid}, which is not active yet (state next)")


def signature_verifies(token: str, jwk: dict, alg: str) -> bool:
    try:
        jws.deserialize_compact(token, JWKRegistry.import_key(jwk), algorithms=[alg])
    except (JoseError, ValueError):
        return False
    return True


# --- type and claims -----------------------------------------------------------------


def check_type(verdict: Verdict) -> None:
    typ = verdict.header.get("typ")
    if verdict.kind == ACCESS_TOKEN:
        return
    shown = "absent" if typ is None else f"{typ}"
    if verdict.kind == ID_TOKEN:
        verdict.problem("id_token", f"ID token used as an access token: typ is {shown}, "
                                    "not at+jwt")
    elif typ is None:
        verdict.problem("wrong_typ", "no typ in the header: access tokens carry typ at+jwt")
    else:
        verdict.problem("wrong_typ", f"typ is {shown}, not at+jwt")


def check_claims(verdict: Verdict, claims: dict) -> None:
    config = current_app.config
    now = clock.now()
    issuer = config["PROVIDER_ISSUER"]
    iss = claims.get("iss")
    if iss is None:
        verdict.problem("missing_claim", "no iss claim (issuer)")
    elif iss != issuer:
        verdict.problem("wrong_issuer", f"issuer is {iss}, expected {issuer}")
    _check_audience(verdict, claims.get("aud"),
                    [issuer, config["PROVIDER_DEFAULT_AUDIENCE"]])
    _check_times(verdict, claims, now)
    if verdict.kind != ID_TOKEN:  # the ID-token problem already covers what it lacks
        for name in RFC9068_CLAIMS:
            if name not in claims:
                verdict.problem("missing_claim", f"no {name} claim (RFC 9068 requires one)")
        jti = claims.get("jti")
        if not isinstance(jti, str) or not jti:
            verdict.problem("missing_claim", "no jti claim, so revocation cannot be checked")
        else:
            _check_revocation(verdict, jti)
        # only for a token that is otherwise ours and good: the holder's word is the last
        recalled = recalled_by_holder(claims) if verdict.kind == ACCESS_TOKEN \
            and verdict.valid else None
        if recalled:
            verdict.problem("revoked", f"revoked: {recalled}")


def _check_revocation(verdict: Verdict, jti: str) -> None:
    try:
        denied = denylist.is_denied(jti)
    except denylist.DenyListUnavailable:  # the provider refuses the token then, and so do we
        verdict.problem("denylist_unavailable", "revocation cannot be checked: the deny-list "
                                                "is unavailable")
        return
    if denied:
        verdict.problem("revoked", f"revoked (jti {jti} is on the deny-list)")


def _check_audience(verdict: Verdict, aud, expected: list[str]) -> None:
    if aud is None:
        verdict.problem("missing_claim", "no aud claim (audience)")
        return
    audiences = aud if isinstance(aud, list) else [aud]
    if not set(map(str, audiences)) & set(expected):
        wanted = " or ".join(dict.fromkeys(expected))
        shown = ", ".join(map(str, audiences)) or "empty"
        verdict.problem("wrong_audience", f"audience is {shown}, expected {wanted}")


def _check_times(verdict: Verdict, claims: dict, now: int) -> None:
    exp = claims.get("exp")
    if exp is None:
        verdict.problem("missing_claim", "no exp claim (expiry)")
    elif not _seconds(exp):
        verdict.problem("bad_claim", f"exp is {exp!r}, not a whole number of seconds")
    elif exp <= now:
        verdict.problem("expired", f"expired {relative(exp, now)} ({stamp(exp)})")
    nbf = claims.get("nbf")
    if nbf is not None and not _seconds(nbf):
        verdict.problem("bad_claim", f"nbf is {nbf!r}, not a whole number of seconds")
    elif nbf is not None and nbf > now + CLOCK_SKEW:
        verdict.problem("not_yet_valid", f"not yet valid: usable {relative(nbf, now)} "
                                         f"({stamp(nbf)})")
    iat = claims.get("iat")
    if iat is not None and not _seconds(iat):
        verdict.problem("bad_claim", f"iat is {iat!r}, not a whole number of seconds")
    elif iat is not None and iat > now + CLOCK_SKEW:
        verdict.problem("issued_in_future", f"issued in the future: iat is "
                                            f"{relative(iat, now)} ({stamp(iat)})")


def _seconds(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
