"""`netspec build`: build a spec's model (or a checkpoint's), show torchinfo's summary beside the static table."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from .. import render
from ..diagnostics import SpecError
from ..report import ShapeReport
from .output import echo_diagnostics, parse_input
from .train import run_from_cli, train_options

if TYPE_CHECKING:  # torch is imported inside the command, never when the CLI starts
    import torch
    from torch import nn

CHECKPOINT_SUFFIXES = (".pt", ".pth", ".ckpt")


def is_checkpoint(path: Path) -> bool:
    """Whether a FILE argument names a checkpoint (`model.pt`, `MODEL.PTH`) rather than a spec."""
    return path.suffix.lower() in CHECKPOINT_SUFFIXES


BUILD_EXAMPLES = """\b
Examples:
  netspec build specs/lenet.yaml                     the table, torchinfo's summary, and that they agree
  netspec build specs/lenet.yaml --save lenet.pt     also write a checkpoint (spec and weights)
  netspec build lenet.pt                             rebuild a checkpoint's model and check its weights
  netspec build specs/nin.yaml --input 1,96,96 --device cuda
"""


def _device(ctx: click.Context, param: click.Parameter, value: str) -> torch.device:
    """The --device option as a torch.device this machine has (a usage error otherwise)."""
    from ..devices import resolve_device

    try:
        device = resolve_device(value)
    except SpecError as e:
        raise click.BadParameter(e.diagnostics[0].message) from None
    if device.type == "meta":
        raise click.BadParameter("`meta` allocates nothing to run; `netspec check` is the static view")
    return device


@click.command(epilog=BUILD_EXAMPLES)
@click.argument("file", type=click.Path(path_type=Path))
@click.option(
    "--input",
    "input_shape",
    metavar="C,H,W",
    callback=parse_input,
    help="Build for this input instead of the spec's (F for vectors).",
)
@click.option("--device", default="cpu", show_default=True, callback=_device, help="cpu, cuda, cuda:N or mps.")
@click.option(
    "--save",
    "save_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write a checkpoint (the spec and the weights) to this .pt, .pth or .ckpt file.",
)
@click.option("--train", "then_train", is_flag=True, help="Then train it, as `netspec train` (with the flags below).")
@train_options(device=False)
def build(
    file: Path,
    input_shape: tuple[int, ...] | None,
    device: torch.device,
    save_path: Path | None,
    then_train: bool,
    **train_flags: Any,
) -> None:
    """Build FILE's model and check torchinfo's counts against the static report.

    FILE is a spec (.yaml), or a checkpoint (.pt, .pth, .ckpt) whose weights are loaded and checked.
    With --train it is then trained exactly as `netspec train FILE` does (--device applies to both).
    """
    from ..builder import build as build_model
    from ..checkpoint import load, restore, save
    from ..report import check
    from ..spec import load_spec

    from_checkpoint = is_checkpoint(file)
    given = [f"--{k.replace('_', '-')}" for k, v in train_flags.items() if v not in (None, ())]
    if given and not then_train:
        raise click.UsageError(
            f"{', '.join(given)} {'applies' if len(given) == 1 else 'apply'} to training: add --train"
        )
    if then_train and from_checkpoint:
        raise click.UsageError("--train takes a spec file (to continue a run: netspec train SPEC --resume RUN_DIR)")
    if save_path is not None and not is_checkpoint(save_path):
        # netspec tells a checkpoint from a spec by its suffix; this also keeps `--save spec.yaml` from overwriting it
        raise click.UsageError(f"--save writes a checkpoint: name it .pt, .pth or .ckpt (got {save_path})")
    if from_checkpoint:
        if input_shape is not None:
            raise click.UsageError("--input applies to specs: a checkpoint's weights fix its input")
        ckpt = load(file)
        model = restore(ckpt, file, device=device)
        spec, report = ckpt.spec, check(ckpt.spec)
    else:
        spec = load_spec(file)
        if input_shape is not None:
            spec = spec.with_input(input_shape)
        report = check(spec)
        model = build_model(spec, device=device, report=report)
    echo_diagnostics(report.warnings)
    click.echo(render.table(report, color=True) + "\n")
    click.echo(torchinfo_agrees(model, report, device))
    if from_checkpoint:
        click.echo(f"loaded {file}: its weights fit its spec")
    if save_path is not None:
        save(save_path, spec=spec, model_state=model.state_dict())
        click.echo(f"saved {save_path}: the spec and its weights (netspec.load_model reads it)")
    if then_train:
        ctx = click.get_current_context()
        explicit = ctx.get_parameter_source("device") == click.core.ParameterSource.COMMANDLINE
        flags = {**train_flags, "device": str(device) if explicit else None}
        run_from_cli(file, flags, input_shape=input_shape, warned=True)  # its warnings are above the table


def torchinfo_agrees(model: nn.Module, report: ShapeReport, device: torch.device) -> str:
    """torchinfo's summary of the real model, and a line saying what agrees with the report.

    `build` has already counted every layer's shapes, parameters and mult-adds in torch (netspec.verify).
    torchinfo's parameter count must agree too (a difference is a netspec bug: VerificationError, exit 1);
    its mult-adds are information, since torchinfo versions count some layers differently.
    """
    import torch
    import torchinfo

    from ..verify import VerificationError

    dtype = next((p.dtype for p in model.parameters()), torch.float32)
    if report.tokens is not None:  # token ids for an Embedding
        dtype = torch.long

    def summary(batch: int) -> Any:
        return torchinfo.summary(
            model,
            input_size=(batch, *report.input_shape[1:]),
            device=device,
            dtypes=[dtype],
            col_names=("output_size", "num_params", "mult_adds"),
            row_settings=("var_names",),
            verbose=0,
        )

    from ..devices import available_memory, free_memory

    free = free_memory(device)[0] if device.type != "meta" else available_memory()
    if free is not None and 2 * report.activation_bytes > free // 2:  # torchinfo's forward holds a batch of up to 2
        return (
            "verified: every layer's output shape, parameters and mult-adds in torch equal the static report"
            f"\n(torchinfo not run: its forward would need {render.fmt_bytes(2 * report.activation_bytes)} of"
            f" activations, and {render.fmt_bytes(free)} is free)"
        )
    batch = 1
    try:
        try:
            stats = summary(batch)
        except RuntimeError:  # a BatchNorm without running statistics refuses one value per channel, even in eval
            batch = 2
            stats = summary(batch)
    except Exception as e:  # torchinfo's own limits: netspec has verified the model already
        return (
            "verified: every layer's output shape, parameters and mult-adds in torch equal the static report"
            f"\n(torchinfo {_version()} could not summarise the model: {type(e).__name__}: {str(e)[:200]})"
        )
    text = str(stats)
    for unit in torchinfo.Units:  # torchinfo 1.8 prints `Total mult-adds (Units.MEGABYTES)` on Python 3.11+
        text = text.replace(f"(Units.{unit.name})", f"({unit.value})")
    mult_adds = stats.total_mult_adds // batch  # torchinfo counts them for the whole batch
    if stats.total_params != report.total_params:
        raise VerificationError(
            f"netspec bug: torchinfo counts {render.fmt_int(stats.total_params)} params,"
            f" but the static report says {render.fmt_int(report.total_params)}"
        )
    if batch > 1:
        text += (
            f"\n(a batch of {batch}: a BatchNorm2d without running statistics needs more than one value per channel)"
        )
    verified = (
        f"{text}\nverified: every layer's output shape, parameters and mult-adds in torch equal the static report,"
        f" and so do torchinfo's {render.fmt_int(stats.total_params)} params"
    )
    if mult_adds == report.total_mult_adds:
        return verified + f" and {render.fmt_int(mult_adds)} mult-adds"
    return verified + (
        f"\n(torchinfo {_version()} counts {render.fmt_int(mult_adds)} mult-adds, netspec"
        f' {render.fmt_int(report.total_mult_adds)}: see docs/spec.md, "What the checker computes")'
    )


def _version() -> str:
    from importlib.metadata import version

    return version("torchinfo")
