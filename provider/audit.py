"""The audit trail: security events as rows an operator can query and as
structured log lines. Rows are written in the caller's transaction."""

from __future__ import annotations

import logging

from flask import has_request_context, request

from . import clock
from .extensions import db
from .models import AuditEvent

log = logging.getLogger("provider.audit")
# events that suggest an attack or a fault; the rest are routine and logged at INFO
WARNING_EVENTS = {"refresh_token_reuse", "authorization_code_replay", "login_failed",
                  "login_throttled",
                  "signing_key_revoked", "backchannel_logout_delivery"}


def record(event: str, *, user_id: str | None = None, client_id: str | None = None,
           family_id: str | None = None, **details: object) -> AuditEvent:
    ip = user_agent = None
    if has_request_context():
        ip = request.remote_addr
        user_agent = (request.user_agent.string or "")[:400] or None
    row = AuditEvent(at=clock.now(), event=event, user_id=user_id, client_id=client_id,
                     family_id=family_id, ip=ip, user_agent=user_agent, details=details)
    db.session.add(row)
    level = logging.WARNING if event in WARNING_EVENTS else logging.INFO
    # as fields of the structured log line (provider/logs.py), not text to parse
    log.log(level, "audit %s", event, extra={"fields": {
        "audit": event, "user_id": user_id, "client_id": client_id, "family_id": family_id,
        "ip": ip, "user_agent": user_agent, **details}})
    return row
