"""The authorization request as a sequence of small named steps
(RFC 6749 §4.1, OIDC Core §3.1.2, RFC 9207, RFC 9700 §4.1).

Each step either passes or ends the request: with an HTML error page while
the client and redirect URI are not yet trusted, and after that always with a
redirect to that validated URI carrying ``error``, ``state`` and ``iss``.
"""

from __future__ import annotations

import re

from authlib.common.urls import add_params_to_uri
from authlib.oauth2.rfc6749 import OAuth2Error
from flask import Response, current_app, redirect, render_template, url_for

from .. import clock
from ..accounts.consents import has_consent
from ..accounts.interactions import (
    Interaction,
    InteractionTooLarge,
    finish_interaction,
    is_expired,
    start_interaction,
)
from ..accounts.sessions import CurrentLogin, current_login
from ..models import Client
from ..oauth.descriptions import safe_description
from ..oauth.server import authorization_server
from ..oauth.tokens import LoginContext

# Parameters kept when an interaction is stored; anything else is ignored anyway.
KNOWN_PARAMETERS = (
    "response_type", "client_id", "redirect_uri", "scope", "state", "nonce",
    "code_challenge", "code_challenge_method", "prompt", "max_age", "login_hint",
    "response_mode", "ui_locales", "request", "request_uri",
)
SINGLE_VALUED = KNOWN_PARAMETERS
MAX_PARAMETER_LENGTH = 2048
PROMPTS = {"none", "login", "consent", "select_account"}
MAX_AGE = re.compile(r"[0-9]{1,10}")


class AuthorizationEnded(Exception):
    """A step decided the response; ``response`` is it."""

    def __init__(self, response: Response) -> None:
        super().__init__()
        self.response = response


class ClientRedirect:
    """A validated client and redirect URI, and how to answer them."""

    def __init__(self, client: Client, redirect_uri: str, state: str | None) -> None:
        self.client = client
        self.redirect_uri = redirect_uri
        self.state = state

    def error(self, error: str, description: str | None = None) -> AuthorizationEnded:
        params = [("error", error)]
        if description:
            params.append(("error_description", safe_description(description)))
        if self.state:
            params.append(("state", self.state))
        location = add_params_to_uri(self.redirect_uri, params)
        return AuthorizationEnded(redirect_with_issuer(location))


def redirect_with_issuer(location: str) -> Response:
    """Every authorization response names its issuer (RFC 9207 §2)."""
    location = add_params_to_uri(location, [("iss", current_app.config["PROVIDER_ISSUER"])])
    response = redirect(location, code=302)
    response.headers["Cache-Control"] = "no-store"
    return response


def error_page(title: str, message: str, status: int = 400) -> AuthorizationEnded:
    body = render_template("account/error.html", title=title, message=message)
    return AuthorizationEnded(Response(body, status=status, mimetype="text/html"))


# --- the steps ---------------------------------------------------------------------


def collect_parameters(multi: dict[str, list[str]]) -> dict[str, str]:
    """Known parameters, each once; duplicates and oversized values are refused later."""
    params: dict[str, str] = {}
    for name in KNOWN_PARAMETERS:
        values = multi.get(name) or []
        if values:
            params[name] = values[0]
        if len(values) > 1:
            params.setdefault("_duplicate", name)
    return params


def check_client_and_redirect_uri(params: dict[str, str]) -> ClientRedirect:
    if params.get("_duplicate") in ("client_id", "redirect_uri"):
        raise error_page("Invalid request",
                         "The request names its application or return address more than once.")
    client_id = params.get("client_id")
    if not client_id:
        raise error_page("Missing client", "The request does not say which application sent it.")
    client = authorization_server().query_client(client_id)
    if client is None:
        raise error_page("Unknown application",
                         "The application that sent you here is not registered or is disabled.")
    redirect_uri = params.get("redirect_uri") or client.get_default_redirect_uri()
    if not redirect_uri or not client.check_redirect_uri(redirect_uri):
        raise error_page("Invalid redirect address",
                         "The application asked to return you to an address it has not "
                         "registered, so the request was stopped.")
    state = params.get("state")
    if state is not None and len(state) > MAX_PARAMETER_LENGTH:
        state = None  # never echo an oversized value
    return ClientRedirect(client, redirect_uri, state)


def check_request_shape(params: dict[str, str], target: ClientRedirect) -> None:
    if "_duplicate" in params:
        raise target.error("invalid_request", f"Parameter {params['_duplicate']} is repeated.")
    for name, value in params.items():
        if len(value) > MAX_PARAMETER_LENGTH:
            raise target.error("invalid_request", f"Parameter {name} is too long.")
    if "request" in params:
        raise target.error("request_not_supported", "Request objects are not supported.")
    if "request_uri" in params:
        raise target.error("request_uri_not_supported", "request_uri is not supported.")
    if not params.get("response_type"):
        raise target.error("invalid_request", "Missing response_type.")
    if params.get("response_type") != "code":
        raise target.error("unsupported_response_type", "Only response_type=code is supported.")
    if params.get("response_mode", "query") != "query":
        raise target.error("invalid_request", "Only response_mode=query is supported.")


def validate_with_authlib(params: dict[str, str], target: ClientRedirect, user):
    """Client registration, scope policy, PKCE and OIDC checks, through Authlib's grant."""
    try:
        return authorization_server().get_consent_grant(request=params, end_user=user)
    except OAuth2Error as error:
        raise target.error(error.error, error.description) from None


def parse_prompt(params: dict[str, str], target: ClientRedirect) -> set[str]:
    prompts = set(params.get("prompt", "").split())
    if prompts - PROMPTS:
        raise target.error("invalid_request", "Unknown prompt value.")
    if "none" in prompts and len(prompts) > 1:
        raise target.error("invalid_request", "prompt=none cannot be combined with other values.")
    return prompts


def parse_max_age(params: dict[str, str], target: ClientRedirect) -> int | None:
    raw = params.get("max_age")
    if not raw:
        return None  # an empty parameter is an omitted one (RFC 6749 §3.1)
    if not MAX_AGE.fullmatch(raw):  # ASCII digits only: str.isdigit() also takes "²"
        raise target.error("invalid_request", "max_age must be a non-negative integer.")
    return int(raw)


def needs_login(login: CurrentLogin | None, prompts: set[str], max_age: int | None,
                interaction: Interaction | None) -> bool:
    """OIDC Core §3.1.2.1. ``max_age=0`` is ``prompt=login`` (errata): only a login
    in this very interaction satisfies it. A positive ``max_age`` is checked against
    the session's ``auth_time`` every time, so a consent page left open past it asks
    for the password once more (the consent already given in the interaction stays)."""
    if login is None:
        return True
    logged_in_here = interaction is not None and interaction.logged_in_at is not None
    if not logged_in_here and ("login" in prompts or max_age == 0):
        return True
    return bool(max_age) and clock.now() - login.session.auth_time > max_age


def needs_consent(login: CurrentLogin, target: ClientRedirect, scope: str, prompts: set[str],
                  interaction: Interaction | None) -> bool:
    if interaction is not None and interaction.consented_scope is not None:
        return False
    if "consent" in prompts:
        return True
    return not target.client.trusted and not has_consent(login.user, target.client, scope)


def send_to(view: str, params: dict[str, str], interaction: Interaction | None,
            target: ClientRedirect) -> Response:
    if interaction is None:
        try:
            interaction = start_interaction({k: v for k, v in params.items()
                                             if not k.startswith("_")})
        except InteractionTooLarge:
            raise target.error("invalid_request",
                               "The authorization request is too large.") from None
    return redirect(url_for(view, interaction=interaction.token), code=303)


# --- the sequence ------------------------------------------------------------------


def authorize(params: dict[str, str], interaction: Interaction | None = None) -> Response:
    """Run the authorization request to its response."""
    try:
        return _authorize(params, interaction)
    except AuthorizationEnded as ended:
        return ended.response


def _authorize(params: dict[str, str], interaction: Interaction | None) -> Response:
    target = check_client_and_redirect_uri(params)
    if interaction is not None and is_expired(interaction):
        finish_interaction(interaction)
        error = "access_denied" if current_login() is not None else "login_required"
        raise target.error(error, "The sign-in took too long and expired.")
    check_request_shape(params, target)
    prompts = parse_prompt(params, target)
    max_age = parse_max_age(params, target)
    login = current_login()
    grant = validate_with_authlib(params, target, login.user if login else None)
    if needs_login(login, prompts, max_age, interaction):
        if "none" in prompts:
            raise target.error("login_required", "The user is not signed in.")
        return send_to("account.login", params, interaction, target)
    scope = grant.request.scope
    if needs_consent(login, target, scope, prompts, interaction):
        if "none" in prompts:
            raise target.error("consent_required", "The user has not approved this application.")
        return send_to("account.consent", params, interaction, target)
    return issue_code(grant, login, interaction)


def issue_code(grant, login: CurrentLogin, interaction: Interaction | None) -> Response:
    if interaction is not None and not finish_interaction(interaction):
        raise error_page("Sign-in request expired", "This sign-in request was completed "
                         "already. Return to the application and start again.")
    grant.login = LoginContext(sid=login.session.sid, auth_time=login.session.auth_time)
    response = authorization_server().create_authorization_response(
        request=grant.request, grant_user=login.user, grant=grant
    )
    location = response.headers.get("Location")
    return redirect_with_issuer(location) if location else response


def abandon(interaction: Interaction, error: str, description: str) -> Response:
    """End an interaction the user cancelled: the client hears ``error``."""
    try:
        target = check_client_and_redirect_uri(interaction.params)
        finish_interaction(interaction)
        raise target.error(error, description)
    except AuthorizationEnded as ended:
        return ended.response
