"""Blocks: templates expand to what a person would write out by hand, joins are checked, names are scoped."""

from __future__ import annotations

import time
from typing import Any

import pytest

import netspec
from netspec.diagnostics import SpecError
from netspec.expr import ExprError, evaluate, substitute
from netspec.spec import spec_to_data


def spec(text: str) -> netspec.Spec:
    return netspec.parse_spec(text, source="test.yaml")


def errors(text: str) -> list[netspec.Diagnostic]:
    with pytest.raises(SpecError) as e:
        netspec.check(spec(text))
    return e.value.errors


# -- expansion: a template is what its instances would be written out as ----------------------------

TEMPLATED = """
input: [3, 16, 16]
blocks:
  ConvBN:
    params: [out, kernel: 3, stride: 1]
    layers:
      - {type: Conv2d, out_channels: $out, kernel_size: $kernel, stride: $stride, padding: "${kernel // 2}"}
      - BatchNorm2d
  Block:
    params: [width, stride: 1, out: "${width * 2}"]
    layer:
      type: Residual
      body:
        - {type: ConvBN, out: $width, stride: $stride}
        - {type: ConvBN, out: $out, kernel: 1}
      shortcut: {type: ConvBN, out: $out, kernel: 1, stride: $stride, when: "${stride != 1 or out != width}"}
      after: ReLU
layers:
  - {type: Block, width: 4, stride: 2, name: first}
  - {type: Block, width: 8, out: 8, repeat: 2}
  - {type: Linear, out_features: 5, name: "head${i}", repeat: 2}
"""

WRITTEN_OUT = """
input: [3, 16, 16]
layers:
  - type: Residual
    name: first
    body:
      - layers: [{type: Conv2d, out_channels: 4, kernel_size: 3, stride: 2, padding: 1}, BatchNorm2d]
      - layers: [{type: Conv2d, out_channels: 8, kernel_size: 1, stride: 1, padding: 0}, BatchNorm2d]
    shortcut:
      - layers: [{type: Conv2d, out_channels: 8, kernel_size: 1, stride: 2, padding: 0}, BatchNorm2d]
    after: [ReLU]
  - type: Residual
    body:
      - layers: [{type: Conv2d, out_channels: 8, kernel_size: 3, stride: 1, padding: 1}, BatchNorm2d]
      - layers: [{type: Conv2d, out_channels: 8, kernel_size: 1, stride: 1, padding: 0}, BatchNorm2d]
    after: [ReLU]
  - type: Residual
    body:
      - layers: [{type: Conv2d, out_channels: 8, kernel_size: 3, stride: 1, padding: 1}, BatchNorm2d]
      - layers: [{type: Conv2d, out_channels: 8, kernel_size: 1, stride: 1, padding: 0}, BatchNorm2d]
    after: [ReLU]
  - {type: Linear, out_features: 5, name: head0}
  - {type: Linear, out_features: 5, name: head1}
"""


def test_a_template_expands_to_the_spec_written_out_by_hand() -> None:
    """Parameters, defaults from earlier parameters, `when`, `repeat` and `$i`, against a spec written by hand."""
    templated, by_hand = spec(TEMPLATED), spec(WRITTEN_OUT)
    assert templated.layers == by_hand.layers
    report = netspec.check(templated)
    # an instance of a spec's own block is named after it (`convbn1`, `block1`), a block written out by kind
    keys = [n.key.replace("convbn", "sequential").replace("block", "residual") for n in report.walk()]
    assert keys == [n.key for n in netspec.check(by_hand).walk()]
    assert "first.convbn1.0" in {n.key for n in report.walk()}
    assert [n.type for n in report.layers] == ["Block", "Block", "Block", "Linear", "Linear"]  # as written
    assert [n.name for n in report.layers] == ["first", "block1", "block2", "head0", "head1"]


def test_the_spec_keeps_its_blocks_as_written() -> None:
    templated = spec(TEMPLATED)
    data = spec_to_data(templated)
    assert "blocks" in data and data["layers"][0] == {"type": "Block", "width": 4, "stride": 2, "name": "first"}
    assert netspec.spec_from_data(data) == templated
    assert netspec.parse_spec(netspec.to_yaml(templated)) == templated
    assert "blocks" not in spec_to_data(templated, expanded=True)


def test_a_branch_written_as_one_layer_is_a_list_of_one() -> None:
    one = spec("input: [4, 8, 8]\nlayers: [{type: Residual, body: ReLU, shortcut: {type: Identity}, after: Sigmoid}]")
    listed = spec("input: [4, 8, 8]\nlayers: [{type: Residual, body: [ReLU], shortcut: [Identity], after: [Sigmoid]}]")
    assert one.layers == listed.layers
    paths = [n.path for n in netspec.check(one).walk()]
    assert ("layers", 0, "shortcut", 0) in paths  # the paths of the records, whatever the spelling


@pytest.mark.parametrize(
    ("source", "env", "value"),
    [
        ("width * 4", {"width": 16}, 64),
        ("(kernel - 1) // 2", {"kernel": 7}, 3),
        ("-7 // 2", {}, -4),  # floor division, as Python and torch's formulas
        ("7 % 3", {}, 1),
        ("stride != 1 or inp != oup", {"stride": 1, "inp": 8, "oup": 8}, False),
        ("2 if i == 0 else 1", {"i": 0}, 2),
        ("not first and true", {"first": False}, True),
        ("1 < x <= 3", {"x": 3}, True),
        ("x == null", {"x": None}, True),
        ("padding == 1", {"padding": True}, False),  # true is not 1
    ],
)
def test_expressions(source: str, env: dict[str, Any], value: Any) -> None:
    assert evaluate(source, env) == value


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("width ** 2", "block expressions cannot use `**`"),
        ("__import__('os')", "block expressions cannot use a call"),
        ("x.real", "block expressions cannot use an attribute"),
        ("width / 2", "block expressions cannot use `/` (use `//`)"),
        ("width // 0", "division by zero in `// 0`"),
        ("widht * 2", "unknown parameter `widht`"),
        ("name + 1", "arithmetic needs integers, got 'conv'"),
        ("4294967296 * 4294967296", "the expression's value exceeds 2^63 - 1"),
        ("x +", "`x +` is not an expression netspec can read"),
        ("1 + " * 100 + "1", "characters long; the limit is 200"),
    ],
)
def test_expressions_that_are_refused(source: str, message: str) -> None:
    with pytest.raises(ExprError) as e:
        evaluate(source, {"width": 16, "x": 1, "name": "conv"})
    assert message in str(e.value)


def test_substitution_keeps_types_and_fills_text() -> None:
    assert substitute("$k", {"k": [3, 5]}) == [3, 5]
    assert substitute("${k * 2}", {"k": 3}) == 6
    assert substitute("denselayer${i + 1}", {"i": 0}) == "denselayer1"
    assert substitute("$a-$b", {"a": 1, "b": True}) == "1-true"
    with pytest.raises(ExprError, match="starts no parameter"):
        substitute("cost $", {})


# -- template errors: positioned, at the template and the instance --------------------------------------

BLOCK = """
input: [3, 8, 8]
blocks:
  B:
    params: [width, stride: 1]
    layer: {type: Residual, body: [{type: Conv2d, out_channels: $width, kernel_size: 3, padding: 1}]}
layers:
  - {type: Conv2d, out_channels: 4, kernel_size: 1}
"""


@pytest.mark.parametrize(
    ("instance", "code", "message", "line"),
    [
        ("{type: B, widht: 4}", "unknown-field", "block `B` has no parameter `widht`", 9),
        ("B", "missing-field", "`B` needs `width`", 9),
        ("{type: B, width: 4, repeat: 0}", "invalid-value", "`repeat` must be an integer from 1 to 100,000, got 0", 9),
        ("{type: B, width: 4, repeat: 1000000000000}", "too-many-layers", "`repeat` must be an integer", 9),
        ("{type: B, width: 4, when: 3}", "invalid-value", "`when` must be true or false, got 3", 9),
        ('{type: B, width: "${w * 2}"}', "invalid-value", "unknown parameter `w`", 9),
        ("{type: B, width: 4.5}", "invalid-value", "`out_channels` must be a positive integer, got 4.5", 6),
        ("{type: Bb, width: 4}", "unknown-layer", "unknown layer type `Bb`", 9),
    ],
)
def test_instance_errors_are_positioned(instance: str, code: str, message: str, line: int) -> None:
    [d, *_] = errors(BLOCK + f"  - {instance}\n")
    assert (d.code, d.span.line if d.span else None) == (code, line)
    assert message in d.message
    if code == "unknown-layer":
        assert d.help == "did you mean `B`?"  # the spec's own blocks are candidates


def test_an_error_in_a_template_names_each_instance_it_came_through() -> None:
    text = BLOCK.replace("kernel_size: 3, padding: 1", "kernel_size: 9") + "  - {type: B, width: 4}\n"
    [d] = errors(text)
    assert d.code == "empty-output" and d.span is not None and d.span.line == 6  # the template's line
    assert [(r.span.line, r.message) for r in d.related] == [(9, "in this `B`")]  # and the instance's


@pytest.mark.parametrize(
    ("definition", "message"),
    [
        ("Conv2d: {layer: ReLU}", "`Conv2d` is a layer kind of netspec's own: a block cannot take its name"),
        ("B: {params: [width]}", "block `B` needs `layer` (one layer) or `layers` (a list, run as a Sequential)"),
        ("B: {layer: ReLU, layers: [ReLU]}", "block `B` has both `layer` and `layers`: give one"),
        ("B: {layer: ReLU, parms: [x]}", "block `B` has no field `parms`"),
        ("B: {params: [i], layer: ReLU}", "`i` cannot be a parameter: `$i` is the index of a repeated copy"),
        ("B: {params: [x, x], layer: ReLU}", "block `B` declares `x` twice"),
        ("B: {params: [{x: 1, y: 2}], layer: ReLU}", "a parameter is a name (required) or `name: default`"),
        ("B: {layer: {type: ReLU, repeat: 2}}", "the layer of block `B` cannot have `repeat` or `when`"),
    ],
)
def test_bad_definitions(definition: str, message: str) -> None:
    [d, *_] = errors(f"input: [4]\nblocks: {{{definition}}}\nlayers: [ReLU]\n")
    assert d.message.startswith(message)
    assert d.span is not None


def test_recursion_is_refused_with_the_chain() -> None:
    [d] = errors("input: [4]\nblocks:\n  A: {layers: [ReLU, B]}\n  B: {layers: [A]}\nlayers: [A]\n")
    assert d.message == "block `A` uses itself (A → B → A), which would never end"


UNET_LEVEL = """\
input: [1, 16, 16]
blocks:
  Level:                      # skip ++ up(inner(down(x))): a U-Net level whose inner part is a parameter
    params: [c, inner]
    layers:
      - type: Concat
        branches:
          - []
          - - {type: MaxPool2d, kernel_size: 2}
            - $inner
            - {type: ConvTranspose2d, out_channels: $c, kernel_size: 2, stride: 2}
layers:
  - {type: Level, c: 4, inner: {type: Level, c: 8, inner: {type: Conv2d, out_channels: 8, kernel_size: 1}}}
"""


def test_a_block_may_take_an_instance_of_itself_as_a_parameter() -> None:
    """Not recursion: the inner Level is written by the caller, and each level's `inner` is smaller."""
    report = netspec.check(netspec.parse_spec(UNET_LEVEL))
    # level 1: 1 (skip) + 4 (up) channels; inside it, level 2 on 8×8: 1 + 8 channels, 4×4 at the bottom
    assert report.output_shape == ("N", 5, 16, 16)
    joins = [node.output_shape for node in report.walk() if node.type == "Concat"]
    assert joins == [("N", 5, 16, 16), ("N", 9, 8, 8)]


@pytest.mark.parametrize(
    "blocks",
    [
        "  U: {params: [q], layers: [$q]}\n  T: {layers: [ReLU, {type: U, q: {type: T}}]}\n",  # T passes itself on
        "  T: {params: [p: {type: T}], layers: [ReLU, $p]}\n",  # a default that is the block itself
    ],
)
def test_a_block_that_passes_itself_on_is_still_recursion(blocks: str) -> None:
    [d] = errors(f"input: [4]\nblocks:\n{blocks}layers: [T]\n")
    assert d.message.startswith("block `T` uses itself")


@pytest.mark.parametrize("repeat", [1000, 100_000])
def test_an_expansion_bomb_stops_at_the_limit_at_once(repeat: int) -> None:
    text = (
        "input: [4]\nblocks:\n  A: {layers: [{type: ReLU, repeat: 1000}]}\n"
        "  B: {layers: [{type: A, repeat: 1000}]}\n"
        f"  C: {{layers: [{{type: B, repeat: 1000}}]}}\nlayers: [{{type: C, repeat: {repeat}}}]\n"
    )
    start = time.perf_counter()
    [d] = errors(text)
    assert d.code == "too-many-layers"
    assert time.perf_counter() - start < 5  # a bound on a runaway, not a benchmark: it takes ~0.1 s


# -- joins -------------------------------------------------------------------------------------------------


def test_the_residual_help_is_a_shortcut_that_fits() -> None:
    """Follow the help of a mismatched residual: the spec it describes checks, with the body's shape."""
    text = (
        "input: [64, 56, 56]\nlayers:\n  - type: Residual\n    body:\n"
        "      - {type: Conv2d, out_channels: 128, kernel_size: 3, stride: 2, padding: 1}\n"
        "      - {type: Conv2d, out_channels: 128, kernel_size: 3, padding: 1}\n"
    )
    [d] = errors(text)
    assert d.code == "branch-mismatch" and d.help is not None
    shortcut = d.help.split("`")[1]  # shortcut: [{type: Conv2d, ...}, BatchNorm2d]
    report = netspec.check(spec(text + "    " + shortcut + "\n"))
    assert report.output_shape == ("N", 128, 28, 28)


@pytest.mark.parametrize(
    ("join", "message"),
    [
        (
            "{type: Concat, branches: [[], [{type: Conv2d, out_channels: 2, kernel_size: 3}]]}",
            "branch 1 gives (N, 4, 8, 8) but branch 2 gives (N, 2, 6, 6): Concat joins along dim 1 (channels),"
            " so dim 2 (height) must agree",
        ),
        ("{type: Concat, dim: 0, branches: [[], []]}", "`dim: 0` would concatenate along the batch dimension"),
        ("{type: Concat, dim: 4, branches: [[], []]}", "`dim` (4) is out of range for the (N, 4, 8, 8) branches"),
        (
            "{type: Multiply, branches: [[], [Flatten]]}",
            "branch 1 gives (N, 4, 8, 8) but branch 2 gives (N, 256): Multiply needs branches with the same number",
        ),
        (
            "{type: Residual, body: [{type: AdaptiveAvgPool2d, output_size: 1}]}",
            "the body gives (N, 4, 1, 1) but the shortcut gives (N, 4, 8, 8): a residual adds tensors of one shape",
        ),
    ],
)
def test_join_errors(join: str, message: str) -> None:
    [d] = errors(f"input: [4, 8, 8]\nlayers: [{join}]\n")
    assert d.message.startswith(message)


def test_joins_compute_torchs_shapes() -> None:
    report = netspec.check(
        spec(
            "input: [4, 8, 8]\nlayers:\n"
            "  - {type: Concat, dim: -3, branches: [[], [{type: Conv2d, out_channels: 2, kernel_size: 1}], []]}\n"
            "  - {type: Multiply, branches: [[], [{type: AdaptiveAvgPool2d, output_size: [1, null]}]]}\n"
            "  - {type: Residual, body: [{type: Conv2d, out_channels: 10, kernel_size: 3, padding: 1}]}\n"
        )
    )
    assert [n.output_shape for n in report.layers] == [("N", 10, 8, 8)] * 3
    concat = report.layers[0]
    assert concat.join == "concatenate" and concat.labels == ("branch 1", "branch 2", "branch 3")
    assert concat.params == concat.branches[1][0].params == 4 * 2 + 2


def test_a_failing_branch_does_not_hide_the_others() -> None:
    found = errors(
        "input: [4, 8, 8]\nlayers:\n  - type: Residual\n    body: [{type: Conv2d, out_channels: 4, kernel_size: 9}]\n"
        "    shortcut: [{type: Conv2d, in_channels: 3, out_channels: 4, kernel_size: 1}]\n"
        "  - {type: Linear, in_features: 7, out_features: 2}\n"
    )
    assert [d.code for d in found] == ["empty-output", "shape-mismatch", "shape-mismatch"]


# -- names --------------------------------------------------------------------------------------------------


def test_names_are_scoped_by_block_and_follow_torchvision() -> None:
    report = netspec.check(
        spec(
            "input: [4, 8, 8]\nlayers:\n"
            "  - {type: Conv2d, out_channels: 4, kernel_size: 1}\n"
            "  - type: Residual\n    body: [{type: Conv2d, out_channels: 4, kernel_size: 1}, BatchNorm2d]\n"
            "    shortcut:\n      type: Sequential\n      name: downsample\n"
            "      layers: [{type: Conv2d, out_channels: 4, kernel_size: 1}]\n"
            "    after: ReLU\n"
            "  - {type: Sequential, layers: [ReLU, {type: Conv2d, out_channels: 4, kernel_size: 1, name: conv}]}\n"
        )
    )
    assert [n.key for n in report.walk()] == [
        "conv1",
        "residual1",
        "residual1.conv1",  # a block's scope starts again
        "residual1.bn1",
        "residual1.downsample",
        "residual1.downsample.0",  # a Sequential names by position
        "residual1.relu1",
        "sequential1",
        "sequential1.0",
        "sequential1.conv",
    ]


def test_duplicate_names_are_an_error_within_a_block_only() -> None:
    text = (
        "input: [4]\nlayers:\n  - {type: Residual, body: [{type: ReLU, name: a}], shortcut: [{type: ReLU, name: %s}]}\n"
    )
    [d] = errors(text % "a")
    assert d.code == "duplicate-name"
    assert "both named `a`" in d.message
    netspec.check(spec(text % "b"))
    netspec.check(
        spec(
            "input: [4]\nlayers:\n  - {type: ReLU, name: a}\n  - {type: Sequential, layers: [{type: ReLU, name: a}]}\n"
        )
    )
