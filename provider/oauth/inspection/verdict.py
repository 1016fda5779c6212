"""What the token debugger concludes: the kind of token, what it says, and
every problem (each one a reason it is refused) and warning, in plain words."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

# token kinds, not secrets
ACCESS_TOKEN = "access_token"  # noqa: S105
ID_TOKEN = "id_token"  # noqa: S105
REFRESH_TOKEN = "refresh_token"  # noqa: S105
UNKNOWN = "unknown"
KIND_NAMES = {ACCESS_TOKEN: "access token", ID_TOKEN: "ID token",
              REFRESH_TOKEN: "refresh token", UNKNOWN: "token of unknown kind"}


@dataclass(frozen=True)
class Finding:
    code: str  # stable, for machines: "expired", "unknown_kid", ...
    message: str  # for people: "expired 3 minutes ago (2026-05-01 10:00:00 UTC)"


@dataclass
class Verdict:
    kind: str = UNKNOWN
    header: dict | None = None
    claims: dict | None = None
    problems: list[Finding] = field(default_factory=list)
    warnings: list[Finding] = field(default_factory=list)
    key: dict | None = None  # kid, alg and state of the published key the token names
    refresh_token: dict | None = None  # what the store says about an opaque refresh token

    @property
    def valid(self) -> bool:
        return not self.problems

    def problem(self, code: str, message: str) -> None:
        self.problems.append(Finding(code, message))

    def warn(self, code: str, message: str) -> None:
        self.warnings.append(Finding(code, message))

    def as_dict(self) -> dict:
        document = {
            "valid": self.valid,
            "kind": self.kind,
            "header": self.header,
            "claims": self.claims,
            "problems": [finding.__dict__ for finding in self.problems],
            "warnings": [finding.__dict__ for finding in self.warnings],
            "key": self.key,
        }
        if self.refresh_token is not None:
            document["refresh_token"] = self.refresh_token
        return document


def duration(seconds: int) -> str:
    """``3 minutes``: whole units, rounded down, the largest unit that fits."""
    seconds = abs(int(seconds))
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size * (2 if unit != "minute" else 1):
            count = seconds // size
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return f"{seconds} second{'s' if seconds != 1 else ''}"


def relative(moment: int, now: int) -> str:
    """``3 minutes ago`` or ``in 14 minutes``."""
    if moment <= now:
        return f"{duration(now - moment)} ago"
    return f"in {duration(moment - now)}"


def stamp(moment: int) -> str:
    try:
        return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    except (OverflowError, OSError, ValueError):
        return f"{moment} (out of range)"
