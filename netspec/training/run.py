"""A run directory: the spec as used, metrics.csv, TensorBoard events, and the checkpoints to resume from.

runs/<spec name>/<timestamp>/ holds spec.yaml, model.svg (`netspec draw`'s diagram), metrics.csv
(one row per epoch), TensorBoard event files when tensorboard is installed, and last.pt / best.pt, written atomically. A
checkpoint holds everything a resumed run needs to continue exactly: model, optimizer,
scheduler, grad scaler, epoch, the position inside an interrupted epoch, and every RNG state.
"""

from __future__ import annotations

import csv
import os
import random
import signal
import time
import warnings
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from types import FrameType
from typing import Any

import numpy as np
import torch
import yaml
from torch import Tensor, nn
from torch.jit._trace import TracerWarning  # not re-exported by torch.jit for type checkers

from .. import checkpoint
from ..diagnostics import Diagnostic, SpecError, cannot_write
from ..spec import Spec, spec_to_data

COLUMNS = ["epoch", "train_loss", "train_acc", "val_loss", "val_acc", "lr", "seconds"]


@dataclass(frozen=True)
class EpochMetrics:
    """One row of metrics.csv; accuracies are None when the targets are not class labels."""

    epoch: int  # 1-based, as printed
    train_loss: float  # mean loss per sample
    train_acc: float | None
    val_loss: float
    val_acc: float | None
    lr: float  # the learning rate of the epoch's last step
    seconds: float

    def line(self) -> str:
        """The tutorials' train_ch5 line: `epoch 1, loss 0.4521, train acc 0.871, val acc 0.902, time 1.3 sec`."""
        if self.train_acc is None or self.val_acc is None:
            return (
                f"epoch {self.epoch}, loss {self.train_loss:.4f}, val loss {self.val_loss:.4f}, "
                f"time {self.seconds:.1f} sec"
            )
        return (
            f"epoch {self.epoch}, loss {self.train_loss:.4f}, train acc {self.train_acc:.3f}, "
            f"val acc {self.val_acc:.3f}, time {self.seconds:.1f} sec"
        )

    def better_than(self, other: EpochMetrics | None) -> bool:
        """Higher validation accuracy (or, without accuracy, lower validation loss)."""
        if other is None:
            return True
        if self.val_acc is not None and other.val_acc is not None:
            return self.val_acc > other.val_acc
        return self.val_loss < other.val_loss


@dataclass
class Position:
    """Where an interrupted epoch stopped, so a resumed run continues it exactly."""

    epoch: int  # 0-based
    batch: int  # batches done
    batch_size: int
    losses: Tensor  # (batch,) each batch's loss summed over its samples
    correct: Tensor  # (batch,) each batch's correct predictions
    seconds: float  # time spent in the epoch so far


@dataclass
class Resume:
    """What a checkpoint hands back to the trainer."""

    path: Path
    model_state: dict[str, Tensor]
    extra: dict[str, Any]
    history: list[EpochMetrics]
    position: Position | None


class Run:
    """The run directory, written only by the process that logs (rank 0)."""

    def __init__(self, path: Path, *, writer: Any = None) -> None:
        self.path = path
        self.writer = writer  # a TensorBoard SummaryWriter, or None

    @staticmethod
    def new_path(spec: Spec, out: Path | None) -> Path:
        """`out`, or runs/<name>/<timestamp>; an `out` that already holds a run is refused (nothing is overwritten)."""
        if out is not None:
            if (out / "metrics.csv").exists() or (out / "last.pt").exists():
                raise SpecError(
                    [
                        Diagnostic(
                            "io-error",
                            f"{out} already holds a run",
                            source=str(out),
                            help=f"continue it with `--resume {out}`, or choose another `--out`",
                        )
                    ]
                )
            return out
        base = Path("runs") / spec.name / time.strftime("%Y%m%d-%H%M%S")
        path, n = base, 1
        while path.exists():  # two runs started in the same second
            n += 1
            path = base.with_name(f"{base.name}-{n}")
        return path

    def start(self, spec: Spec, history: list[EpochMetrics], *, tensorboard: bool) -> str | None:
        """Create the directory, write spec.yaml, its diagram and the metrics so far; returns a note when TensorBoard
        is absent."""
        from ..draw import svg
        from ..report import check

        text = yaml.safe_dump(spec_to_data(spec), sort_keys=False, allow_unicode=True)
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            _write_atomic(self.path / "spec.yaml", f"# the spec as this run used it (after overrides)\n{text}")
            _write_atomic(self.path / "model.svg", svg(check(spec)))
            _write_atomic(self.path / "metrics.csv", _csv(history))
        except OSError as e:  # `--out` under a file, a read-only or full disk
            raise cannot_write(e.filename or self.path, e) from None
        if not tensorboard:
            return None
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:
            return "tensorboard is not installed, so no event files are written (pip install tensorboard)"
        self.writer = SummaryWriter(log_dir=str(self.path))
        return None

    def add_graph(self, model: nn.Module, example: Tensor) -> None:
        """The model graph for TensorBoard, traced in eval mode without touching the RNG stream."""
        if self.writer is None:
            return
        was_training = model.training
        with torch.random.fork_rng(devices=[example.device] if example.is_cuda else []), warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # add_graph traces with torch.jit, which torch deprecates
            warnings.simplefilter("ignore", TracerWarning)  # the RNNs' size checks, constant in a trace
            model.eval()
            self.writer.add_graph(model, example)
        model.train(was_training)

    def record(self, m: EpochMetrics) -> None:
        try:
            with open(self.path / "metrics.csv", "a", newline="") as f:
                csv.writer(f, lineterminator="\n").writerow(_row(m))  # as `_csv` writes the rows before
        except OSError as e:
            raise cannot_write(self.path / "metrics.csv", e) from None
        if self.writer is not None:
            for tag, value in (
                ("loss/train", m.train_loss),
                ("loss/val", m.val_loss),
                ("accuracy/train", m.train_acc),
                ("accuracy/val", m.val_acc),
                ("lr", m.lr),
            ):
                if value is not None:
                    self.writer.add_scalar(tag, value, m.epoch)
            self.writer.flush()

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


def _row(m: EpochMetrics) -> list[Any]:
    return ["" if v is None else (f"{v:.6g}" if isinstance(v, float) else v) for v in (getattr(m, c) for c in COLUMNS)]


def _csv(history: list[EpochMetrics]) -> str:
    return ",".join(COLUMNS) + "\n" + "".join(",".join(str(v) for v in _row(m)) + "\n" for m in history)


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def read_metrics(path: Path) -> list[dict[str, str]]:
    """The rows of a run's metrics.csv."""
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


# -- checkpoints ---------------------------------------------------------------------------


def rng_state() -> dict[str, Any]:
    """Every RNG a run draws from (as tensors and plain values, so weights_only loading reads it)."""
    state = np.random.get_state(legacy=True)
    assert isinstance(state, tuple)  # ("MT19937", keys, pos, has_gauss, cached_gaussian)
    _, keys, pos, has_gauss, gauss = state
    return {
        "torch": torch.random.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "numpy": {"keys": torch.from_numpy(keys.astype(np.int64)), "pos": pos, "has_gauss": has_gauss, "gauss": gauss},
        "python": random.getstate(),
    }


def set_rng_state(state: dict[str, Any]) -> None:
    torch.random.set_rng_state(state["torch"])
    if state["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
    n = state["numpy"]
    np.random.set_state(("MT19937", n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["gauss"]))
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))


def save(
    path: Path,
    spec: Spec,
    model: nn.Module,
    *,
    optimizer: torch.optim.Optimizer,
    scheduler: Any,
    scaler: Any,
    epoch: int,
    position: Position | None,
    history: list[EpochMetrics],
    classes: list[str] | None,
) -> None:
    """Write a checkpoint atomically (netspec.checkpoint.save) with the state to resume from."""
    checkpoint.save(
        path,
        spec=spec,
        model_state=model.state_dict(),
        optimizer=optimizer.state_dict(),
        scheduler=scheduler.state_dict() if scheduler is not None else None,
        scaler=scaler.state_dict() if scaler is not None else None,
        epoch=epoch,
        position=asdict(position) if position is not None else None,
        history=[asdict(m) for m in history],
        classes=classes,
        rng=rng_state(),
    )


def load_resume(run_dir: Path, spec: Spec) -> Resume:
    """last.pt of `run_dir` (or a checkpoint file), refused when it was trained from another network."""
    path = run_dir / "last.pt" if run_dir.is_dir() else run_dir
    if path.name != "last.pt" and (path.parent / "last.pt").is_file():  # the run continues in path.parent
        raise _refuse(
            path,
            f"{path} is not its run's last state: resuming from it would overwrite {path.parent / 'last.pt'}"
            " and the later rows of metrics.csv",
            f"continue the run with `--resume {path.parent}`, or copy {path.name} to last.pt in a new folder"
            " and resume that",
        )
    ckpt = checkpoint.load(path)
    if "optimizer" not in ckpt.extra:
        raise _refuse(path, f"{path} holds weights only, not a training run to resume", "start a new run instead")
    differ = [f"`{k}`" for k in ("input", "layers", "init") if getattr(ckpt.spec, k) != getattr(spec, k)]
    if differ:
        raise _refuse(
            path,
            f"{path} was trained from another spec: its {' and '.join(differ)} differ from {spec.name}'s",
            "resume with the spec the run was started from (its copy is spec.yaml in the run directory)",
        )
    names = {f.name for f in fields(EpochMetrics)}
    history = [EpochMetrics(**{k: v for k, v in h.items() if k in names}) for h in ckpt.extra.get("history", [])]
    pos = ckpt.extra.get("position")
    return Resume(path, ckpt.model_state, ckpt.extra, history, Position(**pos) if pos else None)


def _refuse(path: Path, message: str, help: str) -> SpecError:
    return SpecError([Diagnostic("checkpoint", message, source=str(path), help=help)])


# -- Ctrl-C --------------------------------------------------------------------------------


class StopRequest:
    """While active, SIGINT and SIGTERM ask the loop to stop after the current batch; a second SIGINT aborts."""

    def __init__(self) -> None:
        self.requested = False
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> StopRequest:
        try:
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._previous[sig] = signal.signal(sig, self._handle)
        except ValueError:  # not the main thread (netspec.train called from a thread): signals stay as they are
            self._previous.clear()
        return self

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.requested and signum == signal.SIGINT:
            raise KeyboardInterrupt  # a second Ctrl-C: stop now
        self.requested = True

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
