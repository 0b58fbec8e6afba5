"""`netspec check` through click's CliRunner: exit codes, what goes to stdout and stderr, JSON and concise output."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

import netspec
from netspec.cli import cli

from .conftest import ROOT, SPECS, usage_error_line

LENET = "specs/lenet.yaml"
BROKEN = "tests/golden/shape-mismatch.yaml"  # LeNet with in_features 256 where 400 arrive
WARNS = "tests/golden/implicit-dim.yaml"  # valid, with a warning


@pytest.fixture(autouse=True)
def at_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)


def check(*args: str) -> Result:
    return CliRunner().invoke(cli, ["check", *args])


def test_valid_spec_prints_the_table_and_exits_0() -> None:
    result = check(LENET)
    assert result.exit_code == 0
    assert result.stderr == ""
    lines = result.stdout.splitlines()
    assert lines[0] == "lenet  (specs/lenet.yaml)"
    assert lines[1].split() == ["#", "layer", "type", "output", "params", "mult-adds", "rf", "/jump", "activations"]
    assert lines[3].split()[:6] == ["0", "conv1", "Conv2d", "(N,", "6,", "28,"]
    assert "61,706 params (241.0 KiB in float32), 423,038 mult-adds per sample" in result.stdout
    assert lines[-2] == "output (N, 10)"


def test_error_goes_to_stderr_and_exits_1() -> None:
    result = check(BROKEN)
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.startswith(
        "error[shape-mismatch]: `in_features` is 256 but the incoming tensor has 400 features\n"
    )
    assert f"--> {BROKEN}:13:33" in result.stderr


def test_warnings_go_to_stderr_and_still_exit_0() -> None:
    result = check(WARNS)
    assert result.exit_code == 0
    assert result.stderr.startswith("warning[implicit-dim]: Softmax without `dim`")
    assert "output (N, 10)" in result.stdout
    assert "warning" not in result.stdout


def test_missing_file_exits_2() -> None:
    result = check("specs/lenet.yml")
    assert result.exit_code == 2
    assert result.stderr.startswith("error[io-error]: no such file: specs/lenet.yml")


@pytest.mark.parametrize(
    ("args", "parts"),
    [
        (
            ["--input", "0,28,28", LENET],
            ["--input", "expected 1 to 4 positive sizes such as C,H,W or F, got '0,28,28'"],
        ),
        (
            ["--input", "1,2,3,4,5", LENET],
            ["--input", "expected 1 to 4 positive sizes such as C,H,W or F, got '1,2,3,4,5'"],
        ),
        (["--input", "one", LENET], ["--input", "expected 1 to 4 positive sizes such as C,H,W or F, got 'one'"]),
        (  # one past torch's int64 limit: a usage error, not an internal error
            ["--input", "9223372036854775808", LENET],
            ["--input", "sizes must be at most 2^63 - 1 (torch's int64 limit), got '9223372036854775808'"],
        ),
        # click words these three itself (and rewords them between releases): the option and value it names count
        (["--format", "short", LENET], ["--format", "short"]),
        (["--bogus", LENET], ["--bogus"]),
        ([], ["FILES"]),
    ],
)
def test_usage_errors_exit_2(args: list[str], parts: list[str]) -> None:
    result = check(*args)
    usage_error_line(result, *parts)
    assert result.stdout == ""


def test_with_input_refuses_a_bad_shape_with_a_diagnostic() -> None:
    spec = netspec.load_spec(LENET)
    for shape in [(2**63,), (3, 32, 32, 32, 32), (0, 28, 28)]:
        with pytest.raises(netspec.SpecError) as e:
            spec.with_input(shape)
        [d] = e.value.diagnostics
        assert (d.code, d.path) == ("invalid-value", ("input",))
        assert d.message == (
            "`input` must be a list of 1 to 4 positive sizes ([features], [channels, length], [channels, height, width]"
            " or [channels, depth, height, width]), or a mapping {shape, dims, tokens},"
            f" got {list(shape)}"
        )


def test_unknown_command_suggests_check() -> None:
    result = CliRunner().invoke(cli, ["chek", LENET])
    error = usage_error_line(result, "chek")
    assert re.search(r"\bcheck\b", error)  # click's did-you-mean, in whatever words this click uses


def test_input_override_makes_lenet_mismatch() -> None:
    """On 1×28×28, LeNet's Flatten gives 16 × 4 × 4 = 256 features, so `in_features: 400` is wrong."""
    result = check("--input", "1,28,28", LENET)
    assert result.exit_code == 1
    first = result.stderr.splitlines()[0]
    assert first == "error[shape-mismatch]: `in_features` is 400 but the incoming tensor has 256 features"
    assert "16 × 4 × 4 = 256" in result.stderr
    assert "help: set `in_features: 256`, or remove it and netspec infers it" in result.stderr


def test_input_override_accepts_other_sizes() -> None:
    result = check("--input", "3x32x32", "specs/cifar10-net.yaml", "--format", "concise")
    assert result.exit_code == 0
    assert result.stdout == "specs/cifar10-net.yaml: ok, 145,578 params, 12,399,306 mult-adds, output (N, 10)\n"


def test_concise_lines_are_exact() -> None:
    result = check("--format", "concise", LENET, BROKEN, "tests/golden/unknown-layer.yaml", WARNS)
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        "specs/lenet.yaml: ok, 61,706 params, 423,038 mult-adds, output (N, 10)",
        "tests/golden/implicit-dim.yaml: ok, 7,850 params, 7,850 mult-adds, output (N, 10)",
    ]
    assert result.stderr.splitlines() == [
        f"{BROKEN}:13:33: error[shape-mismatch]: `in_features` is 256 but the incoming tensor has 400 features",
        "tests/golden/unknown-layer.yaml:4:12: error[unknown-layer]: unknown layer type `Dense`",
        "tests/golden/unknown-layer.yaml:5:5: error[unknown-layer]: unknown layer type `Relu`",
        "tests/golden/implicit-dim.yaml:5:5: warning[implicit-dim]: Softmax without `dim` normalises over dim 1 of this"
        " (N, 10) input (torch's implicit choice, deprecated)",
    ]


def test_several_files_report_each_and_exit_with_the_worst() -> None:
    result = check(LENET, BROKEN, "no/such.yaml", "specs/cifar10-net.yaml")
    assert result.exit_code == 2  # a missing file is a usage error, worse than a spec error
    assert result.stdout.count("output (N, 10)") == 2  # both valid specs still get their tables
    assert "error[shape-mismatch]" in result.stderr
    assert "error[io-error]: no such file: no/such.yaml" in result.stderr
    assert check(LENET, BROKEN).exit_code == 1
    assert check(LENET, WARNS).exit_code == 0


def test_folder_checks_every_spec_in_it() -> None:
    result = check("specs", "--format", "concise")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert [line.split(":")[0] for line in lines] == [str(Path("specs") / p.name) for p in SPECS]
    assert "specs/lenet5-d2l.yaml: ok, 44,426 params" in result.stdout


def test_folder_with_broken_specs(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("input: [10]\nlayers: [{type: Linear, out_features: 2}]\n")
    (tmp_path / "b.yml").write_text("input: [10]\nlayers: [{type: Linear, in_features: 3, out_features: 2}]\n")
    (tmp_path / "notes.txt").write_text("not a spec")
    result = check(str(tmp_path), "--format", "concise")
    assert result.exit_code == 1
    assert result.stdout == f"{tmp_path / 'a.yaml'}: ok, 22 params, 22 mult-adds, output (N, 2)\n"
    assert result.stderr == (
        f"{tmp_path / 'b.yml'}:2:38: error[shape-mismatch]: `in_features` is 3 but the incoming tensor has 10"
        " features\n"
    )


def test_json_report_has_the_figures() -> None:
    result = check("--json", LENET)
    assert result.exit_code == 0
    assert result.stderr == ""
    (entry,) = json.loads(result.stdout)["files"]
    assert entry["file"] == LENET and entry["ok"] is True and entry["diagnostics"] == []
    report = entry["report"]
    assert report["total_params"] == 61706
    assert report["total_mult_adds"] == 423038
    assert report["input_shape"] == ["N", 1, 32, 32]
    assert report["output_shape"] == ["N", 10]
    assert report["param_bytes"] == 61706 * 4
    layers = {layer["name"]: layer for layer in report["layers"]}
    assert layers["conv1"]["output_shape"] == ["N", 6, 28, 28]
    assert layers["conv1"]["params"] == 156
    assert layers["conv1"]["mult_adds"] == 156 * 28 * 28
    assert layers["conv1"]["activation_bytes"] == 6 * 28 * 28 * 4
    assert layers["pool2"]["receptive_field"] == {"size": [16, 16], "jump": [4, 4]}
    assert layers["flatten1"]["output_shape"] == ["N", 400]
    assert layers["flatten1"]["receptive_field"] is None
    assert layers["fc1"]["params"] == 400 * 120 + 120


def test_json_carries_errors_and_warnings() -> None:
    result = check("--json", BROKEN, WARNS, "no/such.yaml")
    assert result.exit_code == 2
    assert result.stderr == ""
    broken, warns, missing = json.loads(result.stdout)["files"]
    assert broken["ok"] is False and "report" not in broken
    (d,) = broken["diagnostics"]
    assert d["code"] == "shape-mismatch"
    assert d["severity"] == "error"
    assert (d["file"], d["line"], d["column"], d["end_line"], d["end_column"]) == (BROKEN, 13, 33, 13, 36)
    assert d["path"] == "layers[7].in_features"
    assert d["help"] == "set `in_features: 400`, or remove it and netspec infers it"
    assert d["notes"] == ["layer 6 (flatten1: Flatten) turns (N, 16, 5, 5) into (N, 400): 16 × 5 × 5 = 400"]
    assert warns["ok"] is True
    assert [(w["code"], w["severity"]) for w in warns["diagnostics"]] == [("implicit-dim", "warning")]
    assert missing["ok"] is False
    assert missing["diagnostics"][0]["code"] == "io-error"
    assert "line" not in missing["diagnostics"][0]


def test_version() -> None:
    result = CliRunner().invoke(cli, ["--version"])
    assert result.exit_code == 0
    assert result.stdout == f"netspec, version {netspec.__version__}\n"


def test_help_shows_examples() -> None:
    top = CliRunner().invoke(cli, ["--help"])
    assert top.exit_code == 0
    assert "check" in top.stdout
    assert "Examples:" in top.stdout
    assert "netspec check specs/lenet.yaml" in top.stdout
    sub = CliRunner().invoke(cli, ["check", "-h"])
    assert sub.exit_code == 0
    for option in ("--input", "--json", "--format"):
        assert option in sub.stdout
    assert "netspec check lenet.yaml --input 1,28,28" in sub.stdout


def test_python_dash_m_netspec() -> None:
    env = {**os.environ, "NO_COLOR": "1"}
    run = subprocess.run(
        [sys.executable, "-m", "netspec", "check", LENET, "--format", "concise"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout == "specs/lenet.yaml: ok, 61,706 params, 423,038 mult-adds, output (N, 10)\n"
    version = subprocess.run([sys.executable, "-m", "netspec", "--version"], capture_output=True, text=True, timeout=60)
    assert version.stdout == f"netspec, version {netspec.__version__}\n"
    broken = subprocess.run(
        [sys.executable, "-m", "netspec", "check", BROKEN],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert broken.returncode == 1
    assert "Traceback" not in broken.stderr


def test_closed_pipe_is_not_an_error() -> None:
    """`netspec check specs/ | head -1` must not end in a BrokenPipeError traceback."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "netspec", "check", *(["specs/nin.yaml"] * 300)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stderr is not None
    assert proc.stdout.readline() == "nin  (specs/nin.yaml)\n"
    proc.stdout.close()
    stderr = proc.stderr.read()
    assert proc.wait(timeout=60) == 0
    assert stderr == ""
