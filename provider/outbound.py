"""Outbound HTTP calls (back-channel logout deliveries) under one policy:
https only (plain http to loopback only while the issuer itself is loopback
http, i.e. in development), no redirects, a short idle timeout and a deadline
for the whole call, a bounded response, and only globally reachable destinations
unless configured.

The destination is resolved once and every address it resolves to must be
globally reachable (``is_public_address``); the connection then goes to the
address that was checked, with the host name kept for TLS (SNI, certificate)
and the ``Host`` header, so a name that resolves differently a moment later
(DNS rebinding) changes nothing.
"""

from __future__ import annotations

import http.client
import io
import ipaddress
import socket
import time
import urllib.parse
from dataclasses import dataclass
from typing import Any

from flask import current_app

from .config import is_loopback_host

TIMEOUT_SECONDS = 5  # the most any one connect, send or read may wait
MAX_RESPONSE_BYTES = 16 * 1024


class OutboundRefused(Exception):
    """The policy forbids this destination; the message says why."""


class DestinationUnresolved(OSError):
    """The host name did not resolve this time; a later attempt may succeed."""


class DeadlineExceeded(TimeoutError):
    """The destination did not answer in full before the call's deadline."""


@dataclass(frozen=True)
class OutboundResponse:
    status: int
    body: bytes


def uri_problem(url: str) -> str | None:
    """What makes ``url`` unusable as a destination whatever the policy, or None.

    Checked on the raw string: ``urlsplit`` silently drops tabs and newlines, and
    an invalid port only shows when ``.port`` is read, at delivery time.
    """
    if any(c.isspace() or not c.isprintable() for c in url):
        return "must not contain whitespace or control characters"
    if not url.isascii():
        return "must be ASCII (percent-encode other characters, RFC 3986)"
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError as exc:
        return f"is not a valid URL ({exc})"
    try:
        port = parts.port
    except ValueError:
        port = 0
    if port == 0:
        return "has an invalid port (not a number from 1 to 65535)"
    return None


def _development() -> bool:
    issuer = urllib.parse.urlsplit(current_app.config["PROVIDER_ISSUER"])
    return issuer.scheme == "http" and is_loopback_host(issuer.hostname)


# What Python 3.11's ``is_global`` still calls global, but reaches this host or a
# private network: 6to4 (2002:7f00:1:: is 127.0.0.1), NAT64, IPv4-compatible,
# IPv4-translated (SIIT) and the deprecated site-local range.
_NOT_GLOBAL_V6 = tuple(ipaddress.IPv6Network(net) for net in (
    "2002::/16", "64:ff9b::/96", "64:ff9b:1::/48", "::/96", "::ffff:0:0:0/96",
    "fec0::/10"))


# The IETF protocol-assignment block, whose few anycast services (PCP, TURN) are no
# relying party's endpoint, and the deprecated 6to4 relay anycast.
_NOT_GLOBAL_V4 = tuple(ipaddress.IPv4Network(net) for net in ("192.0.0.0/24", "192.88.99.0/24"))


def is_public_address(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Globally reachable (RFC 6890), with the gaps of ``is_global`` closed: the
    IPv4 address inside an IPv4-mapped or Teredo address must be public too."""
    if isinstance(ip, ipaddress.IPv4Address) and any(ip in net for net in _NOT_GLOBAL_V4):
        return False
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return is_public_address(ip.ipv4_mapped)
        if ip.teredo is not None and not all(is_public_address(v4) for v4 in ip.teredo):
            return False
        if any(ip in network for network in _NOT_GLOBAL_V6):
            return False
    return ip.is_global and not ip.is_multicast


@dataclass(frozen=True)
class Destination:
    parts: urllib.parse.SplitResult
    address: str  # the checked address the connection goes to


def check_destination(url: str) -> urllib.parse.SplitResult:
    return resolve_destination(url).parts


def resolve_destination(url: str) -> Destination:
    """The URL's parts and the one address to connect to, or ``OutboundRefused``."""
    problem = uri_problem(url)
    if problem:
        raise OutboundRefused(f"the URL {problem}")
    parts = urllib.parse.urlsplit(url)
    if not parts.hostname:
        raise OutboundRefused("no host in the URL")
    loopback_dev = _development() and is_loopback_host(parts.hostname)
    if parts.scheme != "https" and not (parts.scheme == "http" and loopback_dev):
        raise OutboundRefused("only https destinations are allowed")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        addresses = [info[4][0] for info in socket.getaddrinfo(
            parts.hostname, port, type=socket.SOCK_STREAM)]
    except UnicodeError as exc:  # not a host name at all: retrying cannot help
        raise OutboundRefused(f"cannot resolve {parts.hostname}: {exc}") from None
    except socket.gaierror as exc:  # may pass (a resolver outage): a failed attempt
        raise DestinationUnresolved(f"cannot resolve {parts.hostname}: {exc}") from None
    if not addresses:
        raise OutboundRefused(f"{parts.hostname} resolves to no address")
    if not (loopback_dev or current_app.config.get("PROVIDER_OUTBOUND_ALLOW_PRIVATE")):
        for address in addresses:
            ip = ipaddress.ip_address(address.split("%")[0])
            if not is_public_address(ip):
                raise OutboundRefused(f"{parts.hostname} resolves to a non-public address {ip}")
    return Destination(parts=parts, address=addresses[0])


class _Deadline:
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.at = time.monotonic() + seconds

    def exceeded(self) -> DeadlineExceeded:
        return DeadlineExceeded(f"no complete answer within {self.seconds:g} s")

    def timeout(self) -> float:
        """What the next socket operation may wait: the idle timeout or what is
        left of the deadline, whichever is shorter."""
        left = self.at - time.monotonic()
        if left <= 0:
            raise self.exceeded()
        return min(left, TIMEOUT_SECONDS)


class _DeadlineReader(io.RawIOBase):
    """The response side of the socket, every read bounded by the deadline.

    A per-operation timeout alone never fires on a peer that sends one byte
    every few seconds; re-arming the timeout with the time left before each read
    makes the whole response share one budget.
    """

    def __init__(self, sock: socket.socket, deadline: _Deadline) -> None:
        # the socket's own reader, so that the socket stays open while it is read
        # even after the connection object lets go of it (as http.client does)
        self._sock, self._raw, self._deadline = sock, sock.makefile("rb", buffering=0), deadline

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        self._sock.settimeout(self._deadline.timeout())
        return self._raw.readinto(buffer)

    def close(self) -> None:
        self._raw.close()
        super().close()


class _DeadlineSocket:
    """A connected (possibly TLS) socket whose sends and reads share the deadline."""

    def __init__(self, sock: socket.socket, deadline: _Deadline) -> None:
        self._sock, self._deadline = sock, deadline

    def sendall(self, data: bytes) -> None:
        self._sock.settimeout(self._deadline.timeout())  # sendall's timeout is its total
        self._sock.sendall(data)

    def makefile(self, *_args: Any, **_kwargs: Any) -> io.BufferedReader:
        return io.BufferedReader(_DeadlineReader(self._sock, self._deadline))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


class _DeadlineConnection:
    deadline: _Deadline
    address: str
    port: int
    timeout: float | None
    sock: Any

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[call-arg]
        # http.client would resolve the host name again when it connects: connect
        # to the address that was checked instead (the name still goes into SNI and
        # Host). http.client sets this hook per instance, so it is replaced here.
        self._create_connection = self._connect_to_checked_address

    def _connect_to_checked_address(self, _host_and_port: Any, timeout: Any,
                                    source: Any) -> socket.socket:
        return socket.create_connection((self.address, self.port), timeout, source)

    def connect(self) -> None:
        # The TCP connect and, for https, the whole TLS handshake each wait at most
        # this long (CPython bounds a handshake by the socket timeout as a total).
        self.timeout = self.deadline.timeout()
        super().connect()  # type: ignore[misc]
        self.sock = _DeadlineSocket(self.sock, self.deadline)


class _HTTPConnection(_DeadlineConnection, http.client.HTTPConnection):
    pass


class _HTTPSConnection(_DeadlineConnection, http.client.HTTPSConnection):
    pass


def post_form(url: str, fields: dict[str, str],
              deadline_seconds: float | None = None) -> OutboundResponse:
    """POST ``fields`` form-encoded; redirects are not followed (3xx is returned).

    Connecting, sending and reading the status, headers and (bounded) body all
    happen before ``deadline_seconds`` (default PROVIDER_OUTBOUND_DEADLINE_SECONDS)
    or the call raises ``DeadlineExceeded``.
    """
    destination = resolve_destination(url)
    seconds = deadline_seconds or float(current_app.config["PROVIDER_OUTBOUND_DEADLINE_SECONDS"])
    return post_to(destination, fields, _Deadline(seconds))


def post_to(destination: Destination, fields: dict[str, str],
            deadline: _Deadline) -> OutboundResponse:
    """``post_form`` to a destination already checked: the TCP connection goes to
    ``destination.address``; TLS and ``Host`` use the URL's host name."""
    parts = destination.parts
    connection_class = _HTTPSConnection if parts.scheme == "https" else _HTTPConnection
    connection = connection_class(parts.hostname, parts.port)
    connection.deadline = deadline
    connection.address = destination.address
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    body = urllib.parse.urlencode(fields)
    try:
        connection.request("POST", path, body=body, headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "User-Agent": "provider-backchannel-logout",
        })
        response = connection.getresponse()
        return OutboundResponse(status=response.status,
                                body=response.read(MAX_RESPONSE_BYTES))
    except TimeoutError as exc:
        if isinstance(exc, DeadlineExceeded) or time.monotonic() >= deadline.at:
            raise deadline.exceeded() from None
        raise
    finally:
        connection.close()
