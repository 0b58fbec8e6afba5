"""Any input ends in a report or in diagnostics that render: never another exception (a traceback for users)."""

from __future__ import annotations

from typing import Any

from hypothesis import example, given, settings
from hypothesis import strategies as st

import netspec
from netspec import render
from netspec.diagnostics import SpecError
from netspec.layers import LAYER_TYPES

from .test_torch_oracle import spec_dicts

# Keys and values a confused user (or a fuzzer) might write: real names, near-misses, junk.
FIELDS = sorted({f for cls in LAYER_TYPES.values() for f in cls.model_fields} | {"input", "layers", "train", "seed"})
KEYS = st.one_of(st.sampled_from(FIELDS), st.sampled_from(sorted(LAYER_TYPES)), st.text(max_size=8))
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from(sorted(LAYER_TYPES)),
    st.sampled_from(["same", "valid", "zeros", "tanh"]),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=5), st.dictionaries(KEYS, inner, max_size=5)),
    max_leaves=20,
)


def outcome(check: Any) -> None:
    """Run `check`; a SpecError must carry diagnostics that render in both formats."""
    try:
        check()
    except SpecError as e:
        assert e.diagnostics
        for d in e.diagnostics:
            assert render.diagnostic(d) and render.concise(d)
            assert render.diagnostic_json(d)["code"] == d.code


def _mutate(data: dict[str, Any], key: str, value: Any) -> dict[str, Any]:
    layers = list(data["layers"])
    i = len(key) % len(layers)
    layer = layers[i] if isinstance(layers[i], dict) else {"type": layers[i]}
    layers[i] = {**layer, key: value}
    return {**data, "layers": layers}


@settings(max_examples=300)
@given(st.text(max_size=200))
def test_any_text_parses_or_gives_diagnostics(text: str) -> None:
    outcome(lambda: netspec.check(netspec.parse_spec(text)))


@settings(max_examples=300)
@given(st.binary(max_size=200))
def test_any_bytes_load_or_give_diagnostics(tmp_path_factory: Any, data: bytes) -> None:
    path = tmp_path_factory.mktemp("fuzz") / "spec.yaml"
    path.write_bytes(data)
    outcome(lambda: netspec.check(netspec.load_spec(path)))


@settings(max_examples=300)
@given(st.dictionaries(KEYS, VALUES, max_size=6))
@example({"init": {"type": []}})  # a list where the init table is looked up: a TypeError before
def test_any_data_validates_or_gives_diagnostics(data: dict[str, Any]) -> None:
    outcome(lambda: netspec.check(netspec.spec_from_data(data)))


@settings(max_examples=300)
@given(spec_dicts(), KEYS, VALUES)
def test_a_valid_spec_with_one_wrong_argument_gives_diagnostics(data: dict[str, Any], key: str, value: Any) -> None:
    outcome(lambda: netspec.check(netspec.spec_from_data(_mutate(data, key, value))))
