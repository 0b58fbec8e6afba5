"""Proof that a built model is the checked report: every node's output shape and parameters, measured in torch."""

from __future__ import annotations

import math
import warnings
from typing import Any

import torch
from torch import nn

from .devices import available_memory
from .render import fmt_int, fmt_shape
from .report import LayerReport, ShapeReport


class VerificationError(RuntimeError):
    """torch disagrees with the static report: a bug in netspec, never a problem with the user's spec."""


def verify_model(model: nn.Module, report: ShapeReport, device: torch.device, dtype: torch.dtype) -> None:
    """Prove a model with real weights matches the report (VerificationError if not).

    A real two-sample batch is the cheap proof (torch's meta kernels cost about a second on first use);
    a meta copy is the proof when those activations would take a real share of memory, or when a forward
    would change the weights.
    """
    from .builder import modules

    free = available_memory()
    # an Embedding with max_norm renormalises the rows it looks up, in place: a real forward would change the weights
    renorms = any(isinstance(m, nn.Embedding) and m.max_norm is not None for m in model.modules())
    if renorms or (free is not None and 2 * report.activation_bytes // 4 * dtype.itemsize > free // 8):
        meta = torch.device("meta")
        verify_forward(modules(report, meta).to(dtype=dtype), report, meta, dtype)
    else:
        verify_forward(model, report, device, dtype)


def verify_forward(model: nn.Module, report: ShapeReport, device: torch.device, dtype: torch.dtype) -> None:
    """Run a batch of two through the model (on `device`, where its weights are): every node must match the report.

    Hooks on each node's module (by its key) see its output; a block's is checked as a whole too.
    """
    # two samples: BatchNorm2d without running statistics needs more than one value per channel
    x = example_input(report, 2, device, dtype)
    running: list[LayerReport] = []  # the nodes whose forward has begun and not ended: the last one failed

    def before(node: LayerReport) -> Any:
        return lambda module, args: running.append(node)

    def after(node: LayerReport) -> Any:
        def check(module: nn.Module, args: Any, out: Any) -> None:
            running.pop()
            shape = tuple(out.shape) if isinstance(out, torch.Tensor) else None
            if shape != (2, *node.output_shape[1:]):
                raise VerificationError(
                    f"netspec bug: {label(node)} gives {fmt_shape(shape) if shape else type(out).__name__} in torch,"
                    f" but the static report says {fmt_shape(node.output_shape)}"
                )
            params = sum(p.numel() for p in module.parameters())
            if params != node.params:
                raise VerificationError(
                    f"netspec bug: {label(node)} has {fmt_int(params)} parameters in torch,"
                    f" but the static report says {fmt_int(node.params)}"
                )
            if not node.is_block:
                given = args[0] if args and isinstance(args[0], torch.Tensor) else None
                counted = mult_adds(
                    node.kind, module, tuple(given.shape) if given is not None else (), tuple(out.shape)
                )
                if counted != node.mult_adds:
                    raise VerificationError(
                        f"netspec bug: {label(node)} makes {fmt_int(counted)} mult-adds per sample in torch,"
                        f" but the static report says {fmt_int(node.mult_adds)}"
                    )

        return check

    handles = []
    for node in report.walk():
        module = model.get_submodule(node.key)
        handles += [module.register_forward_pre_hook(before(node)), module.register_forward_hook(after(node))]
    training = model.training
    model.eval()  # BatchNorm2d refuses one value per channel in training mode; shapes are the same
    try:
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Softmax without `dim`: the checker has warned already
            model(x)
    except VerificationError:
        raise
    except Exception as e:
        where = label(running[-1]) if running else "the model"
        shape = fmt_shape(running[-1].output_shape) if running else fmt_shape(report.output_shape)
        raise VerificationError(
            f"netspec bug: {where} fails in torch ({type(e).__name__}: {e}),"
            f" but the static report says it gives {shape}"
        ) from e
    finally:
        model.train(training)
        for handle in handles:
            handle.remove()
    total = sum(p.numel() for p in model.parameters())
    if total != report.total_params:
        raise VerificationError(
            f"netspec bug: the model has {fmt_int(total)} parameters in torch,"
            f" but the static report says {fmt_int(report.total_params)}"
        )


def mult_adds(kind: str, module: nn.Module, given: tuple[int, ...], out: tuple[int, ...]) -> int:
    """A layer's mult-adds per sample, counted from the real module: its parameters and the shapes it saw.

    torchinfo's convention, as its main branch counts them: a convolution's weights and bias at every output
    position; a Linear's at every position of the leading dims; a recurrent layer's at every step; a
    Transformer encoder layer's feed-forward Linears at every step and its LayerNorms once (torchinfo counts
    nothing for the attention, whose module is not a leaf); any other layer's parameters once.
    """
    params = sum(p.numel() for p in module.parameters())
    if "Conv" in kind:  # (N, C_out, *positions)
        return params * math.prod(out[2:])
    if kind == "Linear":
        return params * math.prod(out[1:-1])
    if kind in ("RNN", "LSTM", "GRU"):  # (N, L, F) in: each weight once per step
        return params * given[1]
    if kind in ("TransformerEncoderLayer", "TransformerEncoder"):
        steps = given[1]
        linear = sum(
            p.numel()
            for m in module.modules()
            if isinstance(m, nn.Linear) and not _in_attention(module, m)
            for p in m.parameters()
        )
        norms = sum(p.numel() for m in module.modules() if isinstance(m, nn.LayerNorm) for p in m.parameters())
        return linear * steps + norms
    return params


def _in_attention(root: nn.Module, module: nn.Module) -> bool:
    return any(module is m.out_proj for m in root.modules() if isinstance(m, nn.MultiheadAttention))


def example_input(
    report: ShapeReport, batch: int, device: torch.device | None, dtype: torch.dtype | None
) -> torch.Tensor:
    """Zeros of the report's input shape: floats in `dtype`, or token ids (int64) for a spec of tokens."""
    shape = (batch, *(int(d) for d in report.input_shape[1:]))  # (batch, C, H, W), (batch, F), (batch, L), ...
    return torch.zeros(shape, device=device, dtype=torch.long if report.tokens is not None else dtype)


def label(node: LayerReport) -> str:
    """How messages name a node: `layer 2 (conv2: Conv2d)` at the top level, `` `layer1.0.conv1` (Conv2d) `` below."""
    return f"layer {node.index} ({node.name}: {node.type})" if node.depth == 0 else f"`{node.key}` ({node.type})"
