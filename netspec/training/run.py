"""A run directory: the spec as used, metrics.csv, TensorBoard events, and the checkpoints to resume from.

runs/<spec name>/<timestamp>/ holds spec.yaml, model.svg (`netspec draw`'s diagram), metrics.csv
(one row per epoch), TensorBoard event files when tensorboard is installed, and last.pt / best.pt, written atomically. A
checkpoint holds everything a resumed run needs to continue exactly: model, optimizer,
scheduler, grad scaler, epoch, the position inside an interrupted epoch, and every RNG state.
"""

from __future__ import annotations

import csv
import random
import signal
import threading
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from functools import partial
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
from ..files import write_atomic
from ..spec import Spec, spec_to_data
from .rundir import RunLock, claim_new, claim_out, default_name, discard

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
    """The run directory, written only by the process that logs (rank 0), which holds its lock throughout."""

    def __init__(self, path: Path, lock: RunLock | None = None, *, created: bool = False, fresh: bool = False) -> None:
        self.path = path
        self.writer: Any = None  # a TensorBoard SummaryWriter, or None
        self.saved = False  # a checkpoint has been written: from then on a failure keeps the directory
        self._lock = lock
        self._created = created  # this process made the directory (else `--out` named an empty one)
        self._fresh = fresh  # a new run, not a resumed one

    @classmethod
    def create(cls, spec: Spec, out: Path | None) -> Run:
        """A new run in `out` (new or empty), or in runs/<name>/<timestamp>[-n]; locked until `close`."""
        if out is None:
            path, lock = claim_new(Path("runs") / spec.name / default_name())
            return cls(path, lock, created=True, fresh=True)
        created, lock = claim_out(out)
        return cls(out, lock, created=created, fresh=True)

    @classmethod
    def reopen(cls, path: Path) -> Run:
        """An existing run to resume, locked (refused while another process trains it)."""
        return cls(path, RunLock.acquire(path))

    def start(self, spec: Spec, history: list[EpochMetrics], *, tensorboard: bool) -> str | None:
        """Write spec.yaml, its diagram and the metrics so far; returns a note when TensorBoard is absent."""
        from ..draw import svg
        from ..report import check

        text = yaml.safe_dump(spec_to_data(spec), sort_keys=False, allow_unicode=True)
        write_atomic(self.path / "spec.yaml", f"# the spec as this run used it (after overrides)\n{text}")
        write_atomic(self.path / "model.svg", svg(check(spec)))
        write_atomic(self.path / "metrics.csv", _csv(history))  # the rows last.pt knows: a resume continues them
        if not tensorboard:
            return None
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:
            return "tensorboard is not installed, so no event files are written (pip install tensorboard)"
        _quiet_writer_threads()
        self.writer = self._tensorboard(lambda: SummaryWriter(log_dir=str(self.path)))
        return None

    def _tensorboard(self, call: Callable[[], Any]) -> Any:
        """A call into TensorBoard's writer, whose write errors (a full disk) surface here as an io-error."""
        try:
            return call()
        except OSError as e:
            self.writer = None  # it cannot write: closing it would only raise again
            raise cannot_write(e.filename or self.path, e) from None

    def add_graph(self, model: nn.Module, example: Tensor) -> None:
        """The model graph for TensorBoard, traced in eval mode without touching the RNG stream."""
        if self.writer is None:
            return
        was_training = model.training
        fast = torch.backends.mha.get_fastpath_enabled()
        # the fused transformer path is taken or not per call, and the trace's check compares two calls
        torch.backends.mha.set_fastpath_enabled(False)
        try:
            with torch.random.fork_rng(devices=[example.device] if example.is_cuda else []), warnings.catch_warnings():
                warnings.simplefilter("ignore", FutureWarning)  # add_graph traces with torch.jit, deprecated
                warnings.simplefilter("ignore", TracerWarning)  # the RNNs' size checks, constant in a trace
                model.eval()
                self.writer.add_graph(model, example)
        finally:
            torch.backends.mha.set_fastpath_enabled(fast)
            model.train(was_training)

    def record(self, m: EpochMetrics) -> None:
        try:
            with open(self.path / "metrics.csv", "a", newline="") as f:
                csv.writer(f, lineterminator="\n").writerow(_row(m))  # as `_csv` writes the rows before
        except OSError as e:
            raise cannot_write(self.path / "metrics.csv", e) from None
        writer = self.writer
        if writer is not None:
            for tag, value in (
                ("loss/train", m.train_loss),
                ("loss/val", m.val_loss),
                ("accuracy/train", m.train_acc),
                ("accuracy/val", m.val_acc),
                ("lr", m.lr),
            ):
                if value is not None:
                    self._tensorboard(partial(writer.add_scalar, tag, value, m.epoch))
            self._tensorboard(writer.flush)

    def close(self, *, failed: bool = False) -> None:
        """Close the writer and release the lock; a new run that failed before its first checkpoint is removed."""
        writer, self.writer = self.writer, None
        try:
            if writer is not None:
                self._tensorboard(writer.close)
        except SpecError:
            if not failed:  # a run that failed already reports why; a full disk would say it again
                raise
        finally:
            if self._lock is not None:
                if failed and self._fresh and not self.saved:
                    discard(self.path, self._lock, created=self._created)
                self._lock.release()


def _quiet_writer_threads() -> None:
    """TensorBoard's writer thread prints a traceback when a write fails; the error reaches us at the next call."""
    previous = threading.excepthook
    if getattr(previous, "netspec", False):
        return

    def hook(args: threading.ExceptHookArgs) -> None:
        if type(args.thread).__name__ != "_AsyncWriterThread":
            previous(args)

    hook.netspec = True  # type: ignore[attr-defined]
    threading.excepthook = hook


def _row(m: EpochMetrics) -> list[Any]:
    return ["" if v is None else (f"{v:.6g}" if isinstance(v, float) else v) for v in (getattr(m, c) for c in COLUMNS)]


def _csv(history: list[EpochMetrics]) -> str:
    return ",".join(COLUMNS) + "\n" + "".join(",".join(str(v) for v in _row(m)) + "\n" for m in history)


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


def load_resume(run_dir: Path, spec: Spec) -> tuple[Resume, Spec]:
    """last.pt of the run directory `run_dir` and the spec it was trained with; refused for another network."""
    if not run_dir.is_dir():
        raise _refuse(
            run_dir,
            f"{run_dir} is not a run directory"
            + (": `--resume` continues a run from its folder, not from a checkpoint file" if run_dir.exists() else ""),
            f"continue the run with `--resume {run_dir.parent}` (from its last.pt), or copy {run_dir.name} to"
            " last.pt in a new folder and resume that"
            if run_dir.is_file()
            else "pass a folder written by `netspec train` (runs/<name>/<timestamp>)",
        )
    path = run_dir / "last.pt"
    if not path.is_file():
        raise _refuse(
            run_dir,
            f"{run_dir} holds no last.pt: it is not a run, or its run saved no checkpoint",
            "start a new run instead",
        )
    ckpt = checkpoint.load(path)
    if "optimizer" not in ckpt.extra:
        raise _refuse(path, f"{path} holds weights only, not a training run to resume", "start a new run instead")
    differ = [f"`{k}`" for k in ("input", "layers", "init") if getattr(ckpt.spec, k) != getattr(spec, k)]
    if differ:
        raise _refuse(
            path,
            f"{path} was trained from another spec: its {' and '.join(differ)} differ from {spec.name}'s",
            f"resume without a spec file (`netspec train --resume {run_dir}`): the run uses its own spec.yaml",
        )
    try:
        names = {f.name for f in fields(EpochMetrics)}
        history = [EpochMetrics(**{k: v for k, v in h.items() if k in names}) for h in ckpt.extra["history"]]
        pos = ckpt.extra.get("position")
        position = Position(**pos) if pos else None
        int(ckpt.extra["epoch"])
        ckpt.extra["rng"]["torch"]  # read to check it is there
        if not isinstance(ckpt.extra["optimizer"], dict):  # torch's load_state_dict copies it: a mapping or nothing
            raise TypeError(f"its optimizer state is {type(ckpt.extra['optimizer']).__name__}, not a mapping")
    except (KeyError, TypeError, ValueError, AttributeError) as e:  # a hand-made file, sealed with a digest
        raise _refuse(path, f"{path} is not a complete training state ({type(e).__name__}: {e})", _REMAKE) from None
    return Resume(path, ckpt.model_state, ckpt.extra, history, position), ckpt.spec


_REMAKE = "resume from a last.pt that `netspec train` wrote, or start a new run"


def repair_best(resume: Resume, best: EpochMetrics | None) -> str | None:
    """Make best.pt hold the best epoch recorded in last.pt; a note when it had to be written again.

    Each epoch writes metrics.csv, then last.pt, then best.pt (when it is the best so far). A process
    killed between the last two leaves best.pt an epoch behind; last.pt then holds the best epoch's
    weights (it ended on it), so best.pt is written again as a copy of it.
    """
    if best is None:
        return None
    run_dir = resume.path.parent
    path = run_dir / "best.pt"
    try:
        held = checkpoint.load(path).extra.get("epoch") if path.is_file() else None
    except SpecError:  # damaged: a copy of last.pt replaces it when last.pt is the best epoch
        held = None
    if held == best.epoch:
        return None
    if resume.position is not None or int(resume.extra["epoch"]) != best.epoch:
        return f"best.pt does not hold the best epoch ({best.epoch}), and last.pt is not that epoch to copy"
    write_atomic(path, resume.path.read_bytes())
    was = f"epoch {held}" if held is not None else "no usable checkpoint"
    return f"best.pt held {was}, not the best epoch {best.epoch} (the run stopped between two writes): copied last.pt"


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
