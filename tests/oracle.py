"""Real torch as the oracle: run a spec's tree of layers through torch.nn, independently of netspec.

The oracle never uses netspec's shape inference or builder: where a spec omits `in_channels`,
`in_features` or `num_features`, it reads them off the real tensor arriving at the layer, and it
joins branches with torch's own `+`, `torch.cat` and `*`. It reads only the validated spec records.
"""

from __future__ import annotations

import contextlib
import warnings
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from netspec.kinds import params_of
from netspec.spec import Spec

BATCH = 97  # a prime no generated size reaches, so torch can't mistake the batch for a channel count
Path = tuple[Any, ...]


@dataclass
class TorchRun:
    shapes: dict[Path, tuple[int, ...]] = field(default_factory=dict)  # each layer's and block's output, batch in
    inputs: dict[Path, tuple[int, ...]] = field(default_factory=dict)  # what each layer and block was given
    params: dict[Path, int] = field(default_factory=dict)
    failed_at: Path | None = None  # the layer (or block, for its join) whose construction or forward raised
    error: str = ""
    broadcast_at: list[Path] = field(default_factory=list)  # joins where torch broadcast unequal shapes


class _Failed(Exception):
    pass


# Input sizes a spec may leave out, read off the real tensor as torch defines them: channels are dim 1,
# features the last dim.
_FROM_TENSOR = {
    "in_channels": lambda x: x.shape[1],
    "num_features": lambda x: x.shape[1],
    "num_channels": lambda x: x.shape[1],
    "in_features": lambda x: x.shape[-1],
    "normalized_shape": lambda x: x.shape[-1],
    "input_size": lambda x: x.shape[-1],
    "d_model": lambda x: x.shape[-1],
    "num_embeddings": lambda x: int(x.max()) + 1,  # the oracle's token ids are all the largest the input allows
}


def _kwargs(record: Any, x: torch.Tensor) -> dict[str, Any]:
    kwargs = params_of(record)
    for arg, read in _FROM_TENSOR.items():
        if arg in kwargs and kwargs[arg] is None:
            kwargs[arg] = read(x)
    return kwargs


class _Steps(nn.Module):
    """The oracle's reading of netspec's `output` for torch's own RNN, LSTM and GRU: every step, or the last.

    The last step of a bidirectional layer is each direction's final output: the forward one at the last step,
    the backward one at the first.
    """

    def __init__(self, rnn: nn.RNNBase, output: str) -> None:
        super().__init__()
        self.rnn, self.output = rnn, output

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.rnn(x)  # (N, L, D·H)
        if self.output == "sequence":
            return out  # type: ignore[no-any-return]
        if not self.rnn.bidirectional:
            return out[:, -1]  # type: ignore[no-any-return]
        h = out.shape[-1] // 2
        return torch.cat([out[:, -1, :h], out[:, 0, h:]], dim=-1)


def torch_layer(layer: Any, x: torch.Tensor) -> nn.Module:
    kwargs = _kwargs(layer, x)
    if layer.type in ("RNN", "LSTM", "GRU"):
        output = kwargs.pop("output")
        return _Steps(getattr(nn, layer.type)(**kwargs), output)
    if layer.type == "TransformerEncoder":
        norm = nn.LayerNorm(**_kwargs(layer.norm, x)) if layer.norm is not None else None
        kwargs.update(encoder_layer=nn.TransformerEncoderLayer(**_kwargs(layer.encoder_layer, x)), norm=norm)
    return getattr(nn, layer.type)(**kwargs)


def random_input(spec: Spec, batch: int) -> torch.Tensor:
    """A random batch of the spec's input: normal floats, or token ids below its vocabulary (int64)."""
    if spec.input.tokens is not None:
        return torch.randint(0, spec.input.tokens, (batch, *spec.input))
    return torch.randn(batch, *spec.input)


def example(spec: Spec, batch: int) -> torch.Tensor:
    """Zeros of the spec's input, or for token ids the largest id its vocabulary allows (int64)."""
    if spec.input.tokens is not None:
        return torch.full((batch, *spec.input), spec.input.tokens - 1, dtype=torch.long)
    return torch.zeros(batch, *spec.input)


class _Join(nn.Module):
    """The oracle's own join: branches of modules on one input, then torch's `+`, `cat` or `*`, then `after`."""

    def __init__(self, kind: str, branches: list[nn.Sequential], after: nn.Sequential, dim: int) -> None:
        super().__init__()
        self.kind, self.dim = kind, dim
        self.branches = nn.ModuleList(branches)
        self.after = after

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        outs = [branch(x) for branch in self.branches]
        if self.kind == "Concat":
            return self.after(torch.cat(outs, dim=self.dim))
        out = outs[0]
        for other in outs[1:]:
            out = out + other if self.kind == "Residual" else out * other
        return self.after(out)


def torch_model(spec: Spec) -> nn.Module:
    """The spec's model made without netspec's builder: sizes read off real tensors, joins of the oracle's own."""
    model, _ = _module_chain(spec.layers, example(spec, 2))  # two: GroupNorm refuses one value
    return model


def _module_chain(layers: list[Any], x: torch.Tensor) -> tuple[nn.Sequential, torch.Tensor]:
    modules = []
    for layer in layers:
        module, x = _module(layer, x)
        modules.append(module)
    return nn.Sequential(*modules), x


def _module(layer: Any, x: torch.Tensor) -> tuple[nn.Module, torch.Tensor]:
    with torch.no_grad():
        if layer.type == "Sequential":
            return _module_chain(layer.layers, x)
        if layer.type in ("Residual", "Concat", "Multiply"):
            lists = [layer.body, layer.shortcut] if layer.type == "Residual" else list(layer.branches)
            branches = [_module_chain(b, x)[0] for b in lists]
            joined = _Join(layer.type, branches, nn.Sequential(), getattr(layer, "dim", 1))(x)
            after, out = _module_chain(layer.after, joined)
            join = _Join(layer.type, branches, after, getattr(layer, "dim", 1))
            return join, out
        module = torch_layer(layer, x).eval()
        return module, module(x)


def run_torch(spec: Spec, batch: int = BATCH) -> TorchRun:
    run = TorchRun()
    with contextlib.suppress(_Failed):  # run.failed_at says where
        _chain(spec.layers, ("layers",), example(spec, batch), run)
    return run


def _chain(layers: list[Any], path: Path, x: torch.Tensor, run: TorchRun) -> torch.Tensor:
    for i, layer in enumerate(layers):
        x = _node(layer, (*path, i), x, run)
    return x


def _fail(run: TorchRun, path: Path, e: Exception) -> _Failed:
    run.failed_at = path
    run.error = f"{type(e).__name__}: {e}"
    return _Failed()


def _node(layer: Any, path: Path, x: torch.Tensor, run: TorchRun) -> torch.Tensor:
    run.inputs[path] = tuple(x.shape)
    if layer.type == "Sequential":
        out = _chain(layer.layers, (*path, "layers"), x, run)
        children = [(*path, "layers", i) for i in range(len(layer.layers))]
    elif layer.type in ("Residual", "Concat", "Multiply"):
        if layer.type == "Residual":
            lists = [("body",), ("shortcut",)]
            branches = [layer.body, layer.shortcut]
        else:
            lists = [("branches", j) for j in range(len(layer.branches))]
            branches = list(layer.branches)
        outputs = [_chain(b, (*path, *sub), x, run) for sub, b in zip(lists, branches)]
        try:
            with torch.no_grad():
                if layer.type == "Concat":
                    joined = torch.cat(outputs, dim=layer.dim)
                else:
                    joined = outputs[0]
                    for other in outputs[1:]:
                        if other.shape != joined.shape:
                            run.broadcast_at.append(path)
                        joined = joined + other if layer.type == "Residual" else joined * other
        except Exception as e:  # torch's verdict on the join
            raise _fail(run, path, e) from None
        out = _chain(layer.after, (*path, "after"), joined, run)
        children = [(*path, *sub, i) for sub, b in zip(lists, branches) for i in range(len(b))]
        children += [(*path, "after", i) for i in range(len(layer.after))]
    else:
        try:
            module = torch_layer(layer, x).eval()
            with warnings.catch_warnings(), torch.no_grad():
                warnings.simplefilter("ignore")
                out = module(x)
        except Exception as e:  # torch's verdict: this layer rejects its input or its arguments
            raise _fail(run, path, e) from None
        run.shapes[path] = tuple(out.shape)
        run.params[path] = sum(p.numel() for p in module.parameters() if p.requires_grad)
        return out
    run.shapes[path] = tuple(out.shape)
    run.params[path] = sum(run.params[c] for c in children)
    return out


def torchinfo_mult_adds(spec: Spec, model: nn.Module | None = None) -> int:
    """Mult-adds per sample as torchinfo's main branch counts them, from the installed torchinfo's per-layer data.

    torchinfo totals its leaf layers' counts; its main branch counts a Linear at every position of the leading
    dims (params × prod(output_size[:-1])), where 1.8 counted it once per sample. Recomputing that one rule
    from torchinfo's own output sizes makes the figure the same whichever torchinfo is installed. The model
    is the oracle's own unless one is given.
    """
    import math

    import torchinfo

    model = (model if model is not None else torch_model(spec)).eval()
    batch = 2  # GroupNorm refuses a single value per group, and BatchNorm one per channel
    # torch's fused transformer path calls none of a layer's submodules, so torchinfo would see no leaves in it
    fast = torch.backends.mha.get_fastpath_enabled()
    torch.backends.mha.set_fastpath_enabled(False)
    try:
        stats = torchinfo.summary(model, input_data=[example(spec, batch)], verbose=0, mode="eval")
    finally:
        torch.backends.mha.set_fastpath_enabled(fast)
    total = 0
    for layer in stats.summary_list:
        if not layer.is_leaf_layer:
            continue
        if layer.class_name == "Linear":
            total += layer.trainable_params * math.prod(layer.output_size[:-1])
        else:
            total += layer.macs
    return total // batch
