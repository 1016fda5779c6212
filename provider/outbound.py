"""Outbound HTTP calls (back-channel logout deliveries) under one policy:
https only (plain http to loopback only while the issuer itself is loopback
http, i.e. in development), no redirects, a short idle timeout and a deadline
for the whole call, a bounded response, and no private, link-local or loopback
destinations unless configured.

The destination is resolved and checked before connecting. A name that
resolves differently between the check and the connection could still slip
through (DNS rebinding); PROVIDER_OUTBOUND_ALLOW_PRIVATE stays off where that
matters.
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


def check_destination(url: str) -> urllib.parse.SplitResult:
    problem = uri_problem(url)
    if problem:
        raise OutboundRefused(f"the URL {problem}")
    parts = urllib.parse.urlsplit(url)
    if not parts.hostname:
        raise OutboundRefused("no host in the URL")
    loopback_dev = _development() and is_loopback_host(parts.hostname)
    if parts.scheme != "https" and not (parts.scheme == "http" and loopback_dev):
        raise OutboundRefused("only https destinations are allowed")
    if loopback_dev or current_app.config.get("PROVIDER_OUTBOUND_ALLOW_PRIVATE"):
        return parts
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(parts.hostname, parts.port or 443)}
    except socket.gaierror as exc:
        raise OutboundRefused(f"cannot resolve {parts.hostname}: {exc}") from None
    for address in addresses:
        ip = ipaddress.ip_address(address.split("%")[0])
        if ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_reserved \
                or ip.is_multicast or ip.is_unspecified:
            raise OutboundRefused(f"{parts.hostname} resolves to a non-public address {ip}")
    return parts


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
    timeout: float | None
    sock: Any

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
    parts = check_destination(url)
    seconds = deadline_seconds or float(current_app.config["PROVIDER_OUTBOUND_DEADLINE_SECONDS"])
    deadline = _Deadline(seconds)
    connection_class = _HTTPSConnection if parts.scheme == "https" else _HTTPConnection
    connection = connection_class(parts.hostname, parts.port)
    connection.deadline = deadline
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
