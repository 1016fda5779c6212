"""Client authentication at the token endpoint answers every failure alike
(RFC 6749 §5.2 ``invalid_client``), so the answer never tells whether a client id
exists or which method it registered."""

from __future__ import annotations

import secrets

import pytest

from tests.support.protocol import basic_auth


@pytest.fixture
def clients(make_client):
    return {
        "basic": make_client(name="Basic"),
        "post": make_client(name="Post", auth_method="client_secret_post"),
        "public": make_client(name="Public", public=True),
    }


def attempts(clients: dict) -> dict[str, tuple[dict, dict]]:
    """Each a failing way to authenticate: (headers, form)."""
    unknown = "unknown-" + secrets.token_hex(8)
    basic, post, public = clients["basic"], clients["post"], clients["public"]
    return {
        "unknown client, Basic": (basic_auth(unknown, "secret"), {}),
        "unknown client, post": ({}, {"client_id": unknown, "client_secret": "secret"}),
        "unknown client, none": ({}, {"client_id": unknown}),
        "basic client, wrong secret": (basic_auth(basic["client_id"], "wrong"), {}),
        "basic client, right secret in the body": (
            {}, {"client_id": basic["client_id"], "client_secret": basic["client_secret"]}),
        "basic client, no secret": ({}, {"client_id": basic["client_id"]}),
        "post client, right secret in Basic": (
            basic_auth(post["client_id"], post["client_secret"]), {}),
        "public client with a secret": (basic_auth(public["client_id"], "anything"), {}),
    }


def test_every_authentication_failure_answers_alike(client, clients):
    answers = {}
    for name, (headers, form) in attempts(clients).items():
        response = client.post("/token", headers=headers,
                               data={"grant_type": "client_credentials", **form})
        answers[name] = (response.status_code, response.get_json(),
                         response.headers.get("WWW-Authenticate"))
    first = next(iter(answers.values()))
    assert first[0] == 401 and first[1] == {
        "error": "invalid_client", "error_description": "Client authentication failed."}
    assert {name: answer for name, answer in answers.items() if answer != first} == {}
