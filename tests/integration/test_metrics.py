"""``GET {issuer}/metrics``: closed by default, a bearer token or an explicit opening
lets it be read; the counters move by what the provider did (a code flow, refreshes,
a reuse, a failed and a throttled sign-in, a revoked token introspected, back-channel
deliveries) under labels from fixed sets only, never a username, a client id or a
path. The metrics of the test process are shared by every app it builds, so each
test compares the counts after with the counts before."""

from __future__ import annotations

from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from provider import config as provider_config
from provider import metrics
from provider.config import ConfigurationError
from provider.oauth import backchannel
from provider.oauth.grants import grant_types
from tests.support.factories import register
from tests.support.flows import introspect, obtain, refresh, sign_in
from tests.support.forms import Browser
from tests.support.receivers import Receiver
from tests.support.settings import ISSUER

TOKEN = "metrics-scraper-token-0123456789"
BEARER = {"Authorization": f"Bearer {TOKEN}"}
CHALLENGE = 'Bearer realm="metrics"'
GUESSER = "mallory-guessing-names"
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def scrape(client, headers: dict | None = None) -> str:
    response = client.get("/metrics", headers=BEARER if headers is None else headers)
    assert response.status_code == 200, response.data
    return response.get_data(as_text=True)


def samples(text: str) -> Samples:
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(text) for sample in family.samples}


def value(found: Samples, name: str, **labels: str) -> float:
    return found.get((name, tuple(sorted(labels.items()))), 0.0)


def grew(before: Samples, after: Samples, name: str, **labels: str) -> float:
    return value(after, name, **labels) - value(before, name, **labels)


def requests_of(found: Samples, rule: str, method: str, status: int) -> float:
    return value(found, "provider_http_requests_total", rule=rule, method=method,
                 status=str(status))


# --- who may read it -------------------------------------------------------------------


def assert_challenged(response) -> None:
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == CHALLENGE
    assert response.get_json()["error"] == "invalid_request"
    assert response.headers["Cache-Control"] == "no-store"


def test_closed_by_default_whatever_is_sent(client):
    assert_challenged(client.get("/metrics"))
    assert_challenged(client.get("/metrics", headers=BEARER))


@pytest.mark.config(PROVIDER_METRICS_TOKEN=TOKEN)
def test_a_token_is_required_and_compared(client):
    assert_challenged(client.get("/metrics"))
    assert_challenged(client.get("/metrics", headers={"Authorization": f"Basic {TOKEN}"}))
    for wrong in ("not-the-metrics-token-at-all", TOKEN[:-1], TOKEN + "x"):
        refused = client.get("/metrics", headers={"Authorization": f"Bearer {wrong}"})
        assert refused.status_code == 403 and "WWW-Authenticate" not in refused.headers
        assert refused.get_json()["error"] == "access_denied"
        assert refused.headers["Cache-Control"] == "no-store"
    answer = client.get("/metrics", headers={"Authorization": f"bearer {TOKEN}"})
    assert answer.status_code == 200
    assert answer.headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
    assert answer.headers["Cache-Control"] == "no-store"
    text = answer.get_data(as_text=True)
    assert "# TYPE provider_http_requests_total counter" in text
    assert "# TYPE provider_http_request_duration_seconds histogram" in text
    assert "# TYPE provider_db_pool_connections gauge" in text


@pytest.mark.config(PROVIDER_METRICS_OPEN=True)
def test_open_answers_anyone_and_check_says_so(app, client):
    assert client.get("/metrics").status_code == 200
    findings = provider_config.unsafe_settings(app.config)
    assert [(f.severity, f.setting) for f in findings if f.setting == "PROVIDER_METRICS_OPEN"] \
        == [("warning", "PROVIDER_METRICS_OPEN")]
    provider_config.refuse_unsafe_start(app.config)  # a finding to know, not a refusal


def test_check_is_quiet_about_metrics_when_closed(app):
    assert all(f.setting != "PROVIDER_METRICS_OPEN"
               for f in provider_config.unsafe_settings(app.config))


def test_not_in_discovery(client):
    for document in ("openid-configuration", "oauth-authorization-server"):
        response = client.get(f"/.well-known/{document}")
        assert response.status_code == 200 and "metrics" not in response.get_data(as_text=True)


# --- what it counts --------------------------------------------------------------------


@pytest.mark.config(PROVIDER_METRICS_TOKEN=TOKEN, PROVIDER_LOGIN_FREE_ATTEMPTS=1,
                    PROVIDER_LOGIN_BACKOFF_SECONDS=60)
def test_a_flow_a_reuse_a_failed_sign_in_and_a_revoked_token_are_counted(
        client, browser, alice, make_client):
    rp = make_client(name="Metrics RP", trusted=True)
    before = samples(scrape(client))
    first = obtain(client, browser, rp)
    rotated = refresh(client, rp, first["refresh_token"])
    assert rotated.status_code == 200
    assert refresh(client, rp, first["refresh_token"]).status_code == 200  # grace
    assert refresh(client, rp, rotated.get_json()["refresh_token"]).status_code == 200
    assert refresh(client, rp, first["refresh_token"]).status_code == 400  # family revoked
    assert introspect(client, rp, first["access_token"]).get_json() == {"active": False}
    guess = Browser(client).login("/login", username=GUESSER, password="wrong")
    assert guess.status_code == 200
    assert Browser(client).login("/login", username=GUESSER).status_code == 429
    after = samples(scrape(client))

    counted = {
        ("provider_tokens_issued_total", "authorization_code"): 1,
        ("provider_tokens_issued_total", "refresh_token"): 3,
        ("provider_refresh_token_reuse_total", "grace"): 1,
        ("provider_refresh_token_reuse_total", "family_revoked"): 1,
    }
    for (name, label), expected in counted.items():
        key = "grant_type" if name == "provider_tokens_issued_total" else "outcome"
        assert grew(before, after, name, **{key: label}) == expected, (name, label)
    assert grew(before, after, "provider_login_failures_total") == 1
    assert grew(before, after, "provider_login_throttled_total") == 1
    assert grew(before, after, "provider_denylist_hits_total") == 1
    assert requests_of(after, "/token", "POST", 200) - requests_of(before, "/token", "POST",
                                                                   200) == 4
    assert requests_of(after, "/token", "POST", 400) - requests_of(before, "/token", "POST",
                                                                   400) == 1
    assert requests_of(after, "/login", "POST", 429) - requests_of(before, "/login", "POST",
                                                                   429) == 1
    assert grew(before, after, "provider_http_request_duration_seconds_count",
                rule="/token", method="POST") == 5
    # this scrape's own request was counted once the previous scrape had been answered
    assert requests_of(after, "/metrics", "GET", 200) >= 1


@pytest.mark.config(PROVIDER_METRICS_TOKEN=TOKEN)
def test_an_answer_given_outside_the_app_can_be_counted(client):
    """As the front counts the discovery answers it replays from memory."""
    before = samples(scrape(client))
    metrics.observe_request("/.well-known/jwks.json", "GET", 200, 0.0004)
    metrics.observe_request("/.well-known/jwks.json", "BREW", 200, -1.0)  # a clock step back
    after = samples(scrape(client))
    assert requests_of(after, "/.well-known/jwks.json", "GET", 200) \
        - requests_of(before, "/.well-known/jwks.json", "GET", 200) == 1
    assert requests_of(after, "/.well-known/jwks.json", "other", 200) \
        - requests_of(before, "/.well-known/jwks.json", "other", 200) == 1
    assert grew(before, after, "provider_http_request_duration_seconds_bucket",
                rule="/.well-known/jwks.json", method="GET", le="0.005") == 1


@pytest.mark.config(PROVIDER_METRICS_TOKEN=TOKEN)
def test_the_pool_shows_idle_connections_between_requests(client, alice, make_client, browser):
    sign_in(client, browser, make_client(name="Pool RP", trusted=True))
    found = samples(scrape(client))
    assert value(found, "provider_db_pool_connections", state="idle") >= 1
    assert value(found, "provider_db_pool_connections", state="checked_out") == 0


@pytest.mark.config(PROVIDER_METRICS_TOKEN=TOKEN)
def test_back_channel_deliveries_are_counted_by_outcome(app, client, browser, alice,
                                                        make_client):
    honest, failing = Receiver(), Receiver(failures=1)
    try:
        uris = {"honest": honest.url, "failing": failing.url,
                "bad port": "http://127.0.0.1:99999/backchannel"}
        rps = [register(app, make_client, name=name, backchannel_logout_uri=uri)
               for name, uri in uris.items()]
        tokens = [sign_in(client, browser, rp, scope="openid") for rp in rps]
        client.get("/end-session", query_string={"id_token_hint": tokens[0]["id_token"]})
        before = samples(scrape(client))
        with app.app_context():
            assert backchannel.deliver_due() == 3
        after = samples(scrape(client))
    finally:
        honest.close()
        failing.close()
    for outcome in ("delivered", "retrying", "given_up"):
        assert grew(before, after, "provider_backchannel_deliveries_total",
                    outcome=outcome) == 1, outcome


# --- what it never shows ---------------------------------------------------------------


def label_values(text: str) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            for name, label in sample.labels.items():
                found.setdefault(name, set()).add(label)
    return found


@pytest.mark.config(PROVIDER_METRICS_TOKEN=TOKEN)
def test_labels_come_from_fixed_sets_only(app, client, browser, alice, make_client):
    rp = make_client(name="Secretive RP", trusted=True)
    sign_in(client, browser, rp)
    Browser(client).login("/login", username=GUESSER, password="wrong")
    assert client.get("/authorize?client_id=xyz-client-of-nobody").status_code == 400
    assert client.get("/nope/secret-value").status_code == 404
    assert client.open("/nope/secret-value", method="PROPFIND").status_code in (404, 405)
    text = scrape(client)
    for secret in ("xyz-client-of-nobody", "secret-value", "/nope", rp["client_id"],
                   GUESSER, "alice"):
        assert secret not in text, secret
    found = label_values(text)
    rules = {rule.rule for rule in app.url_map.iter_rules()} | {"unmatched"}
    assert found["rule"] <= rules and {"unmatched", "/authorize", "/login"} <= found["rule"]
    assert found["method"] <= {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS",
                               "other"}
    assert "other" in found["method"]
    assert all(status.isdigit() for status in found["status"])
    assert found["grant_type"] <= set(grant_types()) | {"other"}
    assert found["outcome"] <= {"grace", "family_revoked", "delivered", "retrying",
                                "given_up", "other"}
    assert found["state"] == {"checked_out", "idle"}
    assert set(found) <= {"rule", "method", "status", "le", "grant_type", "outcome", "state"}


# --- configuration errors --------------------------------------------------------------


def load(folder: Path, **overrides) -> dict:
    config: dict = {}
    provider_config.load(config, folder, {"PROVIDER_ISSUER": ISSUER, **overrides})
    return config


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in provider_config.ENVIRONMENT:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_the_defaults_keep_it_closed(tmp_path, environment):
    config = load(tmp_path)
    assert config["PROVIDER_METRICS_TOKEN"] is None and config["PROVIDER_METRICS_OPEN"] is False


def test_a_token_shorter_than_16_characters_is_refused(tmp_path, environment):
    assert load(tmp_path, PROVIDER_METRICS_TOKEN="x" * 16)["PROVIDER_METRICS_TOKEN"] == "x" * 16
    with pytest.raises(ConfigurationError, match="PROVIDER_METRICS_TOKEN must be at least 16"):
        load(tmp_path, PROVIDER_METRICS_TOKEN="x" * 15)


@pytest.mark.parametrize("token", ["with a space in the token", "tab\tinside-the-token",
                                   "non-ascii-token-ü-0123", 1234567890123456789])
def test_a_token_that_cannot_travel_in_a_header_is_refused(tmp_path, environment, token):
    with pytest.raises(ConfigurationError, match="PROVIDER_METRICS_TOKEN must be visible"):
        load(tmp_path, PROVIDER_METRICS_TOKEN=token)


def test_open_must_be_true_or_false(tmp_path, environment):
    with pytest.raises(ConfigurationError, match="PROVIDER_METRICS_OPEN must be True or False"):
        load(tmp_path, PROVIDER_METRICS_OPEN="yes")


def test_open_and_a_token_together_are_refused(tmp_path, environment):
    with pytest.raises(ConfigurationError, match="PROVIDER_METRICS_OPEN or PROVIDER_METRICS_TOKEN"):
        load(tmp_path, PROVIDER_METRICS_OPEN=True, PROVIDER_METRICS_TOKEN=TOKEN)


def test_both_from_the_environment(tmp_path, environment):
    environment.setenv("PROVIDER_METRICS_OPEN", "true")
    assert load(tmp_path)["PROVIDER_METRICS_OPEN"] is True
    environment.setenv("PROVIDER_METRICS_OPEN", "maybe")
    with pytest.raises(ConfigurationError, match="PROVIDER_METRICS_OPEN='maybe' is not a valid"):
        load(tmp_path)
    environment.delenv("PROVIDER_METRICS_OPEN")
    environment.setenv("PROVIDER_METRICS_TOKEN", "short")
    with pytest.raises(ConfigurationError, match="at least 16"):
        load(tmp_path)
