"""OAuth2 request objects built against the issuer URL.

Authlib refuses plain-http request URLs; behind a TLS-terminating proxy the
WSGI URL is http while the issuer is https, so requests are always described
by the issuer's scheme and host.
"""

from __future__ import annotations

from authlib.integrations.flask_oauth2.requests import FlaskOAuth2Payload
from authlib.oauth2.rfc6749 import OAuth2Request
from authlib.oauth2.rfc6749.requests import BasicOAuth2Payload
from flask import current_app
from flask import request as flask_request


def _issuer_url() -> str:
    return current_app.config["PROVIDER_ISSUER"] + flask_request.full_path.rstrip("?")


class HttpOAuth2Request(OAuth2Request):
    """The current Flask request."""

    def __init__(self) -> None:
        super().__init__(flask_request.method, _issuer_url(), headers=flask_request.headers)
        self.payload = FlaskOAuth2Payload(flask_request)

    @property
    def args(self):
        return flask_request.args

    @property
    def form(self):
        return flask_request.form


class StoredOAuth2Request(OAuth2Request):
    """An authorization request resumed from stored parameters."""

    def __init__(self, params: dict[str, str]) -> None:
        super().__init__("GET", _issuer_url(), headers=flask_request.headers)
        self.payload = BasicOAuth2Payload(dict(params))

    @property
    def args(self):
        return self.payload.data

    @property
    def form(self):
        return {}
