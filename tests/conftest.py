"""Shared test settings: hypothesis profiles and the folders tests read from."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from click.testing import Result
from hypothesis import HealthCheck, settings

ROOT = Path(__file__).resolve().parent.parent
SPECS = sorted((ROOT / "specs").glob("*.yaml"))
# The documentation: the README, and the reference it links to in docs/. Tests run its examples.
DOC_FILES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
DOCS = "\n".join(p.read_text(encoding="utf-8") for p in DOC_FILES)

# CI runs the full 1,000-spec property test; NETSPEC_QUICK=1 trims it for local iteration.
settings.register_profile(
    "default", max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=False
)
settings.register_profile("quick", max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("quick" if os.environ.get("NETSPEC_QUICK") else "default")


def run_python(args: list[str], folder: Path) -> subprocess.CompletedProcess[str]:
    """`python ARGS` in `folder`, which gets a link to the repository's specs/ (so files it writes land there)."""
    (folder / "specs").symlink_to(ROOT / "specs")
    return subprocess.run(
        [sys.executable, *args],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=300,
        env={
            **os.environ,
            "NO_COLOR": "1",
            "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
        },
    )


def usage_error_line(result: Result, *parts: str) -> str:
    """The line of a usage error (exit 2) that holds every part: netspec's own words and the option's name.

    click frames that line itself ("Error: Invalid value for '--input': ...") and may reword the framing in any
    release, so tests look for netspec's text and the option, not for click's words around them.
    """
    assert result.exit_code == 2, result.output
    lines = [line for line in result.stderr.splitlines() if all(part in line for part in parts)]
    assert lines, f"no line of stderr holds all of {parts}:\n{result.stderr}"
    return lines[0]


def pytest_addoption(parser: object) -> None:
    parser.addoption(  # type: ignore[attr-defined]
        "--update-golden", action="store_true", default=False, help="rewrite the golden files from current output"
    )
