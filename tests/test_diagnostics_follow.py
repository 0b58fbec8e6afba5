"""Diagnostics that lead to the fix: follow each golden case's help (its machine-readable fix, or the text it
tells the user to write), check again, and judge the result: valid, with the shapes the help promised (held to
real torch), or the next message the right one."""

from __future__ import annotations

import re
from typing import Any

import pytest
import torch

import netspec
from netspec.diagnostics import Diagnostic, Fix, SpecError
from netspec.lsp.edits import edits_for
from netspec.lsp.written import Written
from netspec.report import ShapeReport
from netspec.source import load_yaml
from netspec.spec import parse_spec

from .conftest import ROOT
from .test_lsp_parts import apply as apply_edits  # the tests' own edit function, checked there

GOLDEN = ROOT / "tests" / "golden"


def diagnostics(text: str) -> list[Diagnostic]:
    """What `netspec check` reports on the text: the parse's errors, or the check's errors and warnings."""
    try:
        spec = parse_spec(text, "t.yaml")
        return list(netspec.check(spec).warnings)
    except SpecError as e:
        return e.diagnostics


def report(text: str) -> ShapeReport:
    return netspec.check(parse_spec(text, "t.yaml"))


def apply(text: str, fix: Fix) -> str:
    """The fix as the editor would apply it: its text edits, last first."""
    data, smap = load_yaml(text, "t.yaml")
    edits = edits_for(Written(text, data, smap), fix)
    assert edits is not None, fix
    return apply_edits(text, edits)


def golden(name: str) -> str:
    return (GOLDEN / f"{name}.yaml").read_text(encoding="utf-8")


def run(text: str, *sample: int) -> torch.Tensor:
    """The spec built by netspec and run on a batch of two: real torch's answer to what the checker said."""
    model = netspec.build(parse_spec(text, "t.yaml"))
    with torch.no_grad():
        return model.eval()(torch.randn(2, *sample))


def test_missing_flatten_is_one_error_and_inserting_flatten_fixes_it() -> None:
    text = golden("missing-flatten-in-features")
    found = diagnostics(text)
    assert [(d.code, d.severity) for d in found] == [("missing-flatten", "error")]
    assert "set `in_features" not in (found[0].help or "")  # the old advice (`in_features: 5`) led astray
    assert "Flatten" in (found[0].help or "")
    (fix,) = found[0].fixes
    fixed = apply(text, fix)
    assert diagnostics(fixed) == []
    assert report(fixed).output_shape == ("N", 10)
    assert run(fixed, 1, 32, 32).shape == (2, 10)


def test_a_wrong_in_features_is_still_a_shape_mismatch() -> None:
    """Only the size of the whole input means a missing Flatten; another number is a wrong size."""
    text = golden("missing-flatten-in-features").replace("in_features: 400", "in_features: 256")
    assert [d.code for d in diagnostics(text) if d.is_error] == ["shape-mismatch"]


def test_same_padding_with_a_stride_suggests_dilations_padding_and_the_size_it_gives() -> None:
    text = golden("invalid-value-same-dilation")
    (d,) = diagnostics(text)
    assert "`padding: 2`" in (d.help or "")  # dilation 2 × (3 - 1) / 2, not (3 - 1) / 2 = 1
    promised = re.search(r"gives \(N, (\d+), (\d+), (\d+)\)", d.help or "")
    assert promised is not None
    fixed = apply(text, d.fixes[0])
    assert diagnostics(fixed) == []
    size = tuple(int(g) for g in promised.groups())
    assert report(fixed).output_shape == ("N", *size)
    assert run(fixed, 3, 32, 32).shape == (2, *size)


@pytest.mark.parametrize(("kernel", "dilation", "size"), [(3, 1, 31), (5, 3, 17), (4, 1, 20), ([3, 5], [1, 2], 9)])
def test_same_padding_suggestions_agree_with_torch(kernel: Any, dilation: Any, size: int) -> None:
    text = (
        f"input: [2, {size}, {size}]\nlayers:\n  - {{type: Conv2d, out_channels: 3, kernel_size: {kernel},"
        f" stride: 2, dilation: {dilation}, padding: same}}\n"
    )
    (d,) = diagnostics(text)
    fixed = apply(text, d.fixes[0])
    promised = re.search(r"gives (\(N, [\d, ]+\))", d.help or "")
    assert promised is not None
    out = run(fixed, 2, size, size)
    assert promised.group(1) == "(N, " + ", ".join(str(n) for n in out.shape[1:]) + ")"


def test_arithmetic_in_yaml_gets_the_product() -> None:
    text = golden("invalid-value-arithmetic")
    (d,) = diagnostics(text)
    assert "YAML does no arithmetic" in (d.help or "") and "`in_features: 400`" in (d.help or "")
    fixed = apply(text, d.fixes[0])
    assert "in_features: 400" in fixed
    assert diagnostics(fixed) == []


@pytest.mark.parametrize(("written", "value"), [("16 * 5 * 5", 400), ("(32 - 4) / 2", 14), ("120+8", 128)])
def test_arithmetic_forms(written: str, value: int) -> None:
    text = f"input: [{value}]\nlayers:\n  - {{type: Linear, in_features: {written}, out_features: 10}}\n"
    (d,) = diagnostics(text)
    assert f"`in_features: {value}`" in (d.help or "")


def test_keras_words_get_torch_answers_and_following_them_gives_a_valid_spec() -> None:
    text = golden("unknown-field-keras")
    found = diagnostics(text)
    helps = {d.message.rsplit(" ", 1)[-1].strip("`"): d.help or "" for d in found}
    assert "`out_channels`" in helps["filters"] and "`stride`" in helps["strides"]
    assert "`p`" in helps["rate"] and "`out_features`" in helps["units"]
    assert "dilation" not in helps["activation"] and "- ReLU" in helps["activation"]
    assert "init" not in helps["units"]
    assert all(d.code == "unknown-field" for d in found)  # no "needs `out_channels`" beside "call it out_channels"
    for d in reversed(found):  # each fix, last first so the earlier places stay put
        text = apply(text, d.fixes[0])
    # the help's second half: the activation as a layer of its own after the convolution
    text = text.replace("  - Flatten", "  - ReLU\n  - Flatten")
    assert diagnostics(text) == []
    layers = report(text).layers
    assert [layer.type for layer in layers[:2]] == ["Conv2d", "ReLU"]
    assert layers[0].output_shape == ("N", 8, 13, 13)
    assert run(text, 1, 28, 28).shape == (2, 10)


def test_input_shape_is_input_with_the_channels_first() -> None:
    (d,) = diagnostics("input_shape: [32, 16]\nlayers: [Flatten]\n")
    assert "`input`" in (d.help or "") and "[C, H, W]" in (d.help or "")
    text = "input_shape: [28, 28, 3]\nlayers:\n  - {type: Conv2d, in_channels: 3, out_channels: 8, kernel_size: 3}\n"
    (d,) = diagnostics(text)
    assert "`input: [3, 28, 28]`" in (d.help or "")
    assert diagnostics(text.replace("input_shape: [28, 28, 3]", "input: [3, 28, 28]")) == []


def test_a_channels_last_input_is_said_to_be_so() -> None:
    """It said "set `in_channels: 28`", which builds a network for images 3 pixels wide."""
    text = "input: [28, 28, 3]\nlayers:\n  - {type: Conv2d, in_channels: 3, out_channels: 8, kernel_size: 3}\n"
    (d,) = diagnostics(text)
    assert d.code == "shape-mismatch" and "in_channels: 28" not in (d.help or "")
    written = re.search(r"write `input: (\[.*?\])`", d.help or "")
    assert written is not None
    fixed = text.replace("input: [28, 28, 3]", f"input: {written.group(1)}")
    assert diagnostics(fixed) == []
    assert run(fixed, 3, 28, 28).shape == (2, 8, 26, 26)


@pytest.mark.parametrize("layers", ["layers:\n", "layers: []\n"])
def test_empty_layers_gets_help_and_following_it_passes(layers: str) -> None:
    text = "input: [784]\n" + layers
    (d,) = diagnostics(text)
    assert d.code == "missing-field" and d.help
    example = re.search(r"e\.g\. `(\s*- .*)`", d.help)
    assert example is not None
    assert diagnostics("input: [784]\nlayers:\n" + example.group(1) + "\n") == []


def test_a_kind_for_the_rank_the_layer_gets() -> None:
    text = golden("unknown-layer-rank")
    (d,) = diagnostics(text)
    assert d.help == "did you mean `BatchNorm1d`?"
    fixed = apply(text, d.fixes[0])
    assert diagnostics(fixed) == []
    assert run(fixed, 784).shape == (2, 10)


@pytest.mark.parametrize(
    ("input", "before", "typed", "guess"),
    [
        ("[3, 32, 32]", "{type: Conv2d, out_channels: 4, kernel_size: 3}", "Batchnorm", "BatchNorm2d"),
        ("[3, 32, 32]", "Flatten", "BatchNorm", "BatchNorm1d"),
        ("[2, 100]", "{type: Conv1d, out_channels: 4, kernel_size: 3}", "BatchNormalization", "BatchNorm1d"),
        ("[3, 32, 32]", "{type: Conv2d, out_channels: 4, kernel_size: 3}", "Maxpool", "MaxPool2d"),
        ("[3, 32, 32]", "Batchnorm", "Maxpool", "MaxPool2d"),  # an unknown kind before it keeps the rank
        ("[784]", "ReLU", "BatchNorm2D", "BatchNorm2d"),  # the word names its member: kept
    ],
)
def test_did_you_mean_follows_the_rank(input: str, before: str, typed: str, guess: str) -> None:
    found = diagnostics(f"input: {input}\nlayers:\n  - {before}\n  - {typed}\n")
    assert f"did you mean `{guess}`?" in [d.help for d in found]


def test_more_keras_words_and_their_values() -> None:
    """Every fix applied, the next message is the initializer's Keras name; its fix gives a valid spec."""
    text = golden("unknown-field-keras-more")
    found = diagnostics(text)
    helps = " ".join(d.help or "" for d in found)
    assert "kernel_size" not in (found[0].help or "")  # `kernel_regularizer` was "did you mean `kernel_size`?"
    assert "weight_decay" in helps and "channels first" in helps and "`affine`" in helps
    for d in reversed(found):
        if d.fixes:
            text = apply(text, d.fixes[0])
        else:  # two edits, as the help says: the Keras key out, torch's in
            assert d.help == "`kernel_initializer: he_normal` is Keras's: torch's Conv2d takes `init: kaiming_normal`"
            text = text.replace("kernel_initializer: he_normal", "init: kaiming_normal")
    assert diagnostics(text) == []
    (d,) = diagnostics("input: [4]\nlayers: [{type: Linear, out_features: 2, init: he_normal}]\n")
    assert d.help == "`he_normal` is Keras's name: torch's is `kaiming_normal`"
    text = apply("input: [4]\nlayers: [{type: Linear, out_features: 2, init: he_normal}]\n", d.fixes[0])
    assert diagnostics(text) == []
    assert run(text, 4).shape == (2, 2)
