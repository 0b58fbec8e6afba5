"""Every script in examples/ runs, in a fresh process, so the examples can't rot."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from .conftest import ROOT, run_python

EXAMPLES = sorted((ROOT / "examples").glob("*.py"))
FAST = {"check_spec.py", "walk_report.py", "catch_errors.py", "spec_from_dict.py"}  # torch-free, well under a second

# What the checker's examples must print: figures from the tutorials and by hand, not from netspec
EXPECTED = {
    "check_spec.py": ["61,706 trainable parameters", "423,038 mult-adds per sample", "-> output ('N', 10)"],
    "walk_report.py": [
        " 6  flatten1  Flatten    ('N', 400)",
        "the heaviest layer is fc1 (Linear): 48,120 params",
        "after pool2, each position sees 16 input pixels across",
    ],
    "catch_errors.py": [
        "lenet-broken.yaml:10:33: error[shape-mismatch] `in_features` is 256 but the incoming tensor has 400 features",
        "help: set `in_features: 400`",
        "typos: 3 problem(s)",
        "help: did you mean `kernel_size`?",
        "help: did you mean `ReLU`?",
    ],
    "spec_from_dict.py": [
        "12x12: rejected, empty-output",
        "28x28: Flatten gives ('N', 256)",  # d2l's 16 * 4 * 4
        "32x32: Flatten gives ('N', 400)",  # the tutorial's 16 * 5 * 5
        "MLP 784-256-10: 203,530 params",  # 784 * 256 + 256 + 256 * 10 + 10
    ],
    "export_and_import.py": [
        "exported class Lenet: 61,706 parameters, same outputs: True",
        "imported small-cnn: 6 layers, 41,450 params",  # 3*16*9 + 16 + 2*16 + 4096*10 + 10
        "  - {type: Linear, out_features: 10}",
    ],
    "train_on_tensors.py": [
        "116 params (464 B in float32)",  # 2 * 16 + 16 and 16 * 4 + 4
        "(160 samples, the weights of epoch",  # a fifth of the 800 left after a fifth of 1,000 validates
        "`weight` has 3 values but the spec's output has 4 per sample",
        "  help: give `weight` one number per output (4)",
    ],
    "build_model.py": [
        "lenet: 61,706 parameters, output ('N', 10)",  # the PyTorch tutorial's count
        "forward: (4, 1, 32, 32) -> (4, 10)",
        "the reloaded model gives the same outputs",
    ],
}


def test_the_checker_examples_exist() -> None:
    assert {p.name for p in EXAMPLES} >= FAST


@pytest.mark.parametrize(
    "script",
    [pytest.param(p, id=p.name, marks=() if p.name in FAST else pytest.mark.slow) for p in EXAMPLES],
)
def test_example_runs(script: Path, tmp_path: Path) -> None:
    """Each runs from an empty folder holding only a link to specs/, so files it writes land there."""
    run = run_python([str(script)], tmp_path)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "Traceback" not in run.stderr
    assert run.stdout.strip(), "an example should show what it does"
    for line in EXPECTED.get(script.name, []):
        assert line in run.stdout, line


@pytest.mark.parametrize("script", EXAMPLES, ids=lambda p: p.name)
def test_example_opens_with_a_one_line_docstring(script: Path) -> None:
    doc = ast.get_docstring(ast.parse(script.read_text(encoding="utf-8")))
    assert doc is not None and "\n" not in doc.strip(), script.name
