"""Spec -> torch.nn.Sequential, with the input sizes the checker inferred. Imports torch."""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import torch
from torch import nn

from .layers import Init, LayerBase, params_of
from .report import ShapeReport, check
from .spec import Spec

# The only torch classes a spec can reach: netspec's own layer table, never a free lookup.
TORCH_CLASSES: dict[str, type[nn.Module]] = {
    "Conv2d": nn.Conv2d,
    "MaxPool2d": nn.MaxPool2d,
    "AvgPool2d": nn.AvgPool2d,
    "AdaptiveAvgPool2d": nn.AdaptiveAvgPool2d,
    "AdaptiveMaxPool2d": nn.AdaptiveMaxPool2d,
    "BatchNorm2d": nn.BatchNorm2d,
    "Dropout": nn.Dropout,
    "Dropout2d": nn.Dropout2d,
    "Flatten": nn.Flatten,
    "Linear": nn.Linear,
    "Identity": nn.Identity,
    "ZeroPad2d": nn.ZeroPad2d,
    "ConstantPad2d": nn.ConstantPad2d,
    "ReflectionPad2d": nn.ReflectionPad2d,
    "ReplicationPad2d": nn.ReplicationPad2d,
    "ReLU": nn.ReLU,
    "LeakyReLU": nn.LeakyReLU,
    "Sigmoid": nn.Sigmoid,
    "Tanh": nn.Tanh,
    "GELU": nn.GELU,
    "ELU": nn.ELU,
    "SiLU": nn.SiLU,
    "Hardswish": nn.Hardswish,
    "Softmax": nn.Softmax,
    "LogSoftmax": nn.LogSoftmax,
}

# The input-size argument each kind may omit, and which input dim supplies it.
INFERRED: dict[str, tuple[str, int]] = {
    "Conv2d": ("in_channels", 1),  # (N, C, H, W) -> C
    "BatchNorm2d": ("num_features", 1),
    "Linear": ("in_features", -1),  # acts on the last dim
}


def torch_kwargs(layer: LayerBase, input_shape: tuple[Any, ...]) -> dict[str, Any]:
    """The constructor arguments for `layer`, input sizes filled in from the checked input shape."""
    kwargs = params_of(layer)
    if layer.type in INFERRED:
        arg, dim = INFERRED[layer.type]
        if kwargs.get(arg) is None:
            kwargs[arg] = input_shape[dim]
    return kwargs


def make_module(layer: LayerBase, input_shape: tuple[Any, ...]) -> nn.Module:
    return TORCH_CLASSES[layer.type](**torch_kwargs(layer, input_shape))


def build(
    spec: Spec,
    *,
    device: torch.device | str | None = None,
    dtype: torch.dtype | None = None,
    report: ShapeReport | None = None,
) -> nn.Sequential:
    """Build the spec's nn.Sequential; submodules are named as in the report (`conv1`, `fc1`, or `name`)."""
    report = report if report is not None else check(spec)
    with _seeded(spec.seed):
        modules = OrderedDict(
            (info.name, make_module(layer, info.input_shape)) for layer, info in zip(spec.layers, report.layers)
        )
        model = nn.Sequential(modules)
        for layer, module in zip(spec.layers, model):
            init = getattr(layer, "init", None) or spec.init
            if init is not None:
                initialise(module, init)
    if device is not None or dtype is not None:
        model = model.to(device=device, dtype=dtype)
    return model


class _seeded:
    """Seed torch's CPU generator for the build only, restoring the caller's RNG state after."""

    def __init__(self, seed: int | None) -> None:
        self.seed = seed
        self.state: torch.Tensor | None = None

    def __enter__(self) -> None:
        if self.seed is not None:
            self.state = torch.random.get_rng_state()
            torch.manual_seed(self.seed)

    def __exit__(self, *exc: object) -> None:
        if self.state is not None:
            torch.random.set_rng_state(self.state)


def initialise(module: nn.Module, init: Init) -> None:
    """Apply `init` to a Conv2d or Linear weight; the bias starts at zero unless init is `default`."""
    weight = getattr(module, "weight", None)
    if init.type == "default" or not isinstance(weight, torch.Tensor):
        return
    with torch.no_grad():
        if init.type == "kaiming_normal":
            nn.init.kaiming_normal_(weight, a=init.a, mode=init.mode, nonlinearity=init.nonlinearity)
        elif init.type == "kaiming_uniform":
            nn.init.kaiming_uniform_(weight, a=init.a, mode=init.mode, nonlinearity=init.nonlinearity)
        elif init.type == "xavier_normal":
            nn.init.xavier_normal_(weight, gain=init.gain)
        elif init.type == "xavier_uniform":
            nn.init.xavier_uniform_(weight, gain=init.gain)
        elif init.type == "normal":
            nn.init.normal_(weight, mean=init.mean, std=init.std)
        elif init.type == "zeros":
            nn.init.zeros_(weight)
        bias = getattr(module, "bias", None)
        if isinstance(bias, torch.Tensor):
            nn.init.zeros_(bias)


def param_bytes(report: ShapeReport, dtype: torch.dtype = torch.float32) -> int:
    """Bytes the parameters will take once allocated."""
    return report.total_params * (torch.finfo(dtype).bits // 8 if dtype.is_floating_point else 8)
