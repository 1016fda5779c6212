"""What a refused request must look like: an RFC 6749 JSON error that is never
cached, ``invalid_client`` with a Basic challenge, an error carried back to the
redirect URI with ``iss`` and ``state``, or an error page that redirects nowhere."""

from __future__ import annotations

from tests.support.factories import CALLBACK
from tests.support.protocol import query_of
from tests.support.settings import ISSUER


def assert_oauth_error(response, status: int, error: str) -> dict:
    assert response.status_code == status, response.data
    assert response.mimetype == "application/json", response.data
    body = response.get_json()
    assert body["error"] == error, body
    assert response.headers.get("Cache-Control") == "no-store"
    return body


def assert_invalid_client(response) -> None:
    assert_oauth_error(response, 401, "invalid_client")
    challenge = response.headers.get("WWW-Authenticate", "")
    assert challenge.startswith("Basic"), challenge


def assert_redirect_error(response, error: str, redirect_uri: str = CALLBACK,
                          state: str | None = "st-123") -> dict:
    assert response.status_code == 302, response.data
    location = response.headers["Location"]
    assert location.startswith(redirect_uri + "?"), location
    result = query_of(location)
    assert result["error"] == error, result
    assert result["iss"] == ISSUER
    if state is None:
        assert "state" not in result
    else:
        assert result["state"] == state
    assert "code" not in result
    return result


def assert_error_page(response) -> None:
    assert response.status_code == 400, response.data
    assert "Location" not in response.headers
    assert response.mimetype == "text/html"
