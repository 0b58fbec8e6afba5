"""Real torch as the oracle: run a spec's layers through torch.nn, independently of netspec.

The oracle never uses netspec's shape inference: where a spec omits `in_channels`,
`in_features` or `num_features`, it reads them off the real tensor arriving at the layer.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from netspec.layers import params_of
from netspec.spec import Spec

BATCH = 97  # a prime no generated size reaches, so torch can't mistake the batch for a channel count


@dataclass
class TorchRun:
    shapes: list[tuple[int, ...]]  # each layer's output shape, batch included
    params: list[int]
    failed_at: int | None  # the layer whose construction or forward raised
    error: str = ""


def torch_layer(layer: Any, x: torch.Tensor) -> nn.Module:
    kwargs = params_of(layer)
    if layer.type == "Conv2d" and kwargs["in_channels"] is None:
        kwargs["in_channels"] = x.shape[1]
    if layer.type == "Linear" and kwargs["in_features"] is None:
        kwargs["in_features"] = x.shape[-1]
    if layer.type == "BatchNorm2d" and kwargs["num_features"] is None:
        kwargs["num_features"] = x.shape[1]
    return getattr(nn, layer.type)(**kwargs)


def run_torch(spec: Spec, batch: int = BATCH) -> TorchRun:
    x = torch.zeros(batch, *spec.input)
    shapes: list[tuple[int, ...]] = []
    params: list[int] = []
    for i, layer in enumerate(spec.layers):
        try:
            module = torch_layer(layer, x).eval()
            with warnings.catch_warnings(), torch.no_grad():
                warnings.simplefilter("ignore")
                x = module(x)
        except Exception as e:  # torch's verdict: this layer rejects its input or its arguments
            return TorchRun(shapes, params, i, f"{type(e).__name__}: {e}")
        shapes.append(tuple(x.shape))
        params.append(sum(p.numel() for p in module.parameters() if p.requires_grad))
    return TorchRun(shapes, params, None)
