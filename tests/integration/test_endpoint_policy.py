"""Error shape and CORS come from each blueprint's declared policy
(provider/endpoint_policy.py), also where routing itself fails."""

from __future__ import annotations

from flask import Blueprint, Flask, request

from provider import endpoint_policy
from provider.endpoint_policy import JSON, CorsPolicy, EndpointPolicy


def test_userinfo_preflight_is_answered_by_its_cors_policy(client):
    response = client.options("/userinfo", headers={
        "Origin": "https://spa.example", "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "authorization"})
    assert response.status_code == 204
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert response.headers["Access-Control-Allow-Methods"] == "GET, POST"
    assert response.headers["Access-Control-Allow-Headers"] == "Authorization"
    assert response.headers["Access-Control-Max-Age"] == "600"
    assert "Access-Control-Allow-Credentials" not in response.headers


def test_userinfo_errors_are_readable_cross_origin(client):
    response = client.get("/userinfo", headers={"Origin": "https://spa.example"})
    assert response.status_code == 401
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_pages_and_the_token_endpoint_send_no_cors_headers(client):
    for response in (client.get("/login"), client.post("/token", data={})):
        assert "Access-Control-Allow-Origin" not in response.headers, response.request.path


def test_wrong_methods_on_json_endpoints_answer_json_with_allow(client):
    for path, method in (("/introspect", "GET"), ("/revoke", "GET"),
                         ("/.well-known/jwks.json", "POST")):
        response = client.open(path, method=method)
        assert response.status_code == 405, path
        assert response.mimetype == "application/json", path
        assert response.get_json()["error"] == "invalid_request", path
        assert "Allow" in response.headers, path


def test_unknown_well_known_documents_are_json_404s(client):
    for path in ("/.well-known/", "/.well-known/no-such-document", "/.well-known/a/b"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert response.get_json() == {"error": "not_found", "error_description": "Not Found"}


def test_unknown_pages_are_html_unless_json_is_preferred(client):
    page = client.get("/no-such-page")
    assert page.status_code == 404 and page.mimetype == "text/html"
    wanted = client.get("/no-such-page", headers={"Accept": "application/json"})
    assert wanted.status_code == 404 and wanted.get_json()["error"] == "not_found"


def test_a_policy_may_allow_one_origin_per_request_with_credentials():
    """What per-client allowed origins will use: the policy answers the origin."""
    allowed = {"https://app.example"}
    app = Flask(__name__)
    blueprint = Blueprint("spa", __name__)
    policy = EndpointPolicy(errors=JSON, cors=CorsPolicy(
        origin=lambda: request.headers.get("Origin") if request.headers.get(
            "Origin") in allowed else None, credentials=True))
    blueprint.add_url_rule("/resource", "resource", lambda: "ok")
    endpoint_policy.register_blueprint(app, blueprint, policy)
    endpoint_policy.init_app(app)
    client = app.test_client()

    admitted = client.get("/resource", headers={"Origin": "https://app.example"})
    assert admitted.headers["Access-Control-Allow-Origin"] == "https://app.example"
    assert admitted.headers["Access-Control-Allow-Credentials"] == "true"
    assert "Origin" in admitted.headers.getlist("Vary")
    refused = client.get("/resource", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in refused.headers
    assert "Access-Control-Allow-Credentials" not in refused.headers


def test_the_well_known_namespace_never_redirects_nor_answers_other_methods(client):
    bare = client.get("/.well-known", headers={"Host": "evil.example"})
    assert bare.status_code == 404 and "Location" not in bare.headers
    assert bare.get_json()["error"] == "not_found"
    for method in ("POST", "PUT", "DELETE", "PATCH", "OPTIONS"):
        unknown = client.open("/.well-known/no-such-document", method=method)
        assert unknown.status_code == 404, method
        assert unknown.get_json()["error"] == "not_found", method
    options = client.options("/.well-known/jwks.json")
    assert options.status_code == 200
    assert options.headers["Allow"] == "GET, HEAD, OPTIONS"
