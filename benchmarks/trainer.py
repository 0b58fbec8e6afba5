"""Benchmark 3: netspec's trainer against the hand-written tutorial loop: samples per second, accuracy, startup."""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BASELINES = Path(__file__).resolve().parent / "baselines"
GOAL_SPEEDUP = 1.3
GOAL_ACC_POINTS = 1.0

# (spec, the hand-written model's name, epochs, batch size, learning rate) per workload
WORKLOADS = {
    "LeNet on digits": ("specs/lenet.yaml", "lenet", 30, 64, 0.002),  # 30 short epochs: ~4 s measured per run
    "CIFAR-10 net on 3×32×32": ("specs/cifar10-net.yaml", "cifar10-net", 3, 64, 0.001),
}


def digits(folder: Path, quick: bool) -> tuple[Path, Path]:
    """scikit-learn's 1,797 digits, resized to 1×32×32 as LeNet takes them, with a fixed stratified split."""
    import torch
    import torch.nn.functional as F
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    x, y = load_digits(return_X_y=True)
    x = torch.tensor(x, dtype=torch.float32).reshape(-1, 1, 8, 8) / 16.0
    x = F.interpolate(x, size=(32, 32), mode="bilinear", align_corners=False)  # (1797, 1, 32, 32)
    train_idx, val_idx = train_test_split(range(len(y)), test_size=0.2, stratify=y, random_state=0)
    if quick:
        train_idx, val_idx = train_idx[:256], val_idx[:128]
    return _write(folder, "digits", x, torch.tensor(y), train_idx, val_idx)


def cifar_sized(folder: Path, quick: bool) -> tuple[Path, Path]:
    """6,000 learnable 3×32×32 samples of 10 classes: a faint fixed template per class under strong noise."""
    import torch

    g = torch.Generator().manual_seed(0)
    n = 600 if quick else 6000
    templates = torch.rand(10, 3, 32, 32, generator=g)
    y = torch.randint(0, 10, (n,), generator=g)
    x = 0.3 * templates[y] + torch.rand(n, 3, 32, 32, generator=g)  # (n, 3, 32, 32): faint templates, loud noise
    cut = n * 5 // 6
    return _write(folder, "cifar", x, y, list(range(cut)), list(range(cut, n)))


def _write(folder: Path, name: str, x: Any, y: Any, train_idx: list[int], val_idx: list[int]) -> tuple[Path, Path]:
    import torch

    paths = folder / f"{name}-train.pt", folder / f"{name}-val.pt"
    for path, idx in zip(paths, (train_idx, val_idx)):
        torch.save({"x": x[idx].contiguous(), "y": y[idx].contiguous()}, path)
    return paths


def _child(argv: list[str]) -> dict[str, Any]:
    launch = time.time()
    done = subprocess.run([*argv, repr(launch)], capture_output=True, text=True, cwd=ROOT)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} exited {done.returncode}:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def race(name: str, train: Path, val: Path, runs: int, quick: bool, out: Path) -> dict[str, Any]:
    spec, model, epochs, batch, lr = WORKLOADS[name]
    epochs = 1 if quick else epochs
    common = [str(train), str(val), str(epochs), str(batch), str(lr), "0"]
    ours, theirs = [], []
    for i in range(runs):  # alternate the two, so machine noise falls on both alike
        ours.append(
            _child(
                [
                    sys.executable,
                    str(BASELINES / "netspec_trainer.py"),
                    str(ROOT / spec),
                    *common,
                    str(out / f"{model}-{i}"),
                ]
            )
        )
        theirs.append(_child([sys.executable, str(BASELINES / "handwritten_loop.py"), model, *common]))

    def rate(r: dict[str, Any]) -> float:
        return r["train_samples"] * epochs / r["epochs_s"]

    ours_rate = statistics.median(rate(r) for r in ours)
    theirs_rate = statistics.median(rate(r) for r in theirs)
    ours_acc = statistics.median(r["val_acc"] for r in ours)
    theirs_acc = statistics.median(r["val_acc"] for r in theirs)
    speedup = ours_rate / theirs_rate
    acc_points = 100 * (ours_acc - theirs_acc)
    return {
        "name": f"trainer: {name}",
        "workload": f"{spec}, {epochs} epoch(s), batch {batch}, Adam lr {lr}, seed 0, the same train/val tensors; "
        f"samples/s over the epochs (training and validation), median of {runs} alternating runs",
        "netspec_samples_per_s": ours_rate,
        "handwritten_samples_per_s": theirs_rate,
        "speedup": speedup,
        "netspec_val_acc": ours_acc,
        "handwritten_val_acc": theirs_acc,
        "acc_difference_points": acc_points,
        "netspec_startup_s": statistics.median(r["startup_s"] for r in ours),
        "handwritten_startup_s": statistics.median(r["startup_s"] for r in theirs),
        "goal": f">= {GOAL_SPEEDUP:g}x samples/s, accuracy within {GOAL_ACC_POINTS:g} point",
        "met": speedup >= GOAL_SPEEDUP and abs(acc_points) <= GOAL_ACC_POINTS,
    }


def run(quick: bool = False) -> list[dict[str, Any]]:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        runs = 1 if quick else 5
        results = []
        for name, make in (("LeNet on digits", digits), ("CIFAR-10 net on 3×32×32", cifar_sized)):
            train, val = make(folder, quick)
            results.append(race(name, train, val, runs, quick, folder / "runs"))
        return results
