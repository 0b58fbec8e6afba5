"""Benchmark 2: static checks of generated valid specs of 100 to 100,000 layers: time and peak memory."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from .timing import median

# a written-out spec holds at most 150,000 YAML values (source.MAX_NODES), about 37,000 of these layers;
# larger networks come from blocks and repeats, which check_blocks measures (up to 70,000 nodes)
SIZES = (100, 1_000, 10_000)
GOAL_10K_S = 1.0
GOAL_GROWTH = 12.0  # a 10x larger spec may cost at most this many times the time

# Measured inside a fresh process so that peak RSS belongs to this spec alone.
_CHILD = """
import json, resource, sys, time
t0 = time.perf_counter()
from netspec import check, load_spec  # the schema models are built on this import
t1 = time.perf_counter()
report = check(load_spec(sys.argv[1]))
t2 = time.perf_counter()
print(json.dumps({"import_s": t1 - t0, "check_s": t2 - t1, "layers": len(report.layers),
                  "peak_rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
"""

_BLOCK = [  # a VGG-like stage repeated: every layer is valid and the shapes stay (N, 16, 32, 32)
    "  - {type: Conv2d, out_channels: 16, kernel_size: 3, padding: 1}",
    "  - BatchNorm2d",
    "  - ReLU",
    "  - {type: Dropout2d, p: 0.1}",
]


def spec_text(n: int) -> str:
    body = [_BLOCK[i % len(_BLOCK)] for i in range(n - 3)]
    tail = ["  - {type: AdaptiveAvgPool2d, output_size: 1}", "  - Flatten", "  - {type: Linear, out_features: 10}"]
    return "\n".join([f"name: generated-{n}", "input: [3, 32, 32]", "layers:", *body, *tail]) + "\n"


def measure(path: Path, runs: int) -> dict[str, Any]:
    samples = []
    for _ in range(runs):
        done = subprocess.run([sys.executable, "-c", _CHILD, str(path)], capture_output=True, text=True, check=True)
        samples.append(json.loads(done.stdout))
    return {
        "check_s": median([s["check_s"] for s in samples]),
        "peak_rss_mib": max(s["peak_rss_kib"] for s in samples) / 1024,
        "layers": samples[0]["layers"],
    }


def run(sizes: tuple[int, ...] = SIZES, runs: int = 5) -> dict[str, Any]:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            path = Path(tmp) / f"spec-{n}.yaml"
            path.write_text(spec_text(n), encoding="utf-8")
            rows.append({"layers": n, **measure(path, runs if n < 100_000 else max(1, runs // 2))})
    growth = [b["check_s"] / a["check_s"] for a, b in itertools.pairwise(rows) if a["layers"] >= 1_000]
    at_10k = next((r["check_s"] for r in rows if r["layers"] == 10_000), None)
    return {
        "name": "check at scale",
        "workload": "generated valid specs (Conv2d/BatchNorm2d/ReLU/Dropout2d blocks on 3×32×32), "
        "load_spec + check in a fresh process, median of runs; peak RSS of the whole process",
        "rows": rows,
        "growth_per_10x": growth,
        "goal": f"10,000 layers < {GOAL_10K_S:g} s; a 10x larger spec costs <= {GOAL_GROWTH:g}x the time",
        "met": (at_10k is None or at_10k < GOAL_10K_S) and all(g <= GOAL_GROWTH for g in growth),
    }
