"""Shared test settings: hypothesis profiles and the folders tests read from."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

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


def pytest_addoption(parser: object) -> None:
    parser.addoption(  # type: ignore[attr-defined]
        "--update-golden", action="store_true", default=False, help="rewrite the golden files from current output"
    )
