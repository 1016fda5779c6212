"""The user's sessions and consents page (``account_overview``): where they are
signed in, which applications hold refresh tokens, which consents are
remembered, and a button to end each. Every action is a CSRF-protected POST in
one writing transaction, answered with a redirect (303); another user's
session, application or consent is a 404 that changes nothing."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import NamedTuple

from flask import (
    Blueprint,
    Response,
    abort,
    after_this_request,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)

from .. import account_overview, background
from ..accounts.csrf import require_csrf
from ..accounts.sessions import CurrentLogin, current_login, forget_login
from ..database import atomic_view
from ..endpoint_policy import PAGES, EndpointPolicy

bp = Blueprint("sessions", __name__, url_prefix="/account")
POLICY = EndpointPolicy(errors=PAGES)


class Moment(NamedTuple):
    iso: str
    text: str


def moment(timestamp: int) -> Moment:
    at = datetime.fromtimestamp(timestamp, UTC)
    return Moment(at.isoformat().replace("+00:00", "Z"), at.strftime("%Y-%m-%d %H:%M UTC"))


@bp.route("/sessions")
def index():
    login = current_login()
    if login is None:
        return _to_login()
    return render_template(
        "account/sessions.html", login=login, moment=moment,
        overview=account_overview.overview(login.user, login.session.sid))


@bp.route("/sessions/end", methods=["POST"])
@atomic_view()
def end_session():
    def act(login: CurrentLogin) -> Response:
        sid = request.form.get("sid", "")
        _or_404(account_overview.end_session, login.user, sid)
        after_this_request(background.wake_after)  # back-channel logout notices, after the commit
        if sid == login.session.sid:
            forget_login()
            return redirect(url_for("account.home"), code=303)
        flash("The session was ended.")
        return _back()

    return _signed_in_form(act)


@bp.route("/applications/revoke", methods=["POST"])
@atomic_view()
def revoke_application():
    def act(login: CurrentLogin) -> Response:
        _or_404(account_overview.revoke_application, login.user,
                request.form.get("client_id", ""))
        flash("The application's access was revoked.")
        return _back()

    return _signed_in_form(act)


@bp.route("/consents/withdraw", methods=["POST"])
@atomic_view()
def withdraw_consent():
    def act(login: CurrentLogin) -> Response:
        _or_404(account_overview.withdraw_consent, login.user,
                request.form.get("client_id", ""))
        flash("Consent withdrawn: the application will have to ask again.")
        return _back()

    return _signed_in_form(act)


def _signed_in_form(act: Callable[[CurrentLogin], Response]) -> Response:
    login = current_login()
    if login is None:
        return _to_login()
    require_csrf()
    return act(login)


def _or_404(action: Callable[..., object], *args: object) -> None:
    try:
        action(*args)
    except account_overview.NotFound as missing:
        abort(404, description=f"Nothing was changed: {missing}.")


def _to_login() -> Response:
    return redirect(url_for("account.login"), code=303)


def _back() -> Response:
    return redirect(url_for(".index"), code=303)
