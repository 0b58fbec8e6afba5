"""`netspec export`: the Python module matches `netspec.build`, and the ONNX file matches torch in onnxruntime."""

from __future__ import annotations

import ast
import importlib.util
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from hypothesis import HealthCheck, assume, example, given, settings
from torch import nn

import netspec
from netspec.builder import build
from netspec.cli import cli
from netspec.diagnostics import SpecError
from netspec.export_onnx import to_onnx
from netspec.export_python import class_name, to_python
from netspec.layers import KINDS
from netspec.spec import spec_to_data

from .conftest import DOCS, ROOT, SPECS, usage_error_line
from .oracle import random_input
from .test_torch_oracle import spec_dicts

# Every argument away from its default, long names and a description that could break a docstring:
# the generated file must still wrap its lines, reproduce seed and init, and pass ruff.
WIDE: dict[str, Any] = {
    "name": "wide-net.v2",
    "description": 'quotes """ and \\ backslashes,\ta tab, ü and ×\n\nsecond paragraph ' + "word " * 40,
    "input": [3, 16, 16],
    "seed": 7,
    "init": {"type": "kaiming_normal", "mode": "fan_out"},
    "layers": [
        {
            "type": "Conv2d",
            "out_channels": 6,
            "kernel_size": [3, 5],
            "stride": [1, 2],
            "padding": [2, 1],
            "dilation": [2, 1],
            "groups": 3,
            "bias": False,
            "padding_mode": "circular",
            "name": "a_rather_long_layer_name_that_forces_wrapping",
        },
        {"type": "BatchNorm2d", "momentum": None, "eps": 1e-3},
        {"type": "Conv2d", "out_channels": 12, "kernel_size": 3, "padding": "same", "padding_mode": "reflect",
         "name": "second_convolution_with_a_long_name", "init": {"type": "normal", "std": 0.02}},
        {"type": "AdaptiveAvgPool2d", "output_size": [None, 4]},
        {"type": "Dropout2d", "p": 0.1},
        "Flatten",
        {"type": "Linear", "out_features": 10, "init": {"type": "xavier_uniform", "gain": 2.0}},
        {"type": "LogSoftmax", "dim": 1},
    ],
}  # fmt: skip


# Every layer kind with arguments away from their defaults, under 64-character names (the README's bound) and a
# 100-character spec name, seeded and initialised: the longest lines the generated file can have.
EVERY_KIND_LONG_NAMES: dict[str, Any] = {
    "name": "n" * 100,
    "input": [3, 16, 16],
    "seed": 123456789,
    "init": {"type": "xavier_normal", "gain": 2.5},
    "layers": [
        {"type": "ZeroPad2d", "padding": [1, 2, 3, 4]},
        {"type": "ConstantPad2d", "padding": 1, "value": 0.5},
        {"type": "ReflectionPad2d", "padding": 1},
        {"type": "ReplicationPad2d", "padding": 1},
        {"type": "Conv2d", "out_channels": 6, "kernel_size": [3, 5], "stride": [1, 2], "padding": [2, 1],
         "dilation": [2, 1], "groups": 3, "bias": False, "padding_mode": "circular"},
        {"type": "BatchNorm2d", "momentum": None, "eps": 1e-3, "affine": False, "track_running_stats": False},
        {"type": "MaxPool2d", "kernel_size": 3, "stride": 1, "padding": 1, "ceil_mode": True},
        {"type": "AvgPool2d", "kernel_size": 3, "stride": 1, "padding": 1, "ceil_mode": True,
         "count_include_pad": False, "divisor_override": 2},
        {"type": "AdaptiveAvgPool2d", "output_size": [None, 8]},
        {"type": "AdaptiveMaxPool2d", "output_size": 8},
        {"type": "Residual", "body": [{"type": "Conv2d", "out_channels": 6, "kernel_size": 3, "padding": 1}],
         "shortcut": [{"type": "Identity"}], "after": [{"type": "ReLU"}]},
        {"type": "Concat", "branches": [[], [{"type": "Conv2d", "out_channels": 2, "kernel_size": 1}]], "dim": -3},
        {"type": "Multiply", "branches": [[], [{"type": "AdaptiveAvgPool2d", "output_size": 1}, {"type": "Sigmoid"}]]},
        {"type": "Sequential", "layers": [{"type": "Conv2d", "out_channels": 6, "kernel_size": 1}, {"type": "ReLU6"}]},
        {"type": "Dropout2d", "p": 0.1, "inplace": True},
        {"type": "Identity"},
        {"type": "ReLU", "inplace": True},
        {"type": "LeakyReLU", "negative_slope": 0.2, "inplace": True},
        {"type": "Sigmoid"},
        {"type": "Tanh"},
        {"type": "GELU", "approximate": "tanh"},
        {"type": "ELU", "alpha": 0.5, "inplace": True},
        {"type": "SiLU", "inplace": True},
        {"type": "Hardswish", "inplace": True},
        {"type": "Softmax", "dim": 1},
        {"type": "LogSoftmax", "dim": 1},
        {"type": "Flatten", "start_dim": 1, "end_dim": -1},
        {"type": "Dropout", "p": 0.2, "inplace": True},
        {"type": "Linear", "out_features": 100000,
         "init": {"type": "kaiming_uniform", "nonlinearity": "leaky_relu", "mode": "fan_out", "a": 0.1}},
    ],
}  # fmt: skip


def _long_names(layers: list[dict[str, Any]], prefix: str) -> None:
    """64-character names at every depth (a block's layers too)."""
    for i, layer in enumerate(layers):
        layer["name"] = f"{prefix}{i:02d}_".ljust(64, "x")
        for key in ("layers", "body", "shortcut", "after"):
            _long_names(layer.get(key, []), f"{prefix}{i:02d}{key[0]}")
        for j, branch in enumerate(layer.get("branches", [])):
            _long_names(branch, f"{prefix}{i:02d}b{j}")


# The kinds that take signals (C, L) and volumes (C, D, H, W), and the image kinds not above, likewise.
EVERY_OTHER_KIND: list[dict[str, Any]] = [
    {
        "name": "s" * 100,
        "input": [4, 64],
        "seed": 1,
        "init": {"type": "kaiming_uniform"},
        "layers": [
            {"type": "Conv1d", "out_channels": 8, "kernel_size": 5, "stride": 2, "padding": "valid",
             "dilation": 2, "groups": 2, "padding_mode": "reflect"},
            {"type": "ConvTranspose1d", "out_channels": 8, "kernel_size": 4, "stride": 2, "output_padding": 1,
             "dilation": 1},
            {"type": "MaxPool1d", "kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True},
            {"type": "AvgPool1d", "kernel_size": 2, "count_include_pad": False},
            {"type": "LPPool1d", "norm_type": 2, "kernel_size": 2, "stride": 1},
            {"type": "BatchNorm1d", "eps": 1e-3},
            {"type": "InstanceNorm1d", "affine": True},
            {"type": "GroupNorm", "num_groups": 4},
            {"type": "LocalResponseNorm", "size": 3, "alpha": 2e-4},
            {"type": "Dropout1d", "p": 0.1},
            {"type": "AlphaDropout", "p": 0.1},
            {"type": "PReLU", "num_parameters": 8, "init": 0.1},
            {"type": "Hardtanh", "min_val": -2.0, "max_val": 2.0},
            {"type": "Hardsigmoid"},
            {"type": "Mish"},
            {"type": "Softplus", "beta": 2.0, "threshold": 10.0},
            {"type": "SELU"},
            {"type": "CELU", "alpha": 0.5},
            {"type": "Upsample", "scale_factor": 2.0, "mode": "linear", "align_corners": True},
            {"type": "AdaptiveMaxPool1d", "output_size": 12},
            {"type": "AdaptiveAvgPool1d", "output_size": 6},
            {"type": "LayerNorm", "eps": 1e-6, "bias": False},
            {"type": "GLU", "dim": 1},
            {"type": "Softmin", "dim": -1},
            {"type": "Flatten"},
            {"type": "Unflatten", "dim": 1, "unflattened_size": [2, -1]},
        ],
    },
    {
        "name": "v" * 100,
        "input": [2, 8, 8, 8],
        "layers": [
            {"type": "Conv3d", "out_channels": 4, "kernel_size": [3, 1, 3], "padding": "same"},
            {"type": "ConvTranspose3d", "out_channels": 4, "kernel_size": 2, "stride": 2},
            {"type": "MaxPool3d", "kernel_size": 2, "dilation": 1},
            {"type": "AvgPool3d", "kernel_size": 2, "divisor_override": 3},
            {"type": "BatchNorm3d", "momentum": None},
            {"type": "InstanceNorm3d", "track_running_stats": True},
            {"type": "Dropout3d"},
            {"type": "Upsample", "size": [6, 6, 6], "mode": "trilinear"},
            {"type": "AdaptiveAvgPool3d", "output_size": [2, None, 2]},
            {"type": "AdaptiveMaxPool3d", "output_size": 1},
        ],
    },
    {
        "name": "i" * 100,
        "input": [4, 8, 8],
        "layers": [
            {"type": "ConvTranspose2d", "out_channels": 8, "kernel_size": [2, 3], "stride": [2, 1], "padding": [0, 1]},
            {"type": "InstanceNorm2d"},
            {"type": "LPPool2d", "norm_type": 3.5, "kernel_size": 2},
            {"type": "PixelShuffle", "upscale_factor": 2},
            {"type": "PixelUnshuffle", "downscale_factor": 2},
            {"type": "Upsample", "scale_factor": [1.5, 2.0], "mode": "bicubic", "recompute_scale_factor": True},
        ],
    },
    {
        "name": "t" * 100,
        "input": {"shape": [12], "tokens": 50},
        "layers": [
            {"type": "Embedding", "num_embeddings": 60, "embedding_dim": 16, "padding_idx": 0, "max_norm": 2.0},
            {"type": "TransformerEncoder", "num_layers": 2, "norm": "LayerNorm",
             "encoder_layer": {"nhead": 4, "dim_feedforward": 32, "activation": "gelu", "batch_first": True,
                               "norm_first": True}},
            {"type": "TransformerEncoderLayer", "nhead": 2, "dim_feedforward": 8, "batch_first": True,
             "bias": False},
            {"type": "GRU", "hidden_size": 8, "num_layers": 2, "batch_first": True, "bidirectional": True},
            {"type": "RNN", "hidden_size": 6, "nonlinearity": "relu", "batch_first": True},
            {"type": "LSTM", "hidden_size": 8, "proj_size": 4, "batch_first": True, "bidirectional": True,
             "output": "last"},
            {"type": "Linear", "out_features": 3},
        ],
    },
]  # fmt: skip
_long_names(EVERY_KIND_LONG_NAMES["layers"], "layer")
for _i, _spec in enumerate(EVERY_OTHER_KIND):
    _long_names(_spec["layers"], f"kind{_i}")


def load_class(source: str, path: Path) -> type[nn.Module]:
    """Import a generated file as its own module and return its model class (the last: blocks' classes come first)."""
    path.write_text(source, encoding="utf-8")
    module_spec = importlib.util.spec_from_file_location(f"generated_{path.stem}", path)
    assert module_spec is not None and module_spec.loader is not None
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    classes = [
        v for v in vars(module).values() if isinstance(v, type) and issubclass(v, nn.Module) and v is not nn.Module
    ]
    assert classes and all(c.__module__ == module.__name__ for c in classes), classes
    return classes[-1]


def shapes(model: nn.Module) -> dict[str, tuple[int, ...]]:
    return {k: tuple(v.shape) for k, v in model.state_dict().items()}


@pytest.mark.parametrize("path", SPECS, ids=lambda p: p.stem)
def test_python_export_has_builds_weights_and_outputs(path: Path, tmp_path: Path) -> None:
    spec = netspec.load_spec(path)
    built = build(spec).eval()
    exported = load_class(to_python(spec), tmp_path / f"{spec.name.replace('-', '_')}.py")().eval()
    assert shapes(exported) == shapes(built)
    assert list(exported.state_dict()) == list(built.state_dict())  # the same order, too
    exported.load_state_dict(built.state_dict())
    x = random_input(spec, 2)
    with torch.no_grad():
        assert torch.equal(exported(x), built(x))


@pytest.mark.parametrize("data", EVERY_OTHER_KIND, ids=lambda d: d["name"][0])
def test_every_other_kind_exports_to_the_built_model(data: dict[str, Any], tmp_path: Path) -> None:
    spec = netspec.spec_from_data(data)
    built = build(spec).eval()
    exported = load_class(to_python(spec), tmp_path / f"kind_{data['name'][0]}.py")().eval()
    assert list(exported.state_dict()) == list(built.state_dict())
    exported.load_state_dict(built.state_dict())
    x = random_input(spec, 2)
    with torch.no_grad():  # LPPool2d's x^3.5 of a negative input is NaN in both
        torch.testing.assert_close(exported(x), built(x), rtol=0, atol=0, equal_nan=True)


@pytest.mark.slow  # several seconds: 100-200 generated specs, each built twice
@pytest.mark.filterwarnings("ignore:Implicit dimension choice")  # generated Softmax layers without `dim`
@pytest.mark.filterwarnings("ignore:dropout2d")  # and Dropout2d on (N, F) vectors, which torch deprecates
@settings(max_examples=100, suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow])
@given(spec_dicts())
# CI found it: a one-element tuple was written `(3)`, which Python reads as 3
@example(
    {"name": "generated", "input": [3, 1, 1, 1], "layers": [{"dim": 1, "unflattened_size": [3], "type": "Unflatten"}]}
)
def test_random_specs_export_to_the_same_model(data: dict[str, Any]) -> None:
    spec = netspec.spec_from_data({**data, "seed": 0})
    try:
        netspec.check(spec)
    except SpecError:
        assume(False)  # only specs torch can build
    namespace: dict[str, Any] = {}
    exec(compile(to_python(spec), "<netspec export>", "exec"), namespace)  # the generated module, run as-is
    exported = namespace[class_name(spec.name)]().eval()
    built = build(spec, verify=False).eval()  # the same weights: both are seeded
    for (key, mine), theirs in zip(exported.state_dict().items(), built.state_dict().values(), strict=True):
        assert torch.equal(mine, theirs), key
    x = random_input(spec, 2)
    with torch.no_grad():
        torch.testing.assert_close(exported(x), built(x), rtol=0, atol=0, equal_nan=True)


def test_seed_and_init_give_builds_exact_weights(tmp_path: Path) -> None:
    spec = netspec.spec_from_data(WIDE)
    exported_class = load_class(to_python(spec), tmp_path / "wide.py")
    before = torch.random.get_rng_state()
    exported = exported_class()
    assert torch.equal(torch.random.get_rng_state(), before), "the seed must not leak into the caller's RNG"
    built = build(spec)
    for (key, mine), theirs in zip(exported.state_dict().items(), built.state_dict().values(), strict=True):
        assert torch.equal(mine, theirs), key
    # the init really ran: kaiming fan_out on the first conv, std 0.02 on the second, zero biases
    assert built.second_convolution_with_a_long_name.weight.std().item() == pytest.approx(0.02, rel=0.15)
    assert torch.count_nonzero(built.fc1.bias) == 0
    x = torch.randn(3, *spec.input)
    with torch.no_grad():
        assert torch.equal(exported.eval()(x), built.eval()(x))


def test_generated_files_are_ruff_clean_and_import_only_torch(tmp_path: Path) -> None:
    every = [EVERY_KIND_LONG_NAMES, *EVERY_OTHER_KIND]
    specs = [netspec.load_spec(p) for p in SPECS] + [netspec.spec_from_data(d) for d in (WIDE, *every)]
    assert {node.kind for spec in specs[-len(every) :] for node in netspec.check(spec).walk()} == set(KINDS)
    files = []
    for spec in specs:
        files.append(tmp_path / f"{spec.name.replace('-', '_').replace('.', '_')}.py")
        files[-1].write_text(to_python(spec), encoding="utf-8")
        tree = ast.parse(files[-1].read_text(encoding="utf-8"))
        imported = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        imported |= {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
        assert imported == {"torch"}, spec.name
    config = ["--config", str(ROOT / "pyproject.toml"), "--no-cache"]
    lint = subprocess.run(
        [sys.executable, "-m", "ruff", "check", *config, *map(str, files)], capture_output=True, text=True
    )
    assert lint.returncode == 0, lint.stdout + lint.stderr
    fmt = subprocess.run(
        [sys.executable, "-m", "ruff", "format", "--check", "--diff", *config, *map(str, files)],
        capture_output=True,
        text=True,
    )
    assert fmt.returncode == 0, fmt.stdout + fmt.stderr


def test_python_export_reads_like_hand_written_torch() -> None:
    source = to_python(netspec.load_spec(ROOT / "specs" / "lenet.yaml"))
    assert "class Lenet(nn.Module):" in source
    assert '"""(N, 1, 32, 32) in, (N, 10) out, 61,706 parameters."""' in source
    assert "        self.conv1 = nn.Conv2d(in_channels=1, out_channels=6, kernel_size=5)\n" in source
    assert "        self.fc1 = nn.Linear(in_features=400, out_features=120)\n" in source  # inferred size filled in
    assert "        x = self.conv1(x)  # (N, 6, 28, 28)\n" in source
    assert "        x = self.flatten1(x)  # (N, 400)\n" in source
    assert source.rstrip().endswith("return x")


def test_wide_export_wraps_and_keeps_user_text_in_comments() -> None:
    source = to_python(netspec.spec_from_data(WIDE))
    assert "class WideNetV2(nn.Module):" in source
    assert "            torch.default_generator.manual_seed(7)\n" in source
    assert '# quotes """ and \\ backslashes, a tab, ü and ×\n' in source  # a comment: nothing to escape
    assert max(len(line) for line in source.splitlines()) <= 120
    # a call too long for a line is wrapped as ruff format would: arguments on one line if they fit, else one each
    assert (
        "            nn.init.kaiming_normal_(\n"
        "                self.a_rather_long_layer_name_that_forces_wrapping.weight,"
        ' a=0.0, mode="fan_out", nonlinearity="relu"\n'
        "            )\n"
    ) in source
    assert '                bias=False,\n                padding_mode="circular",\n            )\n' in source


@pytest.mark.parametrize(
    ("name", "expected"),
    [("lenet", "Lenet"), ("lenet5-d2l", "Lenet5D2l"), ("vgg11_cifar.v2", "Vgg11CifarV2"), ("3layer", "Model3layer"),
     ("none", "NoneModel"), ("myNet", "MyNet")],
)  # fmt: skip
def test_class_name(name: str, expected: str) -> None:
    assert class_name(name) == expected
    assert expected.isidentifier()


def test_cli_export_python_to_stdout_and_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    runner = CliRunner()
    result = runner.invoke(cli, ["export", "specs/lenet.yaml"])
    assert result.exit_code == 0, result.output
    assert result.stdout == to_python(netspec.load_spec("specs/lenet.yaml"))
    out = tmp_path / "nested" / "lenet.py"
    result = runner.invoke(cli, ["export", "specs/lenet.yaml", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_text(encoding="utf-8") == to_python(netspec.load_spec("specs/lenet.yaml"))
    assert f"wrote {out}" in result.stderr


def test_cli_export_refuses_bad_input(tmp_path: Path) -> None:
    runner = CliRunner()
    broken = tmp_path / "broken.yaml"
    broken.write_text("input: [1, 28, 28]\nlayers:\n  - {type: Conv2d, kernel_size: 3}\n", encoding="utf-8")
    result = runner.invoke(cli, ["export", str(broken)])
    assert result.exit_code == 1
    assert "error[missing-field]: `Conv2d` needs `out_channels`" in result.stderr
    result = runner.invoke(cli, ["export", str(tmp_path / "missing.yaml")])
    assert result.exit_code == 2
    assert "error[io-error]" in result.stderr
    result = runner.invoke(cli, ["export", str(broken), "--format", "onnx"])
    assert result.exit_code == 2
    assert "--format onnx writes a binary file: give it a path with -o" in result.stderr
    result = runner.invoke(cli, ["export", str(broken), "--format", "tflite"])
    assert result.exit_code == 2


# -- ONNX ---------------------------------------------------------------------------------------


def randomise_statistics(model: nn.Module) -> None:
    """BatchNorm's fresh statistics (mean 0, variance 1) would hide a wrong translation of them."""
    for module in model.modules():
        if isinstance(module, nn.BatchNorm2d):
            module.running_mean.uniform_(-1, 1)
            module.running_var.uniform_(0.5, 2)


def test_onnx_export_of_sequence_kinds_runs_like_torch(tmp_path: Path) -> None:
    """Token ids through a transformer encoder, recurrent layers in both directions and an LSTM's last state."""
    onnx = pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    spec = netspec.spec_from_data(
        {
            "name": "sequences",
            "input": {"shape": [20], "tokens": 100},
            "layers": [
                {"type": "Embedding", "embedding_dim": 16, "padding_idx": 0},
                {"type": "TransformerEncoder", "num_layers": 2, "norm": "LayerNorm",
                 "encoder_layer": {"nhead": 4, "dim_feedforward": 32, "batch_first": True}},
                {"type": "GRU", "hidden_size": 8, "num_layers": 2, "bidirectional": True, "batch_first": True},
                {"type": "TransformerEncoderLayer", "nhead": 2, "dim_feedforward": 8, "batch_first": True},
                {"type": "RNN", "hidden_size": 8, "batch_first": True, "nonlinearity": "relu"},
                {"type": "LSTM", "hidden_size": 8, "bidirectional": True, "batch_first": True, "output": "last"},
                {"type": "Linear", "out_features": 3},
            ],
        }
    )  # fmt: skip
    model = build(spec).eval()
    target = to_onnx(spec, tmp_path / "model.onnx", model=model)
    onnx.checker.check_model(onnx.load(str(target)))
    session = ort.InferenceSession(str(target), providers=["CPUExecutionProvider"])
    for batch in (1, 5):
        x = random_input(spec, batch)
        (got,) = session.run(None, {"input": x.numpy()})
        with torch.no_grad():
            np.testing.assert_allclose(got, model(x).numpy(), atol=1e-5, rtol=0)


@pytest.mark.parametrize("path", SPECS, ids=lambda p: p.stem)  # about 2 s each: export, check, run
def test_onnx_export_runs_in_onnxruntime_like_torch(path: Path, tmp_path: Path) -> None:
    onnx = pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    spec = netspec.load_spec(path)
    model = build(spec).eval()
    randomise_statistics(model)
    target = to_onnx(spec, tmp_path / "model.onnx", model=model)
    onnx.checker.check_model(onnx.load(str(target)))
    session = ort.InferenceSession(str(target), providers=["CPUExecutionProvider"])
    assert session.get_inputs()[0].shape[0] == "batch"  # a symbolic batch dimension
    for batch in (1, 5):
        x = random_input(spec, batch)
        (got,) = session.run(None, {"input": x.numpy()})
        with torch.no_grad():
            np.testing.assert_allclose(got, model(x).numpy(), atol=1e-5, rtol=0)


@pytest.mark.parametrize("suffix", [".pt", ".pth", ".ckpt"])  # every name `netspec build` reads as a checkpoint
def test_cli_export_python_from_a_checkpoint(tmp_path: Path, suffix: str) -> None:
    from netspec.checkpoint import save

    spec = netspec.load_spec(ROOT / "specs" / "lenet.yaml")
    save(tmp_path / f"lenet{suffix}", spec=spec, model_state=build(spec).state_dict())
    result = CliRunner().invoke(cli, ["export", str(tmp_path / f"lenet{suffix}")])
    assert result.exit_code == 0, result.output
    assert result.stdout == to_python(netspec.spec_from_data(spec_to_data(spec)))  # the spec, without its file name


@pytest.mark.parametrize(("suffix", "dtype"), [(".pt", torch.float32), (".ckpt", torch.bfloat16)])
def test_cli_export_onnx_from_a_checkpoint_keeps_its_weights(tmp_path: Path, suffix: str, dtype: torch.dtype) -> None:
    onnx = pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    from netspec.checkpoint import save

    spec = netspec.load_spec(ROOT / "specs" / "lenet.yaml")
    model = build(spec, dtype=dtype).eval()
    with torch.no_grad():
        model.fc3.bias.fill_(3.0)  # weights no fresh build has
    save(tmp_path / f"lenet{suffix}", spec=spec, model_state=model.state_dict())
    result = CliRunner().invoke(
        cli, ["export", str(tmp_path / f"lenet{suffix}"), "--format", "onnx", "-o", str(tmp_path / "m.onnx")]
    )
    assert result.exit_code == 0, result.output
    onnx.checker.check_model(onnx.load(str(tmp_path / "m.onnx")), full_check=True)  # ONNX has no bfloat16 Conv
    x = torch.randn(2, 1, 32, 32)
    (got,) = ort.InferenceSession(str(tmp_path / "m.onnx")).run(None, {"input": x.numpy()})
    with torch.no_grad():  # float32 ONNX, whatever the checkpoint's dtype: the weights as they are, in float32
        np.testing.assert_allclose(got, model.float()(x).numpy(), atol=1e-5, rtol=0)


@pytest.mark.parametrize("hidden", ["onnx", "onnxscript"])
def test_onnx_without_the_extra_says_how_to_install_it(
    hidden: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, hidden, None)  # `import onnx` now raises ImportError, as when not installed
    out = tmp_path / "lenet.onnx"
    result = CliRunner().invoke(cli, ["export", str(ROOT / "specs" / "lenet.yaml"), "--format", "onnx", "-o", str(out)])
    assert result.exit_code == 1
    assert f"error[missing-dependency]: ONNX export needs {hidden}, which is not installed" in result.stderr
    assert "help: pip install 'netspec[onnx]'" in result.stderr
    assert not out.exists()


def test_onnx_failure_names_the_operator_and_layer(tmp_path: Path) -> None:
    """torch 2.14's exporter has no ONNX function for adaptive max pooling with uneven windows (8 -> 3)."""
    pytest.importorskip("onnxscript")
    spec = netspec.parse_spec("input: [2, 8, 8]\nlayers:\n  - ReLU\n  - {type: AdaptiveMaxPool2d, output_size: 3}\n")
    with pytest.raises(SpecError) as e:
        to_onnx(spec, tmp_path / "m.onnx")
    (d,) = e.value.diagnostics
    assert d.code == "export-failed"
    assert d.message == (
        "torch.onnx has no ONNX translation for `aten.adaptive_max_pool2d`, which layer 1 (pool1: AdaptiveMaxPool2d)"
        " uses with input (N, 2, 8, 8)"
    )
    assert d.span is not None and d.span.line == 4


def test_onnx_refuses_an_lstm_projection(tmp_path: Path) -> None:
    pytest.importorskip("onnxruntime")
    spec = netspec.parse_spec(
        "input: {shape: [6, 5], dims: [L, F]}\n"
        "layers:\n  - {type: LSTM, hidden_size: 8, proj_size: 4, batch_first: true}\n"
    )
    with pytest.raises(SpecError) as e:
        to_onnx(spec, tmp_path / "m.onnx")
    (d,) = e.value.diagnostics
    assert (d.code, d.message) == (
        "export-failed",
        "ONNX's LSTM has no projection, so torch.onnx cannot translate `proj_size` (=4) of layer 0 (lstm1: LSTM)",
    )
    assert d.span is not None and (d.span.line, d.span.col) == (3, 45)
    assert not (tmp_path / "m.onnx").exists()


def test_onnx_refuses_divisor_override_which_the_exporter_drops(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ort = pytest.importorskip("onnxruntime")
    from netspec import export_onnx

    spec = netspec.parse_spec(
        "input: [2, 6, 6]\nlayers:\n  - ReLU\n  - {type: AvgPool2d, kernel_size: 3, divisor_override: 2}\n"
    )
    with pytest.raises(SpecError) as e:
        to_onnx(spec, tmp_path / "m.onnx")
    (d,) = e.value.diagnostics
    assert (d.code, d.message) == (
        "export-failed",
        "torch.onnx drops `divisor_override` (=2) of layer 1 (pool1: AvgPool2d):"
        " the ONNX model would divide by the window size instead",
    )
    assert d.span is not None and (d.span.line, d.span.col) == (4, 57)
    assert not (tmp_path / "m.onnx").exists()
    # why: exported anyway, onnxruntime divides each window's sum by 9, where torch divides by 2
    monkeypatch.setattr(export_onnx, "_refuse_mistranslations", lambda spec, report: None)
    model = build(spec).eval()
    to_onnx(spec, tmp_path / "m.onnx", model=model)
    x = torch.rand(1, 2, 6, 6)
    (got,) = ort.InferenceSession(str(tmp_path / "m.onnx")).run(None, {"input": x.numpy()})
    with torch.no_grad():
        np.testing.assert_allclose(got * 9 / 2, model(x).numpy(), rtol=1e-5)


def test_readme_shows_real_export_output(monkeypatch: pytest.MonkeyPatch) -> None:
    """The documented `$ netspec export specs/lenet.yaml` transcript: every line shown (bar `...`) is printed."""
    monkeypatch.chdir(ROOT)
    readme = DOCS
    start = readme.index("```console\n$ netspec export specs/lenet.yaml\n")
    shown = readme[start : readme.index("```\n", start + 10)].splitlines()[2:]
    actual = CliRunner().invoke(cli, ["export", "specs/lenet.yaml"]).stdout.splitlines()
    lines = [line for line in shown if line.strip() != "..."]
    assert len(lines) > 20
    for line in lines:
        assert line in actual, line
    assert [line for line in actual if line in lines] == lines  # and in the same order


def test_onnx_write_failure_is_an_io_error(tmp_path: Path) -> None:
    pytest.importorskip("onnxscript")
    (tmp_path / "a-file").write_text("", encoding="utf-8")
    target = tmp_path / "a-file" / "m.onnx"  # a folder that is a file: nothing can be written there
    result = CliRunner().invoke(
        cli, ["export", str(ROOT / "specs" / "lenet.yaml"), "--format", "onnx", "-o", str(target)]
    )
    assert result.exit_code == 2
    assert f"error[io-error]: cannot write {target}: {tmp_path / 'a-file'} is a file, not a folder\n" in result.stderr


@pytest.mark.parametrize("command", ["export", "import"])
def test_output_onto_the_input_file_is_refused(command: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`-o` naming the input itself would replace a spec with Python, or a checkpoint's weights with YAML."""
    from netspec.checkpoint import save

    monkeypatch.chdir(tmp_path)
    spec = netspec.load_spec(ROOT / "specs" / "lenet.yaml")
    save("lenet.pt", spec=spec, model_state=build(spec).state_dict())
    Path("lenet.yaml").write_bytes((ROOT / "specs" / "lenet.yaml").read_bytes())
    source = "lenet.yaml" if command == "export" else "lenet.pt"
    before = Path(source).read_bytes()
    result = CliRunner().invoke(cli, [command, source, "-o", f"./{source}"])
    usage_error_line(result, f"-o {source} is the input file itself: writing would replace it")
    assert Path(source).read_bytes() == before


@pytest.mark.parametrize("command", ["export", "import", "schema"])
def test_python_yaml_and_schema_outputs_under_a_file_are_io_errors(command: str, tmp_path: Path) -> None:
    from netspec.checkpoint import save

    (tmp_path / "a-file").write_text("", encoding="utf-8")
    target = tmp_path / "a-file" / "out.txt"  # its folder is a file: Python says only "File exists"
    spec = netspec.load_spec(ROOT / "specs" / "lenet.yaml")
    save(tmp_path / "lenet.pt", spec=spec, model_state=build(spec).state_dict())
    source = {"export": [str(ROOT / "specs" / "lenet.yaml")], "import": [str(tmp_path / "lenet.pt")], "schema": []}
    result = CliRunner().invoke(cli, [command, *source[command], "-o", str(target)])
    assert result.exit_code == 2
    assert f"error[io-error]: cannot write {target}: {tmp_path / 'a-file'} is a file, not a folder\n" in result.stderr
    assert not target.exists()
