"""Benchmark 3: specs with blocks. resnet50 against LeNet (whole process), and 1,000 to 10,000 residual blocks."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from .timing import median, time_process

ROOT = Path(__file__).resolve().parent.parent
GOAL_RATIO = 1.5  # `check specs/resnet50.yaml` at most 50% slower than `check specs/lenet.yaml`
GOAL_10K_S = 2.0  # a spec of 10,000 blocks checks in under 2 s
SIZES = (1_000, 10_000)

# load_spec + check inside a fresh process: expansion, validation and the tree walk, not the imports
_CHILD = """
import json, sys, time
from netspec import check, load_spec
t0 = time.perf_counter()
report = check(load_spec(sys.argv[1]))
print(json.dumps({"check_s": time.perf_counter() - t0, "nodes": sum(1 for _ in report.walk())}))
"""


def spec_text(blocks: int) -> str:
    """A residual tower: `blocks` instances of a BasicBlock-like block (6 layers and a join each) through repeat."""
    return f"""name: tower-{blocks}
input: [16, 8, 8]
blocks:
  Block:
    layer:
      type: Residual
      body:
        - {{type: Conv2d, out_channels: 16, kernel_size: 3, padding: 1, bias: false}}
        - BatchNorm2d
        - ReLU
        - {{type: Conv2d, out_channels: 16, kernel_size: 3, padding: 1, bias: false}}
        - BatchNorm2d
      after: ReLU
layers:
  - {{type: Block, repeat: {blocks}}}
  - Flatten
  - {{type: Linear, out_features: 10}}
"""


def _in_process(path: Path, runs: int) -> dict[str, Any]:
    samples = []
    for _ in range(runs):
        done = subprocess.run([sys.executable, "-c", _CHILD, str(path)], capture_output=True, text=True, check=True)
        samples.append(json.loads(done.stdout))
    return {"check_s": median([s["check_s"] for s in samples]), "nodes": samples[0]["nodes"]}


def run(runs: int = 5, sizes: tuple[int, ...] = SIZES) -> dict[str, Any]:
    lenet = [sys.executable, "-m", "netspec", "check", str(ROOT / "specs" / "lenet.yaml")]
    resnet = [sys.executable, "-m", "netspec", "check", str(ROOT / "specs" / "resnet50.yaml")]
    small, big = [], []
    for _ in range(runs):  # alternated, so that machine noise hits both
        small += time_process(lenet, runs=1, warmup=0 if small else 1)
        big += time_process(resnet, runs=1, warmup=0 if big else 1)
    ratio = median(big) / median(small)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            path = Path(tmp) / f"tower-{n}.yaml"
            path.write_text(spec_text(n), encoding="utf-8")
            rows.append({"blocks": n, **_in_process(path, runs)})
    growth = [b["check_s"] / a["check_s"] for a, b in itertools.pairwise(rows)]
    at_10k = next((r["check_s"] for r in rows if r["blocks"] == 10_000), None)
    return {
        "name": "check with blocks",
        "workload": "whole process, median of runs after a warm-up: `python -m netspec check specs/resnet50.yaml`"
        " against specs/lenet.yaml; and residual towers of 1,000 and 10,000 blocks (templates and repeat,"
        " 8 nodes a block), load_spec + check in a fresh process",
        "resnet50_s": median(big),
        "lenet_s": median(small),
        "ratio": ratio,
        "rows": rows,
        "growth_per_10x": growth,
        "goal": f"resnet50 <= {GOAL_RATIO:g}x LeNet; 10,000 blocks < {GOAL_10K_S:g} s, growing linearly",
        "met": ratio <= GOAL_RATIO and (at_10k is None or at_10k < GOAL_10K_S) and all(g <= 12 for g in growth),
    }
