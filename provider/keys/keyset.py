"""The key ring: stored signing keys, parsed once and cached per process.

Parsing a private key costs far more than a signature check, so the token
endpoint must not do it per request. Each process keeps the parsed keys and
re-reads the table at most every ``PROVIDER_KEY_CACHE_SECONDS`` seconds, which
bounds how long a key change on another process takes to be seen here.
"""

from __future__ import annotations

import json
import threading
import warnings
from collections.abc import Callable
from dataclasses import dataclass

from flask import current_app
from joserfc.jwk import ECKey, KeySet, OKPKey, RSAKey

from .. import clock
from ..extensions import db
from ..models import SigningKey
from ..models.signing_key import ACTIVE, NEXT, RETIRED
from .encryption import decrypt_private_key, encrypt_private_key

SUPPORTED_ALGORITHMS = ("RS256", "PS256", "ES256", "EdDSA")
# Ed25519 keys sign as "EdDSA" (RFC 8037), the name relying parties recognise today;
# joserfc warns on every use because RFC 9864 prefers "Ed25519". That is a naming
# preference, not a weakness, so the warning is silenced rather than logged per token.
warnings.filterwarnings("ignore", message="EdDSA is deprecated via RFC 9864")
_GENERATORS = {
    "RS256": lambda: RSAKey.generate_key(2048, private=True),
    "PS256": lambda: RSAKey.generate_key(2048, private=True),
    "ES256": lambda: ECKey.generate_key("P-256", private=True),
    "EdDSA": lambda: OKPKey.generate_key("Ed25519", private=True),
}
PRIVATE_MEMBERS = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"}


def create_signing_key(kek: bytes, alg: str = "RS256", state: str = ACTIVE) -> SigningKey:
    """Generate a key, store its public JWK and its encrypted private JWK."""
    if alg not in _GENERATORS:
        raise ValueError(f"unsupported signing algorithm {alg!r}")
    key = _GENERATORS[alg]()
    kid = key.thumbprint()
    public = {**key.as_dict(private=False), "kid": kid, "use": "sig", "alg": alg}
    private = json.dumps({**key.as_dict(private=True), "kid": kid, "alg": alg}).encode()
    row = SigningKey(
        kid=kid,
        alg=alg,
        state=state,
        public_jwk=public,
        private_jwk_encrypted=encrypt_private_key(kek, kid, private),
        # set here, not left to the column default at flush: rotate reports when a new
        # next key may sign from its created_at before anything is flushed
        created_at=clock.now(),
        activated_at=clock.now() if state == ACTIVE else None,
    )
    db.session.add(row)
    return row


def key_encryption_keys() -> tuple[bytes, ...]:
    """The current KEK first, then any previous ones still listed in configuration."""
    config = current_app.config
    return (config["PROVIDER_KEK"], *config.get("PROVIDER_PREVIOUS_KEKS", ()))


@dataclass(frozen=True)
class KeyRing:
    """Parsed keys: the signing key per algorithm and every publishable public key."""

    signing: dict[str, object]  # alg -> private joserfc key
    verification: KeySet  # public keys of every next/active/retired key
    public_jwks: dict

    def signing_key(self, alg: str):
        try:
            return self.signing[alg]
        except KeyError:
            raise LookupError(f"no active signing key for {alg}") from None

    @property
    def algorithms(self) -> list[str]:
        return sorted(self.signing)


class _KeyRingCache:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._ring: KeyRing | None = None
        self._loaded_at = 0.0
        self._fingerprint: tuple = ()

    def get(self) -> KeyRing:
        ttl = current_app.config["PROVIDER_KEY_CACHE_SECONDS"]
        ring = self._ring
        if ring is not None and clock.now() - self._loaded_at < ttl:
            return ring
        with self._lock:
            if self._ring is None or clock.now() - self._loaded_at >= ttl:
                self._refresh()
            return self._ring  # type: ignore[return-value]

    def currency(self) -> tuple[float, Callable[[], bool]]:
        """How long the ring just returned by ``get`` stays the current one, at least
        (``clock.now`` counts whole seconds, so one is taken off), and a check that turns
        False as soon as it is replaced or invalidated."""
        ttl = current_app.config["PROVIDER_KEY_CACHE_SECONDS"]
        ring = self._ring
        seconds = max(self._loaded_at + ttl - clock.now() - 1, 0.0)
        return seconds, lambda: self._ring is ring

    def invalidate(self) -> None:
        with self._lock:
            self._ring = None

    def _refresh(self) -> None:
        rows = db.session.scalars(
            db.select(SigningKey)
            .where(SigningKey.state.in_((NEXT, ACTIVE, RETIRED)))
            .order_by(SigningKey.created_at, SigningKey.kid)
        ).all()
        fingerprint = tuple((row.kid, row.state) for row in rows)
        if self._ring is None or fingerprint != self._fingerprint:
            self._ring = _parse(rows, key_encryption_keys(),
                                set(current_app.config["PROVIDER_SIGNING_ALGORITHMS"]))
            self._fingerprint = fingerprint
        self._loaded_at = clock.now()


def _parse(rows: list[SigningKey], keks: tuple[bytes, ...], enabled: set[str]) -> KeyRing:
    signing = {}
    public = []
    for row in rows:
        if PRIVATE_MEMBERS & row.public_jwk.keys():
            raise RuntimeError(f"signing key {row.kid}: private members in its public JWK")
        public.append(dict(row.public_jwk))
        if row.state == ACTIVE and row.alg in enabled and row.alg not in signing:
            blob = decrypt_private_key(keks, row.kid, row.private_jwk_encrypted)
            signing[row.alg] = _import(json.loads(blob))
    jwks = {"keys": public}
    return KeyRing(signing=signing, verification=KeySet.import_key_set(jwks), public_jwks=jwks)


def _import(jwk: dict):
    kty = jwk["kty"]
    cls = {"RSA": RSAKey, "EC": ECKey, "OKP": OKPKey}[kty]
    return cls.import_key(jwk)




def key_ring() -> KeyRing:
    """The current app's key ring (cached, bounded staleness)."""
    cache = current_app.extensions.get("provider_key_ring")
    if cache is None:
        cache = current_app.extensions.setdefault("provider_key_ring", _KeyRingCache())
    return cache.get()


def key_ring_currency() -> tuple[float, Callable[[], bool]]:
    """How long the current key ring is used before the keys are read again, and a
    check that turns False once it is replaced: whatever is built from the ring (the
    JWKS, discovery) is current for that long, or until the check fails."""
    cache = current_app.extensions.get("provider_key_ring")
    return cache.currency() if cache is not None else (0.0, lambda: False)


def invalidate_key_ring() -> None:
    cache = current_app.extensions.get("provider_key_ring")
    if cache is not None:
        cache.invalidate()


def public_jwks() -> dict:
    """The JWKS document: public members only, each key with kid, use and alg."""
    return key_ring().public_jwks
