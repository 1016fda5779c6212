"""The authorization endpoint (GET and POST, OIDC Core §3.1.2.1)."""

from __future__ import annotations

from flask import Blueprint, request

from ..database import atomic_view
from . import authorization_flow

bp = Blueprint("authorize", __name__)


@bp.route("/authorize", methods=["GET", "POST"])
@atomic_view()
def authorize():
    source = request.args if request.method == "GET" else request.form
    params = authorization_flow.collect_parameters(source.to_dict(flat=False))
    return authorization_flow.authorize(params)
