"""The documentation's examples run: in the README and docs/, its YAML specs check, its Python runs, and its shown
output is what netspec prints."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

import netspec
from netspec.cli import cli

from .conftest import DOC_FILES, ROOT, run_python


def blocks(lang: str) -> list[tuple[str, str]]:
    """Fenced blocks of one language in every documentation file, each with `file:line` where it starts."""
    found = []
    for path in DOC_FILES:
        text = path.read_text(encoding="utf-8")
        for m in re.finditer(rf"^```{lang}\n(.*?)^```$", text, flags=re.MULTILINE | re.DOTALL):
            found.append((f"{path.relative_to(ROOT)}:{text.count(chr(10), 0, m.start()) + 1}", m.group(1)))
    return found


# whole specs (an `input:` at the top level); fragments that show a part of one are not checked on their own
YAML_SPECS = [(where, text) for where, text in blocks("yaml") if re.search(r"^input:", text, flags=re.MULTILINE)]
PYTHON = blocks("python")


def test_the_documentation_has_examples() -> None:
    assert YAML_SPECS and PYTHON
    assert any(where.startswith("docs/") for where, _ in YAML_SPECS)


@pytest.mark.parametrize(("where", "text"), YAML_SPECS, ids=[where for where, _ in YAML_SPECS])
def test_yaml_spec_checks(where: str, text: str) -> None:
    report = netspec.check(netspec.parse_spec(text, source=where))
    assert report.total_params >= 0 and report.layers  # it checked: no SpecError


def _heavy(code: str) -> bool:
    """Blocks that build, export or train import torch: seconds each."""
    return any(word in code for word in ("torch", "build", "export", "train"))


@pytest.mark.parametrize(
    ("where", "code"),
    [pytest.param(where, code, id=where, marks=pytest.mark.slow if _heavy(code) else ()) for where, code in PYTHON],
)
def test_python_block_runs(where: str, code: str, tmp_path: Path) -> None:
    """Each block runs on its own, in an empty folder that has the repository's specs/."""
    run = run_python(["-c", code], tmp_path)
    assert run.returncode == 0, f"{where}:\n{run.stderr[-3000:]}"


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


def test_shown_block_table_is_what_check_prints(tmp_path: Path) -> None:
    """The README's `netspec check resnet-mini.yaml` transcript is the check of the spec shown above it."""
    (spec,) = [text for _, text in YAML_SPECS if text.startswith("name: resnet-mini\n")]
    (tmp_path / "resnet-mini.yaml").write_text(spec, encoding="utf-8")
    (_, shown), *_ = [b for b in blocks("console") if b[1].startswith("$ netspec check resnet-mini.yaml\n")]
    expected = [line for line in shown.splitlines()[1:] if line.strip() and line.strip() != "..."]
    result = CliRunner().invoke(cli, ["check", str(tmp_path / "resnet-mini.yaml")])
    assert result.exit_code == 0
    actual = result.stdout.splitlines()
    assert len(expected) > 10
    rest = iter(actual)
    assert all(line in rest for line in expected), "a line shown is not printed, or not in this order"


def test_shown_sizes_are_what_check_prints(monkeypatch: pytest.MonkeyPatch) -> None:
    """The README's `--sizes` transcript, exactly."""
    monkeypatch.chdir(ROOT)
    (_, shown), *_ = [b for b in blocks("console") if b[1].startswith("$ netspec check specs/unet-small.yaml --sizes")]
    result = CliRunner().invoke(cli, ["check", "specs/unet-small.yaml", "--sizes"])
    assert result.exit_code == 0
    assert result.stdout.rstrip("\n") == "\n".join(shown.splitlines()[1:])


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
