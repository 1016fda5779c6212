"""The verdict as text for people: the conclusion first, then every problem and
warning, then what the token says (pretty JSON) with its times spelled out."""

from __future__ import annotations

import json

from .verdict import KIND_NAMES, Verdict, relative, stamp

TIME_CLAIMS = ("iat", "nbf", "exp", "auth_time")
REFRESH_FIELDS = (
    ("family", "family_id"), ("client", "client_id"), ("client name", "client_name"),
    ("user", "username"), ("sub", "user_id"), ("scope", "scope"),
)
REFRESH_TIMES = (
    ("issued", "issued_at"), ("expires", "expires_at"), ("used", "used_at"),
    ("family started", "family_created_at"), ("family ends", "family_expires_at"),
    ("family revoked", "family_revoked_at"),
)


def render_text(verdict: Verdict, now: int) -> str:
    kind = KIND_NAMES[verdict.kind]
    lines = [f"{'VALID' if verdict.valid else 'INVALID'}: {kind}"]
    if verdict.problems:
        count = len(verdict.problems)
        lines.append(f"{count} problem{'s' if count != 1 else ''}:")
        lines.extend(f"  - {finding.message}" for finding in verdict.problems)
    if verdict.warnings:
        lines.append("Warnings:")
        lines.extend(f"  - {finding.message}" for finding in verdict.warnings)
    if verdict.key is not None:
        key = verdict.key
        lines.append(f"Key: {key['kid']} ({key['alg']}, {key['state']})")
    if verdict.header is not None:
        lines += ["Header:", _indent(json.dumps(verdict.header, indent=2, ensure_ascii=False))]
    if verdict.claims is not None:
        lines += ["Claims:", _indent(json.dumps(verdict.claims, indent=2, ensure_ascii=False))]
        times = [(name, verdict.claims[name]) for name in TIME_CLAIMS
                 if _is_time(verdict.claims.get(name))]
        lines += _times(times, now)
    if verdict.refresh_token is not None:
        lines += _refresh(verdict.refresh_token, now)
    return "\n".join(lines)


def _refresh(details: dict, now: int) -> list[str]:
    lines = ["Refresh token (neither the token nor its digest is shown):",
             f"  {'status':<15} {details['status']}"]
    for label, name in REFRESH_FIELDS:
        if details.get(name) is not None:
            lines.append(f"  {label:<15} {details[name]}")
    lines.append(f"  {'offline access':<15} {'yes' if details['offline_access'] else 'no'}")
    if details.get("family_revoked_reason"):
        lines.append(f"  {'revoked because':<15} {details['family_revoked_reason']}")
    times = [(label, details[name]) for label, name in REFRESH_TIMES
             if details.get(name) is not None]
    return lines + _times(times, now)


def _times(times: list[tuple[str, int]], now: int) -> list[str]:
    if not times:
        return []
    width = max(len(label) for label, _ in times)
    return ["Times:"] + [f"  {label:<{width}}  {stamp(moment)} ({relative(moment, now)})"
                         for label, moment in times]


def _is_time(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _indent(text: str) -> str:
    return "\n".join("  " + line for line in text.splitlines())
