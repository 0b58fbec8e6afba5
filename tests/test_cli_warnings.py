"""Warnings are shown once: the spec's own by `train`, `build` and `build --train`, and torch's repeated ones."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
from click.testing import CliRunner

from netspec.cli import cli
from netspec.commands.output import warnings_once

# Both of netspec's warnings: Linear on an unflattened (N, 1, 8, 8) and a Softmax without `dim`, which torch
# also warns about, from two places in Module.__call__, once per batch
WARNS = """\
name: warns
input: [1, 8, 8]
layers:
  - {type: Linear, out_features: 8}
  - Flatten
  - {type: Linear, out_features: 10}
  - Softmax
train: {epochs: 2, batch_size: 256}
"""


@pytest.fixture
def spec(tmp_path: Path) -> Path:
    path = tmp_path / "warns.yaml"
    path.write_text(WARNS)
    return path


def counts(stderr: str) -> tuple[int, int, int]:
    """(missing-flatten, implicit-dim, Python warnings) lines in the output."""
    lines = stderr.splitlines()
    return (
        sum(line.startswith("warning[missing-flatten]") for line in lines),
        sum(line.startswith("warning[implicit-dim]") for line in lines),
        sum(line.startswith("warning (") for line in lines),
    )


@pytest.mark.parametrize(
    "command",
    [["train"], ["build", "--train"], ["build"]],
    ids=["train", "build --train", "build"],
)
def test_each_warning_once(spec: Path, tmp_path: Path, command: list[str]) -> None:
    out = ["--out", str(tmp_path / "run")] if "--train" in command or command == ["train"] else []
    result = CliRunner().invoke(cli, [*command, str(spec), *out])
    assert result.exit_code == 0, result.output
    flatten, dim, python = counts(result.stderr)
    assert (flatten, dim) == (1, 1)
    # torch warns about the implicit dim on every forward; `build` runs the model (verify, torchinfo) too
    assert python == 1


def test_warnings_once_keeps_the_first_of_each_message(capsys: pytest.CaptureFixture[str]) -> None:
    with warnings_once():
        for _ in range(3):
            warnings.warn("the same words", UserWarning, stacklevel=1)  # one place, three times
        warnings.warn("the same words", UserWarning, stacklevel=1)  # another place
        warnings.warn("other words", DeprecationWarning, stacklevel=1)
    assert capsys.readouterr().err.splitlines() == [
        "warning (UserWarning): the same words",
        "warning (DeprecationWarning): other words",
    ]
