"""The end-user pages: sign in, consent, sign out, and a small home page."""

from __future__ import annotations

from flask import (
    Blueprint,
    Response,
    after_this_request,
    redirect,
    render_template,
    request,
    url_for,
)

from .. import audit, background, clock, metrics
from ..accounts import throttle
from ..accounts.consents import remember_consent
from ..accounts.csrf import require_csrf
from ..accounts.interactions import Interaction, find_interaction, is_expired
from ..accounts.passwords import complete_login
from ..accounts.sessions import current_login, start_login_session
from ..database import atomic_view, write_transaction
from ..endpoint_policy import PAGES, EndpointPolicy
from ..models import LoginSession, User
from ..oauth.logout import end_login_session
from ..oauth.scopes import describe
from ..oauth.server import authorization_server
from . import authorization_flow

bp = Blueprint("account", __name__)
POLICY = EndpointPolicy(errors=PAGES)

MAX_USERNAME = 150
MAX_PASSWORD = 1024
LOGIN_FAILED = "Incorrect username or password."
LOGIN_THROTTLED = "Too many failed sign-in attempts. Try again in {wait}."
EXPIRED = ("Sign-in request expired",
           "This sign-in request is no longer valid. Return to the application and start again.")


def _interaction_or_page(raw_id: str | None) -> Interaction | Response | None:
    """The interaction named in the request; an error page if it is unknown."""
    if not raw_id:
        return None
    interaction = find_interaction(raw_id)
    if interaction is None:
        return Response(render_template("account/error.html", title=EXPIRED[0],
                                        message=EXPIRED[1]), status=400, mimetype="text/html")
    return interaction


def _client_name(interaction: Interaction | None) -> str | None:
    if interaction is None:
        return None
    client = authorization_server().query_client(interaction.params.get("client_id"))
    return client.name if client else None


@bp.route("/")
def home():
    return render_template("account/home.html", login=current_login())


@bp.route("/login", methods=["GET", "POST"])
def login():
    attempt = None
    if request.method == "POST":
        require_csrf()
        attempt = _verify_login_form()  # throttle and argon2 run before the write lock
    with write_transaction():
        if attempt is not None and attempt.verified is not None:
            throttle.forget_success(attempt.claim)  # whatever follows, this was no guess
        return _login(attempt)


def _verify_login_form() -> throttle.LoginAttempt | None:
    username = request.form.get("username", "")
    password = request.form.get("password", "")
    if request.form.get("action") == "cancel":
        return None
    if len(username) > MAX_USERNAME or len(password) > MAX_PASSWORD:
        return None  # no account has such a name or password: nothing is guessed
    # the client address behind trusted proxies only (client_address.py)
    return throttle.try_password(username, password, request.remote_addr)


def _login(attempt: throttle.LoginAttempt | None):
    interaction = _interaction_or_page(request.values.get("interaction"))
    if isinstance(interaction, Response):
        return interaction
    if interaction is not None and is_expired(interaction):
        return authorization_flow.authorize(interaction.params, interaction)
    if request.method == "GET":
        hint = interaction.params.get("login_hint", "") if interaction else ""
        return _login_page(interaction, username=hint[:MAX_USERNAME])
    if request.form.get("action") == "cancel" and interaction is not None:
        return authorization_flow.abandon(interaction, "access_denied", "The user cancelled.")
    username = request.form.get("username", "")[:MAX_USERNAME]
    if attempt is not None and attempt.claim.throttled:
        return _throttled_page(interaction, username, attempt.claim.retry_after)
    verified = attempt.verified if attempt is not None else None
    user = complete_login(verified) if verified is not None else None
    if user is None:
        audit.record("login_failed", username=username)
        metrics.login_failed()
        return _login_page(interaction, username=username, error=LOGIN_FAILED)
    login = _sign_in(user)
    audit.record("login_succeeded", user_id=user.id, sid=login.sid)
    if interaction is None:
        return redirect(url_for("account.home"), code=303)
    interaction.logged_in_at = clock.now()
    return authorization_flow.authorize(interaction.params, interaction)


def _sign_in(user: User) -> LoginSession:
    """Start ``user``'s provider session in this browser, or re-authenticate the one
    it holds. A live session of another user ends first, exactly as a logout ends it
    (its families, its access tokens, back-channel notices), so signing in as someone
    else never leaves the earlier session alive behind the new cookie."""
    previous = current_login()
    if previous is not None and previous.user.id != user.id:
        end_login_session(previous.session, reason="another_user_signed_in")
        after_this_request(background.wake_after)
        previous = None
    return start_login_session(user, continuing=previous.session if previous else None)


def _login_page(interaction: Interaction | None, username: str, error: str | None = None):
    return render_template(
        "account/login.html",
        interaction=interaction,
        client_name=_client_name(interaction),
        username=username,
        error=error,
    )


def _throttled_page(interaction: Interaction | None, username: str, retry_after: int) -> Response:
    """The login form again, saying how long to wait; the same for every username."""
    audit.record("login_throttled", username=username, retry_after=retry_after)
    metrics.login_throttled()
    minutes = -(-retry_after // 60)
    wait = (f"{retry_after} second{'s' if retry_after != 1 else ''}" if retry_after < 60
            else f"{minutes} minute{'s' if minutes != 1 else ''}")
    page = _login_page(interaction, username=username, error=LOGIN_THROTTLED.format(wait=wait))
    return Response(page, status=429, mimetype="text/html",
                    headers={"Retry-After": str(retry_after)})


@bp.route("/consent", methods=["GET", "POST"])
@atomic_view()
def consent():
    interaction = _interaction_or_page(request.values.get("interaction"))
    if interaction is None:
        return redirect(url_for("account.home"), code=303)
    if isinstance(interaction, Response):
        return interaction
    signed_in = current_login()
    if signed_in is None or is_expired(interaction):
        return authorization_flow.authorize(interaction.params, interaction)
    client = authorization_server().query_client(interaction.params.get("client_id"))
    if client is None:
        return authorization_flow.authorize(interaction.params, interaction)
    scope = client.get_allowed_scope(interaction.params.get("scope"))
    if request.method == "GET":
        return render_template("account/consent.html", interaction=interaction, client=client,
                               scopes=describe(scope), login=signed_in)
    require_csrf()
    if request.form.get("decision") != "allow":
        return authorization_flow.abandon(interaction, "access_denied",
                                          "The user denied the request.")
    remember_consent(signed_in.user, client, scope)
    audit.record("consent_granted", user_id=signed_in.user.id, client_id=client.client_id,
                 scope=scope)
    interaction.consented_scope = scope
    return authorization_flow.authorize(interaction.params, interaction)
