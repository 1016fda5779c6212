"""Logout: OpenID Connect RP-Initiated Logout 1.0 at /end-session, and the
provider's own sign-out button. Both end the provider session the same way
(``oauth.logout``); back-channel notices go out after the response."""

from __future__ import annotations

from dataclasses import dataclass

from authlib.common.urls import add_params_to_uri
from flask import Blueprint, Response, after_this_request, redirect, render_template, request

from .. import background
from ..accounts.csrf import require_csrf
from ..accounts.sessions import current_login, forget_login
from ..database import atomic_view
from ..endpoint_policy import PAGES, EndpointPolicy
from ..models import Client
from ..oauth.logout import InvalidHint, end_login_session, hint_client_id, verify_id_token_hint
from ..oauth.server import authorization_server

bp = Blueprint("logout", __name__)
POLICY = EndpointPolicy(errors=PAGES)

PARAMETERS = ("id_token_hint", "client_id", "post_logout_redirect_uri", "state", "ui_locales")


class LogoutRefused(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass
class LogoutRequest:
    params: dict[str, str]
    hint: dict | None
    client: Client | None
    redirect_uri: str | None


def parse_logout_request(params: dict[str, str]) -> LogoutRequest:
    hint = None
    if params.get("id_token_hint"):
        try:
            hint = verify_id_token_hint(params["id_token_hint"])
        except InvalidHint as exc:
            raise LogoutRefused(str(exc)) from None
    client_id = params.get("client_id") or (hint_client_id(hint) if hint else None)
    if hint and params.get("client_id") and params["client_id"] != hint_client_id(hint):
        raise LogoutRefused("client_id does not match the id_token_hint")
    client = authorization_server().query_client(client_id) if client_id else None
    if client_id and client is None:
        raise LogoutRefused("the application is not registered or is disabled")
    redirect_uri = params.get("post_logout_redirect_uri")
    if redirect_uri and (client is None or redirect_uri not in client.post_logout_redirect_uris):
        raise LogoutRefused("post_logout_redirect_uri is not registered for this application")
    return LogoutRequest(params=params, hint=hint, client=client, redirect_uri=redirect_uri)


def initiating_client(logout: LogoutRequest, user_id: str) -> str | None:
    """The client whose ``offline_access`` families this logout also ends: only one
    named by a valid hint for this user. A bare ``client_id`` proves nothing (anyone
    can send it); it only selects the client whose post-logout URIs are checked."""
    if logout.hint is None or logout.hint.get("sub") != user_id:
        return None
    return hint_client_id(logout.hint)


def finish(logout: LogoutRequest) -> Response:
    if logout.redirect_uri:
        params = [("state", logout.params["state"])] if logout.params.get("state") else []
        return redirect(add_params_to_uri(logout.redirect_uri, params), code=303)
    return Response(render_template("logout/done.html"), mimetype="text/html")


def _refused(message: str) -> Response:
    return Response(render_template("account/error.html", title="Sign-out request refused",
                                    message=message), status=400, mimetype="text/html")


@bp.route("/end-session", methods=["GET", "POST"])
@atomic_view()
def end_session():
    source = request.args if request.method == "GET" else request.form
    params = {name: source.get(name, "") for name in PARAMETERS if source.get(name)}
    try:
        logout = parse_logout_request(params)
    except LogoutRefused as refused:
        return _refused(refused.message)
    login = current_login()
    if login is None:
        return finish(logout)  # nobody is signed in here: nothing to end
    decision = request.form.get("decision") if request.method == "POST" else None
    if decision is not None:
        require_csrf()
        if decision != "logout":
            return Response(render_template("logout/kept.html"), mimetype="text/html")
    else:
        hinted_sid = logout.hint.get("sid") if logout.hint else None
        if hinted_sid != login.session.sid:  # §2: confirm unless the hint names this session
            return Response(render_template("logout/confirm.html", logout=logout,
                                            login=login), mimetype="text/html")
    end_login_session(login.session, initiating_client(logout, login.user.id))
    forget_login()
    after_this_request(background.wake_after)
    return finish(logout)


@bp.route("/logout", methods=["POST"])
@atomic_view()
def sign_out():
    """The provider's own sign-out button (home page)."""
    require_csrf()
    login = current_login()
    if login is not None:
        end_login_session(login.session)
        after_this_request(background.wake_after)
    forget_login()
    return redirect("/", code=303)
