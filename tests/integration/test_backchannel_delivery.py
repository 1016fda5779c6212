"""Back-channel logout against relying parties that misbehave: each bad endpoint
costs its own attempts only. Real receivers on 127.0.0.1 (a non-HTTP answer, an
over-long header, a byte trickled every second, a URI with a bad port) beside an
honest one; deliveries claimed one at a time; the other background jobs go on
while a delivery is stuck; the CLI refuses unusable back-channel URIs."""

from __future__ import annotations

import json
import time

import pytest
from click.testing import CliRunner

from provider import clock, jobs, leases
from provider.cli import main
from provider.config import ConfigurationError
from provider.extensions import db
from provider.models import Client, Lease, LogoutDelivery, SigningKey
from provider.models.signing_key import ACTIVE
from provider.oauth import backchannel
from provider.outbox import WORKERS, OutboxWorkers
from tests.support.factories import register
from tests.support.flows import sign_in
from tests.support.receivers import (
    RawReceiver,
    Receiver,
    Trickler,
    garbage_receiver,
    long_header_receiver,
)
from tests.support.settings import CHEAP_HASHING

BOUND = 30  # seconds any wait below may take before the test gives up


@pytest.fixture
def receivers():
    made: list[Receiver | RawReceiver] = []

    def keep(receiver):
        made.append(receiver)
        return receiver

    yield keep
    for receiver in made:
        if isinstance(receiver, Trickler):
            receiver.release.set()
        receiver.close()


def log_out_of(app, client, browser, make_client, uris: dict[str, str]) -> dict[str, int]:
    """One session signs in to a relying party per URI, then logs out; returns
    each name's delivery id."""
    rps = {name: register(app, make_client, name=name, backchannel_logout_uri=uri)
           for name, uri in uris.items()}
    tokens = [sign_in(client, browser, rp, scope="openid") for rp in rps.values()]
    client.get("/end-session", query_string={"id_token_hint": tokens[0]["id_token"]})
    with app.app_context():
        by_client = {d.client_id: d.id for d in db.session.scalars(db.select(LogoutDelivery))}
    return {name: by_client[rp["client_id"]] for name, rp in rps.items()}


def state(app, delivery_id: int) -> tuple[str, int, str | None]:
    with app.app_context():
        row = db.session.get(LogoutDelivery, delivery_id)
        return row.status, row.attempts, row.last_error


def until(condition, what: str) -> None:
    deadline = time.monotonic() + BOUND
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


@pytest.mark.config(PROVIDER_OUTBOUND_DEADLINE_SECONDS=2)
def test_misbehaving_endpoints_fail_their_own_attempts_only(app, client, browser, alice,
                                                            make_client, receivers):
    garbage, long_header = receivers(garbage_receiver()), receivers(long_header_receiver())
    trickler, honest = receivers(Trickler(interval=1, max_bytes=20)), receivers(Receiver())
    ids = log_out_of(app, client, browser, make_client, {
        "garbage": garbage.url, "long header": long_header.url,
        "bad port": "http://127.0.0.1:99999/backchannel",  # stored before the CLI refused it
        "trickler": trickler.url, "honest": honest.url})
    with app.app_context():
        assert backchannel.deliver_due() == 5  # no endpoint stopped the run
    assert state(app, ids["honest"]) == ("delivered", 1, None) and len(honest.tokens) == 1
    status, attempts, error = state(app, ids["garbage"])
    assert (status, attempts) == ("pending", 1) and error.startswith("BadStatusLine: SSH-2.0")
    status, attempts, error = state(app, ids["long header"])
    assert (status, attempts) == ("pending", 1) and error.startswith("LineTooLong: ")
    status, attempts, error = state(app, ids["bad port"])
    assert (status, attempts) == ("failed", 1) and "invalid port" in error
    assert state(app, ids["trickler"]) == (
        "pending", 1, "DeadlineExceeded: no complete answer within 2 s")
    until(lambda: trickler.open_now == 0, "the trickler notices the provider hung up")
    assert trickler.cut_off == 1 and not trickler.exhausted.is_set()
    assert [r.connections for r in (garbage, long_header, trickler)] == [1, 1, 1]
    with app.app_context():
        assert backchannel.deliver_due() == 0  # each waits for its own backoff
        with clock.advance(app, 5):  # and then comes back, none stuck in front of another
            assert {i for i, _ in backchannel.due()} == {
                ids["garbage"], ids["long header"], ids["trickler"]}


@pytest.mark.config(PROVIDER_OUTBOUND_DEADLINE_SECONDS=BOUND)
def test_a_slow_relying_party_holds_up_no_one_else(app, client, browser, alice, make_client,
                                                    receivers):
    trickler, honest = receivers(Trickler(interval=1, max_bytes=20)), receivers(Receiver())
    ids = log_out_of(app, client, browser, make_client,
                     {"trickler": trickler.url, "honest": honest.url})
    one, other = OutboxWorkers(threads=2), OutboxWorkers(threads=2)  # as two processes would
    one.dispatch(app)
    other.dispatch(app)
    assert honest.received.wait(BOUND)
    until(lambda: state(app, ids["honest"])[0] == "delivered", "the outcome is recorded")
    until(lambda: trickler.open_now == 1, "the trickler's attempt is under way")
    # and still going: the honest delivery neither waited for it nor cut it short
    assert not trickler.exhausted.is_set()
    assert state(app, ids["trickler"]) == ("pending", 1, backchannel.IN_FLIGHT)
    trickler.release.set()  # it hangs up mid-answer
    assert one.wait_idle(BOUND) and other.wait_idle(BOUND)
    status, attempts, error = state(app, ids["trickler"])
    assert (status, attempts) == ("pending", 1) and error not in (None, backchannel.IN_FLIGHT)
    # one claim per delivery: nobody attempted a delivery another was attempting
    assert trickler.connections == 1 and trickler.most_open_at_once == 1
    assert len(honest.tokens) == 1


@pytest.mark.config(PROVIDER_KEY_ROTATION_INTERVAL=3600, PROVIDER_OUTBOUND_DEADLINE_SECONDS=BOUND)
def test_rotation_and_purge_run_while_a_delivery_is_stuck(app, client, browser, alice,
                                                          make_client, receivers):
    trickler = receivers(Trickler(interval=1, max_bytes=15))
    [stuck] = log_out_of(app, client, browser, make_client,
                         {"trickler": trickler.url}).values()

    def signing_kid() -> str:
        with app.app_context():
            return db.session.scalar(db.select(SigningKey.kid).where(
                SigningKey.state == ACTIVE, SigningKey.alg == "RS256"))

    before = signing_kid()
    with clock.advance(app, 7200):  # rotation is due
        jobs.run_due_jobs(app)
    # the tick is over while the relying party is still trickling its answer
    assert not trickler.exhausted.is_set()
    until(lambda: trickler.open_now == 1, "the delivery is under way")
    rotated = signing_kid()
    assert rotated != before
    with app.app_context():
        purge = db.session.get(Lease, jobs.PURGE_LEASE)
        assert purge.holder == leases.holder() and purge.expires_at > clock.now()
    with clock.advance(app, 3 * 7200):  # the next tick: rotation again, the delivery still stuck
        jobs.run_due_jobs(app)
    assert signing_kid() != rotated and not trickler.exhausted.is_set()
    assert state(app, stuck) == ("pending", 1, backchannel.IN_FLIGHT)
    trickler.release.set()
    assert WORKERS.wait_idle(BOUND)
    assert trickler.connections == 1  # the second tick did not start another attempt


def test_an_attempt_that_never_reports_back_is_on_record_and_retried(
        app, client, browser, alice, make_client, receivers):
    honest = receivers(Receiver())
    [delivery] = log_out_of(app, client, browser, make_client, {"honest": honest.url}).values()
    with app.app_context():
        lost = backchannel.claim(delivery)  # its process stops before the outcome is written
        assert backchannel.claim(delivery) is None  # nobody else may attempt it meanwhile
        assert state(app, delivery) == ("pending", 1, backchannel.IN_FLIGHT)
        assert backchannel.deliver_due() == 0
        with clock.advance(app, backchannel.claim_seconds()):  # the claim ran out
            assert backchannel.deliver_due() == 1
        assert state(app, delivery) == ("delivered", 2, None) and len(honest.tokens) == 1
        backchannel.attempt(lost)  # an outcome arriving after its claim ran out changes nothing
    assert state(app, delivery) == ("delivered", 2, None)


def test_a_last_attempt_that_never_reports_back_gives_up(app, client, browser, alice,
                                                         make_client, receivers):
    honest = receivers(Receiver())
    [delivery] = log_out_of(app, client, browser, make_client, {"honest": honest.url}).values()
    with app.app_context():
        db.session.get(LogoutDelivery, delivery).attempts = backchannel.MAX_ATTEMPTS - 1
        db.session.commit()
        assert backchannel.claim(delivery).attempt == backchannel.MAX_ATTEMPTS
        with clock.advance(app, backchannel.claim_seconds()):
            assert backchannel.deliver_due() == 0
    assert state(app, delivery) == ("failed", backchannel.MAX_ATTEMPTS, backchannel.NO_OUTCOME)
    assert honest.tokens == []


@pytest.mark.parametrize("uri", [
    "http://127.0.0.1:99999/backchannel", "http://127.0.0.1:0/backchannel",
    "https://rp.example:https/backchannel", "https://rp.example:-1/backchannel",
    "https://rp.example/back channel", "https://rp.example/backchannel\n",
    "https://rp.example/\tbackchannel", " https://rp.example/backchannel",
    "https://rp.example/backchannel\x00", "https://rp.example/\x7fbackchannel",
    "https://rp.example/backchannel\u2028",
])
def test_the_cli_refuses_unusable_backchannel_uris(app, instance, uri):
    (instance / "config.py").write_text(
        "".join(f"{name} = {value!r}\n" for name, value in CHEAP_HASHING.items()))
    result = CliRunner().invoke(main, [
        "clients", "create", "--name", "BC", "--redirect-uri", "https://rp.example/cb",
        "--backchannel-logout-uri", uri], env={"PROVIDER_INSTANCE_PATH": str(instance)})
    assert result.exit_code == 1 and result.stdout == ""
    assert result.stderr.startswith("provider: the back-channel logout URI ")
    assert ("invalid port" in result.stderr) != ("whitespace or control" in result.stderr)
    assert len(result.stderr.splitlines()) == 1 and "Traceback" not in result.stderr
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(Client)) == 0


def test_the_cli_still_takes_a_usable_backchannel_uri(instance):
    (instance / "config.py").write_text(
        "".join(f"{name} = {value!r}\n" for name, value in CHEAP_HASHING.items()))
    result = CliRunner().invoke(main, [
        "clients", "create", "--name", "BC", "--redirect-uri", "https://rp.example/cb",
        "--backchannel-logout-uri", "https://rp.example:8443/backchannel?x=1"],
        env={"PROVIDER_INSTANCE_PATH": str(instance)})
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["client_id"]


@pytest.mark.parametrize("seconds", [0, -1, 61, "10", True])
def test_the_outbound_deadline_must_be_sensible(instance, seconds):
    from provider import create_app

    with pytest.raises(ConfigurationError, match="PROVIDER_OUTBOUND_DEADLINE_SECONDS"):
        create_app({"PROVIDER_INSTANCE_PATH": str(instance),
                    "PROVIDER_OUTBOUND_DEADLINE_SECONDS": seconds})
