"""Outbound HTTP calls (back-channel logout deliveries) under one policy:
https only (plain http to loopback only while the issuer itself is loopback
http, i.e. in development), no redirects, short timeouts, a bounded response,
and no private, link-local or loopback destinations unless configured.

The destination is resolved and checked before connecting. A name that
resolves differently between the check and the connection could still slip
through (DNS rebinding); PROVIDER_OUTBOUND_ALLOW_PRIVATE stays off where that
matters.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import urllib.parse
from dataclasses import dataclass

from flask import current_app

from .config import is_loopback_host

TIMEOUT_SECONDS = 5
MAX_RESPONSE_BYTES = 16 * 1024


class OutboundRefused(Exception):
    """The policy forbids this destination; the message says why."""


@dataclass(frozen=True)
class OutboundResponse:
    status: int
    body: bytes


def _development() -> bool:
    issuer = urllib.parse.urlsplit(current_app.config["PROVIDER_ISSUER"])
    return issuer.scheme == "http" and is_loopback_host(issuer.hostname)


def check_destination(url: str) -> urllib.parse.SplitResult:
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


def post_form(url: str, fields: dict[str, str]) -> OutboundResponse:
    """POST ``fields`` form-encoded; redirects are not followed (3xx is returned)."""
    parts = check_destination(url)
    connection_class = (http.client.HTTPSConnection if parts.scheme == "https"
                        else http.client.HTTPConnection)
    connection = connection_class(parts.hostname, parts.port, timeout=TIMEOUT_SECONDS)
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
    finally:
        connection.close()
