"""The benchmarks run (on a tiny workload), so they can't rot; their speed is measured by `make bench`, not here."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import ROOT


@pytest.mark.slow
def test_quick_benchmark_runs_and_reports_every_benchmark(tmp_path: Path) -> None:
    out = tmp_path / "results.json"
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--quick", "-o", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads(out.read_text())
    names = [b["name"] for b in results["benchmarks"]]
    assert names[:3] == ["check latency", "check at scale", "check with blocks"]
    assert [n for n in names if n.startswith("trainer:")] == [
        "trainer: LeNet on digits",
        "trainer: CIFAR-10 net on 3×32×32",
    ]
    assert names[-1].startswith("cuda:")
    latency = results["benchmarks"][0]
    assert latency["netspec_s"] > 0 and latency["torch_torchinfo_s"] > 0
    assert latency["speedup"] == pytest.approx(latency["torch_torchinfo_s"] / latency["netspec_s"])
    blocks = results["benchmarks"][2]
    assert blocks["ratio"] == pytest.approx(blocks["resnet50_s"] / blocks["lenet_s"])
    assert [r["blocks"] for r in blocks["rows"]] == [100, 1_000] and all(r["nodes"] > 0 for r in blocks["rows"])
    for b in (b for b in results["benchmarks"] if b["name"].startswith("trainer:")):
        assert 0 <= b["netspec_val_acc"] <= 1 and b["netspec_samples_per_s"] > 0 and b["netspec_startup_s"] > 0
    assert "check latency" in done.stdout and "samples/s" in done.stdout  # the printed table
    [server] = [b for b in results["benchmarks"] if b["name"] == "language server"]
    assert [r["spec"] for r in server["rows"]] == ["resnet50", "chain-201"]
    for r in server["rows"]:
        assert r["edits"] == 20 and r["with_errors"] == 4  # every fifth edit is invalid, and says so
        assert 0 < r["median_ms"] <= r["p90_ms"] <= r["max_ms"] and r["final_rss_mib"] > 0
    assert "lsp: re-check resnet50 after an edit" in done.stdout
    [drawing] = [b for b in results["benchmarks"] if b["name"] == "draw"]
    assert [r["spec"] for r in drawing["rows"]] == ["resnet50", "tower-200"]
    for r in drawing["rows"]:
        assert 0 < r["in_process_s"] < r["draw_s"] and r["draw_cpu_s"] > 0 and r["svg_kb"] > 10
    assert "draw tower-200 (every block)" in done.stdout
