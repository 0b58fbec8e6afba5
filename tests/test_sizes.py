"""`netspec check --sizes` and netspec.input_sizes: which input sizes a spec accepts, held to real torch."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

import netspec
from netspec.cli import cli
from netspec.sizes import describe

from .conftest import ROOT

# A two-level U-Net: two 2× poolings, and the upsampled paths joined to the skips by Concat, so the sizes
# must halve twice exactly: multiples of 4
UNET = {
    "name": "unet-mini",
    "input": [1, 32, 32],
    "layers": [
        {"type": "Conv2d", "out_channels": 4, "kernel_size": 3, "padding": 1},
        {
            "type": "Concat",
            "branches": [
                [],
                [
                    {"type": "MaxPool2d", "kernel_size": 2},
                    {
                        "type": "Concat",
                        "branches": [
                            [],
                            [
                                {"type": "MaxPool2d", "kernel_size": 2},
                                {"type": "Conv2d", "out_channels": 4, "kernel_size": 3, "padding": 1},
                                {"type": "Upsample", "scale_factor": 2},
                            ],
                        ],
                    },
                    {"type": "Upsample", "scale_factor": 2},
                ],
            ],
        },
    ],
}


@pytest.mark.parametrize(
    ("sizes", "up_to", "rule"),
    [
        ((), 64, "no H from 1 to 64"),
        ((7,), 64, "H = 7 only"),
        (tuple(range(32, 36)), 64, "32 ≤ H ≤ 35"),
        (tuple(range(5, 65)), 64, "H ≥ 5"),
        (tuple(range(16, 65, 16)), 64, "H = 16k for k ≥ 1 (16, 32, 48, …)"),
        (tuple(range(16, 49, 16)), 64, "H = 16k for 1 ≤ k ≤ 3 (16, 32, 48, …)"),
        (tuple(range(11, 65, 8)), 64, "H = 8k + 3 for k ≥ 1 (11, 19, 27, …)"),
        ((1, 2, 3, 8, 9, 20), 64, "H in 1–3, 8–9, 20"),
    ],
)
def test_sizes_are_said_as_a_rule(sizes: tuple[int, ...], up_to: int, rule: str) -> None:
    assert describe(sizes, up_to) == rule


def test_lenet_takes_32_to_35() -> None:
    """Two 5×5 convolutions and two 2×2 pools must leave 5 × 5 for the 400 features fc1 declares."""
    rows = netspec.input_sizes(netspec.load_spec(ROOT / "specs" / "lenet.yaml"))
    assert [(r.axis, r.accepted, r.rule) for r in rows] == [
        ("H", (32, 33, 34, 35), "32 ≤ H ≤ 35"),
        ("W", (32, 33, 34, 35), "32 ≤ W ≤ 35"),
        ("H = W", (32, 33, 34, 35), "32 ≤ H = W ≤ 35"),
    ]


def test_a_unet_takes_multiples_of_its_downsampling() -> None:
    rows = netspec.input_sizes(netspec.spec_from_data(UNET), up_to=40)
    assert rows[-1].rule == "H = W = 4k for k ≥ 1 (4, 8, 12, …)"
    assert rows[-1].accepted == tuple(range(4, 41, 4))


def test_sequences_vary_their_length() -> None:
    spec = netspec.spec_from_data(
        {
            "input": {"shape": [10, 4], "dims": ["L", "F"]},
            "layers": [{"type": "Conv1d", "out_channels": 2, "kernel_size": 3}],
        }
    )
    # a Conv1d reads (N, C, L): here the 10 steps are its channels, which it infers, and F its length
    assert [(r.axis, r.rule) for r in netspec.input_sizes(spec, up_to=20)] == [
        ("L", "L ≥ 1"),
        ("F", "F ≥ 3"),
        ("L = F", "L = F ≥ 3"),
    ]
    tokens = netspec.load_spec(ROOT / "specs" / "text-lstm.yaml")
    [row] = netspec.input_sizes(tokens, up_to=8)
    assert (row.axis, row.rule) == ("L", "L ≥ 1")


@pytest.mark.parametrize("which", ["lenet", "unet"])
def test_the_sizes_are_the_ones_torch_runs(which: str) -> None:
    """Every height from 1 to 40 through real torch: it runs exactly at the sizes netspec accepts."""
    pytest.importorskip("torch")
    from .oracle import run_torch

    spec = netspec.load_spec(ROOT / "specs" / "lenet.yaml") if which == "lenet" else netspec.spec_from_data(UNET)
    [h, *_] = netspec.input_sizes(spec, up_to=40)
    runs = [size for size in range(1, 41) if run_torch(spec.with_input((1, size, 32)), batch=2).failed_at is None]
    assert runs == list(h.accepted)


def test_cli_sizes() -> None:
    path = str(ROOT / "specs" / "lenet.yaml")
    result = CliRunner().invoke(cli, ["check", path, "--sizes", "--format", "concise"])
    assert result.exit_code == 0
    assert "  32 ≤ H = W ≤ 35   (declared 32; checked 1 to 64)" in result.output.splitlines()
    # a size that does not check: the error, then the sizes that do
    wrong = CliRunner().invoke(cli, ["check", path, "--input", "1,28,28", "--sizes", "--up-to", "40"])
    assert wrong.exit_code == 1
    assert "error[shape-mismatch]" in wrong.stderr
    assert "  32 ≤ H = W ≤ 35   (declared 28; checked 1 to 40)" in wrong.stdout.splitlines()
    as_json = CliRunner().invoke(cli, ["check", path, "--sizes", "--up-to", "36", "--json"])
    [entry] = json.loads(as_json.stdout)["files"]
    assert [(s["axis"], s["accepted"], s["up_to"]) for s in entry["sizes"]] == [
        ("H", [32, 33, 34, 35], 36),
        ("W", [32, 33, 34, 35], 36),
        ("H = W", [32, 33, 34, 35], 36),
    ]


def test_readme_shows_what_sizes_prints(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    command = "$ netspec check specs/lenet.yaml --sizes --format concise\n"
    shown = readme[readme.index(command) + len(command) :].split("```")[0]
    result = CliRunner().invoke(cli, ["check", "specs/lenet.yaml", "--sizes", "--format", "concise"])
    assert result.stdout.strip() == shown.strip()
