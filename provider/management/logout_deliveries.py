"""The back-channel logout outbox as the operator sees it: deliveries, newest first."""

from __future__ import annotations

from ..extensions import db
from ..models import LogoutDelivery


def list_logout_deliveries(status: str | None = None, limit: int = 100) -> list[dict]:
    """The back-channel logout outbox, newest first."""
    query = db.select(LogoutDelivery).order_by(LogoutDelivery.id.desc()).limit(limit)
    if status:
        query = query.where(LogoutDelivery.status == status)
    return [{"id": d.id, "client_id": d.client_id, "sid": d.sid, "status": d.status,
             "attempts": d.attempts, "created_at": d.created_at,
             "last_attempt_at": d.last_attempt_at, "next_attempt_at": d.next_attempt_at,
             "delivered_at": d.delivered_at, "last_error": d.last_error}
            for d in db.session.scalars(query)]
