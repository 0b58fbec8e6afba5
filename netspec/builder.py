"""Spec -> torch.nn.Sequential, sized before any weight is allocated, verified against the report. Imports torch.

`build` checks from the static report that the weights fit in memory, makes the modules on the
CPU (torch's constructors initialise them, seeded by the spec's `seed`), applies `init`, moves
them to the device, then runs two samples through the model and compares every layer with the
report (on the `meta` device, shapes without memory, when those activations would be large).
"""

from __future__ import annotations

import os
import warnings
from collections import OrderedDict
from pathlib import Path
from typing import Any

import torch
from torch import nn

from .diagnostics import Diagnostic, SpecError
from .layers import INIT_FUNCTIONS, Init, LayerBase, params_of
from .render import fmt_bytes, fmt_int, fmt_shape
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

DEVICE_TYPES = ("cpu", "cuda", "mps", "meta")
MEMINFO = Path("/proc/meminfo")


class VerificationError(RuntimeError):
    """torch disagrees with the static report: a bug in netspec, never a problem with the user's spec."""


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
    verify: bool = True,
) -> nn.Sequential:
    """Build the spec's nn.Sequential; submodules are named as in the report (`conv1`, `fc1`, or `name`).

    `device="meta"` returns the verified model without allocating its weights. Raises SpecError
    (`too-large`) when the weights would not fit in memory, VerificationError on a netspec bug.
    """
    report = report if report is not None else check(spec)
    target = resolve_device(device)
    dtype = dtype if dtype is not None else torch.get_default_dtype()
    if not dtype.is_floating_point:
        raise SpecError(
            [
                Diagnostic(
                    "invalid-value", f"`dtype` must be a floating-point dtype, got {dtype}", help="use torch.float32"
                )
            ]
        )
    if target.type == "meta":  # shapes only: nothing is allocated, so any size can be verified
        model = _modules(spec, report, torch.device("meta")).to(dtype=dtype)
        if verify:
            verify_forward(model, report, target, dtype)
        return model
    # the weights are made on the CPU in torch's default dtype, then converted and moved
    ensure_fits(report, dtype, torch.device("cpu"), made_in=torch.get_default_dtype())
    if target.type != "cpu":
        ensure_fits(report, dtype, target)
    # A seed drives only the CPU generator, inside a fork that restores the caller's state afterwards;
    # the constructors draw in the same order as plain torch code after torch.manual_seed(seed).
    with torch.random.fork_rng(devices=[], enabled=spec.seed is not None):
        if spec.seed is not None:
            torch.default_generator.manual_seed(spec.seed)
        model = _modules(spec, report, torch.device("cpu"))
        for layer, module in zip(spec.layers, model):
            init = getattr(layer, "init", None) or spec.init
            if init is not None and "init" in type(layer).model_fields:  # Conv2d and Linear only, not BatchNorm2d
                initialise(module, init)
    model = model.to(device=target, dtype=dtype)
    if verify:
        verify_model(model, spec, report, target, dtype)
    return model


def resolve_device(device: torch.device | str | None) -> torch.device:
    """`device` as a torch.device (None: the CPU); SpecError `invalid-value` for one this machine lacks."""
    if device is None:
        return torch.device("cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError):
        dev = None
    if dev is None or dev.type not in DEVICE_TYPES:
        raise SpecError(
            [Diagnostic("invalid-value", f"unknown device `{device}`", help="use cpu, cuda, cuda:N, mps or meta")]
        )
    count = torch.cuda.device_count() if dev.type == "cuda" else 0
    if dev.type == "cuda" and count == 0:
        raise SpecError(
            [
                Diagnostic(
                    "invalid-value", f"device `{device}` is not available: torch finds no CUDA GPU", help="use cpu"
                )
            ]
        )
    if dev.type == "cuda" and dev.index is not None and dev.index >= count:
        raise SpecError(
            [
                Diagnostic(
                    "invalid-value",
                    f"device `{device}` is not available: this machine has {count} CUDA GPU(s)",
                    help=f"use cuda:0 to cuda:{count - 1}",
                )
            ]
        )
    if dev.type == "mps" and not torch.backends.mps.is_available():
        raise SpecError(
            [Diagnostic("invalid-value", f"device `{device}` is not available on this machine", help="use cpu")]
        )
    return dev


def verify_model(
    model: nn.Sequential, spec: Spec, report: ShapeReport, device: torch.device, dtype: torch.dtype
) -> None:
    """Prove a model with real weights matches the report (VerificationError if not).

    A real two-sample batch is the cheap proof (torch's meta kernels cost about a second on first use);
    a meta copy is the proof when those activations would take a real share of memory.
    """
    free = available_memory()
    if free is not None and 2 * report.activation_bytes // 4 * dtype.itemsize > free // 8:  # bytes are float32
        meta = torch.device("meta")
        verify_forward(_modules(spec, report, meta).to(dtype=dtype), report, meta, dtype)
    else:
        verify_forward(model, report, device, dtype)


def verify_forward(model: nn.Sequential, report: ShapeReport, device: torch.device, dtype: torch.dtype) -> None:
    """Run a batch of two through the model (on `device`, where its weights are): every layer must match the report."""
    # two samples: BatchNorm2d without running statistics needs more than one value per channel
    x = torch.zeros(2, *(int(d) for d in report.input_shape[1:]), device=device, dtype=dtype)  # (2, C, H, W) or (2, F)
    training = model.training
    model.eval()  # BatchNorm2d refuses one value per channel in training mode; shapes are the same
    try:
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Softmax without `dim`: the checker has warned already
            for info, module in zip(report.layers, model.children(), strict=True):
                where = f"layer {info.index} ({info.name}: {info.type})"
                try:
                    x = module(x)  # (2, *info.output_shape[1:]) if the report is right
                except Exception as e:
                    raise VerificationError(
                        f"netspec bug: {where} fails in torch ({type(e).__name__}: {e}),"
                        f" but the static report says it gives {fmt_shape(info.output_shape)}"
                    ) from e
                if tuple(x.shape) != (2, *info.output_shape[1:]):
                    raise VerificationError(
                        f"netspec bug: {where} gives {fmt_shape(tuple(x.shape))} in torch,"
                        f" but the static report says {fmt_shape(info.output_shape)}"
                    )
                params = sum(p.numel() for p in module.parameters())
                if params != info.params:
                    raise VerificationError(
                        f"netspec bug: {where} has {fmt_int(params)} parameters in torch,"
                        f" but the static report says {fmt_int(info.params)}"
                    )
    finally:
        model.train(training)
    total = sum(p.numel() for p in model.parameters())
    if total != report.total_params:
        raise VerificationError(
            f"netspec bug: the model has {fmt_int(total)} parameters in torch,"
            f" but the static report says {fmt_int(report.total_params)}"
        )


def memory_needed(report: ShapeReport, dtype: torch.dtype, made_in: torch.dtype | None = None) -> int:
    """Peak bytes for the parameters in `dtype`; when they are made in `made_in` and then converted.

    `Module.to` converts one tensor at a time, freeing each old copy once its new one exists: at worst all
    the weights in the larger dtype, plus the largest layer's in the smaller.
    """
    need = report.total_params * dtype.itemsize
    if made_in is None or made_in == dtype:
        return need
    largest = max((layer.params for layer in report.layers), default=0)
    big, small = sorted((dtype.itemsize, made_in.itemsize), reverse=True)
    return report.total_params * big + largest * small


def ensure_fits(
    report: ShapeReport, dtype: torch.dtype, device: torch.device, *, made_in: torch.dtype | None = None
) -> None:
    """Refuse (SpecError `too-large`) when the parameters would not fit in `device`'s free memory."""
    need = memory_needed(report, dtype, made_in)
    if device.type == "cuda":
        free: int | None = torch.cuda.mem_get_info(device)[0]
        where = f"is free on {device}"
    else:  # the CPU, and mps, whose memory is the machine's
        free = available_memory()
        where = "of memory is available"
    if free is None or need <= free:
        return
    name = str(dtype).removeprefix("torch.")
    size = f"need {fmt_bytes(need)} in {name}"
    if made_in is not None and made_in != dtype:
        size = (
            f"need {fmt_bytes(need)} to build in {name} (made in {str(made_in).removeprefix('torch.')}, then converted)"
        )
    help = "check the layer sizes with `netspec check`, which allocates nothing"
    if device.type == "cuda":  # only a GPU gains from a smaller dtype: the CPU makes the weights in float32 first
        help += "; in Python, `netspec.build(spec, dtype=torch.bfloat16)` needs half the GPU memory of float32"
    raise SpecError(
        [
            Diagnostic(
                "too-large",
                f"the model's {fmt_int(report.total_params)} parameters {size}, but only {fmt_bytes(free)} {where}",
                source=report.source,
                help=help,
            )
        ]
    )


def available_memory() -> int | None:
    """Bytes of RAM available to new allocations: MemAvailable on Linux, free pages elsewhere, None if unknown."""
    try:
        for line in MEMINFO.read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024  # the file counts in kB
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):  # Windows has no sysconf, macOS no SC_AVPHYS_PAGES
        return None


def _modules(spec: Spec, report: ShapeReport, device: torch.device) -> nn.Sequential:
    """The spec's modules, constructed on `device` (torch's constructors initialise the weights)."""
    with device:
        return nn.Sequential(
            OrderedDict(
                (info.name, make_module(layer, info.input_shape)) for layer, info in zip(spec.layers, report.layers)
            )
        )


def initialise(module: nn.Module, init: Init) -> None:
    """Apply `init` to a Conv2d or Linear weight; the bias starts at zero unless init is `default`."""
    function, args = INIT_FUNCTIONS[init.type]
    weight = getattr(module, "weight", None)
    if function is None or not isinstance(weight, torch.Tensor):
        return
    with torch.no_grad():
        getattr(nn.init, function)(weight, **{arg: getattr(init, arg) for arg in args})
        bias = getattr(module, "bias", None)
        if isinstance(bias, torch.Tensor):
            nn.init.zeros_(bias)
