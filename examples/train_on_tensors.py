"""From a notebook: check a spec, show its table, train it on tensors with early stopping and a test split."""

from __future__ import annotations

import tempfile
from pathlib import Path

import torch

import netspec

spec = netspec.parse_spec(
    """
name: quadrants
input: [2]
layers:
  - {type: Linear, out_features: 16}
  - ReLU
  - {type: Linear, out_features: 4}
train:
  epochs: 30
  batch_size: 32
  optimizer: {type: Adam, lr: 0.01}
  loss: {type: CrossEntropyLoss, label_smoothing: 0.05}
  clip_grad_norm: 5.0
  early_stopping: {patience: 3, metric: val_loss}
  dataset: {name: python, test_fraction: 0.2}
""",
    source="quadrants.yaml",
)
report = netspec.check(spec)
print(report)  # the table `netspec check` prints; in Jupyter, `report` alone renders it as HTML

g = torch.Generator().manual_seed(0)
x = torch.randn(1000, 2, generator=g)  # (1000, 2) points
y = (x[:, 0] > 0).long() * 2 + (x[:, 1] > 0).long()  # (1000,) their quadrant, 0-3

with tempfile.TemporaryDirectory() as tmp:
    result = netspec.train(spec, data=(x, y), out=Path(tmp) / "run", quiet=True)
    assert result.best is not None and result.test is not None
    stopped = "early" if len(result.history) < 30 else "after all 30 epochs"
    print(f"trained {len(result.history)} epochs ({stopped}); best val acc {result.best.val_acc:.3f}")
    print(result.test.line())

try:
    netspec.train(spec, data=(x, y), overrides={"train.loss.weight": [1, 2, 3]}, quiet=True)
except netspec.SpecError as e:
    print(e)  # the summary and the help: what to change
