"""Golden files for what users read when a spec is wrong: each broken spec in tests/golden/ and its rendering.

`tests/golden/<code>[-variant].yaml` is a broken spec whose first diagnostic has that code;
`<same name>.out` holds `netspec check` on it, full and concise, as a terminal shows them.
`pytest --update-golden` rewrites the .out files; review the diff like code.
"""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from netspec.cli import cli
from netspec.diagnostics import CODES

from .conftest import ROOT

GOLDEN = ROOT / "tests" / "golden"
MISSING = "io-error"  # the one case without a spec file: checking a path that does not exist


def cases() -> list[str]:
    return [*sorted(p.stem for p in GOLDEN.glob("*.yaml")), MISSING]


def spec_path(case: str) -> str:
    """The path as the user typed it, relative to the repository root (the test runs there)."""
    return "tests/golden/no-such-spec.yaml" if case == MISSING else f"tests/golden/{case}.yaml"


def expected_code(case: str) -> str:
    """The code a case is named after: the longest code that prefixes its name."""
    return max((c for c in CODES if case == c or case.startswith(c + "-")), key=len)


def transcript(case: str) -> str:
    """What a terminal shows for `netspec check` on the case, in both formats, with the exit status."""
    runner = CliRunner()
    parts = []
    for fmt in ("full", "concise"):
        result = runner.invoke(cli, ["check", "--format", fmt, spec_path(case)])
        parts.append(f"$ netspec check --format {fmt} {spec_path(case)}\n{result.stderr}exit {result.exit_code}\n")
    return "\n".join(parts)


@pytest.mark.parametrize("case", cases())
def test_rendering_matches_golden(case: str, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    actual = transcript(case)
    golden = GOLDEN / f"{case}.out"
    if request.config.getoption("--update-golden"):
        golden.write_text(actual, encoding="utf-8")
    assert golden.exists(), f"no golden file for {case}: run `pytest --update-golden` and review it"
    assert actual == golden.read_text(encoding="utf-8")


@pytest.mark.parametrize("case", cases())
def test_case_reports_its_code_with_a_location(case: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Independent of the golden text: the named code comes first, with a position, in both formats."""
    monkeypatch.chdir(ROOT)
    result = CliRunner().invoke(cli, ["check", "--format", "concise", spec_path(case)])
    first = result.stderr.splitlines()[0]
    code = expected_code(case)
    warning = case in ("missing-flatten", "implicit-dim")  # missing-flatten-in-features is an error
    assert f": {'warning' if warning else 'error'}[{code}]: " in first
    assert first.startswith(spec_path(case) + ":")
    assert result.exit_code == (0 if warning else 2 if code == "io-error" else 1)
    assert "Traceback" not in result.output


def test_golden_files_have_specs() -> None:
    """A leftover .out whose spec was renamed or deleted would never be compared."""
    stale = {p.stem for p in GOLDEN.glob("*.out")} - set(cases())
    assert not stale
