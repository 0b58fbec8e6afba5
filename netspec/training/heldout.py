"""The held-out test split: evaluated once, after training, with the best epoch's weights; written to test.json."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

from ..checkpoint import load
from ..diagnostics import cannot_write
from .batches import Batches
from .data import Split
from .loop import Session, evaluate


@dataclass(frozen=True)
class HeldOutMetrics:
    epoch: int  # the epoch whose weights were tested: best.pt's
    loss: float  # mean loss per sample
    acc: float | None  # None when the targets are not class labels
    samples: int

    def line(self) -> str:
        acc = f", acc {self.acc:.3f}" if self.acc is not None else ""
        return f"test: loss {self.loss:.4f}{acc} ({self.samples:,} samples, the weights of epoch {self.epoch})"


def evaluate_held_out(s: Session, test: Split, batch_size: int, num_workers: int | None) -> HeldOutMetrics | None:
    """Load best.pt's weights into the model and evaluate them on `test` (the process that logs, alone)."""
    if s.run is None or s.best is None:  # another process under DDP, or no epoch finished
        return None
    best = s.run.path / "best.pt"
    s.raw_model.load_state_dict(load(best, map_location=s.fwd.device).model_state)  # training is over
    batches = Batches(test, batch_size, s.fwd.device, shuffle=False, num_workers=num_workers)
    loss, acc = evaluate(s.fwd, batches)  # no collectives: the other processes do not take part
    metrics = HeldOutMetrics(s.best.epoch, loss, acc, batches.samples)
    target = s.run.path / "test.json"
    try:
        target.write_text(json.dumps(asdict(metrics), indent=2) + "\n", encoding="utf-8")
    except OSError as e:
        raise cannot_write(target, e) from None
    return metrics
