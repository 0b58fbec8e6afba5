"""Benchmark 4 (CUDA only): netspec's trainer (bf16/fp16 autocast, channels_last) against the plain fp32 loop.

Also reports the fraction of the GPU's peak the CIFAR-10 net reaches: training FLOP/s (3 × 2 ×
mult-adds per sample, forward and backward) over a measured bf16 matmul peak on the same GPU.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from . import trainer

GOAL = ">= 1.3x the fp32 hand-written loop; fraction of peak reported"

_HAS_CUDA = "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)"

_PEAK = """
import json, time, torch
a = torch.randn(8192, 8192, device="cuda", dtype=torch.bfloat16)
b = torch.randn(8192, 8192, device="cuda", dtype=torch.bfloat16)
for _ in range(3):
    a @ b
torch.cuda.synchronize()
t = time.perf_counter()
for _ in range(20):
    a @ b
torch.cuda.synchronize()
print(json.dumps({"flops": 20 * 2 * 8192**3 / (time.perf_counter() - t), "name": torch.cuda.get_device_name()}))
"""


def run(quick: bool = False) -> dict[str, Any]:
    name = "cuda: CIFAR-10 net, AMP + channels_last vs fp32"
    if subprocess.run([sys.executable, "-c", _HAS_CUDA]).returncode != 0:
        return {"name": name, "skipped": "no CUDA GPU on this machine", "goal": GOAL, "met": None}
    import tempfile

    import netspec

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        train, val = trainer.cifar_sized(folder, quick)
        race = trainer.race("CIFAR-10 net on 3×32×32", train, val, 1 if quick else 3, quick, folder / "runs")
    peak = json.loads(subprocess.run([sys.executable, "-c", _PEAK], capture_output=True, text=True, check=True).stdout)
    mult_adds = netspec.check(netspec.load_spec(trainer.ROOT / "specs" / "cifar10-net.yaml")).total_mult_adds
    achieved = race["netspec_samples_per_s"] * 3 * 2 * mult_adds  # forward + backward ≈ 3 × forward
    return {
        "name": name,
        "gpu": peak["name"],
        "netspec_samples_per_s": race["netspec_samples_per_s"],
        "fp32_samples_per_s": race["handwritten_samples_per_s"],
        "speedup": race["speedup"],
        "achieved_flops": achieved,
        "peak_bf16_matmul_flops": peak["flops"],
        "fraction_of_peak": achieved / peak["flops"],
        "goal": GOAL,
        "met": race["speedup"] >= trainer.GOAL_SPEEDUP,
    }
