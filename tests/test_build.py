"""netspec.build against real torch and torchinfo: shapes, parameters, verification, init, seeds, memory, the CLI."""

from __future__ import annotations

import dataclasses
import importlib
import importlib.metadata
import math
import os
import re
import subprocess
import sys
import textwrap
import time
from collections import OrderedDict
from pathlib import Path
from typing import Any

import pytest
import torch
import torchinfo
from click.testing import CliRunner
from hypothesis import event, given, settings
from torch import nn

import netspec
from netspec.cli import cli
from netspec.diagnostics import SpecError
from netspec.verify import VerificationError

from .conftest import DOCS, ROOT, SPECS, usage_error_line
from .oracle import random_input, torchinfo_mult_adds
from .test_torch_oracle import spec_dicts

builder = importlib.import_module("netspec.builder")  # the module behind the function `netspec.build`
devices = importlib.import_module("netspec.devices")


def spec_of(layers: list[Any], input: list[int], **top: Any) -> netspec.Spec:
    return netspec.spec_from_data({"name": "t", "input": input, "layers": layers, **top})


# -- every shipped spec: real torch and torchinfo agree with the static report ----------------------


@pytest.mark.parametrize("path", SPECS, ids=lambda p: p.name)
def test_shipped_spec_builds_as_reported(path: Path) -> None:
    spec = netspec.load_spec(path)
    report = netspec.check(spec)
    model = netspec.build(spec).eval()
    assert sum(p.numel() for p in model.parameters()) == report.total_params
    outputs: list[tuple[int, ...]] = []
    for module in model:
        module.register_forward_hook(lambda m, i, o: outputs.append(tuple(o.shape)))
    with torch.no_grad():
        y = model(random_input(spec, 2))  # real tensors, batch 2
    assert tuple(y.shape) == (2, *report.output_shape[1:])
    assert outputs == [(2, *layer.output_shape[1:]) for layer in report.layers]
    stats = torchinfo.summary(model, input_data=[random_input(spec, 1)], verbose=0)
    assert stats.total_params == report.total_params
    # torchinfo reads a recurrent layer's steps off its output, which `output: last` drops: tests/oracle.py
    # counts that one on torch's own LSTM
    if not any(node.args.get("output") == "last" for node in report.leaves()):
        assert torchinfo_mult_adds(spec, model) == report.total_mult_adds


def test_verification_leaves_an_embeddings_max_norm_rows_alone() -> None:
    """torch renormalises the rows an Embedding with max_norm looks up, in place: build's proof must not."""
    spec = netspec.spec_from_data(
        {
            "seed": 1,
            "input": {"shape": [4], "tokens": 10},
            "layers": [{"type": "Embedding", "embedding_dim": 8, "max_norm": 0.5}],
        }
    )
    verified, unverified = netspec.build(spec), netspec.build(spec, verify=False)
    assert torch.equal(verified.embed1.weight, unverified.embed1.weight)
    assert float(unverified.embed1.weight[0].norm()) > 0.5  # so a real forward on ids 0 would have changed it


def test_lenet_figures() -> None:
    """The tutorial's LeNet: 61,706 parameters (pytorch.org's neural networks tutorial)."""
    model = netspec.build(netspec.load_spec(ROOT / "specs/lenet.yaml"))
    assert sum(p.numel() for p in model.parameters()) == 61_706
    assert [k for k in model.state_dict()] == [
        f"{name}.{w}" for name in ("conv1", "conv2", "fc1", "fc2", "fc3") for w in ("weight", "bias")
    ]


def test_named_layers_name_the_state_dict() -> None:
    model = netspec.build(netspec.load_spec(ROOT / "specs/nin.yaml"))
    assert list(model.state_dict())[:4] == ["b1_conv.weight", "b1_conv.bias", "b1_mix1.weight", "b1_mix1.bias"]
    assert isinstance(model.b4_mix2, nn.Conv2d)


def test_a_name_that_clashes_with_an_automatic_name() -> None:
    """The second conv is named `conv1`, so the first one, unnamed, becomes `conv2`."""
    spec = spec_of(
        [
            {"type": "Conv2d", "out_channels": 4, "kernel_size": 3},
            {"type": "Conv2d", "out_channels": 5, "kernel_size": 3, "name": "conv1"},
            "Flatten",
            {"type": "Linear", "out_features": 3},
            {"type": "Linear", "out_features": 2, "name": "fc1"},
        ],
        [2, 8, 8],
    )
    model = netspec.build(spec)
    assert [name for name, _ in model.named_children()] == ["conv2", "conv1", "flatten1", "fc2", "fc1"]
    assert (model.conv2.in_channels, model.conv1.in_channels, model.fc1.in_features) == (2, 4, 3)
    assert model(torch.randn(2, 2, 8, 8)).shape == (2, 2)


# -- verification on the meta device --------------------------------------------------------------


@settings(max_examples=400)  # about half pass the checker: ~200 verified
@given(spec_dicts())
def test_meta_verification_agrees_on_generated_specs(data: dict[str, Any]) -> None:
    spec = netspec.spec_from_data(data)
    try:
        netspec.check(spec)
    except SpecError:
        event("rejected by the checker")
        return
    event("verified")
    model = netspec.build(spec, device="meta")  # raises VerificationError on any disagreement
    assert all(t.is_meta for t in model.state_dict().values())


@pytest.mark.parametrize(
    ("file", "layer", "change", "message"),
    [
        (
            "lenet.yaml",
            2,
            {"output_shape": ("N", 6, 15, 15)},
            "netspec bug: layer 2 (pool1: MaxPool2d) gives (2, 6, 14, 14) in torch,"
            " but the static report says (N, 6, 15, 15)",
        ),
        (
            "lenet.yaml",
            9,
            {"params": 10_000},
            "netspec bug: layer 9 (fc2: Linear) has 10,164 parameters in torch, but the static report says 10,000",
        ),
        (
            "nin.yaml",
            2,
            {"args": {"in_channels": 95, "out_channels": 96, "kernel_size": 1}},  # 96 channels arrive: torch fails
            "netspec bug: layer 2 (b1_mix1: Conv2d) fails in torch (",
        ),
    ],
    ids=["shape", "params", "torch-fails"],
)
def test_verification_names_the_layer_and_both_shapes(
    file: str, layer: int, change: dict[str, Any], message: str
) -> None:
    spec = netspec.load_spec(ROOT / "specs" / file)
    report = netspec.check(spec)
    layers = list(report.layers)
    layers[layer] = dataclasses.replace(layers[layer], **change)
    wrong = dataclasses.replace(report, layers=tuple(layers))
    with pytest.raises(VerificationError) as e:
        netspec.build(spec, report=wrong)
    assert str(e.value).startswith(message)
    if "fails in torch" in message:  # torch's own error, quoted in the words of the torch installed
        torch_error = e.value.__cause__
        assert torch_error is not None and not isinstance(torch_error, VerificationError)
        assert f"fails in torch ({type(torch_error).__name__}: {torch_error})," in str(e.value)


def test_verification_can_be_skipped() -> None:
    spec = netspec.load_spec(ROOT / "specs/lenet.yaml")
    report = netspec.check(spec)
    wrong = dataclasses.replace(report, layers=(dataclasses.replace(report.layers[0], params=1), *report.layers[1:]))
    assert len(netspec.build(spec, report=wrong, verify=False)) == 12


def test_ten_billion_parameters_are_verified_without_memory() -> None:
    spec = spec_of([{"type": "Linear", "out_features": 100_000}, "ReLU"], [100_000])
    start = time.perf_counter()
    model = netspec.build(spec, device="meta")
    assert time.perf_counter() - start < 5
    assert sum(p.numel() for p in model.parameters()) == 10_000_100_000
    assert model.fc1.weight.is_meta


# -- memory ------------------------------------------------------------------------------------------


def test_a_model_too_large_for_memory_is_refused_before_allocation() -> None:
    spec = spec_of([{"type": "Linear", "out_features": 1_000_000}], [1_000_000])
    start = time.perf_counter()
    with pytest.raises(SpecError) as e:
        netspec.build(spec)
    assert time.perf_counter() - start < 5  # allocating and initialising 4 TB would take hours, or crash
    [d] = e.value.diagnostics
    assert d.code == "too-large"
    assert re.fullmatch(
        r"the model's 1,000,001,000,000 parameters need 3\.6 TiB in float32,"
        r" but only \d+\.\d [KMGT]iB of memory is available",
        d.message,
    ), d.message
    assert d.help and "netspec check" in d.help
    # float16 weights are made in float32 and converted layer by layer: 3.6 TiB, plus the one layer's 1.8 TiB
    with pytest.raises(SpecError, match=r"need 5\.5 TiB to build in float16 \(made in float32, then converted\)"):
        netspec.build(spec, dtype=torch.float16)


@pytest.mark.parametrize(
    ("dtype", "message"),
    [
        (
            torch.float32,
            "the model's 1,001,000 parameters need 3.8 MiB in float32, but only 1.0 MiB of memory is available",
        ),
        (  # made in float32 (3.8 MiB), then converted while the float32 copy still exists (+1.9 MiB)
            torch.bfloat16,
            "the model's 1,001,000 parameters need 5.7 MiB to build in bfloat16 (made in float32, then converted),"
            " but only 1.0 MiB of memory is available",
        ),
        (  # 7.6 MiB in float64 while the float32 copy (3.8 MiB) still exists
            torch.float64,
            "the model's 1,001,000 parameters need 11.5 MiB to build in float64 (made in float32, then converted),"
            " but only 1.0 MiB of memory is available",
        ),
    ],
)
def test_memory_refusal_names_the_sizes(monkeypatch: pytest.MonkeyPatch, dtype: torch.dtype, message: str) -> None:
    monkeypatch.setattr(devices, "available_memory", lambda: 2**20)
    spec = spec_of([{"type": "Linear", "out_features": 1000}], [1000])
    with pytest.raises(SpecError) as e:
        netspec.build(spec, dtype=dtype)
    assert [(d.code, d.message) for d in e.value.diagnostics] == [("too-large", message)]


def test_a_smaller_dtype_does_not_shrink_what_the_cpu_build_needs(monkeypatch: pytest.MonkeyPatch) -> None:
    """The bfloat16 weights (2,002,000 bytes) would fit, but they are made as 4,004,000 bytes of float32 first."""
    monkeypatch.setattr(devices, "available_memory", lambda: 3_000_000)
    spec = spec_of([{"type": "Linear", "out_features": 1000}], [1000])
    with pytest.raises(SpecError) as e:
        netspec.build(spec, dtype=torch.bfloat16)
    [d] = e.value.diagnostics
    assert d.code == "too-large"
    assert d.help == "check the layer sizes with `netspec check`, which allocates nothing"  # no bfloat16 advice


@pytest.mark.slow  # a fresh interpreter per dtype, to read its peak memory
@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads VmHWM from /proc (Linux)")
@pytest.mark.parametrize("dtype", ["float32", "bfloat16", "float64"])
def test_memory_needed_is_the_real_peak_of_a_build(dtype: str) -> None:
    """The process's peak resident memory while building one 4096 -> 8192 Linear, against what netspec expects."""
    # VmHWM, not ru_maxrss: a child's ru_maxrss starts at its parent's (pytest's) resident size
    probe = textwrap.dedent(
        f"""
        import re, torch, netspec
        from netspec.devices import memory_needed
        def peak():
            return int(re.search(r"VmHWM:\\s+(\\d+) kB", open("/proc/self/status").read())[1]) * 1024
        netspec.build(netspec.spec_from_data({{"input": [8], "layers": [{{"type": "Linear", "out_features": 8}}]}}))
        spec = netspec.spec_from_data({{"input": [4096], "layers": [{{"type": "Linear", "out_features": 8192}}]}})
        before = peak()
        netspec.build(spec, dtype=torch.{dtype}, verify=False)
        print(peak() - before, memory_needed(netspec.check(spec), torch.{dtype}, torch.float32))
        """
    )
    run = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    peak, expected = map(int, run.stdout.split())
    assert 0.95 * expected <= peak <= 1.05 * expected, (peak, expected)  # 134 MB in float32, 201 MB in bfloat16


def test_a_model_that_fits_is_built(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(devices, "available_memory", lambda: 4_004_000)  # exactly the float32 weights
    spec = spec_of([{"type": "Linear", "out_features": 1000}], [1000])
    assert netspec.build(spec).fc1.weight.shape == (1000, 1000)


def test_available_memory_reads_meminfo(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    meminfo = tmp_path / "meminfo"
    meminfo.write_text("MemTotal:       16384000 kB\nMemFree:          100000 kB\nMemAvailable:    2048000 kB\n")
    monkeypatch.setattr(devices, "MEMINFO", meminfo)
    assert devices.available_memory() == 2048000 * 1024


@pytest.mark.skipif(not hasattr(os, "sysconf"), reason="no sysconf on this platform")
def test_available_memory_falls_back_to_free_pages(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(devices, "MEMINFO", tmp_path / "missing")
    free = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    assert devices.available_memory() == pytest.approx(free, rel=0.2)


# -- initialisation and seeds ------------------------------------------------------------------------

EVERY_STATEFUL_KIND = [
    {"type": "Conv2d", "out_channels": 4, "kernel_size": 3},
    {"type": "BatchNorm2d"},
    {"type": "Conv2d", "out_channels": 6, "kernel_size": 3, "bias": False, "groups": 2},
    {"type": "BatchNorm2d", "affine": False},
    "Flatten",
    {"type": "Linear", "out_features": 7},
    {"type": "Linear", "out_features": 3, "bias": False},
]


def plain_torch() -> nn.Sequential:
    """EVERY_STATEFUL_KIND on a (3, 8, 8) input, written out in torch by hand."""
    return nn.Sequential(
        OrderedDict(
            conv1=nn.Conv2d(3, 4, 3),
            bn1=nn.BatchNorm2d(4),
            conv2=nn.Conv2d(4, 6, 3, bias=False, groups=2),
            bn2=nn.BatchNorm2d(6, affine=False),
            flatten1=nn.Flatten(),
            fc1=nn.Linear(6 * 4 * 4, 7),
            fc2=nn.Linear(7, 3, bias=False),
        )
    )


def assert_same_state(a: nn.Module, b: nn.Module) -> None:
    sa, sb = a.state_dict(), b.state_dict()
    assert list(sa) == list(sb)
    for key in sa:
        assert sa[key].dtype == sb[key].dtype and torch.equal(sa[key], sb[key]), key


def test_a_seeded_build_equals_torch_constructing_the_same_layers() -> None:
    built = netspec.build(spec_of(EVERY_STATEFUL_KIND, [3, 8, 8], seed=7))
    torch.manual_seed(7)
    assert_same_state(built, plain_torch())


def test_an_unseeded_build_draws_from_the_global_generator_as_torch_does() -> None:
    torch.manual_seed(3)
    built = netspec.build(spec_of(EVERY_STATEFUL_KIND, [3, 8, 8]))
    after_build = torch.rand(1)
    torch.manual_seed(3)
    assert_same_state(built, plain_torch())
    assert torch.equal(torch.rand(1), after_build)


def test_seeds() -> None:
    layers = [{"type": "Conv2d", "out_channels": 8, "kernel_size": 3}, "Flatten", {"type": "Linear", "out_features": 5}]
    first, again = (netspec.build(spec_of(layers, [3, 10, 10], seed=1)) for _ in range(2))
    other = netspec.build(spec_of(layers, [3, 10, 10], seed=2))
    assert_same_state(first, again)
    for key, value in first.state_dict().items():
        assert not torch.equal(value, other.state_dict()[key]), key


def test_a_seeded_build_leaves_the_callers_generator_alone() -> None:
    torch.manual_seed(123)
    state = torch.get_rng_state()
    netspec.build(spec_of(EVERY_STATEFUL_KIND, [3, 8, 8], seed=5, init="kaiming_normal"))
    assert torch.equal(torch.get_rng_state(), state)


def test_zeros_init_zeroes_weights_and_biases_of_conv_and_linear_only() -> None:
    model = netspec.build(spec_of(EVERY_STATEFUL_KIND, [3, 8, 8], init="zeros"))
    for name in ("conv1", "conv2", "fc1", "fc2"):
        module = getattr(model, name)
        assert not module.weight.any(), name
        assert module.bias is None or not module.bias.any(), name
    assert torch.equal(model.bn1.weight, torch.ones(4))  # BatchNorm2d keeps torch's init: `init` is for Conv2d/Linear


def test_a_layers_init_overrides_the_models() -> None:
    layers = [
        {"type": "Conv2d", "out_channels": 4, "kernel_size": 3, "init": {"type": "normal", "mean": 1.0}},
        {"type": "Conv2d", "out_channels": 4, "kernel_size": 3, "init": "default"},
        {"type": "Conv2d", "out_channels": 4, "kernel_size": 3},
    ]
    model = netspec.build(spec_of(layers, [3, 9, 9], init="zeros"))
    assert model.conv1.weight.mean().item() == pytest.approx(1.0, abs=0.05)
    assert not model.conv1.bias.any()
    assert model.conv2.weight.abs().max() <= 1 / math.sqrt(4 * 9) and model.conv2.bias.any()  # torch's default
    assert not model.conv3.weight.any()


FAN_IN, FAN_OUT = 1000, 2000  # a Linear(1000, 2000): 2,000,000 weights


@pytest.mark.parametrize(
    ("init", "std"),
    [
        ({"type": "kaiming_normal"}, math.sqrt(2 / FAN_IN)),  # He et al.: gain sqrt(2) for relu, over sqrt(fan_in)
        ({"type": "kaiming_normal", "mode": "fan_out"}, math.sqrt(2 / FAN_OUT)),
        ({"type": "kaiming_normal", "nonlinearity": "leaky_relu", "a": 0.2}, math.sqrt(2 / (1 + 0.2**2) / FAN_IN)),
        ({"type": "kaiming_normal", "nonlinearity": "tanh"}, 5 / 3 / math.sqrt(FAN_IN)),
        ({"type": "kaiming_uniform"}, math.sqrt(2 / FAN_IN)),  # U(-b, b) with b = sqrt(6 / fan_in): std b/sqrt(3)
        ({"type": "xavier_normal"}, math.sqrt(2 / (FAN_IN + FAN_OUT))),  # Glorot & Bengio
        ({"type": "xavier_uniform", "gain": 2.0}, 2 * math.sqrt(2 / (FAN_IN + FAN_OUT))),
        ({"type": "normal", "std": 0.02}, 0.02),
    ],
    ids=[
        "kaiming",
        "kaiming-fan_out",
        "kaiming-leaky",
        "kaiming-tanh",
        "kaiming_uniform",
        "xavier",
        "xavier_uniform",
        "normal",
    ],
)
def test_init_statistics_follow_the_formulas(init: dict[str, Any], std: float) -> None:
    model = netspec.build(spec_of([{"type": "Linear", "out_features": FAN_OUT, "init": init}], [FAN_IN], seed=0))
    weight = model.fc1.weight.detach()
    assert weight.std().item() == pytest.approx(std, rel=0.01)
    assert weight.mean().item() == pytest.approx(0.0, abs=std / 100)
    assert not model.fc1.bias.any()
    if init["type"].endswith("uniform"):
        bound = std * math.sqrt(3)
        assert bound * 0.999 < weight.abs().max().item() <= bound


def test_kaiming_on_a_convolution_counts_the_kernel_in_its_fan() -> None:
    """Conv2d(16 -> 64, 3×3): fan_in = 16 × 9 = 144, fan_out = 64 × 9 = 576."""
    conv = {"type": "Conv2d", "out_channels": 64, "kernel_size": 3}
    for mode, fan in (("fan_in", 144), ("fan_out", 576)):
        init = {"type": "kaiming_normal", "mode": mode}
        model = netspec.build(spec_of([{**conv, "init": init}], [16, 5, 5], seed=0))
        assert model.conv1.weight.std().item() == pytest.approx(math.sqrt(2 / fan), rel=0.03)


def test_dtype_and_device() -> None:
    model = netspec.build(netspec.load_spec(ROOT / "specs/lenet.yaml"), dtype=torch.float64, device="cpu")
    assert {p.dtype for p in model.parameters()} == {torch.float64}
    with pytest.raises(SpecError, match=r"`dtype` must be a floating-point dtype, got torch\.int64"):
        netspec.build(netspec.load_spec(ROOT / "specs/lenet.yaml"), dtype=torch.int64)


@pytest.mark.parametrize(
    ("device", "message"),
    [
        ("gpu", "unknown device `gpu`"),
        ("xla", "unknown device `xla`"),
        pytest.param(
            "cuda",
            "device `cuda` is not available: torch finds no CUDA GPU",
            marks=pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU"),
        ),
    ],
)
def test_unavailable_devices_are_refused(device: str, message: str) -> None:
    with pytest.raises(SpecError) as e:
        netspec.build(netspec.load_spec(ROOT / "specs/lenet.yaml"), device=device)
    assert [(d.code, d.message) for d in e.value.diagnostics] == [("invalid-value", message)]


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_build_has_the_cpu_builds_weights(monkeypatch: pytest.MonkeyPatch) -> None:
    spec = netspec.load_spec(ROOT / "specs/vgg11-cifar.yaml").model_copy(update={"seed": 4})
    on_gpu = netspec.build(spec, device="cuda")
    assert next(on_gpu.parameters()).is_cuda
    assert_same_state(on_gpu.cpu(), netspec.build(spec))
    monkeypatch.setattr(torch.cuda, "mem_get_info", lambda device=None: (2**20, 2**30))
    with pytest.raises(SpecError, match=r"need 35\.2 MiB in float32, but only 1\.0 MiB is free on cuda$"):
        netspec.build(spec, device="cuda")


# -- the command line -------------------------------------------------------------------------------


def run(*args: str) -> Any:
    return CliRunner().invoke(cli, list(args))


def test_build_command_prints_both_tables_and_the_agreement() -> None:
    result = run("build", str(ROOT / "specs/lenet.yaml"))
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "11  fc3       Linear     (N, 10)             850        850" in out  # the static table
    assert re.search(r"├─Linear \(fc3\) +\[1, 10\] +850 +850", out)  # torchinfo's
    assert "Total params: 61,706" in out
    assert "Total mult-adds (M): 0.42" in out  # not torchinfo's `(Units.MEGABYTES)`
    assert out.rstrip().endswith(
        "verified: every layer's output shape, parameters and mult-adds in torch equal the static report,"
        " and so do torchinfo's 61,706 params and 423,038 mult-adds"
    )


def test_build_command_with_another_input() -> None:
    """VGG-11 at 64×64: the classifier gets 512 × 2 × 2 = 2,048 features, 15,360 more weights than at 32×32."""
    result = run("build", str(ROOT / "specs/vgg11-cifar.yaml"), "--input", "3,64,64")
    assert result.exit_code == 0, result.output
    assert "Total params: 9,246,474" in result.stdout


def test_a_torchinfo_disagreement_is_a_loud_bug(monkeypatch: pytest.MonkeyPatch) -> None:
    real = torchinfo.summary

    def off_by_one(*args: Any, **kwargs: Any) -> Any:
        stats = real(*args, **kwargs)
        stats.total_params += 1
        return stats

    monkeypatch.setattr(torchinfo, "summary", off_by_one)
    result = run("build", str(ROOT / "specs/lenet.yaml"))
    assert result.exit_code == 1
    assert (
        "netspec: internal error: VerificationError: netspec bug: torchinfo counts 61,707 params,"
        " but the static report says 61,706" in result.stderr
    )


def test_torchinfo_counting_mult_adds_otherwise_is_information(monkeypatch: pytest.MonkeyPatch) -> None:
    """netspec verifies mult-adds itself, in torch; another torchinfo convention is shown, never an error."""
    real = torchinfo.summary

    def other_convention(*args: Any, **kwargs: Any) -> Any:
        stats = real(*args, **kwargs)
        stats.total_mult_adds -= 850  # as if it counted fc3 at zero (the summary runs a batch of 1)
        return stats

    monkeypatch.setattr(torchinfo, "summary", other_convention)
    result = run("build", str(ROOT / "specs/lenet.yaml"))
    assert result.exit_code == 0, result.output
    assert result.stdout.rstrip().splitlines()[-1] == (
        f"(torchinfo {importlib.metadata.version('torchinfo')} counts 422,188 mult-adds, netspec 423,038:"
        ' see docs/spec.md, "What the checker computes")'
    )


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["build", "specs/nope.yaml"], 2, "error[io-error]: no such file: specs/nope.yaml"),
        (["build", "specs/lenet.yaml", "--input", "1,28,28"], 1, "error[shape-mismatch]: `in_features` is 400"),
        (["build", "specs/lenet.yaml", "--device", "gpu"], 2, "unknown device `gpu`"),
        (["build", "specs/lenet.yaml", "--device", "meta"], 2, "`meta` allocates nothing to run"),
        (
            ["build", "specs/lenet.yaml", "--input", "0"],
            2,
            "expected 1 to 4 positive sizes such as C,H,W or F, got '0'",
        ),
    ],
)
def test_build_command_errors(monkeypatch: pytest.MonkeyPatch, args: list[str], code: int, message: str) -> None:
    monkeypatch.chdir(ROOT)
    result = run(*args)
    assert result.exit_code == code
    assert message in result.stderr
    assert "Traceback" not in result.output
    if args[-2].startswith("--") and code == 2:  # a bad option value: its line names the option
        usage_error_line(result, args[-2], message)


@pytest.mark.parametrize("name", ["lenet.yaml", "lenet.bin"])
def test_save_takes_only_a_checkpoint_name(tmp_path: Path, name: str) -> None:
    """netspec reads a file back as a checkpoint only by its suffix; `--save lenet.yaml` would overwrite the spec."""
    spec = tmp_path / "lenet.yaml"
    spec.write_bytes((ROOT / "specs" / "lenet.yaml").read_bytes())
    result = run("build", str(spec), "--save", str(tmp_path / name))
    assert result.exit_code == 2
    usage_error_line(result, f"--save writes a checkpoint: name it .pt, .pth or .ckpt (got {tmp_path / name})")
    assert spec.read_bytes() == (ROOT / "specs" / "lenet.yaml").read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lenet.yaml"]


def test_checkpoint_suffixes_in_capitals(tmp_path: Path) -> None:
    """`LENET.PT` is a checkpoint to --save, build and export alike (it was read as YAML: a binary-file error)."""
    path = tmp_path / "LENET.PT"
    assert run("build", str(ROOT / "specs/lenet.yaml"), "--save", str(path)).exit_code == 0
    result = run("build", str(path))
    assert result.exit_code == 0, result.output
    assert f"loaded {path}: its weights fit its spec" in result.stdout
    result = run("export", str(path))
    assert result.exit_code == 0, result.output
    assert "class Lenet(nn.Module):" in result.stdout


def test_build_command_refuses_a_model_too_large(tmp_path: Path) -> None:
    spec = tmp_path / "huge.yaml"
    spec.write_text("input: [1000000]\nlayers:\n  - {type: Linear, out_features: 1000000}\n")
    result = run("build", str(spec))
    assert result.exit_code == 1
    assert "error[too-large]: the model's 1,000,001,000,000 parameters need 3.6 TiB in float32" in result.stderr


def test_build_save_then_torch_load_then_load_model(tmp_path: Path) -> None:
    path = tmp_path / "out" / "lenet.pt"
    result = run("build", str(ROOT / "specs/lenet.yaml"), "--save", str(path))
    assert result.exit_code == 0, result.output
    assert f"saved {path}" in result.stdout
    raw = torch.load(path, weights_only=True)
    assert raw["format"] == "netspec-checkpoint" and raw["spec"]["name"] == "lenet"
    assert raw["model"]["fc3.weight"].shape == (10, 84)
    model = netspec.load_model(path).eval()
    reference = netspec.build(netspec.load_spec(ROOT / "specs/lenet.yaml")).eval()
    reference.load_state_dict(raw["model"])
    x = torch.randn(2, 1, 32, 32)
    with torch.no_grad():
        assert torch.equal(model(x), reference(x))
    again = run("build", str(path))
    assert again.exit_code == 0, again.output
    assert again.stdout.rstrip().endswith(f"loaded {path}: its weights fit its spec")


def test_the_cli_and_build_module_import_no_torch_at_startup() -> None:
    code = "import sys, netspec.cli, netspec.commands.build; assert 'torch' not in sys.modules, 'torch imported'"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


def test_netspec_build_stays_the_function_after_the_module_is_imported() -> None:
    """The lazy names stay functions once their modules are imported (the module is `builder`, not `build`)."""
    importlib.import_module("netspec.checkpoint")  # imports netspec/builder.py too
    assert netspec.build is builder.build
    assert netspec.load_model is importlib.import_module("netspec.checkpoint").load_model


# -- the README's transcripts are real ------------------------------------------------------------

README = DOCS  # the README and docs/


def transcript(command: str) -> list[str]:
    """The lines the README shows after `$ netspec {command}`, up to the end of the block."""
    found = re.search(rf"^\$ netspec {re.escape(command)}\b[^\n]*\n(.*?)^```$", README, flags=re.M | re.S)
    assert found, command
    return found.group(1).splitlines()


def test_readme_shows_the_verified_line() -> None:
    result = run("build", str(ROOT / "specs/lenet.yaml"))
    [shown] = [text for text in re.findall(r"^```text\n(.*?)\n```$", README, flags=re.M | re.S) if "verified" in text]
    assert shown in result.stdout.splitlines()


def test_readme_shows_the_memory_refusal(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    Path("huge.yaml").write_text("input: [1000000]\nlayers:\n  - {type: Linear, out_features: 1000000}\n")
    result = run("build", "huge.yaml")

    def machine_free(lines: list[str]) -> list[str]:
        return [re.sub(r"only \d+\.\d [KMGT]iB", "only <free>", line) for line in lines]

    assert machine_free(result.stderr.strip().splitlines()) == machine_free(transcript("build huge.yaml"))


def test_readme_shows_the_checkpoint_refusal(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from netspec.checkpoint import digest as checkpoint_digest

    monkeypatch.chdir(tmp_path)
    assert run("build", str(ROOT / "specs/lenet.yaml"), "--save", "lenet.pt").exit_code == 0
    contents = torch.load("lenet.pt", weights_only=True)
    del contents["model"]["fc3.bias"]
    contents["model"]["fc1.weight"] = contents["model"]["fc1.weight"][:, :300]
    del contents["digest"]
    torch.save({**contents, "digest": checkpoint_digest(contents)}, "lenet.pt")  # an edit on purpose: resealed
    result = run("build", "lenet.pt")
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == transcript("build lenet.pt")


def test_build_command_summarises_batch_statistics_layers_that_need_two_samples(tmp_path: Path) -> None:
    """torchinfo runs a batch of one, which such a BatchNorm2d refuses even in eval mode: it was an internal error."""
    spec = tmp_path / "bn.yaml"
    spec.write_text(
        "input: [3, 1, 1]\nlayers:\n  - {type: BatchNorm2d, track_running_stats: false}\n"
        "  - Flatten\n  - {type: Linear, out_features: 2}\n",
        encoding="utf-8",
    )
    result = run("build", str(spec))
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert "(a batch of 2: a BatchNorm2d without running statistics needs more than one value per channel)" in lines
    # per sample, as at batch 1: BatchNorm2d 6 (its parameters), Linear 8; torchinfo's table says 28 for both samples
    assert lines[-1] == (
        "verified: every layer's output shape, parameters and mult-adds in torch equal the static report,"
        " and so do torchinfo's 14 params and 14 mult-adds"
    )
    assert "Total mult-adds (M): 0.00" in lines


def test_verification_runs_batch_statistics_layers_that_need_two_samples() -> None:
    # torch refuses BatchNorm2d without running stats on one value per channel; a valid spec must still build
    spec = netspec.spec_from_data(
        {
            "input": [1, 1, 1],
            "layers": [
                {"type": "MaxPool2d", "kernel_size": 2, "padding": 1},
                {"type": "BatchNorm2d", "track_running_stats": False},
            ],
        }
    )
    model = netspec.build(spec)
    assert tuple(model(torch.zeros(3, 1, 1, 1)).shape) == (3, 1, 1, 1)
