"""Benchmark 1: `netspec check specs/lenet.yaml` against import torch + torchinfo.summary, whole process."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from .timing import median, time_process

ROOT = Path(__file__).resolve().parent.parent
GOAL = 20.0  # netspec must be at least this many times faster (issue 12)


def run(runs: int = 9) -> dict[str, Any]:
    netspec = [sys.executable, "-m", "netspec", "check", str(ROOT / "specs" / "lenet.yaml")]
    baseline = [sys.executable, str(ROOT / "benchmarks" / "baselines" / "lenet_torchinfo.py")]
    # interleave so that machine noise hits both sides alike
    ours, theirs = [], []
    for _ in range(runs):
        ours += time_process(netspec, runs=1, warmup=0 if ours else 1)
        theirs += time_process(baseline, runs=1, warmup=0 if theirs else 1)
    ratio = median(theirs) / median(ours)
    return {
        "name": "check latency",
        "workload": "LeNet (specs/lenet.yaml), whole process, median of "
        f"{runs} runs after a warm-up: `python -m netspec check` vs `python` importing torch + torchinfo and "
        "calling torchinfo.summary on the same nn.Sequential",
        "netspec_s": median(ours),
        "torch_torchinfo_s": median(theirs),
        "netspec_runs_s": ours,
        "torch_torchinfo_runs_s": theirs,
        "speedup": ratio,
        "goal": f">= {GOAL:g}x faster",
        "met": ratio >= GOAL,
    }
