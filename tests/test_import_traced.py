"""`netspec import` of an nn.Module whose forward is a chain (the tutorials' `class Net`), traced with torch.fx.

torch is the oracle: the spec netspec writes is built, given the module's own weights, and must compute what the
module computes on the same input.
"""

from __future__ import annotations

import sys
import uuid
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from click.testing import CliRunner
from torch import nn

import netspec
from netspec.builder import build
from netspec.cli import cli
from netspec.diagnostics import SpecError
from netspec.from_torch import from_module, import_object
from netspec.layers import MaxPool1d, Softmax

# The PyTorch 60-minute blitz's networks, as the tutorials write them (tests/…/seeds: 000 is the first one)
TUTORIAL = '''\
import torch
import torch.nn as nn
import torch.nn.functional as F


class Net(nn.Module):
    """The "neural networks" tutorial's LeNet: functional ReLU, max pooling and flatten between submodules."""

    def __init__(self):
        super(Net, self).__init__()
        self.conv1 = nn.Conv2d(1, 6, 5)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, input):
        c1 = F.relu(self.conv1(input))
        s2 = F.max_pool2d(c1, (2, 2))
        c3 = F.relu(self.conv2(s2))
        s4 = F.max_pool2d(c3, 2)
        s4 = torch.flatten(s4, 1)
        f5 = F.relu(self.fc1(s4))
        f6 = F.relu(self.fc2(f5))
        output = self.fc3(f6)
        return output


class CifarNet(nn.Module):
    """The CIFAR-10 tutorial's: one pooling module used twice, x.view(-1, 16 * 5 * 5), and a softmax at the end."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 6, 5)
        self.pool = nn.MaxPool2d(2, 2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x):
        x = self.pool(F.relu(self.conv1(x)))
        x = self.pool(F.relu(self.conv2(x)))
        x = x.view(-1, 16 * 5 * 5)
        x = torch.relu(self.fc1(x))
        x = F.relu(self.fc2(x)).view(x.size(0), -1)
        x = self.fc3(x)
        return F.log_softmax(x, dim=1)


class Methods(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4))
        self.head = nn.Linear(4, 3)

    def forward(self, x):
        x = F.avg_pool2d(self.features(x).relu(), 2, stride=2)
        x = F.adaptive_avg_pool2d(F.leaky_relu(x, 0.2), 1).flatten(1)
        return torch.sigmoid(self.head(x)).softmax(-1)


class Skip(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(8, 8)
        self.fc2 = nn.Linear(8, 8)

    def forward(self, x):
        y = F.relu(self.fc1(x))
        return x + self.fc2(y)


class Ops(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(8, 8)

    def forward(self, x):
        x = torch.square(self.fc(x))
        x = x.view(-1, 2, 4)
        return x


class TwoIn(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(8, 8)

    def forward(self, x, y):
        return self.fc(x)


class Pair(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(8, 8)

    def forward(self, x):
        h = self.fc(x)
        return h, h


class Weight(nn.Module):
    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.randn(8, 8))

    def forward(self, x):
        return x @ self.w


class Shared(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(8, 8)

    def forward(self, x):
        return self.fc(F.relu(self.fc(x)))


class Recurrent(nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn = nn.LSTM(8, 8)
        self.fc = nn.Linear(8, 2)

    def forward(self, x):
        return self.fc(self.rnn(x)[0])


class Nothing(nn.Module):
    def forward(self, x):
        return x


class Unused(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(8, 8)

    def forward(self, x, scale=None):
        return torch.tanh(self.fc(x))


class Branchy(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(8, 8)

    def forward(self, x):
        if x.sum() > 0:
            return self.fc(x)
        return x
'''


@pytest.fixture
def tutorial(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """The tutorial's code as a module of the working directory, under a fresh name (Python caches modules)."""
    module = f"tutorial_{uuid.uuid4().hex}"
    (tmp_path / f"{module}.py").write_text(TUTORIAL, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))
    return module


def same_function(module: nn.Module, spec: netspec.Spec) -> None:
    """The spec's model, given the module's weights (same state_dict keys), computes what the module computes."""
    model = build(spec)
    assert list(model.state_dict()) == list(module.state_dict())
    model.load_state_dict(module.state_dict())
    x = torch.randn(4, *spec.input)
    with torch.no_grad():
        torch.testing.assert_close(model.eval()(x), module.eval()(x), rtol=0, atol=0)


HEAD = ["Linear", "Sigmoid", "Softmax"]
FEATURES = ["Conv2d", "ReLU", "MaxPool2d", "Conv2d", "ReLU", "MaxPool2d", "Flatten"]


@pytest.mark.parametrize(
    ("cls", "shape", "types"),
    [
        (
            "Net",
            (1, 32, 32),
            [*FEATURES, "Linear", "ReLU", "Linear", "ReLU", "Linear"],
        ),
        (
            "CifarNet",
            (3, 32, 32),
            [*FEATURES, "Linear", "ReLU", "Linear", "ReLU", "Linear", "LogSoftmax"],
        ),
        (
            "Methods",
            (3, 8, 8),
            ["Sequential", "ReLU", "AvgPool2d", "LeakyReLU", "AdaptiveAvgPool2d", "Flatten", *HEAD],
        ),
    ],
)
def test_a_chain_forward_imports_as_the_layers_it_runs(
    tutorial: str, cls: str, shape: tuple[int, ...], types: list[str]
) -> None:
    module = import_object(tutorial, cls)
    spec = from_module(module, shape)
    assert [layer.type for layer in spec.layers] == types
    same_function(module, spec)


def test_the_tutorial_net_through_the_cli_builds_to_the_same_function(tutorial: str, tmp_path: Path) -> None:
    out = tmp_path / "net.yaml"
    result = CliRunner().invoke(cli, ["import", f"python:{tutorial}:Net", "--input", "1,32,32", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "(12 layers, 61,706 parameters)" in result.stderr  # the tutorial's 61,706, as `netspec check` counts
    spec = netspec.load_spec(out)
    assert netspec.check(spec).output_shape == ("N", 10)
    same_function(import_object(tutorial, "Net"), spec)


def diagnostics(tutorial: str, cls: str, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["import", f"python:{tutorial}:{cls}", "--input", *args])
    assert "Traceback" not in result.output
    return result.exit_code, result.stderr


def test_a_join_is_named_with_its_line_in_the_forward(tutorial: str) -> None:
    code, stderr = diagnostics(tutorial, "Skip", "8")
    assert code == 1
    line = TUTORIAL.splitlines().index("        return x + self.fc2(y)") + 1
    assert f"error[unknown-layer]: `+` at {tutorial}.py:{line} takes 2 tensors" in stderr
    assert "Residual" in stderr  # the spec's way to write it


def test_ops_without_a_layer_are_each_named(tutorial: str) -> None:
    with pytest.raises(SpecError) as e:
        from_module(import_object(tutorial, "Ops"), (8,))
    lines = TUTORIAL.splitlines()
    square = lines.index("        x = torch.square(self.fc(x))") + 1
    view = lines.index("        x = x.view(-1, 2, 4)") + 1
    messages = [d.message for d in e.value.diagnostics]
    assert messages[0] == f"torch.square at {tutorial}.py:{square} has no netspec layer"
    assert messages[1].startswith(f"x.view at {tutorial}.py:{view} turns (2, 8) into (2, 2, 4)")
    assert all(d.code == "unknown-layer" for d in e.value.diagnostics)


def test_data_dependent_control_flow_cannot_be_traced(tutorial: str) -> None:
    code, stderr = diagnostics(tutorial, "Branchy", "8")
    assert code == 1
    assert "torch.fx cannot trace" in stderr and "Branchy.forward" in stderr


def test_the_wrong_input_names_the_step_that_fails(tutorial: str) -> None:
    code, stderr = diagnostics(tutorial, "Net", "1,28,28")
    assert code == 1
    line = TUTORIAL.splitlines().index("        f5 = F.relu(self.fc1(s4))") + 1
    assert f"self.fc1 at {tutorial}.py:{line} fails on its input (2, 256)" in stderr
    assert "--input" in stderr


def test_functional_arguments_reach_the_layer() -> None:
    class Soft(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc = nn.Linear(6, 4)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.softmax(F.max_pool1d(self.fc(x), 2, 1, ceil_mode=True), dim=-1)

    module = Soft()
    spec = from_module(module, (3, 6))
    pool, softmax = spec.layers[1:]
    assert isinstance(pool, MaxPool1d) and isinstance(softmax, Softmax)
    assert (pool.kernel_size, pool.stride, pool.ceil_mode, softmax.dim) == (2, 1, True, -1)
    same_function(module, spec)


def line_of(text: str) -> int:
    return TUTORIAL.splitlines().index(text) + 1


@pytest.mark.parametrize(
    ("cls", "message"),
    [
        ("TwoIn", "{m}.TwoIn.forward takes more than one input (`y` besides `x`)"),
        ("Pair", "{m}.Pair.forward returns something other than one tensor"),
        (
            "Weight",
            "self.w at {m}.py:{line} is a tensor the forward computes with itself, not a layer",
        ),
        ("Shared", "self.fc at {m}.py:{line} is called a second time: shared weights, which a spec cannot express"),
        ("Recurrent", "self.rnn at {m}.py:{line} returns a tuple, not a tensor"),
        ("Nothing", "{m}.Nothing.forward runs no layers: it returns its input"),
    ],
)
def test_what_a_chain_cannot_be_is_one_clear_error(tutorial: str, cls: str, message: str) -> None:
    lines = {
        "Weight": "        return x @ self.w",
        "Shared": "        return self.fc(F.relu(self.fc(x)))",
        "Recurrent": "        return self.fc(self.rnn(x)[0])",
    }
    code, stderr = diagnostics(tutorial, cls, "8")
    assert code == 1
    first = stderr.splitlines()[0]
    line = line_of(lines[cls]) if cls in lines else 0
    assert first.split(": ", 1)[1] == message.format(m=tutorial, line=line)


def test_an_unused_argument_with_a_default_is_no_input(tutorial: str) -> None:
    module = import_object(tutorial, "Unused")
    spec = from_module(module, (8,))
    assert [layer.type for layer in spec.layers] == ["Linear", "Tanh"]
    same_function(module, spec)
