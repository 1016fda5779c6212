"""The authorization endpoint (GET and POST, OIDC Core §3.1.2.1)."""

from __future__ import annotations

from urllib.parse import urlencode

from flask import Blueprint, current_app, redirect, request

from ..database import atomic_view
from ..endpoint_policy import PAGES, EndpointPolicy
from ..rate_limits import AUTHORIZE_PER_ADDRESS, limited
from . import authorization_flow

bp = Blueprint("authorize", __name__)
POLICY = EndpointPolicy(errors=PAGES)


@bp.route("/authorize", methods=["GET", "POST"])
@limited(AUTHORIZE_PER_ADDRESS)  # anonymous requests only; before the write lock
@atomic_view()
def authorize():
    if request.method == "POST" and not _has_session_cookie():
        # A cross-site form POST carries no SameSite=Lax cookie: handled here it would
        # start a fresh session over the user's login. The same request as a GET is a
        # top-level navigation, which does carry the cookie.
        # only the parameters /authorize knows (each kept as sent, repeats too, so the
        # GET refuses what the POST would have): anything else would only lengthen
        # the URL past what a server takes
        query = urlencode([(name, value) for name, value in request.form.items(multi=True)
                           if name in authorization_flow.KNOWN_PARAMETERS])
        issuer = current_app.config["PROVIDER_ISSUER"].rstrip("/")
        return redirect(f"{issuer}/authorize?{query}", code=303)
    source = request.args if request.method == "GET" else request.form
    params = authorization_flow.collect_parameters(source.to_dict(flat=False))
    return authorization_flow.authorize(params)


def _has_session_cookie() -> bool:
    return current_app.config["SESSION_COOKIE_NAME"] in request.cookies
