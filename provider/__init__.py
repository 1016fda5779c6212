"""An OAuth 2.0 / OpenID Connect provider: ``create_app`` builds it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask

from . import background, clock, denylist, endpoint_policy, jobs, metrics, rate_limits, request_ids
from . import config as provider_config
from .accounts import login_counters
from .accounts.csrf import csrf_token
from .client_address import TrustedProxies, parse_networks
from .database import MIGRATIONS, configure_engine
from .errors import register_error_handlers
from .extensions import db, migrate
from .http_guards import IssuerMount, guard_request_body
from .keys.encryption import KeyDecryptionError
from .keys.lifecycle import check_keys_open
from .models import SigningKey
from .oauth.grants import grant_types
from .oauth.server import init_authorization_server
from .views import (
    account,
    authorize,
    debug,
    discovery,
    health,
    introspection,
    logout,
    revocation,
    sessions,
    token,
    userinfo,
)
from .views import metrics as metrics_view


def create_app(config: dict[str, Any] | None = None, *, allow_uninitialised: bool = False,
               refuse_unsafe: bool = True) -> Flask:
    """Build the app: configuration, extensions, the OAuth server, blueprints, errors.

    ``config`` overrides everything else (tests). Without the instance secrets
    that ``provider init`` creates the app refuses to start, unless
    ``allow_uninitialised`` (used by ``provider init`` itself). ``refuse_unsafe``
    is only turned off by ``provider check``, which lists the findings instead.
    """
    overrides = dict(config or {})
    instance = Path(overrides.pop("PROVIDER_INSTANCE_PATH", provider_config.instance_path()))
    app = Flask(__name__, instance_path=str(instance))
    clock.init_app(app)
    provider_config.load(app.config, instance, overrides)
    _load_secrets(app, instance, allow_uninitialised)
    if refuse_unsafe and app.config["PROVIDER_KEK"] is not None:
        provider_config.refuse_unsafe_start(app.config)

    db.init_app(app)
    denylist.init_app(app)
    login_counters.init_app(app)
    migrate.init_app(app, db, directory=str(MIGRATIONS))
    with app.app_context():
        configure_engine(app)
        if app.config["PROVIDER_KEK"] is not None:
            try:
                _check_key_encryption_key()
            except BaseException:
                db.session.remove()  # the app is not handed out: close what it opened
                db.engine.dispose()
                raise
    init_authorization_server(app)
    background.init_app(app, jobs.JOBS)
    request_ids.init_app(app)  # first: every later hook's log lines carry the id
    metrics.init_app(app, grant_types())
    rate_limits.init_app(app)

    for module in (health, discovery, authorize, token, revocation, introspection, userinfo,
                   account, logout, sessions, debug, metrics_view):
        endpoint_policy.register_blueprint(app, module.bp, module.POLICY)
    endpoint_policy.init_app(app)
    app.jinja_env.globals["csrf_token"] = csrf_token
    register_error_handlers(app)
    trusted = TrustedProxies(app.wsgi_app, parse_networks(app.config["PROVIDER_TRUSTED_PROXIES"]),
                             app.config["PROVIDER_FORWARDED_HEADER"])
    app.wsgi_app = IssuerMount(guard_request_body(trusted), app.config["PROVIDER_ISSUER"])
    return app


def _check_key_encryption_key() -> None:
    """A wrong KEK is a clear start-up error, never a silent new key."""
    if not db.inspect(db.engine).has_table(SigningKey.__tablename__):
        return  # `provider init` has not created the schema yet
    try:
        check_keys_open()
    except KeyDecryptionError as exc:
        raise provider_config.ConfigurationError(str(exc)) from None


def _load_secrets(app: Flask, instance: Path, allow_uninitialised: bool) -> None:
    secrets = provider_config.read_instance_secrets(app.config, instance)
    if secrets is None:
        if not allow_uninitialised:
            raise provider_config.ConfigurationError(
                f"the instance folder {instance} is not initialised: run `provider init`"
            )
        app.config["PROVIDER_KEK"] = None
        return
    app.config["SECRET_KEY"] = secrets.secret_key
    app.config["PROVIDER_KEK"] = secrets.key_encryption_key
    app.config["PROVIDER_PREVIOUS_KEKS"] = secrets.previous_key_encryption_keys
