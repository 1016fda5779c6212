"""The client's address behind trusted reverse proxies.

``PROVIDER_TRUSTED_PROXIES`` names the networks of the proxies in front of the
provider (empty by default: no forwarding header is believed from anyone). The
address is found by walking ``X-Forwarded-For`` (or RFC 7239 ``Forwarded``, per
``PROVIDER_FORWARDED_HEADER``) from the right, starting at the peer, for as long as
the hop that reported the next address is itself trusted: the first untrusted
address is the client. A hop count alone would believe whatever a direct caller
writes into the header; this believes only what a trusted proxy appended.

The result becomes ``REMOTE_ADDR`` before the app runs, so the rate limits, the
login throttle, audit rows and the sessions page all see the same address; the
peer's own address stays in the environ under ``PEER_KEY``. Forwarded proto and
host change nothing: every URL the provider writes comes from its issuer.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterable
from typing import Any

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
PEER_KEY = "provider.peer_addr"
HEADERS = {"x-forwarded-for": "HTTP_X_FORWARDED_FOR", "forwarded": "HTTP_FORWARDED"}
MAX_HOPS = 32  # a longer chain is not walked further: the client is the last trusted hop
_FOR = re.compile(r'(?:^|;)\s*for\s*=\s*("[^"]*"|[^;,\s]*)', re.IGNORECASE)


def parse_networks(values: Iterable[str]) -> tuple[IPNetwork, ...]:
    """The networks ``values`` name (CIDR or single addresses); ValueError names a bad one."""
    networks = []
    for value in values:
        try:
            networks.append(ipaddress.ip_network(value, strict=False))
        except ValueError:
            raise ValueError(f"{value!r} is not an IP address or network") from None
    return tuple(networks)


def resolve(peer: str, header_value: str | None, header: str,
            trusted: tuple[IPNetwork, ...]) -> str:
    """The client's address, given the peer's and the forwarding header's value."""
    current = _address(peer)
    if current is None or not header_value or not _is_trusted(current, trusted):
        return peer
    hops = _hops(header_value, header)
    for hop in reversed(hops[-MAX_HOPS:]):
        reported = _address(hop)
        if reported is None:
            break  # garbage in the chain: nothing left of it can be believed
        current = reported
        if not _is_trusted(current, trusted):
            break
    return str(current)


def _hops(value: str, header: str) -> list[str]:
    if header == "forwarded":
        hops = []
        for element in value.split(","):
            match = _FOR.search(element)
            hops.append(match.group(1).strip('"') if match else "")
        return hops
    return [hop.strip() for hop in value.split(",")]


def _address(text: str) -> IPAddress | None:
    """An address from a hop: ``1.2.3.4``, ``1.2.3.4:5678``, ``[::1]:80`` or ``::1``."""
    text = text.strip()
    if text.startswith("["):
        text = text[1:].partition("]")[0]
    elif text.count(":") == 1:
        text = text.partition(":")[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    mapped = getattr(address, "ipv4_mapped", None)
    return mapped or address


def _is_trusted(address: IPAddress, trusted: tuple[IPNetwork, ...]) -> bool:
    return any(address.version == network.version and address in network
               for network in trusted)


def client_network(address: str | None) -> str:
    """What one client is, for counting: its IPv4 address, or its IPv6 /64 (one
    subscriber or host usually holds a whole /64 and could rotate through it)."""
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return address or ""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network(f"{ip}/64", strict=False))
    return str(ip)


class TrustedProxies:
    """WSGI middleware: ``REMOTE_ADDR`` becomes the client's address (``resolve``)."""

    def __init__(self, app: Callable[..., Any], trusted: tuple[IPNetwork, ...],
                 header: str) -> None:
        self.app = app
        self.trusted = trusted
        self.header = header
        self.environ_key = HEADERS[header]

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        peer = environ.get("REMOTE_ADDR") or ""
        environ[PEER_KEY] = peer
        if self.trusted:
            environ["REMOTE_ADDR"] = resolve(peer, environ.get(self.environ_key),
                                             self.header, self.trusted)
        return self.app(environ, start_response)
