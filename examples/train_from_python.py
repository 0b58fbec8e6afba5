"""Train a spec from Python with netspec.train, read its metrics, and load the best weights back."""

from __future__ import annotations

import csv
import tempfile
from pathlib import Path

import torch

import netspec

SPECS = Path(__file__).resolve().parent.parent / "specs"

with tempfile.TemporaryDirectory() as tmp:
    # the spec's own train: section (digits, 15 epochs, Adam with a one-cycle schedule); quiet: no epoch lines
    result = netspec.train(SPECS / "lenet.yaml", out=Path(tmp) / "lenet", quiet=True)
    for m in result.history[-3:]:
        print(m.line())  # epoch 15, loss 0.0004, train acc 1.000, val acc 0.967, time 0.1 sec
    best = result.best
    assert best is not None and best.val_acc is not None
    print(f"best: epoch {best.epoch}, val acc {best.val_acc:.3f}, val loss {best.val_loss:.4f}")

    assert result.run_dir is not None
    with open(result.run_dir / "metrics.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    print(f"metrics.csv: {len(rows)} rows of {', '.join(rows[0])}")

    # keyword arguments override the train: section, as the CLI flags do
    quick = netspec.train(
        SPECS / "lenet.yaml",
        epochs=2,
        lr=1e-3,
        overrides={"train.scheduler": None},
        out=Path(tmp) / "quick",
        quiet=True,
    )
    assert quick.final is not None
    print(f"a 2-epoch run at lr 1e-3: val acc {quick.final.val_acc:.3f}")

    model = netspec.load_model(result.run_dir / "best.pt").eval()  # the spec, rebuilt, with the best weights
    x = torch.zeros(1, 1, 32, 32)  # one blank 1×32×32 image
    with torch.no_grad():
        print(f"the best model maps {tuple(x.shape)} to {tuple(model(x).shape)}")
