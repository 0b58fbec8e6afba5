"""`netspec.train`: spec -> overrides -> check -> data -> model -> optimizer -> the loop -> metrics.

`netspec train FILE` (and `netspec build FILE --train`) call `run_training`; Python code calls
`netspec.train(spec_or_path, epochs=..., lr=..., ...)`, which returns the metrics.
"""

from __future__ import annotations

import contextlib
import math
import os
import random
import shlex
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from ..builder import build
from ..checkpoint import check_fits
from ..devices import ensure_batch_fits
from ..diagnostics import Diagnostic, SpecError
from ..report import ShapeReport, check
from ..spec import Spec, load_spec
from . import distributed, given
from .batches import Batches
from .config import SGD, Adam, AdamW, CosineAnnealingLR, OneCycleLR, RMSprop, StepLR, TrainConfig
from .data import InMemory, load_data
from .distributed import Dist
from .heldout import HeldOutMetrics, evaluate_held_out
from .loop import Forward, Session, fit
from .losses import make_loss
from .overrides import Override, apply_overrides, key_path, locate
from .run import (
    _REMAKE,
    EpochMetrics,
    Position,
    Resume,
    Run,
    StopRequest,
    load_resume,
    repair_best,
    set_rng_state,
)
from .values import DEVICE

OPTIMIZERS: dict[str, type[torch.optim.Optimizer]] = {
    "SGD": torch.optim.SGD,
    "Adam": torch.optim.Adam,
    "AdamW": torch.optim.AdamW,
    "RMSprop": torch.optim.RMSprop,
}


@dataclass
class TrainResult:
    """What a run produced: its directory and the metrics of every epoch (also in metrics.csv)."""

    run_dir: Path | None  # None on processes other than rank 0
    history: list[EpochMetrics]
    best: EpochMetrics | None
    interrupted: Position | None  # where Ctrl-C stopped it, or None when it ran to the end
    resume_command: str
    first_step_at: float | None = None  # time.time() when the first training batch started (startup ends)
    test: HeldOutMetrics | None = None  # the held-out test split with best.pt's weights, when the dataset has one

    @property
    def final(self) -> EpochMetrics | None:
        return self.history[-1] if self.history else None


def train(
    spec: Spec | str | os.PathLike[str] | None = None,
    *,
    epochs: int | None = None,
    batch_size: int | None = None,
    lr: float | None = None,
    device: str | None = None,
    seed: int | None = None,
    out: str | os.PathLike[str] | None = None,
    resume: str | os.PathLike[str] | None = None,
    overrides: Mapping[str, Any] | None = None,
    quiet: bool = False,
    data: Any = None,
    val_data: Any = None,
) -> TrainResult:
    """Train a spec (or a spec file) as `netspec train` does; keyword arguments override its `train:` section.

    `overrides` takes dotted keys as `--set` does: `{"train.optimizer.lr": 3e-4}`. `data` (and
    `val_data`) replace the spec's dataset: (x, y) tensors or arrays, a torch Dataset, or a DataLoader.
    With `resume` (a run directory) the spec may be left out: the run continues from its own spec.yaml.
    """
    flags = {"epochs": epochs, "batch_size": batch_size, "lr": lr, "device": device, "seed": seed}
    if data is not None and spec is not None and not isinstance(spec, Spec):
        spec = load_spec(spec)  # to keep a `dataset: {name: python, ...}` it already has
    sets = given.overrides(data, val_data, flags, spec.train if isinstance(spec, Spec) else None)
    sets += flag_overrides(flags, lambda name, value: f"{name}={value!r}")
    sets += [Override(key_path(k), v, f"overrides[{k!r}]") for k, v in (overrides or {}).items()]
    with given.supplying(data, val_data):
        return run_training(
            spec,
            sets,
            out=Path(out) if out is not None else None,
            resume=Path(resume) if resume is not None else None,
            echo=(lambda line: None) if quiet else print,
            progress=False,
        )


# Where each flag lands in the spec.
FLAG_PATHS: dict[str, tuple[str, ...]] = {
    "epochs": ("train", "epochs"),
    "batch_size": ("train", "batch_size"),
    "lr": ("train", "optimizer", "lr"),
    "device": ("train", "device"),
    "seed": ("train", "seed"),
}


def flag_overrides(flags: Mapping[str, Any], origin: Callable[[str, Any], str]) -> list[Override]:
    """The flags that were given, as overrides of the spec's data."""
    return [Override(FLAG_PATHS[k], v, origin(k, v)) for k, v in flags.items() if v is not None]


# What a resumed run may change without saying so: how it runs, not what it computes.
FREE_ON_RESUME = ("epochs", "device", "num_workers", "amp", "compile")


def run_training(
    spec: Spec | str | os.PathLike[str] | None,
    overrides: list[Override],
    *,
    out: Path | None,
    resume: Path | None,
    echo: Callable[[str], None],
    progress: bool,
    warn: Callable[[Diagnostic], None] | None = None,  # shows the spec's warnings (`build --train` has already)
) -> TrainResult:
    """Everything `netspec train` does after parsing its arguments."""
    if out is not None and resume is not None:
        raise SpecError(
            [
                Diagnostic(
                    "io-error",
                    f"both an output directory ({out}) and a run to resume ({resume}) were given",
                    help="drop `--out`: a resumed run continues in its own directory",
                )
            ]
        )
    for flag, path in (("--out", out), ("--resume", resume)):
        if path is not None and not _utf8(str(path)):  # it is printed, and written into spec.yaml's run
            raise SpecError(
                [
                    Diagnostic(
                        "io-error",
                        f"the {flag} path {str(path)!a} is not valid UTF-8",
                        help="name the run directory in UTF-8 (letters, digits, - and _ are safe)",
                    )
                ]
            )
    if spec is None:
        if resume is None:
            raise SpecError(
                [Diagnostic("io-error", "no spec to train", help="give a spec file, or `--resume RUN_DIR`")]
            )
        spec = run_spec(resume)
    spec = spec if isinstance(spec, Spec) else load_spec(spec)
    spec = apply_overrides(spec, overrides)
    config = spec.train or TrainConfig()
    report = check(spec)  # shape errors stop here, before anything is loaded
    overridden = {str(o.path[1]) for o in overrides if len(o.path) > 1 and o.path[0] == "train"}
    if any(o.path in (("train",), ()) for o in overrides):
        overridden |= set(TrainConfig.model_fields)
    d = distributed.setup(_wants_cuda(config.device))
    try:
        rank0 = d is None or d.rank == 0
        if warn is not None and rank0:
            for warning in report.warnings:
                warn(warning)
        result = _train(
            spec,
            config,
            report,
            d,
            out,
            resume,
            echo if rank0 else (lambda line: None),
            progress and rank0,
            overridden,
        )
        distributed.barrier(d)  # rank 0 may still be saving: no process tears the group down under another
        return result
    except SpecError as e:
        raise locate(spec, e) from None
    finally:
        distributed.teardown(d)


def _utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # undecodable bytes of a file name, kept by Python as lone surrogates
        return False
    return True


def run_spec(run_dir: Path) -> Spec:
    """The spec a run was trained with: its spec.yaml."""
    if not (run_dir / "spec.yaml").is_file():
        if run_dir.is_dir() and (run_dir / "last.pt").is_file():
            return _checkpoint_spec(run_dir / "last.pt")
        raise SpecError(
            [
                Diagnostic(
                    "io-error",
                    f"{run_dir} is not a run directory (it has no spec.yaml)",
                    source=str(run_dir),
                    help="pass a folder written by `netspec train` (runs/<name>/<timestamp>)",
                )
            ]
        )
    return load_spec(run_dir / "spec.yaml")


def _checkpoint_spec(path: Path) -> Spec:
    from ..checkpoint import load

    return load(path).spec


def _refuse_changes(spec: Spec, trained: Spec, overridden: set[str], run_dir: Path) -> None:
    """A resumed run's settings that change results must be the run's own, unless set on purpose."""
    now, then = spec.train or TrainConfig(), trained.train or TrainConfig()
    for name in TrainConfig.model_fields:
        if name in FREE_ON_RESUME or name in overridden or getattr(now, name) == getattr(then, name):
            continue
        raise SpecError(
            [
                Diagnostic(
                    "checkpoint",
                    f"`train.{name}` differs from the run's: resuming would continue {run_dir} with other settings",
                    source=str(run_dir / "spec.yaml"),
                    help=f"resume without a spec file (`netspec train --resume {run_dir}`), which uses the run's"
                    f" spec.yaml; or change it on purpose with `--set train.{name}=...`",
                )
            ]
        )


def _train(
    spec: Spec,
    config: TrainConfig,
    report: ShapeReport,
    d: Dist | None,
    out: Path | None,
    resume_from: Path | None,
    echo: Callable[[str], None],
    progress: bool,
    overridden: set[str],
) -> TrainResult:
    device = pick_device(config.device, d)
    torch.manual_seed(config.seed)
    np.random.seed(config.seed % 2**32)
    random.seed(config.seed)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True  # fixed input sizes: let cuDNN pick the fastest kernels
        torch.set_float32_matmul_precision("high")
    rank0 = d is None or d.rank == 0
    # the run's lock first: nothing of a run is read while another process may be writing it
    is_run = resume_from is not None and (resume_from / "last.pt").is_file()  # else load_resume says what it is
    run = Run.reopen(resume_from) if resume_from is not None and rank0 and is_run else None
    try:
        return _train_in(spec, config, report, d, out, resume_from, echo, progress, overridden, device, run)
    finally:
        if run is not None:
            run.close()


def _train_in(
    spec: Spec,
    config: TrainConfig,
    report: ShapeReport,
    d: Dist | None,
    out: Path | None,
    resume_from: Path | None,
    echo: Callable[[str], None],
    progress: bool,
    overridden: set[str],
    device: torch.device,
    reopened: Run | None,
) -> TrainResult:
    resume, trained = load_resume(resume_from, spec) if resume_from is not None else (None, None)
    if trained is not None:
        _refuse_changes(spec, trained, overridden, resume_from or Path())
    if resume is not None and reopened is not None:  # rank 0, holding the run's lock
        note = repair_best(resume, _best(resume.history))
        if note:
            echo(note)
    ensure_batch_fits(report, config.batch_size, device)  # before the data: a huge input would fill memory first
    data = load_data(spec, config, report, device)

    model = build(spec, device=device, report=report)
    if next(model.parameters(), None) is None:  # torch.optim refuses an empty parameter list
        raise SpecError(
            [
                Diagnostic(
                    "invalid-value",
                    f"{spec.name} has no weights to train: "
                    + (
                        "its one layer has no parameters"
                        if len(spec.layers) == 1
                        else f"none of its {len(spec.layers)} layers has parameters"
                    ),
                    path=("layers",),
                    help="add a layer with weights, such as Linear or Conv2d",
                )
            ]
        )
    if resume is not None:
        check_fits(model, resume.model_state, resume.path)
        model.load_state_dict(resume.model_state)
    if d is not None:
        torch.manual_seed(config.seed + d.rank)  # each process its own dropout masks
    # NHWC: oneDNN (CPU) and cuDNN convolutions run faster in it
    channels_last = device.type in ("cpu", "cuda") and len(spec.input) == 3
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
        for split in (data.train, data.val):
            if isinstance(split, InMemory):  # once here rather than a copy per batch
                split.x = split.x.contiguous(memory_format=torch.channels_last)
    rank, world = (d.rank, d.world) if d is not None else (0, 1)
    train_batches = Batches(
        data.train,
        config.batch_size,
        device,
        shuffle=True,
        drop_last=config.drop_last,
        seed=config.seed,
        rank=rank,
        world=world,
        num_workers=config.num_workers,
    )
    if len(train_batches) == 0:  # drop_last with fewer samples than one batch: an epoch would take no step
        per_process = " per process" if world > 1 else ""
        raise SpecError(
            [
                Diagnostic(
                    "invalid-value",
                    f"`batch_size` (={config.batch_size}) is more than the {train_batches.samples:,} training"
                    f" samples{per_process} and `drop_last` is true: an epoch would take no step",
                    path=("train", "batch_size"),
                    help=f"set `batch_size` to at most {train_batches.samples}, or `drop_last: false`",
                )
            ]
        )
    val_batches = Batches(
        data.val, config.batch_size, device, shuffle=False, rank=rank, world=world, num_workers=config.num_workers
    )
    optimizer = make_optimizer(config, model)
    amp_dtype, scaler = _amp(config, device)
    eval_model: nn.Module = torch.compile(model) if config.compile else model  # type: ignore[assignment]
    forward = eval_model
    if d is not None:
        forward = nn.parallel.DistributedDataParallel(
            model, device_ids=[d.local_rank] if device.type == "cuda" else None
        )
        forward = torch.compile(forward) if config.compile else forward  # type: ignore[assignment]

    start_epoch, history, position = 0, list[EpochMetrics](), None
    if resume is not None and trained is not None:
        done_epochs = int(resume.extra["epoch"])
        if done_epochs >= config.epochs:  # nothing to train: the run directory stays as it is
            done = resume.path.parent
            epochs = f"{done_epochs} epoch{'s' if done_epochs != 1 else ''}"
            echo(f"{done} has already trained {epochs}: raise `--epochs` to train further")
            hint = resume_command(done, done_epochs + 1)
            history = resume.history
            return TrainResult(done if d is None or d.rank == 0 else None, history, _best(history), None, hint)
        start_epoch, history, position, scheduler = _restore(
            resume, trained, config, optimizer, scaler, len(train_batches), echo
        )
    else:
        scheduler = make_scheduler(config, optimizer, len(train_batches))
    run = _start_run(spec, out, reopened, history, d, echo)
    run_dir = run.path if run is not None else None
    hint = resume_command(run_dir, None)

    fwd = Forward(
        model=eval_model,
        loss_fn=make_loss(config.loss, device),
        classes=data.classes,
        num_outputs=int(report.output_shape[-1]),
        device=device,
        amp_dtype=amp_dtype,
        channels_last=channels_last,
    )
    s = Session(
        spec=spec,
        fwd=fwd,
        model=forward,
        raw_model=model,
        optimizer=optimizer,
        scheduler=scheduler,
        batch_scheduler=isinstance(config.scheduler, OneCycleLR),
        scaler=scaler,
        train=train_batches,
        val=val_batches,
        epochs=config.epochs,
        run=run,
        dist=d,
        echo=echo,
        progress=progress,
        history=history,
        best=_best(history),
        clip_grad_norm=config.clip_grad_norm,
        clip_grad_value=config.clip_grad_value,
        early_stopping=config.early_stopping,
    )
    where = f"{world} processes ({device.type})" if world > 1 else str(device)
    held_out = f", {len(data.val):,} validation and {len(data.test):,} test" if data.test is not None else ""
    echo(
        f"training {spec.name} on {where}: {len(data.train):,} training"
        + (held_out or f" and {len(data.val):,} validation")
        + f" samples, epochs {start_epoch + 1}-{config.epochs}, run directory {run_dir}"
    )
    with _claimed(run):
        if run is not None and start_epoch == 0 and position is None:
            ids = spec.input.tokens is not None  # an Embedding takes int64 token ids
            run.add_graph(model, torch.zeros(1, *spec.input, device=device, dtype=torch.long if ids else None))
        with StopRequest() as stop:
            stopped = fit(s, start_epoch, position, stop)
    if stopped is not None:
        echo(f"interrupted at epoch {stopped.epoch + 1}, batch {stopped.batch}: saved {run_dir}/last.pt")
        echo(f"resume with: {hint}")
    elif s.best is not None:
        acc = f"val acc {s.best.val_acc:.3f}" if s.best.val_acc is not None else f"val loss {s.best.val_loss:.4f}"
        echo(f"best {acc} at epoch {s.best.epoch}; metrics and checkpoints in {run_dir}")
    tested = None
    if stopped is None and data.test is not None:
        tested = evaluate_held_out(s, data.test, config.batch_size, config.num_workers)
        if tested is not None:
            echo(tested.line())
    return TrainResult(run_dir, s.history, s.best, stopped, hint, s.first_step_at, tested)


@contextlib.contextmanager
def _claimed(run: Run | None) -> Iterator[None]:
    """Close the run when the block ends; a new run that fails before its first checkpoint is removed."""
    try:
        yield
    except BaseException:
        if run is not None:
            run.close(failed=True)  # `--out` can then be used again
        raise
    finally:
        if run is not None:
            run.close()


def _start_run(
    spec: Spec,
    out: Path | None,
    reopened: Run | None,
    history: list[EpochMetrics],
    d: Dist | None,
    echo: Callable[[str], None],
) -> Run | None:
    """The run directory, claimed by rank 0 alone; when it cannot be, every process stops (not only rank 0)."""
    run, failed = None, None
    if d is None or d.rank == 0:
        try:
            run = reopened if reopened is not None else Run.create(spec, out)
            note = run.start(spec, history, tensorboard=True)
            if note:
                echo(note)
        except SpecError as e:
            if run is not None and reopened is None:
                run.close(failed=True)
            run, failed = None, e
    if d is not None and distributed.all_max([float(failed is not None)], d)[0] and failed is None:
        failed = SpecError([Diagnostic("io-error", "process 0 could not make the run directory")])  # not printed
    if failed is not None:
        raise failed
    return run


def _restore(
    resume: Resume,
    trained: Spec,
    config: TrainConfig,
    optimizer: torch.optim.Optimizer,
    scaler: Any,
    steps_per_epoch: int,
    echo: Callable[[str], None],
) -> tuple[int, list[EpochMetrics], Position | None, Any]:
    """Optimizer, scheduler, scaler and RNG states from the checkpoint, after everything that draws random numbers.

    The optimizer's state is kept when its settings are the run's, else it starts fresh; the schedule continues
    when it and the optimizer are the run's and (for OneCycleLR) its length is, else a new one spans the epochs
    left, starting from the optimizer's `lr` (docs/training.md, "Resuming").
    """
    extra = resume.extra
    position = resume.position
    then = trained.train or TrainConfig()
    start_epoch = int(extra["epoch"])
    if position is not None and position.batch_size != config.batch_size:
        raise _checkpoint_error(
            resume,
            f"the run stopped inside epoch {position.epoch + 1} with batch_size {position.batch_size},"
            f" not {config.batch_size}",
            f"resume with `--batch-size {position.batch_size}`",
        )
    same_optimizer = then.optimizer == config.optimizer
    if then.optimizer.type == config.optimizer.type:
        try:
            optimizer.load_state_dict(extra["optimizer"])
        except (KeyError, ValueError, TypeError, IndexError, RuntimeError) as e:  # a sealed but hand-made file
            raise _checkpoint_error(resume, f"the optimizer state in {resume.path} does not fit ({e})") from None
        if not same_optimizer:  # the state (moments, momentum buffers) carries over; the settings are the new ones
            settings = _settings(config.optimizer)
            for group in optimizer.param_groups:
                group.update(settings)
            changed = [f"{k} {v} → {settings[k]}" for k, v in _settings(then.optimizer).items() if settings[k] != v]
            echo(f"{config.optimizer.type}'s settings changed ({', '.join(changed)}): its state carries over")
    else:
        echo(f"the optimizer changed ({then.optimizer.type} → {config.optimizer.type}): it starts with fresh state")
    # the run's current lr (and OneCycleLR's momentum, `betas`), which a scheduler's constructor resets
    groups = [{k: v for k, v in g.items() if k != "params"} for g in optimizer.param_groups]
    saved = extra.get("scheduler")
    scheduler = make_scheduler(config, optimizer, steps_per_epoch)
    same_schedule = same_optimizer and then.scheduler == config.scheduler and (saved is None) == (scheduler is None)
    if scheduler is not None and same_schedule:
        total = getattr(scheduler, "total_steps", None)
        try:
            scheduler.load_state_dict(saved)
        except (KeyError, ValueError, TypeError, AttributeError) as e:
            raise _checkpoint_error(resume, f"the scheduler state in {resume.path} does not fit ({e})") from None
        for group, saved_group in zip(optimizer.param_groups, groups):
            group.update(saved_group)
        if total is not None and scheduler.total_steps != total:  # OneCycleLR over more (or fewer) epochs
            same_schedule = False
        else:
            _stretch_cosine(config, optimizer, scheduler)
    if scheduler is not None and not same_schedule:
        for group in optimizer.param_groups:
            group["lr"] = config.optimizer.lr
            group.pop("initial_lr", None)
        start_batch = position.batch if position is not None and position.epoch == start_epoch else 0
        scheduler = make_scheduler(config, optimizer, steps_per_epoch, start_epoch, start_batch)
        if start_epoch < config.epochs:
            echo(
                f"{_name(config.scheduler)} starts a new schedule over {_epochs(start_epoch + 1, config.epochs)}"
                f" (the run's schedule {'ended' if then.scheduler == config.scheduler else 'changed'})"
            )
    elif scheduler is None and then.scheduler is not None:
        for group in optimizer.param_groups:
            group["lr"] = config.optimizer.lr  # no schedule now: the optimizer's lr, as a new run would use
    if scaler is not None and extra.get("scaler") is not None:
        scaler.load_state_dict(extra["scaler"])
    try:
        set_rng_state(extra["rng"])
    except (KeyError, ValueError, TypeError, IndexError, RuntimeError, AttributeError) as e:
        raise _checkpoint_error(resume, f"the random states in {resume.path} are not usable ({e})") from None
    return start_epoch, resume.history, position, scheduler


def _stretch_cosine(config: TrainConfig, optimizer: torch.optim.Optimizer, scheduler: Any) -> None:
    cosine = config.scheduler
    span = (cosine.T_max or config.epochs) if isinstance(cosine, CosineAnnealingLR) else None
    if isinstance(cosine, CosineAnnealingLR) and scheduler.T_max != span:
        # `T_max` (by default `epochs`, which a resume raises) changed: the cosine continues over the new
        # span; the state's T_max would take the lr back up after the old end. torch steps it by a ratio
        # to the current lr, so that lr is first set to the closed form at this epoch.
        scheduler.T_max = span
        where = (1 + math.cos(math.pi * scheduler.last_epoch / scheduler.T_max)) / 2
        for group, base in zip(optimizer.param_groups, scheduler.base_lrs):
            group["lr"] = cosine.eta_min + (base - cosine.eta_min) * where


def _epochs(first: int, last: int) -> str:
    return f"epoch {first}" if first == last else f"epochs {first}-{last}"


def _settings(o: Any) -> dict[str, Any]:
    """An optimizer record's arguments, by torch's names (`betas` as torch keeps it, a tuple)."""
    return {k: getattr(o, k) for k in type(o).model_fields if k != "type"}


def _name(record: Any) -> str:
    return str(getattr(record, "type", "none"))


def _checkpoint_error(resume: Resume, message: str, help: str = _REMAKE) -> SpecError:
    return SpecError([Diagnostic("checkpoint", message, source=str(resume.path), help=help)])


def resume_command(run_dir: Path | None, epochs: int | None) -> str:
    """The command that continues a run, exactly as it can be pasted."""
    more = f" --epochs {epochs}" if epochs is not None else ""
    return f"netspec train --resume {shlex.quote(str(run_dir))}{more}"


def _best(history: list[EpochMetrics]) -> EpochMetrics | None:
    best = None
    for m in history:
        if m.better_than(best):
            best = m
    return best


def _spec_path(spec: Spec) -> str:
    return spec.source.source if spec.source is not None else "SPEC"


def _wants_cuda(device: str) -> bool:
    return device.startswith("cuda") or (device == "auto" and torch.cuda.is_available())


def pick_device(name: str, d: Dist | None, *, source: str | None = None) -> torch.device:
    """`auto` is CUDA when available, else the CPU; a device that is not there is an error, not a fallback.

    Diagnostics point at `train.device`, or at `source` (`--device gpu`) for a name from the command line.
    """
    if not DEVICE.fullmatch(name):  # the spec's `device` is checked when it is read; a `--device` is not
        raise _device_error(f'`device` must be "auto", "cpu", "cuda", "cuda:N" or "mps", got "{name}"', source)
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name.startswith("cuda"):
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        index = d.local_rank if d is not None else int(name.partition(":")[2] or 0)
        if index >= count:
            found = f"{count} CUDA device{'s' if count != 1 else ''}" if count else "no CUDA device"
            raise _device_error(f"`device` is {name} but torch sees {found}", source)
        return torch.device("cuda", index)
    if name == "mps" and not torch.backends.mps.is_available():
        raise _device_error("`device` is mps but this torch build or machine has no MPS", source)
    return torch.device(name)


def _device_error(message: str, source: str | None) -> SpecError:
    return SpecError(
        [
            Diagnostic(
                "invalid-value",
                message,
                path=("train", "device") if source is None else (),
                source=source,
                help="use `--device cpu`, or `device: auto` to take CUDA only when it is there",
            )
        ]
    )


def make_optimizer(config: TrainConfig, model: nn.Module) -> torch.optim.Optimizer:
    o = config.optimizer
    kwargs: dict[str, Any] = {k: getattr(o, k) for k in type(o).model_fields if k != "type"}  # torch's names
    assert isinstance(o, (SGD, Adam, AdamW, RMSprop))
    params = list(model.parameters())
    # torch's fused kernels update every tensor in one pass: the same algorithm, ~10% of a small
    # model's step on the CPU; torch supports them for floating-point weights on the CPU and CUDA
    fusable = not isinstance(o, RMSprop)  # torch has no fused RMSprop
    if fusable and params and all(p.device.type in ("cpu", "cuda") and p.is_floating_point() for p in params):
        kwargs["fused"] = True
    return OPTIMIZERS[o.type](params, **kwargs)


def make_scheduler(
    config: TrainConfig,
    optimizer: torch.optim.Optimizer,
    steps_per_epoch: int,
    start_epoch: int = 0,
    start_batch: int = 0,
) -> Any:
    """The configured schedule over the epochs from `start_epoch` (and batch `start_batch` in it) to the last."""
    s = config.scheduler
    sched = torch.optim.lr_scheduler
    if isinstance(s, StepLR):
        return sched.StepLR(optimizer, step_size=s.step_size, gamma=s.gamma)
    if isinstance(s, CosineAnnealingLR):
        return sched.CosineAnnealingLR(optimizer, T_max=s.T_max or config.epochs - start_epoch, eta_min=s.eta_min)
    if isinstance(s, OneCycleLR):
        return sched.OneCycleLR(
            optimizer,
            max_lr=s.max_lr or config.optimizer.lr,
            total_steps=max(1, (config.epochs - start_epoch) * steps_per_epoch - start_batch),
            pct_start=s.pct_start,
            anneal_strategy=s.anneal_strategy,
            div_factor=s.div_factor,
            final_div_factor=s.final_div_factor,
        )
    return None


def _amp(config: TrainConfig, device: torch.device) -> tuple[torch.dtype | None, Any]:
    """bf16 autocast where the GPU supports it, else fp16 with a grad scaler; none on the CPU."""
    if device.type != "cuda" or not config.amp:
        return None, None
    # bf16 in hardware needs compute capability 8.0 (Ampere) or ROCm. Not torch.cuda.is_bf16_supported():
    # it also says yes for older GPUs (T4, V100) that only emulate bf16, slowly, and asks the current device
    if torch.version.hip is not None or torch.cuda.get_device_capability(device)[0] >= 8:
        return torch.bfloat16, None
    return torch.float16, torch.amp.GradScaler("cuda")
