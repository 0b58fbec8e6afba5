"""The `loss:` of a `train:` section as a torch module, and the checks that it fits the spec's output and targets."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from ..diagnostics import Diagnostic, SpecError
from ..report import ShapeReport
from ..spec import Spec
from .config import (
    BCEWithLogitsLoss,
    CrossEntropyLoss,
    HuberLoss,
    L1Loss,
    Loss,
    MSELoss,
    NLLLoss,
)

LOSSES: dict[str, type[nn.Module]] = {
    "CrossEntropyLoss": nn.CrossEntropyLoss,
    "NLLLoss": nn.NLLLoss,
    "BCEWithLogitsLoss": nn.BCEWithLogitsLoss,
    "MSELoss": nn.MSELoss,
    "L1Loss": nn.L1Loss,
    "HuberLoss": nn.HuberLoss,
}


def make_loss(loss: Loss, device: torch.device | None = None) -> nn.Module:
    """torch's loss module with the config's arguments; per-class weights become float32 tensors on `device`."""
    kwargs: dict[str, Any] = {k: getattr(loss, k) for k in type(loss).model_fields if k != "type"}  # torch's names
    for key in ("weight", "pos_weight"):
        if kwargs.get(key) is not None:
            kwargs[key] = torch.tensor(kwargs[key], dtype=torch.float32, device=device)
    return LOSSES[loss.type](**kwargs)


def check_loss(spec: Spec, report: ShapeReport, loss: Loss, classes: list[str] | None) -> None:
    """The loss must fit the spec's output (N, K) and the targets: else a diagnostic at `train.loss`."""
    out = report.output_shape[1:]
    name = loss.type
    if isinstance(loss, (CrossEntropyLoss, NLLLoss)):
        if classes is None and isinstance(loss, NLLLoss):  # CrossEntropyLoss also takes class probabilities
            raise _loss_error(
                "NLLLoss needs class labels, but the dataset's targets are float values",
                help="store `y` as integer class indices, or use `loss: MSELoss` for a regression",
            )
        if len(out) != 1:
            raise _output_error(spec, f"{name} needs an output of (N, classes), not {_shape(report.output_shape)}")
        if isinstance(loss, NLLLoss) and spec.layers and spec.layers[-1].type != "LogSoftmax":
            raise _output_error(
                spec,
                f"NLLLoss takes log-probabilities, but the last layer is {spec.layers[-1].type}, not LogSoftmax",
                help="end the network with `{type: LogSoftmax, dim: 1}`, or use `loss: CrossEntropyLoss` "
                "(LogSoftmax and NLLLoss in one)",
            )
    if isinstance(loss, (CrossEntropyLoss, NLLLoss, BCEWithLogitsLoss)):
        weights = loss.pos_weight if isinstance(loss, BCEWithLogitsLoss) else loss.weight
        key = "pos_weight" if isinstance(loss, BCEWithLogitsLoss) else "weight"
        k = out[-1] if out else 1
        if weights is not None and len(weights) != k:
            count = f"{len(classes)} classes, " if classes is not None else ""
            raise SpecError(
                [
                    Diagnostic(
                        "invalid-value",
                        f"`{key}` has {len(weights)} values but the spec's output has {k} per sample",
                        path=("train", "loss", key),
                        notes=(f"the dataset has {count}the last layer gives {k} outputs",),
                        help=f"give `{key}` one number per output ({k})",
                    )
                ]
            )
    if isinstance(loss, (MSELoss, L1Loss, HuberLoss, BCEWithLogitsLoss)) and classes is not None and len(out) != 1:
        raise _output_error(
            spec,
            f"{name} over class labels compares one-hot targets (N, classes) with the output, "
            f"but the output is {_shape(report.output_shape)}",
        )


def _loss_error(message: str, help: str) -> SpecError:
    return SpecError([Diagnostic("dataset-shape", message, path=("train", "loss"), help=help)])


def _output_error(spec: Spec, message: str, help: str | None = None) -> SpecError:
    path = ("layers", len(spec.layers) - 1)  # the trainer's `locate` points it at the file
    return SpecError([Diagnostic("dataset-shape", message, path=path, help=help or "end the network with Linear")])


def _shape(shape: tuple[Any, ...]) -> str:
    return "(" + ", ".join(str(d) for d in shape) + ")"
