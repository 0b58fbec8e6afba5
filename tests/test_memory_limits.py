"""What cannot fit in memory is refused before it is allocated, with the size that would fit."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

import netspec
import netspec.devices
from netspec.cli import cli

# 8 × 64 × 64 float32 after the convolution: 128 KiB of activations per sample, plus the input's 16 KiB
SPEC = """\
input: [1, 64, 64]
layers:
  - {type: Conv2d, out_channels: 8, kernel_size: 3, padding: 1}
  - ReLU
  - {type: AdaptiveAvgPool2d, output_size: 1}
  - Flatten
  - {type: Linear, out_features: 10}
train: {epochs: 1, batch_size: 64}
"""


@pytest.fixture
def spec_file(tmp_path: Path) -> Path:
    path = tmp_path / "wide.yaml"
    path.write_text(SPEC, encoding="utf-8")
    return path


def test_a_batch_that_cannot_fit_is_refused_before_the_data_and_the_help_fits(
    spec_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    report = netspec.check(netspec.load_spec(spec_file))
    free = 20 * report.activation_bytes  # room for a batch of about 19, not 64
    monkeypatch.setattr(netspec.devices, "available_memory", lambda: free)
    result = CliRunner().invoke(cli, ["train", str(spec_file), "--out", str(tmp_path / "run")])
    assert result.exit_code == 1, result.output
    assert "error[too-large]: a training batch of 64 needs at least" in result.stderr
    assert not (tmp_path / "run").exists()  # refused before the run directory, the data or the model
    suggested = int(re.search(r"--batch-size (\d+)", result.stderr).group(1))  # type: ignore[union-attr]
    # the floor netspec states: activations of the batch plus weights and gradients, worked here by hand
    params = report.total_params
    assert suggested * report.activation_bytes + 8 * params <= free
    assert (suggested + 1) * report.activation_bytes + 8 * params > free
    followed = CliRunner().invoke(
        cli, ["train", str(spec_file), "--out", str(tmp_path / "run"), "--batch-size", str(suggested)]
    )
    assert followed.exit_code == 0, followed.output
    assert (tmp_path / "run" / "last.pt").exists()


def test_build_does_not_run_torchinfo_when_its_forward_would_not_fit(
    spec_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(netspec.devices, "available_memory", lambda: 256 * 1024)  # 256 KiB: less than two samples
    result = CliRunner().invoke(cli, ["build", str(spec_file)])
    assert result.exit_code == 0, result.output
    assert "torchinfo not run: its forward would need" in result.stdout
    assert "verified: every layer's output shape" in result.stdout
