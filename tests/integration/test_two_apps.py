"""Two apps in one process keep their own clock and background jobs."""

from __future__ import annotations

from provider import background, clock, create_app
from provider.extensions import db
from tests.support.settings import CHEAP_HASHING, ISSUER
from tests.support.snapshots import copy_template_instance


def test_each_app_has_its_own_clock_and_jobs(app, template_instance, tmp_path):
    other = create_app({"PROVIDER_INSTANCE_PATH": str(copy_template_instance(
        template_instance, tmp_path / "other")), "PROVIDER_ISSUER": ISSUER, **CHEAP_HASHING})
    with app.app_context():
        start = clock.now()
    with clock.advance(app, 3600):
        with app.app_context():
            assert clock.now() - start >= 3600
        with other.app_context():
            assert clock.now() - start < 60  # untouched by the other app's time travel
    with app.app_context():
        assert clock.now() - start < 60

    assert background.scheduler(app) is not background.scheduler(other)
    with other.test_request_context():
        background.wake()
    assert background.scheduler(other).wakeup.is_set()
    assert not background.scheduler(app).wakeup.is_set()
    with other.app_context():
        db.engine.dispose()
