"""Spec -> torch modules, sized before any weight is allocated, verified against the report. Imports torch.

`build` checks from the static report that the weights fit in memory, makes the modules on the
CPU (torch's constructors initialise them, seeded by the spec's `seed`), applies `init`, moves
them to the device, then runs two samples through the model and compares every layer and block
with the report (on the `meta` device, shapes without memory, when those activations would be large).
The module tree is the report's: a layer is `torch.nn.<type>` with the arguments its rule returned,
a Sequential an nn.Sequential, a join one of netspec.modules' blocks.
"""

from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn

from .devices import ensure_fits, resolve_device
from .diagnostics import Diagnostic, SpecError
from .kinds import INIT_FUNCTIONS
from .layers import LAYER_TYPES, Init
from .modules import JOIN_MODULES, RECURRENT, Concat, transformer_encoder
from .report import LayerReport, ShapeReport, check
from .spec import Spec
from .verify import verify_forward, verify_model


def torch_class(kind: str) -> type[nn.Module]:
    """The torch.nn class of a layer kind: only netspec's own table reaches torch.nn, never a free lookup."""
    if kind not in LAYER_TYPES:
        raise KeyError(kind)
    # a recurrent layer is torch's class returning one tensor, so that it can sit in a chain of layers
    cls: type[nn.Module] = RECURRENT[kind] if kind in RECURRENT else getattr(nn, kind)
    return cls


def module(node: LayerReport) -> nn.Module:
    """The torch module of one node of the checked tree (a block's layers made inside it)."""
    if node.kind == "TransformerEncoder":  # its `encoder_layer` and `norm` are modules in torch
        return transformer_encoder(**node.args)
    if not node.is_block:
        return torch_class(node.kind)(**node.args)
    if node.kind == "Sequential":
        return nn.Sequential(OrderedDict((child.name, module(child)) for child in node.branches[0]))
    layers = OrderedDict((child.name, module(child)) for child in node.children)
    branches = [[child.name for child in branch] for branch in node.branches]
    after = [child.name for child in node.after]
    if node.kind == "Concat":
        return Concat(layers, branches, after, dim=int(node.args.get("dim", 1)))
    return JOIN_MODULES[node.kind](layers, branches, after)


def modules(report: ShapeReport, device: torch.device) -> nn.Sequential:
    """The model's modules, constructed on `device` in the order they run (torch's constructors draw the weights)."""
    with device:
        return nn.Sequential(OrderedDict((node.name, module(node)) for node in report.layers))


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
        model = modules(report, torch.device("meta")).to(dtype=dtype)
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
        model = modules(report, torch.device("cpu"))
        for node in report.leaves():
            if node.init is not None:  # Conv2d and Linear only, not BatchNorm2d
                initialise(model.get_submodule(node.key), node.init)
    model = model.to(device=target, dtype=dtype)
    if verify:
        verify_model(model, report, target, dtype)
    return model


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
