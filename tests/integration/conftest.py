"""Fixtures the bad-input tests of every endpoint share: the clients they send
malformed requests for. A test module that needs other clients defines its own
fixture of the same name, which takes precedence."""

from __future__ import annotations

import pytest

from tests.support.factories import CALLBACK, NATIVE_CALLBACK, OTHER_CALLBACK


@pytest.fixture
def rp(make_client):
    return make_client(name="Relying Party", redirect_uris=(CALLBACK, OTHER_CALLBACK))


@pytest.fixture
def other_rp(make_client):
    return make_client(name="Other RP", redirect_uris=(CALLBACK,))


@pytest.fixture
def native(make_client):
    return make_client(name="Native", public=True, redirect_uris=(NATIVE_CALLBACK,))


@pytest.fixture
def service(make_client):
    return make_client(name="Service", grant_types=("client_credentials",),
                       scope="api:read api:write")
