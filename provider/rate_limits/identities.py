"""Whose budget a request spends: its client address, the client id it presents, or
nobody (None: the request is not counted by that limit)."""

from __future__ import annotations

from typing import Any

from authlib.oauth2 import OAuth2Error
from flask import Response, g, request

from ..accounts.sessions import current_login
from ..client_address import client_network
from ..oauth.client_auth.client_secret_basic import parse_basic_header
from ..oauth.client_auth.method import MAX_CREDENTIAL_LENGTH

AUTHENTICATED = "provider_rate_limit_authenticated_client"


def client_address() -> str | None:
    """The client's network (``client_address.client_network``: its IPv4 address or its
    IPv6 /64, which one subscriber holds and could rotate through) of ``REMOTE_ADDR``:
    the peer, or the address a trusted proxy named (rewritten before the app sees the
    request). Loopback counts like any other."""
    return client_network(request.remote_addr) or None


def anonymous_browser_address() -> str | None:
    """The client address of a browser without a live sign-in session; None for one
    signed in, whose requests a session already ties to an account."""
    address = client_address()
    if address is None or current_login() is not None:
        return None
    return address


def presented_client_id() -> str | None:
    """The client id the request names: the HTTP Basic user name, else the form's
    ``client_id``. Not yet authenticated; one too long for any client is nobody's."""
    header = request.headers.get("Authorization", "")
    if header[:6].lower() == "basic ":
        try:
            client_id: str | None = parse_basic_header(header)[0]
        except OAuth2Error:  # malformed: client authentication answers 401
            return None
    else:
        client_id = request.form.get("client_id")
    if not client_id or len(client_id) > MAX_CREDENTIAL_LENGTH:
        return None
    return client_id


def remember_authenticated_client(sender: Any, client: Any = None, **_: Any) -> None:
    """Receives Authlib's ``client_authenticated`` signal: the client this request proved
    to be (``authenticated_as_presented`` reads it when the answer is out). A public
    client proves nothing by naming itself, so it is never counted: anyone could spend
    a single-page app's budget and lock out all its users (the per-address limit still
    applies to those requests)."""
    if client is not None and not client.is_public:
        g.setdefault(AUTHENTICATED, client.client_id)


def authenticated_as_presented(response: Response) -> bool:
    """Whether the client the request named also authenticated, whatever the answer.

    So a per-client budget is spent only by that client: a request that names a client
    with a wrong secret, or fails before anyone checks the secret, spends nothing.
    """
    presented = presented_client_id()
    return presented is not None and g.get(AUTHENTICATED) == presented
