"""The core promise: netspec's static answer equals what real torch does, accept and reject alike."""

from __future__ import annotations

import math
import re
from typing import Any

import pytest
from hypothesis import event, example, given, note, settings
from hypothesis import strategies as st

import netspec
from netspec.diagnostics import SpecError
from netspec.layers import BLOCK_TYPES

from .conftest import SPECS
from .oracle import BATCH, TorchRun, run_torch, torchinfo_mult_adds

small = st.integers(1, 4)
pairs = st.one_of(small, st.tuples(small, small))


def _maybe(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(st.none(), strategy)


def _layer(kind: str, **args: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    """A layer mapping; arguments drawn as None are left out, so torch's defaults apply."""
    return st.fixed_dictionaries({k: _maybe(v) for k, v in args.items()}).map(
        lambda d: {"type": kind, **{k: v for k, v in d.items() if v is not None}}
    )


pad2 = st.one_of(st.integers(0, 2), st.tuples(st.integers(0, 2), st.integers(0, 2)))
pad4 = st.one_of(st.integers(0, 3), st.tuples(*[st.integers(0, 3)] * 4))
out_size = st.one_of(small, st.tuples(_maybe(small), _maybe(small)))

LAYERS = st.one_of(
    _layer(
        "Conv2d",
        in_channels=st.integers(1, 6),
        out_channels=st.integers(1, 6),
        kernel_size=st.one_of(st.integers(1, 5), st.tuples(st.integers(1, 5), st.integers(1, 5))),
        stride=pairs,
        padding=st.one_of(pad2, st.sampled_from(["same", "valid"])),
        dilation=st.one_of(st.integers(1, 2), st.tuples(st.integers(1, 2), st.integers(1, 2))),
        groups=st.sampled_from([1, 2, 3]),
        bias=st.booleans(),
        padding_mode=st.sampled_from(["zeros", "reflect", "replicate", "circular"]),
    ).map(lambda d: {"out_channels": 4, "kernel_size": 3, **d}),
    _layer(
        "MaxPool2d", kernel_size=pairs, stride=pairs, padding=pad2, dilation=st.integers(1, 2), ceil_mode=st.booleans()
    ).map(lambda d: {"kernel_size": 2, **d}),
    _layer(
        "AvgPool2d",
        kernel_size=pairs,
        stride=pairs,
        padding=pad2,
        ceil_mode=st.booleans(),
        count_include_pad=st.booleans(),
        divisor_override=st.integers(1, 4),
    ).map(lambda d: {"kernel_size": 2, **d}),
    _layer("AdaptiveAvgPool2d", output_size=out_size).map(lambda d: {"output_size": 2, **d}),
    _layer("AdaptiveMaxPool2d", output_size=out_size).map(lambda d: {"output_size": 1, **d}),
    _layer(
        "BatchNorm2d",
        num_features=st.integers(1, 6),
        affine=st.booleans(),
        track_running_stats=st.booleans(),
        momentum=st.sampled_from([0.1, 0.5]),
    ),
    _layer("Flatten", start_dim=st.integers(-4, 3), end_dim=st.integers(-4, 3)),
    _layer("Linear", in_features=st.integers(1, 40), out_features=st.integers(1, 16), bias=st.booleans()).map(
        lambda d: {"out_features": 8, **d}
    ),
    _layer("ZeroPad2d", padding=pad4).map(lambda d: {"padding": 1, **d}),
    _layer("ConstantPad2d", padding=pad4, value=st.floats(-2, 2)).map(lambda d: {"padding": 1, "value": 0.5, **d}),
    _layer("ReflectionPad2d", padding=pad4).map(lambda d: {"padding": 1, **d}),
    _layer("ReplicationPad2d", padding=pad4).map(lambda d: {"padding": 1, **d}),
    _layer("Dropout", p=st.floats(0, 1)),
    _layer("Dropout2d", p=st.floats(0, 1)),
    _layer("Softmax", dim=st.integers(-4, 3)),
    _layer("LogSoftmax", dim=st.integers(-4, 3)),
    _layer("LeakyReLU", negative_slope=st.floats(0, 1)),
    _layer("GELU", approximate=st.sampled_from(["none", "tanh"])),
    _layer("ELU", alpha=st.floats(0.1, 2)),
    st.sampled_from(["ReLU", "Sigmoid", "Tanh", "SiLU", "Hardswish", "Identity"]),
)


# The 1-d and 3-d kinds, resizing, normalisation and activations: 1-d layers meet (C, L) inputs, 3-d ones
# (C, D, H, W) volumes, and each meets the other ranks too, where torch refuses them.
triples = st.one_of(small, st.tuples(small, small, small))
scales = st.sampled_from([0.5, 1.5, 2.0, 2.7])
LAYERS_ND = st.one_of(
    *[
        _layer(
            kind,
            out_channels=st.integers(1, 6),
            kernel_size=st.integers(1, 4),
            stride=st.integers(1, 3),
            padding=st.one_of(st.integers(0, 2), st.sampled_from(["same", "valid"])),
            dilation=st.integers(1, 2),
            groups=st.sampled_from([1, 2]),
            bias=st.booleans(),
            padding_mode=st.sampled_from(["zeros", "reflect", "replicate", "circular"]),
        ).map(lambda d: {"out_channels": 2, "kernel_size": 2, **d})
        for kind in ("Conv1d", "Conv3d")
    ],
    *[
        _layer(
            kind,
            out_channels=st.integers(1, 6),
            kernel_size=st.integers(1, 4),
            stride=st.integers(1, 3),
            padding=st.integers(0, 2),
            output_padding=st.integers(0, 2),
            dilation=st.integers(1, 2),
            groups=st.sampled_from([1, 2]),
            bias=st.booleans(),
        ).map(lambda d: {"out_channels": 2, "kernel_size": 2, **d})
        for kind in ("ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d")
    ],
    *[
        _layer(kind, kernel_size=small, stride=small, padding=st.integers(0, 2), dilation=st.integers(1, 2),
               ceil_mode=st.booleans()).map(lambda d: {"kernel_size": 2, **d})
        for kind in ("MaxPool1d", "MaxPool3d")
    ],
    _layer("AvgPool1d", kernel_size=small, stride=small, padding=st.integers(0, 2), ceil_mode=st.booleans(),
           count_include_pad=st.booleans()).map(lambda d: {"kernel_size": 2, **d}),
    _layer("AvgPool3d", kernel_size=triples, stride=small, padding=st.integers(0, 1), ceil_mode=st.booleans(),
           divisor_override=st.integers(1, 4)).map(lambda d: {"kernel_size": 2, **d}),
    *[
        _layer(kind, norm_type=st.sampled_from([1, 2, 3.5]), kernel_size=small, stride=small,
               ceil_mode=st.booleans()).map(lambda d: {"norm_type": 2, "kernel_size": 2, **d})
        for kind in ("LPPool1d", "LPPool2d")
    ],
    *[
        _layer(kind, output_size=small).map(lambda d: {"output_size": 2, **d})
        for kind in ("AdaptiveAvgPool1d", "AdaptiveMaxPool1d", "AdaptiveAvgPool3d", "AdaptiveMaxPool3d")
    ],
    _layer(
        "Upsample",
        size=st.one_of(st.integers(1, 8), st.lists(st.integers(1, 8), min_size=1, max_size=3)),
        scale_factor=st.one_of(scales, st.lists(scales, min_size=1, max_size=3)),
        mode=st.sampled_from(["nearest", "nearest-exact", "linear", "bilinear", "bicubic", "trilinear"]),
        align_corners=st.booleans(),
        recompute_scale_factor=st.booleans(),
    ),
    _layer("PixelShuffle", upscale_factor=st.integers(1, 3)).map(lambda d: {"upscale_factor": 2, **d}),
    _layer("PixelUnshuffle", downscale_factor=st.integers(1, 3)).map(lambda d: {"downscale_factor": 2, **d}),
    _layer("Unflatten", dim=st.integers(-3, 3), unflattened_size=st.lists(st.sampled_from([1, 2, 3, 4, -1]),
           min_size=1, max_size=3).filter(lambda v: v.count(-1) <= 1)).map(
        lambda d: {"dim": 1, "unflattened_size": [2, -1], **d}),
    *[
        _layer(kind, num_features=st.integers(1, 6), affine=st.booleans(), track_running_stats=st.booleans())
        for kind in ("BatchNorm1d", "BatchNorm3d", "InstanceNorm1d", "InstanceNorm2d", "InstanceNorm3d")
    ],
    _layer("LayerNorm", normalized_shape=st.one_of(st.integers(1, 8), st.lists(st.integers(1, 8), min_size=1,
           max_size=2)), elementwise_affine=st.booleans(), bias=st.booleans()),
    _layer("GroupNorm", num_groups=st.integers(1, 4), num_channels=st.integers(1, 6), affine=st.booleans()).map(
        lambda d: {"num_groups": 1, **d}
    ),
    _layer("LocalResponseNorm", size=st.integers(1, 5)).map(lambda d: {"size": 2, **d}),
    *[_layer(kind, p=st.floats(0, 1)) for kind in ("Dropout1d", "Dropout3d", "AlphaDropout")],
    _layer("PReLU", num_parameters=st.integers(1, 6)),
    _layer("Hardtanh", min_val=st.floats(-2, 0), max_val=st.floats(-1, 2)),
    _layer("Softplus", beta=st.floats(0.5, 2), threshold=st.floats(1, 20)),
    _layer("CELU", alpha=st.floats(0.1, 2)),
    _layer("GLU", dim=st.integers(-4, 3)),
    _layer("Softmin", dim=st.integers(-4, 3)),
    st.sampled_from(["ReLU6", "Hardsigmoid", "Mish", "SELU"]),
)  # fmt: skip


# Sequences: (L, F) inputs and token ids. Recurrent and transformer layers mostly with `batch_first: true`, which
# netspec requires (torch's default reads the batch as the steps).
first = st.sampled_from([True, True, True, False])
encoder_args = {
    "d_model": st.integers(1, 8),
    "nhead": st.integers(1, 4),
    "dim_feedforward": st.integers(1, 12),
    "dropout": st.sampled_from([0.0, 0.1]),
    "activation": st.sampled_from(["relu", "gelu"]),
    "batch_first": first,
    "norm_first": st.booleans(),
    "bias": st.booleans(),
}
SEQUENCE_LAYERS = st.one_of(
    *[
        _layer(
            kind,
            input_size=st.integers(1, 8),
            hidden_size=st.integers(1, 6),
            num_layers=st.integers(1, 2),
            bias=st.booleans(),
            batch_first=first,
            dropout=st.sampled_from([0.0, 0.5]),
            bidirectional=st.booleans(),
            output=st.sampled_from(["sequence", "last"]),
            **({"proj_size": st.integers(0, 6)} if kind == "LSTM" else {}),
            **({"nonlinearity": st.sampled_from(["tanh", "relu"])} if kind == "RNN" else {}),
        ).map(lambda d: {"hidden_size": 4, "batch_first": True, **d})
        for kind in ("RNN", "LSTM", "GRU")
    ],
    _layer("TransformerEncoderLayer", **encoder_args).map(lambda d: {"nhead": 1, "batch_first": True, **d}),
    _layer(
        "TransformerEncoder",
        encoder_layer=_layer("TransformerEncoderLayer", **encoder_args).map(
            lambda d: {"nhead": 1, "batch_first": True, **d}
        ),
        num_layers=st.integers(1, 2),
        norm=st.one_of(
            st.just("LayerNorm"), _layer("LayerNorm", normalized_shape=st.integers(1, 8), bias=st.booleans())
        ),
    ).map(lambda d: {"num_layers": 1, "encoder_layer": {"nhead": 1, "batch_first": True}, **d}),
    _layer("Linear", in_features=st.integers(1, 8), out_features=st.integers(1, 8)).map(
        lambda d: {"out_features": 4, **d}
    ),
    _layer("LayerNorm", normalized_shape=st.integers(1, 8)),
    st.sampled_from(["ReLU", "GELU", "Dropout", "Tanh"]),
)
EMBEDDING = _layer(
    "Embedding",
    num_embeddings=st.integers(1, 12),
    embedding_dim=st.integers(1, 8),
    padding_idx=st.integers(-12, 11),
    max_norm=st.sampled_from([1.0, 2.5]),
    norm_type=st.sampled_from([1.0, 2.0]),
    scale_grad_by_freq=st.booleans(),
).map(lambda d: {"embedding_dim": 4, **d})


@st.composite
def sequence_specs(draw: st.DrawFn) -> dict[str, Any]:
    """Token ids into an Embedding, or an (L, F) sequence, then sequence layers (and now and then any other)."""
    layers = st.lists(st.one_of(SEQUENCE_LAYERS, SEQUENCE_LAYERS, SEQUENCE_LAYERS, LAYERS), min_size=1, max_size=4)
    if draw(st.booleans()):
        shape = [draw(st.integers(1, 8))] + ([draw(st.integers(1, 3))] if draw(st.integers(0, 4)) == 0 else [])
        given: Any = {"shape": shape, "tokens": draw(st.integers(1, 12))}
        return {"name": "generated", "input": given, "layers": [draw(EMBEDDING), *draw(layers)]}
    given = {"shape": [draw(st.integers(1, 8)), draw(st.integers(1, 8))], "dims": ["L", "F"]}
    return {"name": "generated", "input": given, "layers": draw(layers)}


# Inside blocks, mostly layers that keep the shape, so that branches often agree and joins get exercised.
KEEP = st.one_of(
    st.sampled_from(["ReLU", "Sigmoid", "Identity", "BatchNorm2d"]),
    st.fixed_dictionaries(
        {"type": st.just("Conv2d"), "out_channels": st.integers(1, 6), "kernel_size": st.sampled_from([1, 3])}
    ).map(lambda d: {**d, "padding": "same"}),
    _layer("MaxPool2d", kernel_size=st.just(3), stride=st.just(1), padding=st.just(1)).map(
        lambda d: {"kernel_size": 3, "stride": 1, "padding": 1, **d}
    ),
)


def _blocks(children: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    """A Sequential, Residual, Concat or Multiply whose layer lists hold `children` (layers, or blocks again)."""
    items = st.lists(children, max_size=3)
    return st.one_of(
        st.fixed_dictionaries({"type": st.just("Sequential"), "layers": items.filter(bool)}),
        st.fixed_dictionaries(
            {
                "type": st.just("Residual"),
                "body": items.filter(bool),
                "shortcut": items,
                "after": st.lists(KEEP, max_size=1),
            }
        ),
        st.fixed_dictionaries(
            {
                "type": st.just("Concat"),
                "branches": st.lists(items, min_size=2, max_size=3),
                "dim": st.sampled_from([1, 1, 1, -1, -3, 2, 0, 4]),
            }
        ),
        st.fixed_dictionaries({"type": st.just("Multiply"), "branches": st.lists(items, min_size=2, max_size=3)}),
    )


# trees of up to 10 layers, mostly of layers that keep the shape, so that joins often meet tensors that fit
TREES = st.recursive(st.one_of(KEEP, KEEP, LAYERS), _blocks, max_leaves=10)


@st.composite
def spec_dicts(draw: st.DrawFn, blocks: bool = False) -> dict[str, Any]:
    if draw(st.integers(0, 7)) == 0:  # now and then a sequence, of features or of token ids
        return draw(sequence_specs())
    rank = draw(st.sampled_from([1, 2, 3, 3, 3, 4]))
    shape = {
        1: lambda: [draw(st.integers(1, 32))],
        2: lambda: [draw(st.integers(1, 4)), draw(st.integers(1, 24))],
        3: lambda: [draw(st.integers(1, 4)), draw(st.integers(1, 24)), draw(st.integers(1, 24))],
        4: lambda: [draw(st.integers(1, 3)), draw(st.integers(1, 8)), draw(st.integers(1, 8)), draw(st.integers(1, 8))],
    }[rank]()
    layers = st.one_of(LAYERS, LAYERS_ND)
    item = st.one_of(layers, _blocks(TREES)) if blocks else layers
    return {"name": "generated", "input": shape, "layers": draw(st.lists(item, min_size=1, max_size=6))}


def static(spec: netspec.Spec) -> tuple[netspec.ShapeReport | None, tuple[Any, ...] | None]:
    """netspec's verdict: the report, or the path of the first layer (or block) with an error."""
    try:
        return netspec.check(spec), None
    except SpecError as e:
        return None, _layer_path(e.errors[0].path)


def _layer_path(path: tuple[Any, ...]) -> tuple[Any, ...]:
    """("layers", 2, "body", 0, "kernel_size") -> ("layers", 2, "body", 0): the path up to its last layer index."""
    last = max(i for i, p in enumerate(path) if isinstance(p, int) and path[i - 1] != "branches")
    return path[: last + 1]


def deliberately_stricter(spec: netspec.Spec, failed_at: tuple[Any, ...] | None, real: TorchRun) -> bool:
    """Where netspec rejects what torch runs, by design (README: "Where netspec is stricter than torch").

    A pool or pad for d spatial dims given a rank-d tensor, e.g. ZeroPad2d or AdaptiveAvgPool2d on an
    (N, F) vector or AdaptiveAvgPool3d on (N, C, L), reads it as one unbatched input and pads or pools
    the batch; a Flatten whose start_dim resolves to 0 merges the batch into the
    features, and so would a Concat along dim 0 (GLU and Unflatten would halve or split it); an
    InstanceNorm or PixelShuffle given a tensor one dim short would read the batch as its channels; a
    residual adds, and Multiply multiplies, only branches whose shapes (ranks) agree, where torch would
    broadcast a mistake silently.
    """
    if failed_at is None or failed_at not in real.inputs:
        return False
    if 0 in real.shapes.get(failed_at, ()):  # torch returned an empty tensor (a transposed conv cropped to 0)
        return True
    layer = _at(spec, failed_at)
    rank = len(real.inputs[failed_at])
    if layer.type == "Flatten":
        start, end = (d + rank if d < 0 else d for d in (layer.start_dim, layer.end_dim))
        return start == 0 and end > 0
    if layer.type in ("Residual", "Multiply"):
        return failed_at in real.broadcast_at
    if layer.type == "Concat":  # along dim 0, the batch
        return layer.dim in (0, -rank)
    if layer.type in ("GLU", "Unflatten"):  # halving or splitting the batch
        return layer.dim in (0, -rank)
    if layer.type.startswith("InstanceNorm"):  # an unbatched (C, L) read as (N, L): the batch as channels
        spatial = int(layer.type[-2])
        positions = math.prod(real.inputs[failed_at][-spatial:])
        # one position per channel: torch refuses it when training, and runs it in eval only from running statistics
        return rank == spatial + 1 or (positions == 1 and layer.track_running_stats)
    if layer.type in ("PixelShuffle", "PixelUnshuffle"):  # (N, H, W) read as one (C, H, W): the batch as channels
        return rank == 3
    if layer.type in ("RNN", "LSTM", "GRU", "TransformerEncoderLayer", "TransformerEncoder"):
        # `batch_first: false` reads the batch as the steps; an (N, F) input would be one unbatched sequence
        record = layer.encoder_layer if layer.type == "TransformerEncoder" else layer
        return not record.batch_first or rank == 2
    spatial = re.fullmatch(r"\w*(?:Pool|Pad)([123])d", layer.type)  # pools the batch as a spatial dim
    return spatial is not None and rank == int(spatial.group(1))


def _inside(path: tuple[Any, ...] | None, block: tuple[Any, ...]) -> bool:
    """Whether a path lies inside a block (its `after` layers run once the join has)."""
    return path is not None and len(path) > len(block) and path[: len(block)] == block


def _at(spec: netspec.Spec, path: tuple[Any, ...]) -> Any:
    node: Any = spec
    for p in path:
        node = node[p] if isinstance(p, int) else getattr(node, p)
    return node


def assert_agrees(spec: netspec.Spec) -> str:
    """Compare netspec with torch; returns torch's verdict for hypothesis' notes and statistics."""
    report, failed_at = static(spec)
    real = run_torch(spec)
    if deliberately_stricter(spec, failed_at, real) and (
        failed_at in real.shapes or _inside(real.failed_at, failed_at)  # torch ran it, or failed only after it
    ):
        return "netspec is stricter by design"
    assert failed_at == real.failed_at, f"netspec fails at {failed_at}, torch at {real.failed_at}: {real.error}"
    if report is not None:
        nodes = list(report.walk())
        assert {n.path for n in nodes} == set(real.shapes), "netspec and torch ran different layers"
        for node in nodes:
            assert (BATCH, *node.output_shape[1:]) == real.shapes[node.path], f"{node.key} ({node.type})"
            assert node.params == real.params[node.path], f"{node.key} ({node.type}) params"
        assert report.total_mult_adds == torchinfo_mult_adds(spec), "mult-adds differ from torchinfo's"
    return real.error or "accepts"


@given(spec_dicts(blocks=True))
# found by CI on torch 2.14.1: torch pools an (N, C, L) tensor as one unbatched (C, D, H) volume
@example({"name": "generated", "input": [1, 1], "layers": [{"type": "AdaptiveAvgPool3d", "output_size": 1}]})
@example({"name": "generated", "input": [3, 5], "layers": [{"type": "AdaptiveMaxPool3d", "output_size": 1}]})
# a residual that netspec refuses to broadcast, whose `after` torch then refuses; and a ZeroPad2d on a volume
@example(
    {
        "name": "generated",
        "input": [1],
        "layers": [
            {
                "type": "Residual",
                "body": [{"type": "Concat", "branches": [[], []], "dim": 1}],
                "shortcut": [],
                "after": [{"type": "Conv2d", "out_channels": 1, "kernel_size": 1, "padding": "same"}],
            }
        ],
    }
)
@example(
    {
        "name": "generated",
        "input": [1, 1, 1, 1],
        "layers": [{"type": "Multiply", "branches": [[], [{"padding": 1, "type": "ZeroPad2d"}]]}],
    }
)
@example(
    {
        "name": "generated",
        "input": [1, 1, 1],
        "layers": [{"out_channels": 2, "kernel_size": 2, "type": "ConvTranspose2d", "padding": 1}],
    }
)
# an InstanceNorm with running statistics on one position: torch runs it in eval mode, refuses it in training
@example({"name": "generated", "input": [1, 1, 1], "layers": [{"type": "InstanceNorm2d", "track_running_stats": True}]})
# and averages to size 1 over the last two dims of a volume (a mean, whatever dims lead)
@example({"name": "generated", "input": [1, 1, 1, 1], "layers": [{"type": "AdaptiveAvgPool2d", "output_size": 1}]})
def test_random_specs_agree_with_torch(data: dict[str, Any]) -> None:
    try:
        spec = netspec.spec_from_data(data)
    except SpecError as e:  # the generator only draws values torch accepts as arguments
        pytest.fail(f"schema rejected a generated spec: {e}")
    verdict = assert_agrees(spec)
    note(f"torch: {verdict}")
    event("accepted" if verdict == "accepts" else "rejected: " + verdict.split(":")[0])
    event("a tree" if any(layer.type in BLOCK_TYPES for layer in spec.layers) else "a chain")


@settings(max_examples=100)
@given(sequence_specs())
def test_random_sequence_specs_agree_with_torch(data: dict[str, Any]) -> None:
    try:
        spec = netspec.spec_from_data(data)
    except SpecError as e:
        pytest.fail(f"schema rejected a generated spec: {e}")
    verdict = assert_agrees(spec)
    note(f"torch: {verdict}")
    event("accepted" if verdict == "accepts" else "rejected: " + verdict.split(":")[0])


@pytest.mark.parametrize("path", SPECS, ids=lambda p: p.name)
def test_shipped_specs_agree_with_torch(path: Any) -> None:
    spec = netspec.load_spec(path)
    netspec.check(spec)  # every shipped spec is valid
    assert assert_agrees(spec) == "accepts"
