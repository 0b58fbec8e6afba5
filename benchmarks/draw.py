"""Benchmark: `netspec draw`, whole process: resnet50 and a 200-layer residual tower, every block drawn (--expand)."""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from .check_blocks import spec_text
from .timing import median, time_process

ROOT = Path(__file__).resolve().parent.parent
GOAL_S = 0.5  # a 200-layer spec drawn in under half a second, whole process
GOAL_KB = 200  # and its SVG under 200 KB
TOWER_BLOCKS = 25  # 25 blocks of 8 nodes, the stem and the head: 202 nodes

# the drawing alone, inside a fresh process: check_partial, layout and SVG text, not the imports or the load
_CHILD = """
import json, sys, time
from netspec import draw, load_spec
from netspec.report import check_partial
spec = load_spec(sys.argv[1])
t0 = time.perf_counter()
draw.svg(check_partial(spec), draw.Options(expand=True))
print(json.dumps(time.perf_counter() - t0))
"""


def _cpu(argv: list[str], runs: int) -> float:
    """The median CPU seconds (user + system) of a whole process: less at the mercy of a shared machine's load."""
    samples = []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        subprocess.run(argv, capture_output=True, check=True)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        samples.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return median(samples)


def _in_process(spec: Path, runs: int) -> float:
    cmd = [sys.executable, "-c", _CHILD, str(spec)]
    return median([json.loads(subprocess.run(cmd, capture_output=True, check=True).stdout) for _ in range(runs)])


def run(runs: int = 5) -> dict[str, Any]:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tower = Path(tmp) / "tower.yaml"
        tower.write_text(spec_text(TOWER_BLOCKS), encoding="utf-8")
        for name, spec in (("resnet50", ROOT / "specs" / "resnet50.yaml"), ("tower-200", tower)):
            out = Path(tmp) / f"{name}.svg"
            draw = [sys.executable, "-m", "netspec", "draw", str(spec), "--expand", "-o", str(out)]
            check = [sys.executable, "-m", "netspec", "check", str(spec)]
            drawn, checked = [], []
            for _ in range(runs):  # alternated, so that machine noise hits both
                drawn += time_process(draw, runs=1, warmup=0 if drawn else 1)
                checked += time_process(check, runs=1, warmup=0 if checked else 1)
            rows.append(
                {
                    "spec": name,
                    "draw_s": median(drawn),
                    "check_s": median(checked),
                    "draw_cpu_s": _cpu(draw, runs),
                    "in_process_s": _in_process(spec, runs),
                    "svg_kb": out.stat().st_size / 1000,
                }
            )
    tower_row = rows[-1]
    return {
        "name": "draw",
        "workload": "whole process, median of runs after a warm-up: `python -m netspec draw SPEC --expand -o x.svg`"
        f" against `netspec check SPEC`, for specs/resnet50.yaml and a residual tower of {TOWER_BLOCKS} blocks"
        " (202 nodes); the CPU time of the same draw process; and check + layout + SVG alone inside a process",
        "rows": rows,
        "goal": f"200 layers drawn < {GOAL_S:g} s, SVG < {GOAL_KB} KB",
        "met": tower_row["draw_s"] < GOAL_S and tower_row["svg_kb"] < GOAL_KB,
    }
