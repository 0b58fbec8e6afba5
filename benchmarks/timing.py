"""Whole-process timing: the median of several runs after a warm-up."""

from __future__ import annotations

import statistics
import subprocess
import time
from collections.abc import Mapping, Sequence


def time_process(
    argv: Sequence[str],
    *,
    runs: int = 5,
    warmup: int = 1,
    cwd: str | None = None,
    env: Mapping[str, str] | None = None,
) -> list[float]:
    """Wall seconds of each of `runs` runs of `argv` (after `warmup` untimed ones); fails loudly if it fails."""
    times = []
    for i in range(warmup + runs):
        start = time.perf_counter()
        done = subprocess.run(argv, capture_output=True, text=True, cwd=cwd, env=env)
        elapsed = time.perf_counter() - start
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(argv)} exited {done.returncode}:\n{done.stderr[-2000:]}")
        if i >= warmup:
            times.append(elapsed)
    return times


def median(values: Sequence[float]) -> float:
    return statistics.median(values)
