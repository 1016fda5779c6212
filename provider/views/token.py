"""The token endpoint (RFC 6749 §3.2). One writing transaction per request,
committed only when a token is issued."""

from __future__ import annotations

from flask import Blueprint

from ..database import atomic_view
from ..oauth.server import authorization_server

bp = Blueprint("token", __name__)


@bp.route("/token", methods=["POST"])
@atomic_view(commit_when=lambda response: response.status_code == 200)
def token():
    return authorization_server().create_token_response()
