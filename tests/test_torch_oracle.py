"""The core promise: netspec's static answer equals what real torch does, accept and reject alike."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import event, given, note
from hypothesis import strategies as st

import netspec
from netspec.diagnostics import SpecError

from .conftest import SPECS
from .oracle import BATCH, run_torch

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
        out_channels=st.integers(1, 6).map(lambda c: c).filter(bool),
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


@st.composite
def spec_dicts(draw: st.DrawFn) -> dict[str, Any]:
    if draw(st.integers(0, 5)):
        shape = [draw(st.integers(1, 4)), draw(st.integers(1, 24)), draw(st.integers(1, 24))]
    else:
        shape = [draw(st.integers(1, 32))]
    return {"name": "generated", "input": shape, "layers": draw(st.lists(LAYERS, min_size=1, max_size=6))}


def static(spec: netspec.Spec) -> tuple[netspec.ShapeReport | None, int | None]:
    """netspec's verdict: the report, or the index of the first layer with an error."""
    try:
        return netspec.check(spec), None
    except SpecError as e:
        return None, min(d.path[1] for d in e.errors if isinstance(d.path[1], int))


def deliberately_stricter(spec: netspec.Spec, failed_at: int | None) -> bool:
    """Where netspec rejects what torch runs, by design (README: "Where netspec is stricter than torch").

    Both would fold the batch into the sample: ZeroPad2d, ConstantPad2d and AdaptiveAvgPool2d
    act on the last two dims of an (N, F) tensor, padding or pooling the batch; a Flatten whose
    start_dim resolves to 0 merges the batch into the features.
    """
    if failed_at is None:
        return False
    layer, rank = spec.layers[failed_at], len(_input_dims(spec, failed_at)) + 1
    if layer.type == "Flatten":
        start, end = (d + rank if d < 0 else d for d in (layer.start_dim, layer.end_dim))
        return start == 0 and end > 0
    return layer.type in ("ZeroPad2d", "ConstantPad2d", "AdaptiveAvgPool2d") and rank == 2


def _input_dims(spec: netspec.Spec, index: int) -> tuple[int, ...]:
    """The per-sample shape arriving at layer `index`, from torch itself."""
    prefix = spec.model_copy(update={"layers": spec.layers[:index]}) if index else None
    return tuple(run_torch(prefix).shapes[-1][1:]) if prefix is not None else tuple(spec.input)


def assert_agrees(spec: netspec.Spec) -> str:
    """Compare netspec with torch; returns torch's verdict for hypothesis' notes and statistics."""
    report, failed_at = static(spec)
    real = run_torch(spec)
    if deliberately_stricter(spec, failed_at) and (real.failed_at is None or real.failed_at > failed_at):
        return "netspec is stricter by design"
    assert failed_at == real.failed_at, f"netspec fails at {failed_at}, torch at {real.failed_at}: {real.error}"
    if report is not None:
        for layer, shape, params in zip(report.layers, real.shapes, real.params, strict=True):
            assert (BATCH, *layer.output_shape[1:]) == shape, f"layer {layer.index} ({layer.type})"
            assert layer.params == params, f"layer {layer.index} ({layer.type}) params"
    return real.error or "accepts"


@given(spec_dicts())
def test_random_specs_agree_with_torch(data: dict[str, Any]) -> None:
    try:
        spec = netspec.spec_from_data(data)
    except SpecError as e:  # the generator only draws values torch accepts as arguments
        pytest.fail(f"schema rejected a generated spec: {e}")
    verdict = assert_agrees(spec)
    note(f"torch: {verdict}")
    event("accepted" if verdict == "accepts" else "rejected: " + verdict.split(":")[0])


@pytest.mark.parametrize("path", SPECS, ids=lambda p: p.name)
def test_shipped_specs_agree_with_torch(path: Any) -> None:
    spec = netspec.load_spec(path)
    report = netspec.check(spec)  # every shipped spec is valid
    assert report.layers
    assert_agrees(spec)
