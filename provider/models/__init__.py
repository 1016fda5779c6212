"""Stored things, one module each. Importing this package registers every table."""

from .audit_event import AuditEvent
from .authorization_code import AuthorizationCode
from .client import Client
from .consent import Consent
from .denied_token import DeniedAccessToken
from .lease import Lease
from .login_session import LoginSession
from .login_throttle import LoginThrottle
from .logout_delivery import LogoutDelivery
from .pending_denial import PendingDenial
from .refresh_token import IssuedAccessToken, RefreshToken, RefreshTokenFamily
from .signing_key import SigningKey
from .spent_interaction import SpentInteraction
from .user import User

__all__ = [
    "AuditEvent",
    "AuthorizationCode",
    "Client",
    "Consent",
    "DeniedAccessToken",
    "IssuedAccessToken",
    "Lease",
    "LoginSession",
    "LoginThrottle",
    "LogoutDelivery",
    "PendingDenial",
    "RefreshToken",
    "RefreshTokenFamily",
    "SigningKey",
    "SpentInteraction",
    "User",
]
