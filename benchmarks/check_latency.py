"""Benchmark 1: `netspec check specs/lenet.yaml` against import torch + torchinfo.summary, whole process."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from .timing import median, time_process

ROOT = Path(__file__).resolve().parent.parent
GOAL = 20.0  # netspec must be at least this many times faster (issue 12)


def run(runs: int = 9) -> dict[str, Any]:
    netspec = [sys.executable, "-m", "netspec", "check", str(ROOT / "specs" / "lenet.yaml")]
    baseline = [sys.executable, str(ROOT / "benchmarks" / "baselines" / "lenet_torchinfo.py")]
    # bytecode cached, as an installed package has it: the warm-up runs write any .pyc that is missing
    cached = {k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE", "NETSPEC_NO_FASTPATH")}
    # interleave so that machine noise hits both sides alike
    ours, theirs = [], []
    for _ in range(runs):
        ours += time_process(netspec, runs=1, warmup=0 if ours else 1, env=cached)
        theirs += time_process(baseline, runs=1, warmup=0 if theirs else 1, env=cached)
    ratio = median(theirs) / median(ours)
    # for the record: the full command line (click, pydantic), which a spec with something to report takes
    full = time_process(netspec, runs=runs, env={**cached, "NETSPEC_NO_FASTPATH": "1"})
    # and netspec with no bytecode at all: every module compiled from source, each run (a first run after install)
    with tempfile.TemporaryDirectory() as empty:
        cold = time_process(
            netspec, runs=runs, env={**cached, "PYTHONDONTWRITEBYTECODE": "1", "PYTHONPYCACHEPREFIX": empty}
        )
    return {
        "name": "check latency",
        "workload": "LeNet (specs/lenet.yaml), whole process, median of "
        f"{runs} runs after a warm-up, bytecode cached: `python -m netspec check` vs `python` importing torch + "
        "torchinfo and calling torchinfo.summary on the same nn.Sequential",
        "bytecode": "cached",
        "netspec_s": median(ours),
        "torch_torchinfo_s": median(theirs),
        "netspec_runs_s": ours,
        "torch_torchinfo_runs_s": theirs,
        "speedup": ratio,
        "full_command_s": median(full),
        "netspec_no_bytecode_s": median(cold),
        "goal": f">= {GOAL:g}x faster",
        "met": ratio >= GOAL,
    }
