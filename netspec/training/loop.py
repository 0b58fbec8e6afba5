"""The training loop: one plain `for` over epochs and batches, then evaluation, as the tutorials' train_ch5.

No host sync per batch: each batch's loss and correct count go into tensors that are read
at check points (every batch on the CPU, where reading is free; every `check_every` batches
on a GPU) and once at the end of the epoch.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..diagnostics import Diagnostic, SpecError
from ..spec import Spec
from . import distributed
from .batches import Batches
from .config import EarlyStopping
from .distributed import Dist
from .run import EpochMetrics, Position, Run, StopRequest, save
from .stopping import should_stop


@dataclass
class Forward:
    """How a batch goes through the model and into the loss, for training and evaluation alike."""

    model: nn.Module  # what evaluation calls: never the DDP wrapper (no collectives per batch)
    loss_fn: nn.Module
    classes: list[str] | None  # None: float targets, no accuracy
    num_outputs: int
    device: torch.device
    amp_dtype: torch.dtype | None = None  # bf16/fp16 autocast on CUDA
    channels_last: bool = False

    def autocast(self) -> contextlib.AbstractContextManager[Any]:
        if self.amp_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.device.type, dtype=self.amp_dtype)

    def prepare(self, x: Tensor) -> Tensor:
        return x.contiguous(memory_format=torch.channels_last) if self.channels_last and x.ndim == 4 else x

    def target(self, y: Tensor, out: Tensor) -> Tensor:
        """What the loss compares the output with: labels, one-hot labels (MSE, L1, BCE), or float targets."""
        if self.classes is not None and not isinstance(self.loss_fn, (nn.CrossEntropyLoss, nn.NLLLoss)):
            return F.one_hot(y, self.num_outputs).to(out.dtype)  # (N,) -> (N, K)
        if self.classes is None:
            return y.reshape(out.shape).to(out.dtype)  # (N,) targets for an (N, 1) output
        return y

    def total(self, loss: Tensor, n: int) -> Tensor:
        """A batch's loss summed over its `n` samples, whichever `reduction` the loss uses."""
        return loss if getattr(self.loss_fn, "reduction", "mean") == "sum" else loss * n


@dataclass
class Session:
    """Everything one training run works with, set up by `trainer.py`."""

    spec: Spec
    fwd: Forward
    model: nn.Module  # what the training step calls: the model, DDP-wrapped and/or compiled
    raw_model: nn.Module  # the plain nn.Sequential, whose state_dict is saved
    optimizer: torch.optim.Optimizer
    scheduler: Any  # a torch LR scheduler, or None
    batch_scheduler: bool  # OneCycleLR steps every batch, the others every epoch
    scaler: Any  # torch.amp.GradScaler for fp16, else None
    train: Batches
    val: Batches
    epochs: int
    run: Run | None  # None on processes other than rank 0
    dist: Dist | None
    echo: Callable[[str], None]
    progress: bool  # a tqdm bar (stdout is a terminal)
    history: list[EpochMetrics] = field(default_factory=list)
    first_step_at: float | None = None  # time.time() as the first batch of this process started
    best: EpochMetrics | None = None
    clip_grad_norm: float | None = None
    clip_grad_value: float | None = None
    early_stopping: EarlyStopping | None = None
    stopped_early: str | None = None  # why early stopping ended the run

    @property
    def check_every(self) -> int:
        return 1 if self.fwd.device.type == "cpu" else 25


def fit(s: Session, start_epoch: int, position: Position | None, stop: StopRequest) -> Position | None:
    """Train from `start_epoch` (continuing `position` inside it); returns where it stopped if interrupted."""
    if s.early_stopping is not None and position is None and s.history:  # a resumed run that had stopped early
        s.stopped_early = should_stop(s.history, s.early_stopping)
        if s.stopped_early is not None:
            s.echo(f"{s.stopped_early}: nothing to train")
            return None
    for epoch in range(start_epoch, s.epochs):
        if stop.requested and s.dist is None:  # Ctrl-C during the last validation: last.pt already holds that epoch
            return Position(epoch, 0, s.train.batch_size, torch.zeros(0), torch.zeros(0, dtype=torch.int64), 0.0)
        t0 = time.perf_counter()
        s.model.train()
        n = len(s.train)
        fwd = s.fwd
        losses = torch.zeros(n, device=fwd.device)  # (batches,) each batch's loss summed over its samples
        correct = torch.zeros(n, dtype=torch.int64, device=fwd.device)  # (batches,)
        start = 0
        if position is not None and position.epoch == epoch:  # an interrupted epoch: continue where it stopped
            start = position.batch
            losses[:start], correct[:start] = position.losses.to(fwd.device), position.correct.to(fwd.device)
            t0 -= position.seconds
        checked = start
        lr = float(s.optimizer.param_groups[0]["lr"])  # the epoch's lr, unless a batch scheduler moves it
        bar = _bar(s, epoch, n, start)
        for b, (x, y) in enumerate(s.train.epoch(epoch, start), start):
            if s.first_step_at is None:
                s.first_step_at = time.time()
            with fwd.autocast():
                out = s.model(fwd.prepare(x))
                loss = fwd.loss_fn(out, fwd.target(y, out))
            s.optimizer.zero_grad(set_to_none=True)
            if s.scaler is not None:  # fp16: scale the loss so small gradients don't underflow
                s.scaler.scale(loss).backward()
                if s.clip_grad_norm is not None or s.clip_grad_value is not None:
                    s.scaler.unscale_(s.optimizer)  # clip the true gradients, not the scaled ones
                    _clip(s)
                s.scaler.step(s.optimizer)
                s.scaler.update()
            else:
                loss.backward()
                _clip(s)
                s.optimizer.step()
            if s.batch_scheduler:
                lr = float(s.optimizer.param_groups[0]["lr"])  # the lr this step used, before the schedule moves on
                s.scheduler.step()
            losses[b] = fwd.total(loss.detach(), len(y))
            if fwd.classes is not None:
                correct[b] = (out.argmax(1) == y).sum()
            if bar is not None:
                bar.update()
            due = b + 1 - checked >= s.check_every or b + 1 == n
            stopping = stop.requested and s.dist is None
            if due or stopping:
                stopping, bad = _agree(stop.requested, losses[checked : b + 1], s.dist)
                if bad is not None:
                    raise _non_finite(s, epoch, checked + bad, float(losses[checked + bad]))
                checked = b + 1
                if bar is not None:
                    done = min((b + 1) * s.train.batch_size, s.train.samples)
                    bar.set_postfix_str(f"loss {float(losses[: b + 1].sum()) / done:.4f}")
            if stopping:
                if bar is not None:
                    bar.close()
                where = Position(
                    epoch, b + 1, s.train.batch_size, losses[: b + 1].cpu(), correct[: b + 1].cpu(), _since(t0)
                )
                _save(s, "last.pt", epoch, where)
                return where
        if bar is not None:
            bar.close()
        loss_sum, n_correct, seen = distributed.all_sum(
            [float(losses.sum()), float(correct.sum()), float(sum(s.train.sizes))], s.dist
        )
        val_loss, val_acc = evaluate(fwd, s.val, s.dist)
        if not math.isfinite(val_loss):  # the model is finite (training checked it): the data are not
            raise _non_finite_validation(s, epoch, val_loss)
        if s.scheduler is not None and not s.batch_scheduler:
            s.scheduler.step()
        m = EpochMetrics(
            epoch=epoch + 1,
            train_loss=loss_sum / seen,
            train_acc=n_correct / seen if fwd.classes is not None else None,
            val_loss=val_loss,
            val_acc=val_acc,
            lr=lr,
            seconds=_since(t0),
        )
        s.history.append(m)
        s.echo(m.line())
        if s.run is not None:
            s.run.record(m)
        _save(s, "last.pt", epoch + 1, None)
        if m.better_than(s.best):
            s.best = m
            _save(s, "best.pt", epoch + 1, None)
        position = None
        if s.early_stopping is not None:
            s.stopped_early = should_stop(s.history, s.early_stopping)
            if s.stopped_early is not None:
                s.echo(s.stopped_early)
                break
    return None


def _clip(s: Session) -> None:
    """Gradient clipping, after backward (and DDP's all-reduce) and before the optimizer's step."""
    if s.clip_grad_norm is not None:
        nn.utils.clip_grad_norm_(s.raw_model.parameters(), s.clip_grad_norm)
    if s.clip_grad_value is not None:
        nn.utils.clip_grad_value_(s.raw_model.parameters(), s.clip_grad_value)


def evaluate(fwd: Forward, batches: Batches, d: Dist | None = None) -> tuple[float, float | None]:
    """Mean loss per sample and accuracy over every sample of `batches`, in eval mode."""
    fwd.model.eval()
    loss_sum = torch.zeros((), device=fwd.device)
    correct = torch.zeros((), dtype=torch.int64, device=fwd.device)
    with torch.inference_mode(), fwd.autocast():
        for x, y in batches.epoch(0):
            out = fwd.model(fwd.prepare(x))
            loss_sum += fwd.total(fwd.loss_fn(out, fwd.target(y, out)).float(), len(y))
            if fwd.classes is not None:
                correct += (out.argmax(1) == y).sum()
    fwd.model.train()
    total, n_correct, count = distributed.all_sum([float(loss_sum), float(correct), batches.samples], d)
    return total / count, (n_correct / count if fwd.classes is not None else None)


def _agree(stop: bool, losses: Tensor, d: Dist | None) -> tuple[bool, int | None]:
    """Whether to stop, and the first non-finite batch (relative to `losses`), agreed by every process."""
    finite = torch.isfinite(losses)
    bad = -1 if bool(finite.all()) else int((~finite).nonzero()[0])
    flag, worst = distributed.all_max([float(stop), -bad if bad >= 0 else -math.inf], d)
    return bool(flag), (int(-worst) if worst != -math.inf else None)


def _non_finite(s: Session, epoch: int, batch: int, value: float) -> SpecError:
    what = "NaN" if math.isnan(value) else "infinite" if math.isinf(value) else "NaN or infinite"  # DDP: another rank's
    lr = s.optimizer.param_groups[0]["lr"]
    kept = f"last.pt in {s.run.path} holds epoch {s.history[-1].epoch}" if s.run and s.history else None
    return SpecError(
        [
            Diagnostic(
                "non-finite-loss",
                f"the loss became {what} at epoch {epoch + 1}, batch {batch + 1}",
                path=("train", "optimizer", "lr"),
                notes=(kept,) if kept else (),
                help=f"lower the learning rate (it is {lr:g}: try `--lr {lr / 10:g}`), or check the data",
            )
        ]
    )


def _non_finite_validation(s: Session, epoch: int, value: float) -> SpecError:
    what = "NaN" if math.isnan(value) else "infinite"
    kept = f"last.pt in {s.run.path} holds epoch {s.history[-1].epoch}" if s.run and s.history else None
    return SpecError(
        [
            Diagnostic(
                "non-finite-loss",
                f"the validation loss is {what} at epoch {epoch + 1}, though every training loss was finite",
                path=("train", "dataset"),
                notes=(kept,) if kept else (),
                help="check the validation samples and targets for NaN or infinite values",
            )
        ]
    )


def _save(s: Session, name: str, epoch: int, position: Position | None) -> None:
    if s.run is None:
        return
    save(
        s.run.path / name,
        s.spec,
        s.raw_model,
        optimizer=s.optimizer,
        scheduler=s.scheduler,
        scaler=s.scaler,
        epoch=epoch,
        position=position,
        history=s.history,
        classes=s.fwd.classes,
    )
    s.run.saved = True  # from now on a failure keeps the directory, to resume


def _bar(s: Session, epoch: int, total: int, start: int) -> Any:
    if not s.progress:
        return None
    from tqdm import tqdm

    return tqdm(total=total, initial=start, desc=f"epoch {epoch + 1}", unit="batch", leave=False, dynamic_ncols=True)


def _since(t0: float) -> float:
    return time.perf_counter() - t0
