"""`python -m benchmarks`: run every benchmark, print a table, write benchmarks/results.json.

python -m benchmarks            the full run (make bench; under 10 minutes on 2 cores)
python -m benchmarks --quick    a tiny workload, to check the code runs (the test suite uses it)
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import time
from pathlib import Path
from typing import Any

from . import check_blocks, check_latency, check_scale, draw, lsp, machine, report, trainer, trainer_cuda

RESULTS = Path(__file__).resolve().parent / "results.json"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny workloads: checks the code runs, not its speed")
    parser.add_argument(
        "--only",
        choices=["latency", "scale", "blocks", "lsp", "draw", "trainer", "cuda"],
        action="append",
        help="run only these (repeatable)",
    )
    parser.add_argument(
        "-o",
        "--output",
        type=Path,
        default=None,
        help=f"where to write the JSON results (default {RESULTS}, or nothing with --quick)",
    )
    args = parser.parse_args(argv)
    wanted = set(args.only or ["latency", "scale", "blocks", "lsp", "draw", "trainer", "cuda"])
    started = time.perf_counter()
    results: dict[str, Any] = {
        "date": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "command": "python -m benchmarks" + (" --quick" if args.quick else ""),
        "machine": machine.describe(),
        "benchmarks": [],
    }
    runs = 2 if args.quick else 5
    if "latency" in wanted:
        results["benchmarks"].append(check_latency.run(runs=runs if args.quick else 9))  # issue 12: median of 9
    if "scale" in wanted:
        sizes = (100, 1_000) if args.quick else check_scale.SIZES
        results["benchmarks"].append(check_scale.run(sizes=sizes, runs=runs))
    if "blocks" in wanted:
        results["benchmarks"].append(
            check_blocks.run(runs=runs, sizes=(100, 1_000) if args.quick else check_blocks.SIZES)
        )
    if "lsp" in wanted:
        results["benchmarks"].append(lsp.run(edits=20 if args.quick else lsp.EDITS))
    if "draw" in wanted:
        results["benchmarks"].append(draw.run(runs=runs))
    if "trainer" in wanted:
        results["benchmarks"].extend(trainer.run(quick=args.quick))
    if "cuda" in wanted:
        results["benchmarks"].append(trainer_cuda.run(quick=args.quick))
    results["seconds"] = time.perf_counter() - started
    print(report.table(results))
    output = args.output or (None if args.quick else RESULTS)
    if output is not None:
        output.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
        print(f"\nwrote {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
