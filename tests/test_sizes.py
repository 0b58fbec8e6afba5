"""`netspec check --sizes`: which input sizes a spec accepts, held to what torch runs."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

import netspec
from netspec.cli import cli
from netspec.sizes import describe, input_sizes

from .conftest import ROOT
from .oracle import run_torch

LENET = ROOT / "specs" / "lenet.yaml"
UNET = ROOT / "specs" / "unet-small.yaml"


@pytest.mark.parametrize(("path", "high"), [(LENET, 48), (UNET, 40)], ids=["lenet", "unet-small"])
def test_the_sizes_that_fit_are_the_sizes_torch_runs(path: object, high: int) -> None:
    """Every candidate size, each axis alone: netspec's `fits` is exactly the set torch's forward accepts."""
    spec = netspec.load_spec(path)  # type: ignore[arg-type]
    for axis in input_sizes(spec, 1, high):
        runs = []
        for size in range(1, high + 1):
            shape = [size if i in axis.dims else n for i, n in enumerate(spec.input)]
            if run_torch(spec.with_input(tuple(shape)), batch=2).failed_at is None:
                runs.append(size)
        assert axis.fits == tuple(runs), axis.axis


def test_lenet_accepts_32_to_35_and_the_unet_multiples_of_4() -> None:
    """The two answers the issue names, from the specs themselves."""
    lenet = {a.axis: a for a in input_sizes(netspec.load_spec(LENET), 1, 64)}
    assert lenet["H"].fits == (32, 33, 34, 35) and lenet["H"].rule == "32 ≤ H ≤ 35"
    assert lenet["C"].fits == (1,)  # conv1 declares in_channels: 1
    unet = {a.axis: a for a in input_sizes(netspec.load_spec(UNET), 1, 64)}
    assert unet["W"].fits == tuple(range(4, 65, 4))
    assert unet["W"].rule == "W = 4k, W ≥ 4 (tried up to 64)"


@pytest.mark.parametrize(
    ("fits", "low", "high", "rule"),
    [
        ((), 1, 20, "no size from 1 to 20"),
        ((7,), 1, 20, "H = 7"),
        ((32, 33, 34, 35), 1, 64, "32 ≤ H ≤ 35"),
        (tuple(range(1, 11)), 1, 20, "H ≤ 10"),
        (tuple(range(1, 21)), 1, 20, "any H (tried up to 20)"),
        (tuple(range(9, 21)), 1, 20, "H ≥ 9 (tried up to 20)"),
        ((16, 32, 48, 64), 1, 64, "H = 16k, H ≥ 16 (tried up to 64)"),
        ((3, 7, 11), 1, 12, "H = 4k + 3, 3 ≤ H ≤ 11"),
        ((8, 9, 12, 13, 16, 17, 20), 1, 20, "H mod 4 in {0, 1}, H ≥ 8 (tried up to 20)"),
        ((2, 3, 5, 7, 11, 13), 1, 14, "H in {2, 3, 5, 7, 11, 13}"),
    ],
)
def test_a_set_of_sizes_is_described_by_the_rule_it_follows(
    fits: tuple[int, ...], low: int, high: int, rule: str
) -> None:
    assert describe("H", fits, low, high) == rule


def test_cli_prints_one_line_per_axis_and_json_carries_the_sets() -> None:
    runner = CliRunner()
    text = runner.invoke(cli, ["check", str(LENET), "--sizes", "1:40"])
    assert text.exit_code == 0, text.output
    lines = text.stdout.splitlines()
    assert [line.split("  ")[1] for line in lines[1:5]] == ["C", "H", "W", "H = W"]
    assert "32 ≤ H ≤ 35" in lines[2] and "declared 32" in lines[2]
    data = json.loads(runner.invoke(cli, ["check", str(LENET), "--sizes", "30:40", "--json"]).stdout)
    [entry] = data["files"]
    assert entry["ok"] and entry["report"]["name"] == "lenet"
    assert {a["axis"]: a["fits"] for a in entry["sizes"]}["W"] == [32, 33, 34, 35]


def test_a_spec_whose_input_does_not_fit_gets_its_errors_and_the_sizes_that_would() -> None:
    """LeNet given 28×28: no height fits with the width at 28, but a square of 32 to 35 does."""
    result = CliRunner().invoke(cli, ["check", str(LENET), "--input", "1,28,28", "--sizes", "20:40"])
    assert result.exit_code == 1
    assert "shape-mismatch" in result.stderr
    square = [line for line in result.stdout.splitlines() if line.startswith("  H = W")]
    assert square and "32 ≤ H = W ≤ 35" in square[0] and "declared 28, which does not fit" in square[0]


@pytest.mark.parametrize("value", ["5", "a:b", "10:5", "0:3", "1:100000"])
def test_a_bad_range_is_a_usage_error(value: str) -> None:
    result = CliRunner().invoke(cli, ["check", str(LENET), "--sizes", value])
    assert result.exit_code == 2
    assert "--sizes" in result.stderr and "Traceback" not in result.output


def test_a_token_sequence_varies_its_length_and_a_signal_its_samples() -> None:
    """The text classifier takes any length (its LSTM passes on the last step); M5 needs enough samples."""
    [length] = input_sizes(netspec.load_spec(ROOT / "specs" / "text-lstm.yaml"), 1, 40)
    assert (length.axis, length.fits) == ("L", tuple(range(1, 41)))
    m5 = {a.axis: a for a in input_sizes(netspec.load_spec(ROOT / "specs" / "m5-audio.yaml"), 6000, 8192)}
    assert set(m5) == {"C", "L"}  # one spatial axis: no row for several together
    fits = m5["L"].fits
    assert fits and fits[0] > 6000 and fits == tuple(range(fits[0], 8193))  # every length from its smallest
