"""The README's examples run: its YAML specs check, its Python runs, and its shown output is what netspec prints."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

import netspec
from netspec.cli import cli

from .conftest import ROOT, run_python

README = (ROOT / "README.md").read_text(encoding="utf-8")


def blocks(lang: str) -> list[tuple[int, str]]:
    """Fenced blocks of one language, with the README line they start on."""
    found = []
    for m in re.finditer(rf"^```{lang}\n(.*?)^```$", README, flags=re.MULTILINE | re.DOTALL):
        found.append((README.count("\n", 0, m.start()) + 1, m.group(1)))
    return found


YAML_SPECS = [(line, text) for line, text in blocks("yaml") if re.search(r"^\s*layers:", text, flags=re.MULTILINE)]
PYTHON = blocks("python")


def test_the_readme_has_examples() -> None:
    assert YAML_SPECS and PYTHON


@pytest.mark.parametrize(("line", "text"), YAML_SPECS, ids=[f"line-{line}" for line, _ in YAML_SPECS])
def test_yaml_spec_checks(line: int, text: str) -> None:
    report = netspec.check(netspec.parse_spec(text, source=f"README.md:{line}"))
    assert report.layers


def _heavy(code: str) -> bool:
    """Blocks that build, export or train import torch: seconds each."""
    return any(word in code for word in ("torch", "build", "export", "train"))


@pytest.mark.parametrize(
    ("line", "code"),
    [
        pytest.param(line, code, id=f"line-{line}", marks=pytest.mark.slow if _heavy(code) else ())
        for line, code in PYTHON
    ],
)
def test_python_block_runs(line: int, code: str, tmp_path: Path) -> None:
    """Each block runs on its own, in an empty folder that has the repository's specs/."""
    run = run_python(["-c", code], tmp_path)
    assert run.returncode == 0, f"README.md line {line}:\n{run.stderr[-3000:]}"


def test_python_api_block_prints_what_its_comment_says(tmp_path: Path) -> None:
    (code,) = [code for _, code in PYTHON if "report = netspec.check(spec)" in code]
    (tmp_path / "specs").symlink_to(ROOT / "specs")
    run = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert run.stdout.splitlines()[0] == "('N', 10) 61706 423038"


def test_shown_table_is_what_check_prints(monkeypatch: pytest.MonkeyPatch) -> None:
    """The opening `netspec check specs/lenet.yaml` transcript: every line shown (bar the `...`) is real."""
    monkeypatch.chdir(ROOT)
    (_, shown), *_ = [b for b in blocks("console") if b[1].startswith("$ netspec check specs/lenet.yaml\n")]
    expected = [line for line in shown.splitlines()[1:] if line.strip() and line.strip() != "..."]
    result = CliRunner().invoke(cli, ["check", "specs/lenet.yaml"])
    assert result.exit_code == 0
    actual = result.stdout.splitlines()
    for line in expected:
        assert line in actual, line


def test_shown_diagnostic_is_what_check_prints(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each ```text block that shows an error is the rendering of the spec it names, exactly."""
    monkeypatch.chdir(ROOT)
    shown = [text for _, text in blocks("text") if re.match(r"(error|warning)\[", text)]
    assert shown
    for text in shown:
        match = re.search(r"--> (\S+?):\d+:\d+", text)
        assert match, text
        result = CliRunner().invoke(cli, ["check", match.group(1)])
        assert text in result.stderr
