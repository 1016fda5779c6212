"""The token debugger page. A pasted token is decoded and its signature checked
in the browser (``static/debug.js``, WebCrypto) against the JWKS, so the token
never reaches the server; ``provider token inspect`` does the same on the
command line, and also checks revocation and refresh tokens."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, render_template, url_for

from ..endpoint_policy import PAGES, EndpointPolicy
from ..keys import SUPPORTED_ALGORITHMS

bp = Blueprint("debug", __name__)
POLICY = EndpointPolicy(errors=PAGES)

# The one page that runs script: its own file from this origin, whose only request
# is the JWKS. No form may submit anywhere, so a token cannot be posted by mistake.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self'; "
    "img-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'"
)


@bp.route("/debug")
def index():
    config = current_app.config
    audiences = list(dict.fromkeys([config["PROVIDER_ISSUER"],
                                    config["PROVIDER_DEFAULT_AUDIENCE"]]))
    return render_template("debug/index.html", issuer=config["PROVIDER_ISSUER"],
                           audiences=audiences, algorithms=SUPPORTED_ALGORITHMS,
                           jwks_url=url_for("discovery.jwks"))


@bp.after_request
def content_security_policy(response: Response) -> Response:
    # set here, so the app-wide default (``setdefault``) leaves it alone
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    return response
