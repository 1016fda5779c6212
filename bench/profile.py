"""Where a workload's time goes in ``provider serve``: py-spy samples every worker
while wrk runs the workload, and the stacks are summed per function.

    .venv/bin/python -m bench.profile W3 [--top 25]

Prints the functions with the largest share of samples, inclusive (the function
and what it calls) and self, and keeps the collapsed stacks in bench/results/
(for a flame graph: ``flamegraph.pl`` or speedscope.app reads them).
"""

from __future__ import annotations

import argparse
import collections
import datetime
import signal
import subprocess
import tempfile
from pathlib import Path

from bench.compare import WORKLOADS, measure
from bench.targets import BIN, ROOT, start_provider

SAMPLE_RATE = 250  # per second


def record(pid: int, seconds: int, out: Path) -> subprocess.Popen:
    return subprocess.Popen([str(BIN / "py-spy"), "record", "--pid", str(pid), "--subprocesses",
                             "--format", "raw", "--rate", str(SAMPLE_RATE), "--duration",
                             str(seconds), "--output", str(out), "--nonblocking"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _name(frame: str) -> str:
    """``function (package/module.py)``, the line number dropped so a function's
    samples add up."""
    function, _, where = frame.partition(" (")
    return f"{function} ({where.rsplit(':', 1)[0]})" if where else function


def summarise(stacks: Path, top: int) -> str:
    """Shares of the samples taken inside ``Front.__rsgi__`` (a request being served)."""
    inclusive: collections.Counter[str] = collections.Counter()
    own: collections.Counter[str] = collections.Counter()
    total = 0
    for line in stacks.read_text().splitlines():
        frames, _, count = line.rpartition(" ")
        names = [_name(frame) for frame in frames.split(";")]
        start = next((i for i, name in enumerate(names) if name.startswith("Front.__rsgi__")),
                     None)
        if start is None:
            continue  # the idle event loop, the scheduler and outbox threads
        samples = int(count)
        total += samples
        for name in set(names[start:]):
            inclusive[name] += samples
        own[names[-1]] += samples
    lines = [f"{total} samples in requests", "", "inclusive:"]
    lines += [f"{100 * n / total:5.1f} %  {name}" for name, n in inclusive.most_common(top)]
    lines += ["", "self:"]
    lines += [f"{100 * n / total:5.1f} %  {name}" for name, n in own.most_common(top)]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workload", choices=sorted(WORKLOADS))
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--summarise", type=Path, help="a kept profile, instead of a new run")
    args = parser.parse_args()
    if args.summarise:
        print(summarise(args.summarise, args.top))
        return
    now = datetime.datetime.now(datetime.UTC)
    out = ROOT / "bench" / "results" / f"profile-{args.workload}-{now:%Y%m%d-%H%M}.txt"
    out.parent.mkdir(exist_ok=True)
    target = start_provider()
    try:
        spy = record(target.process.pid, 40, out)
        with tempfile.TemporaryDirectory() as scratch:
            figures = measure(target, {args.workload}, Path(scratch))[args.workload]
        spy.send_signal(signal.SIGINT)  # py-spy writes its file when interrupted
        spy.wait(timeout=30)
    finally:
        target.stop()
    print(f"{args.workload} under py-spy: {figures.cell()} requests/s (p50 / p99 ms)")
    print(summarise(out, args.top))


if __name__ == "__main__":
    main()
