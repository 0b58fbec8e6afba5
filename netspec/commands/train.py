"""`netspec train`: train a spec with the shared loop; `train_options` gives `netspec build --train` the same flags."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from ..diagnostics import SpecError

F = TypeVar("F", bound=Callable[..., Any])

TRAIN_EXAMPLES = """\b
Examples:
  netspec train specs/lenet.yaml                         the spec's train: section (digits by default)
  netspec train specs/lenet.yaml --epochs 3 --lr 3e-4    override it
  netspec train specs/lenet.yaml --set train.optimizer.type=SGD --set train.optimizer.momentum=0.9
  netspec train --resume runs/lenet/20250101-120000 --epochs 20      continue a run, to 20 epochs
  torchrun --nproc_per_node=2 -m netspec train specs/lenet.yaml      data-parallel (DDP)
"""


def train_options(device: bool = True) -> Callable[[F], F]:
    """The training flags, shared by `netspec train` and `netspec build --train` (whose `--device` serves both)."""
    options = [
        click.option("--epochs", type=int, help="Override train.epochs."),
        click.option("--batch-size", type=int, help="Override train.batch_size (per process under torchrun)."),
        click.option("--lr", type=float, help="Override train.optimizer.lr, e.g. 3e-4."),
        *([click.option("--device", help="Override train.device: auto, cpu, cuda, cuda:N or mps.")] if device else []),
        click.option("--seed", type=int, help="Override train.seed."),
        click.option(
            "--out",
            type=click.Path(file_okay=False, path_type=Path),
            help="The run directory (default runs/<name>/<timestamp>).",
        ),
        click.option(
            "--resume",
            type=click.Path(path_type=Path),
            metavar="RUN_DIR",
            help="Continue the run in RUN_DIR from its spec.yaml and last.pt (FILE is then not needed).",
        ),
        click.option(
            "--set",
            "sets",
            multiple=True,
            metavar="KEY=VALUE",
            help="Set any spec value by its dotted path, e.g. train.optimizer.lr=3e-4 (repeatable).",
        ),
    ]

    def decorate(f: F) -> F:
        for option in reversed(options):
            f = option(f)
        return f

    return decorate


def run_from_cli(
    file: Path | None, options: dict[str, Any], input_shape: tuple[int, ...] | None = None, warned: bool = False
) -> None:
    """Train FILE with the parsed `train_options`; exits 130 when interrupted (after saving last.pt).

    The spec's warnings are shown first, unless the caller (`build --train`) has shown them (`warned`).
    """
    from ..training.overrides import Override, parse_assignment
    from ..training.trainer import flag_overrides, run_training
    from .output import echo_diagnostics

    flags = {k: options.get(k) for k in ("epochs", "batch_size", "lr", "device", "seed")}
    overrides = flag_overrides(flags, lambda name, value: f"--{name.replace('_', '-')} {value}")
    if input_shape is not None:  # `netspec build --input C,H,W --train`
        overrides.append(Override(("input",), list(input_shape), "--input " + ",".join(map(str, input_shape))))
    overrides += [parse_assignment(text) for text in options.get("sets", ())]
    try:
        result = run_training(
            file,
            overrides,
            out=options.get("out"),
            resume=options.get("resume"),
            echo=click.echo,
            progress=sys.stdout.isatty(),
            warn=None if warned else lambda d: echo_diagnostics([d]),
        )
    except SpecError:
        if os.environ.get("RANK", "0") != "0":  # under torchrun every process fails alike; rank 0 reports it
            click.get_current_context().exit(1)
        raise
    if result.interrupted is not None:
        click.get_current_context().exit(130)


@click.command(epilog=TRAIN_EXAMPLES)
@click.argument("file", type=click.Path(path_type=Path), required=False)
@train_options()
def train(file: Path | None, **options: Any) -> None:
    """Train FILE's model on its `train:` section's dataset; writes a run directory.

    The same as `netspec build FILE --train`. Ctrl-C stops after the current batch and saves
    last.pt (exit status 130); `netspec train --resume RUN_DIR` continues it from the run's
    own spec.yaml, and flags given with it (`--epochs 20`) change it.
    """
    if file is None and options.get("resume") is None:
        raise click.UsageError("give a spec FILE to train, or `--resume RUN_DIR` to continue a run")
    run_from_cli(file, options)
