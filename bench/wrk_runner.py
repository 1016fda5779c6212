"""Run wrk against one URL with one of the Lua scripts in bench/lua and read its figures."""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

LUA = Path(__file__).resolve().parent / "lua"
DURATION = "10s"
WARM_UP = "2s"
CONNECTIONS = 16


@dataclass
class Figures:
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    errors: int  # non-2xx/3xx answers and connect/read/write errors
    invalid: int = 0  # answers the script judged wrong (an inactive token, no code)
    timeouts: int = 0  # requests wrk gave up on after 2 s

    def cell(self, per: float = 1.0) -> str:
        """``rate (p50 / p99 ms)``; ``per`` divides the rate (two requests per flow)."""
        text = f"{self.requests_per_second / per:,.0f} ({self.p50_ms:.1f} / {self.p99_ms:.1f})"
        text += f", {self.errors} errors" if self.errors else ""
        text += f", {self.timeouts} over 2 s" if self.timeouts else ""
        return text + (f", {self.invalid} invalid" if self.invalid else "")


def _milliseconds(value: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", value).groups()
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def parse(output: str) -> Figures:
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    p50 = _milliseconds(re.search(r"^\s+50%\s+(\S+)", output, re.M).group(1))
    p99 = _milliseconds(re.search(r"^\s+99%\s+(\S+)", output, re.M).group(1))
    errors = sum(int(n) for n in re.findall(r"Non-2xx or 3xx responses: (\d+)", output))
    socket = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)",
                       output)
    timeouts = 0
    if socket:
        errors += sum(int(n) for n in socket.groups()[:3])
        timeouts = int(socket.group(4))
    invalid = re.search(r"Invalid answers: (\d+)", output)
    return Figures(rate, p50, p99, errors, int(invalid.group(1)) if invalid else 0, timeouts)


def run(url: str, script: str | None = None, env: dict[str, str] | None = None,
        threads: int = 1, connections: int = CONNECTIONS,
        prepare: Callable[[], dict[str, str]] | None = None) -> Figures:
    """A warm-up run, then the measured one. ``prepare`` runs in between and returns
    what the measured run uses instead (fresh tokens and sessions: node-oidc-provider's
    in-memory store keeps only the most recently used ~1,000 entries, so whatever the
    warm-up did not touch may be gone). ``threads == connections`` for the scripts that
    keep per-connection state (refresh chains, code flows)."""
    command = ["wrk", f"-t{threads}", f"-c{connections}", "--latency"]
    if script:
        command += ["-s", str(LUA / script)]
    environment = {**os.environ, "LUA_DIR": str(LUA), **(env or {})}
    subprocess.run([*command, f"-d{WARM_UP}", url], env=environment, capture_output=True,
                   check=True)
    measured = subprocess.run([*command, f"-d{DURATION}", url],
                              env={**environment, **(prepare() if prepare else {})},
                              capture_output=True, text=True, check=True)
    return parse(measured.stdout)
