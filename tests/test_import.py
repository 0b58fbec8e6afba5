"""`netspec.from_module` and `netspec import`: PyTorch back to a spec, and the round trip spec -> build -> spec."""

from __future__ import annotations

import sys
import textwrap
import uuid
from collections import OrderedDict
from pathlib import Path
from typing import Any

import pytest
import torch
from click.testing import CliRunner
from hypothesis import HealthCheck, assume, given, settings
from torch import nn

import netspec
from netspec.builder import build
from netspec.cli import cli
from netspec.diagnostics import SpecError
from netspec.export_yaml import to_yaml
from netspec.from_torch import from_module
from netspec.spec import spec_from_data, spec_to_data

from .conftest import ROOT, SPECS, usage_error_line
from .oracle import random_input
from .test_torch_oracle import spec_dicts

INPUT_SIZES = ("in_channels", "in_features", "num_features", "num_channels", "input_size", "d_model")
# one value per spatial axis, where torch stores `3` as (3, 3): equal entries collapse
PER_AXIS = {"kernel_size", "stride", "padding", "dilation", "output_size", "output_padding", "size", "scale_factor"}


def canonical(spec: netspec.Spec) -> dict[str, Any]:
    """The expanded spec's data without what a built module cannot tell apart from the default.

    Inferred input sizes are left out (netspec infers them), a pooling stride equal to
    kernel_size is torch's default, and `[k, k]` is `k`; in blocks' layers too. Names are left
    out (a name equal to netspec's own is dropped on import): `round_trip` compares the keys they make.
    """
    data = spec_to_data(spec, expanded=True)
    data = {**data, "layers": [_canonical_layer(layer) for layer in data["layers"]]}
    first = data["layers"][0] if data["layers"] else {}
    if first.get("padding_idx", 0) < 0:  # torch keeps a padding row counted from the end as its index
        first["padding_idx"] += first.get("num_embeddings", spec.input.tokens)
    if first.get("num_embeddings") == spec.input.tokens:  # a row per token id: what netspec infers
        first.pop("num_embeddings", None)
    return spec_to_data(spec_from_data(data), expanded=True)  # drops values now equal to defaults


def _canonical_layer(layer: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in layer.items():
        if k in (*INPUT_SIZES, "name") or (k == "normalized_shape" and (isinstance(v, int) or len(v) == 1)):
            continue  # what netspec infers (LayerNorm over the last dim alone)
        if k in ("layers", "body", "shortcut", "after"):
            out[k] = [_canonical_layer(x) for x in v]
        elif k in ("encoder_layer", "norm") and isinstance(v, dict):  # a TransformerEncoder's modules
            out[k] = _canonical_layer({"type": "LayerNorm" if k == "norm" else "TransformerEncoderLayer", **v})
        elif k == "branches":
            out[k] = [[_canonical_layer(x) for x in b] for b in v]
        else:
            out[k] = _collapse(v) if k in PER_AXIS else v
    if out["type"].startswith(("MaxPool", "AvgPool", "LPPool")) and out.get("stride") == out["kernel_size"]:
        del out["stride"]
    if out["type"] == "LayerNorm" and out.get("elementwise_affine") is False:
        out.pop("bias", None)  # no affine weights: no bias whatever the argument says
    return out


def _collapse(value: Any) -> Any:
    if isinstance(value, (list, tuple)) and value[0] is not None and all(v == value[0] for v in value):
        return value[0]
    return value


def round_trip(spec: netspec.Spec) -> netspec.Spec:
    # verify=False: build's own check is tested elsewhere; from_module reads attributes, so meta suffices
    model = build(spec, device="meta", verify=False)
    back = from_module(model, spec.input, name=spec.name)
    assert canonical(back) == canonical(spec)
    assert list(build(back, device="meta", verify=False).state_dict()) == list(model.state_dict())  # same names
    # torch as the oracle: with the same weights, the two specs' models compute the same function
    x = random_input(spec, 2)
    with torch.no_grad():
        outputs = [build(s.model_copy(update={"seed": 0}), verify=False).eval()(x) for s in (spec, back)]
    torch.testing.assert_close(outputs[0], outputs[1], rtol=0, atol=0, equal_nan=True)
    return back


@pytest.mark.parametrize("path", SPECS, ids=lambda p: p.stem)
def test_shipped_specs_round_trip(path: Path) -> None:
    spec = netspec.load_spec(path).model_copy(update={"train": None})  # a module holds the network, not its training
    back = round_trip(spec)
    assert netspec.parse_spec(to_yaml(back)) == back  # and the YAML reads back to the same spec


@pytest.mark.slow  # several seconds: 100-200 generated specs, each built twice
@pytest.mark.filterwarnings("ignore:Implicit dimension choice")  # generated Softmax layers without `dim`
@pytest.mark.filterwarnings("ignore:dropout2d")  # and Dropout2d on (N, F) vectors, which torch deprecates
@settings(max_examples=200, suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow])
@given(spec_dicts())
def test_random_specs_round_trip(data: dict[str, Any]) -> None:
    spec = spec_from_data(data)
    try:
        netspec.check(spec)
    except SpecError:
        assume(False)  # only specs torch can build
    back = round_trip(spec)
    assert netspec.parse_spec(to_yaml(back)) == back


def test_arguments_are_read_back_from_attributes() -> None:
    model = nn.Sequential(
        nn.Conv2d(3, 8, (3, 5), stride=(2, 2), padding=(1, 2), dilation=1, groups=1, bias=False),
        nn.BatchNorm2d(8, eps=1e-3, momentum=None, affine=False),
        nn.LeakyReLU(0.2, inplace=True),
        nn.MaxPool2d((2, 2), stride=(2, 2), ceil_mode=True),
        nn.ZeroPad2d((1, 1, 1, 1)),
        nn.ConstantPad2d((0, 1, 0, 1), 0.5),
        nn.AdaptiveAvgPool2d((None, 3)),
        nn.Flatten(),
        nn.Dropout(0.25),
        nn.Linear(8 * 11 * 3, 10),
        nn.Softmax(dim=1),
    )
    spec = from_module(model, (3, 32, 32))
    assert [{k: v for k, v in layer.items()} for layer in spec_to_data(spec)["layers"]] == [
        {"type": "Conv2d", "out_channels": 8, "kernel_size": [3, 5], "stride": 2, "padding": [1, 2], "bias": False},
        {"type": "BatchNorm2d", "eps": 0.001, "momentum": None, "affine": False},
        {"type": "LeakyReLU", "negative_slope": 0.2, "inplace": True},
        {"type": "MaxPool2d", "kernel_size": 2, "ceil_mode": True},
        {"type": "ZeroPad2d", "padding": 1},
        {"type": "ConstantPad2d", "padding": [0, 1, 0, 1], "value": 0.5},
        {"type": "AdaptiveAvgPool2d", "output_size": [None, 3]},
        {"type": "Flatten"},
        {"type": "Dropout", "p": 0.25},
        {"type": "Linear", "out_features": 10},
        {"type": "Softmax", "dim": 1},
    ]
    assert netspec.check(spec).output_shape == ("N", 10)


def test_nested_sequentials_stay_groups_with_the_modules_keys() -> None:
    model = nn.Sequential(
        OrderedDict(
            features=nn.Sequential(OrderedDict(conv=nn.Conv2d(1, 4, 3), relu1=nn.ReLU(), pool=nn.MaxPool2d(2))),
            head=nn.Sequential(OrderedDict(conv=nn.Conv2d(4, 4, 1), **{"class": nn.ReLU()})),
            classifier=nn.Sequential(nn.Flatten(), nn.Linear(4 * 13 * 13, 10)),
        )
    )
    spec = from_module(model, (1, 28, 28))
    assert [(layer.type, layer.name) for layer in spec.layers] == [
        ("Sequential", "features"),
        ("Sequential", "head"),
        ("Sequential", "classifier"),
    ]
    # in a Sequential, `0`, `1` are what netspec would name them anyway; the keyword `class` cannot be a name
    features, head, classifier = spec.layers
    assert [layer.name for layer in features.layers] == ["conv", "relu1", "pool"]  # type: ignore[attr-defined]
    assert [layer.name for layer in head.layers] == ["conv", None]  # type: ignore[attr-defined]
    assert [layer.name for layer in classifier.layers] == [None, None]  # type: ignore[attr-defined]
    built = build(spec, device="meta")
    assert list(built.state_dict()) == list(model.state_dict())  # every key with a weight is the module's own


def test_netspec_blocks_import_as_blocks() -> None:
    """A model netspec built from a tree comes back as the same tree: joins, branches and names."""
    spec = netspec.parse_spec(
        """
        input: [8, 6, 6]
        layers:
          - type: Residual
            body: [{type: Conv2d, out_channels: 8, kernel_size: 3, padding: 1}, BatchNorm2d]
            shortcut: {type: Sequential, name: downsample, layers: [{type: Conv2d, out_channels: 8, kernel_size: 1}]}
            after: ReLU
          - {type: Concat, dim: 1, branches: [[], [{type: Conv2d, out_channels: 4, kernel_size: 1}]]}
          - {type: Multiply, branches: [[], [{type: AdaptiveAvgPool2d, output_size: 1}, Sigmoid]]}
        """
    )
    back = round_trip(spec)
    assert [layer.type for layer in back.layers] == ["Residual", "Concat", "Multiply"]
    assert list(build(back, device="meta").state_dict()) == list(build(spec, device="meta").state_dict())


def test_unsupported_modules_are_all_listed_by_path() -> None:
    class Gate(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x * torch.sigmoid(x)

    model = nn.Sequential(
        OrderedDict(
            conv=nn.Conv2d(1, 4, 3),
            encoder=nn.Sequential(OrderedDict(rnn=nn.LSTM(4, 4), gate=Gate())),
            pool=nn.MaxPool2d(2, return_indices=True),
            norm=nn.Fold(output_size=(4, 4), kernel_size=2),
            unfold=nn.Unfold(kernel_size=2),
        )
    )
    with pytest.raises(SpecError) as e:
        from_module(model, (1, 28, 28))
    messages = [d.message for d in e.value.diagnostics]
    assert messages == [
        "the module's `encoder.rnn` is nn.LSTM, which returns (output, state): no next layer in an nn.Sequential"
        " takes that",
        f"the module's `encoder.gate` is {Gate.__module__}.{Gate.__qualname__}, a custom module a spec cannot express",
        "the module's `pool` (MaxPool2d) has return_indices=True, which netspec does not support",
        "the module's `norm` is nn.Fold, which netspec does not support",
        "the module's `unfold` is nn.Unfold, which netspec does not support",
    ]
    helps = [d.help for d in e.value.diagnostics]
    assert helps[0] == (
        "use netspec.modules.LSTM (the same arguments and weights, returning one tensor:"
        " `output='sequence'` or `'last'`)"
    )
    assert helps[3] is not None and helps[3].startswith(
        "netspec supports these torch.nn classes: Conv1d, Conv2d, Conv3d"
    )
    assert helps[4] is None  # the list of supported classes is shown once
    assert helps[1] == "netspec cannot see what its forward does: rewrite it as netspec layers"


def test_a_module_used_twice_is_two_layers() -> None:
    """`act` in `fc, act, fc, act` is one module at two places; named_children() yields it once, dropping a layer."""
    act = nn.ReLU()
    model = nn.Sequential(nn.Linear(4, 8), act, nn.Linear(8, 8), act, nn.Linear(8, 2)).eval()
    spec = from_module(model, (4,))
    assert [layer.type for layer in spec.layers] == ["Linear", "ReLU", "Linear", "ReLU", "Linear"]
    built = build(spec).eval()
    built.load_state_dict(dict(zip(built.state_dict(), model.state_dict().values(), strict=True)))
    x = torch.randn(5, 4)
    with torch.no_grad():
        assert torch.equal(built(x), model(x))


def test_shared_weights_are_listed_as_what_a_spec_cannot_express() -> None:
    tied = nn.Linear(8, 8)
    block = nn.Sequential(nn.BatchNorm2d(2), nn.ReLU())
    model = nn.Sequential(OrderedDict(stem=block, again=block, flat=nn.Flatten(), a=nn.Linear(8, 8), b=tied, c=tied))
    with pytest.raises(SpecError) as e:
        from_module(model, (2, 2, 2))
    assert [(d.code, d.message) for d in e.value.diagnostics] == [
        (
            "invalid-value",
            "the module's `again.0` is the same nn.BatchNorm2d as `stem.0`: shared weights, which a spec"
            " cannot express",
        ),
        ("invalid-value", "the module's `c` is the same nn.Linear as `b`: shared weights, which a spec cannot express"),
    ]  # the ReLU shared by `stem.1` and `again.1` is fine: it has nothing to share


def test_only_sequences_and_chains_can_be_imported() -> None:
    """A torch.nn layer alone is neither a Sequential nor a forward of the user's own to trace."""
    with pytest.raises(SpecError) as e:
        from_module(nn.Linear(4, 2), (4,))
    (d,) = e.value.diagnostics
    assert d.code == "invalid-value"
    assert d.message == "netspec imports an nn.Sequential or a module whose forward is a chain, got nn.Linear"


def test_a_wrong_input_shape_is_a_shape_mismatch_naming_the_module() -> None:
    model = nn.Sequential(nn.Conv2d(1, 6, 5), nn.Flatten(), nn.Linear(6 * 24 * 24, 10))
    with pytest.raises(SpecError) as e:
        from_module(model, (1, 32, 32))
    (d,) = e.value.diagnostics
    assert d.code == "shape-mismatch"
    assert d.message == "`in_features` is 3456 but the incoming tensor has 4704 features"
    assert f"layer 2 is the module's `2`: {model[2]!r}" in d.notes  # the module as this torch prints it
    assert d.help == "the module was made for another input than [1, 32, 32]: check the input shape"


# -- the command --------------------------------------------------------------------------------

SMALL = """
from collections import OrderedDict

from torch import nn


def make_small():
    return nn.Sequential(nn.Conv2d(1, 6, 5), nn.ReLU(), nn.MaxPool2d(2, 2), nn.Flatten(), nn.Linear(6 * 12 * 12, 10))


SMALL = make_small()
NAMED = nn.Sequential(OrderedDict(stem=nn.Conv2d(3, 8, 3, padding=1), act=nn.ReLU()))


class Small(nn.Sequential):
    def __init__(self):
        super().__init__(nn.Flatten(), nn.Linear(784, 10))


def broken():
    raise RuntimeError("no weights here")


def exits():
    raise SystemExit("parsed its own command line")


NOT_A_MODULE = 42
"""

SMALL_YAML = """\
# yaml-language-server: $schema=../schema/netspec.schema.json
# Imported from python:{module}:make_small by `netspec import` (5 layers, 8,806 parameters).
name: small
input: [1, 28, 28]
layers:
  - {{type: Conv2d, out_channels: 6, kernel_size: 5}}                     # (N, 6, 24, 24)
  - ReLU
  - {{type: MaxPool2d, kernel_size: 2}}                                   # (N, 6, 12, 12)
  - Flatten                                                             # (N, 864)
  - {{type: Linear, out_features: 10}}                                    # (N, 10)
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, str]:
    """A folder with a Python module of models (a unique name per test) and schema/, as the working directory."""
    module = f"models_{uuid.uuid4().hex}"  # a fresh name: Python caches imported modules by name
    (tmp_path / f"{module}.py").write_text(SMALL, encoding="utf-8")
    (tmp_path / "schema").mkdir()
    (tmp_path / "schema" / "netspec.schema.json").write_text("{}", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))  # `netspec import` adds the working directory
    return tmp_path, module


def test_cli_imports_a_factory_in_the_style_of_specs(project: tuple[Path, str]) -> None:
    folder, module = project
    out = folder / "specs" / "small.yaml"
    result = CliRunner().invoke(cli, ["import", f"python:{module}:make_small", "--input", "1,28,28", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_text(encoding="utf-8") == SMALL_YAML.format(module=module)
    assert f"wrote {out} (5 layers, 8,806 parameters)" in result.stderr
    check = CliRunner().invoke(cli, ["check", str(out)])
    assert check.exit_code == 0, check.output
    assert "8,806 params" in check.stdout


@pytest.mark.parametrize(("attr", "layers"), [("SMALL", 5), ("Small", 2), ("NAMED", 2)])
def test_cli_imports_objects_and_classes(project: tuple[Path, str], attr: str, layers: int) -> None:
    _, module = project
    shape = "1,28,28" if attr != "NAMED" else "3,8,8"
    result = CliRunner().invoke(cli, ["import", f"python:{module}:{attr}", "--input", shape])
    assert result.exit_code == 0, result.output
    spec = netspec.parse_spec(result.stdout)
    assert len(spec.layers) == layers
    assert spec.name == attr
    assert result.stdout.startswith("# yaml-language-server: $schema=schema/netspec.schema.json\n")
    if attr == "NAMED":
        assert "  - {type: Conv2d, out_channels: 8, kernel_size: 3, padding: 1, name: stem}" in result.stdout
        assert "  - {type: ReLU, name: act}\n" in result.stdout


@pytest.mark.parametrize(
    ("source", "code", "message"),
    [
        ("python:no_such_module_here:net", 2, "error[io-error]: no Python module named `no_such_module_here`"),
        ("python:{module}:make_smal", 2, "error[io-error]: `{module}` has no attribute `make_smal`"),
        (
            "python:{module}:broken",
            1,
            "error[invalid-value]: calling python:{module}:broken() failed: RuntimeError: no",
        ),
        ("python:{module}:NOT_A_MODULE", 1, "error[invalid-value]: python:{module}:NOT_A_MODULE is a int, not an nn.M"),
        ("python:{module}", 2, "expected python:package.module:attribute"),  # click names SOURCE before it
        (  # SystemExit is no Exception: it used to end netspec silently, with the module's exit status
            "python:{module}:exits",
            1,
            "error[invalid-value]: calling python:{module}:exits() failed: SystemExit: parsed its own command line",
        ),
        (
            "python:{module}.py:make_small",
            2,
            "error[io-error]: no Python module named `{module}.py`\n"
            "  = help: give the module's name, as `import` takes it from the working directory:"
            " python:{module}:make_small\n",
        ),
        (  # import_module raised a TypeError about relative imports
            "python:./{module}:make_small",
            2,
            "error[io-error]: `./{module}` is a path, not a module name\n"
            "  = help: give the module's name, as `import` takes it from the working directory:"
            " python:{module}:make_small\n",
        ),
    ],
)
def test_cli_reports_bad_python_sources(project: tuple[Path, str], source: str, code: int, message: str) -> None:
    _, module = project
    result = CliRunner().invoke(cli, ["import", source.format(module=module), "--input", "1,28,28"])
    assert result.exit_code == code, result.output
    assert message.format(module=module) in result.stderr
    if not message.startswith("error["):  # a bad argument: click frames the line, which names the argument
        usage_error_line(result, "SOURCE", message.format(module=module))


@pytest.mark.parametrize("exit_call", ["sys.exit(3)", "argparse.ArgumentParser().parse_args(['--bogus'])"])
def test_cli_reports_a_module_that_exits_while_imported(project: tuple[Path, str], exit_call: str) -> None:
    folder, _ = project
    module = f"exits_{uuid.uuid4().hex}"
    (folder / f"{module}.py").write_text(f"import argparse, sys\n{exit_call}\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["import", f"python:{module}:net", "--input", "1,28,28"])
    assert result.exit_code == 2, result.output  # not the module's own status, and never silent
    code = 3 if "sys.exit" in exit_call else 2
    assert f"error[io-error]: importing `{module}` failed: SystemExit: {code}\n" in result.stderr


def test_cli_did_you_mean_and_input_required(project: tuple[Path, str]) -> None:
    _, module = project
    result = CliRunner().invoke(cli, ["import", f"python:{module}:make_smal", "--input", "1,28,28"])
    assert "help: did you mean `make_small`?" in result.stderr
    result = CliRunner().invoke(cli, ["import", f"python:{module}:make_small"])
    assert result.exit_code == 2
    assert "a module does not record its input shape: give it with --input C,H,W" in result.stderr


def test_cli_pickled_module_needs_trust(tmp_path: Path) -> None:
    path = tmp_path / "model.pt"
    torch.save(nn.Sequential(nn.Flatten(), nn.Linear(12, 3)), path)
    runner = CliRunner()
    result = runner.invoke(cli, ["import", str(path), "--input", "3,2,2"])
    assert result.exit_code == 1
    assert f"error[checkpoint]: {path} holds pickled Python objects, and unpickling them can run arbitrary code" in (
        result.stderr
    )
    assert "help: pass --trust if you trust whoever made the file" in result.stderr
    result = runner.invoke(cli, ["import", str(path), "--input", "3,2,2", "--trust", "--name", "tiny"])
    assert result.exit_code == 0, result.output
    spec = netspec.parse_spec(result.stdout)
    assert spec_to_data(spec) == {
        "name": "tiny",
        "input": [3, 2, 2],
        "layers": [{"type": "Flatten"}, {"type": "Linear", "out_features": 3}],
    }
    usage = " ".join(runner.invoke(cli, ["import", "--help"]).stdout.split())
    assert "--trust Load a .pt file holding a pickled module. Unpickling runs code stored in the file" in usage


def test_cli_reads_the_spec_of_a_netspec_checkpoint(tmp_path: Path) -> None:
    from netspec.checkpoint import save

    spec = netspec.load_spec(ROOT / "specs" / "lenet.yaml")
    save(tmp_path / "lenet.pt", spec=spec, model_state=build(spec).state_dict())
    result = CliRunner().invoke(cli, ["import", str(tmp_path / "lenet.pt"), "-o", str(tmp_path / "lenet.yaml")])
    assert result.exit_code == 0, result.output  # no --trust: a checkpoint holds tensors and plain values only
    assert netspec.load_spec(tmp_path / "lenet.yaml") == spec


def test_cli_reads_a_checkpoint_once_and_checks_its_spec(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from netspec.checkpoint import save

    spec = netspec.load_spec(ROOT / "specs" / "lenet.yaml")
    save(tmp_path / "lenet.pt", spec=spec, model_state=build(spec).state_dict())
    reads: list[object] = []
    real_load = torch.load
    monkeypatch.setattr(torch, "load", lambda *a, **k: reads.append(a[0]) or real_load(*a, **k))
    result = CliRunner().invoke(cli, ["import", str(tmp_path / "lenet.pt"), "-o", str(tmp_path / "other.yaml")])
    assert result.exit_code == 0, result.output
    assert netspec.load_spec(tmp_path / "other.yaml") == spec  # named `lenet` still, as the README says
    assert len(reads) == 1  # the weights are not read a second time just to validate the spec
    from netspec.checkpoint import digest

    bad = {"format": "netspec-checkpoint", "version": 2, "spec": {"input": [3]}, "model": {}}
    torch.save({**bad, "digest": digest(bad)}, tmp_path / "b.pt")
    result = CliRunner().invoke(cli, ["import", str(tmp_path / "b.pt")])
    assert result.exit_code == 1
    assert f"error[checkpoint]: the spec stored in {tmp_path / 'b.pt'} is not valid: missing-field:" in result.stderr


def test_cli_refuses_a_name_no_spec_can_have(tmp_path: Path) -> None:
    """A checkpoint's spec is renamed by copying it: --name must be checked first, or the YAML written fails to load."""
    from netspec.checkpoint import save

    spec = netspec.load_spec(ROOT / "specs" / "lenet.yaml")
    save(tmp_path / "lenet.pt", spec=spec, model_state=build(spec).state_dict())
    out = tmp_path / "renamed.yaml"
    result = CliRunner().invoke(cli, ["import", str(tmp_path / "lenet.pt"), "--name", "two words", "-o", str(out)])
    usage_error_line(
        result,
        "--name",
        "must be a short name of letters, digits, '.', '_' and '-' (it names the run directory), got \"two words\"",
    )
    assert not out.exists()
    result = CliRunner().invoke(cli, ["import", str(tmp_path / "lenet.pt"), "--name", "lenet.v2", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert netspec.load_spec(out).name == "lenet.v2"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("state_dict", "holds only weights (a state_dict), not the layers they belong to"),
        ("list", "holds a list, not a module or a netspec checkpoint"),
        ("junk", "error[checkpoint]: {path} is not a torch file (torch.save writes a zip archive)\n"),
        ("empty", "error[checkpoint]: {path} is empty\n"),
        ("truncated", "error[checkpoint]: cannot read {path} as a torch file ("),  # then torch's own reason
    ],
)
@pytest.mark.parametrize("trust", [[], ["--trust"]])  # the reason is the file's, whether it is unpickled or not
def test_cli_reports_pt_files_it_cannot_import(tmp_path: Path, content: str, message: str, trust: list[str]) -> None:
    path = tmp_path / "file.pt"
    if content == "state_dict":
        torch.save(nn.Linear(2, 2).state_dict(), path)
    elif content == "list":
        torch.save([1, 2], path)
    elif content == "truncated":
        torch.save(nn.Sequential(nn.Linear(2, 2)), path)
        path.write_bytes(path.read_bytes()[:500])
    else:
        path.write_bytes(b"" if content == "empty" else b"input: [3]\nlayers: [ReLU]\n")  # a spec is no .pt
    result = CliRunner().invoke(cli, ["import", str(path), "--input", "2", *trust])
    assert result.exit_code == 1
    assert "error[checkpoint]" in result.stderr
    assert message.format(path=path) in result.stderr
    assert "weights-only" not in result.stderr
    if content == "truncated":  # torch's reason, quoted in the words of the torch installed
        with pytest.raises(Exception) as torch_error:
            torch.load(path, map_location="cpu", weights_only=True)
        said = str(torch_error.value).strip().splitlines()[0][:200]
        assert f"{message.format(path=path)}{type(torch_error.value).__name__}: {said})" in result.stderr
    missing = CliRunner().invoke(cli, ["import", str(tmp_path / "nope.pt"), *trust])
    assert missing.exit_code == 2
    assert f"error[io-error]: {tmp_path / 'nope.pt'} is not found" in missing.stderr
    missing = CliRunner().invoke(cli, ["import", str(tmp_path / "nope.pt")])
    assert missing.exit_code == 2
    assert f"error[io-error]: {tmp_path / 'nope.pt'} is not found" in missing.stderr


def test_yaml_writer_puts_the_name_first_even_the_default_one() -> None:
    spec = spec_from_data({"input": [3], "layers": ["ReLU", {"type": "Linear", "out_features": 2}], "seed": 1})
    assert spec.name == "model"
    assert to_yaml(spec) == (
        "name: model\ninput: [3]\nlayers:\n  - ReLU\n"
        + "  - {type: Linear, out_features: 2}".ljust(70)
        + "  # (N, 2)\nseed: 1\n"
    )


def test_yaml_writer_quotes_what_yaml_would_misread() -> None:
    data = {
        "name": "quoted",
        "description": 'yes: "no" \\ on\nnext line',
        "input": [2, 4, 4],
        "layers": [
            {"type": "Dropout", "p": 1e-05, "name": "null_"},
            {"type": "ConstantPad2d", "padding": 1, "value": -0.0},
        ],
    }
    spec = spec_from_data(data)
    text = to_yaml(spec)
    assert "p: 1.0e-05" in text  # PyYAML reads `1e-05` as a string
    assert netspec.parse_spec(text) == spec
    assert textwrap.dedent(text).startswith('name: quoted\ndescription: "yes: \\"no\\" \\\\ on\\nnext line"\n')
