"""Golden files for the layer tables `netspec check` prints for every bundled spec.

The figures in them are held to torch and torchinfo elsewhere (test_rules, test_torch_oracle,
test_build); these files pin what the user reads: columns, alignment, units, totals.
`pytest --update-golden` rewrites them; review the diff like code.
"""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from netspec.cli import cli

from .conftest import ROOT, SPECS

TABLES = ROOT / "tests" / "golden" / "tables"


@pytest.mark.parametrize("spec", SPECS, ids=lambda p: p.name)
def test_check_table_matches_golden(
    spec: object, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    name = f"specs/{spec.name}"  # type: ignore[attr-defined]
    result = CliRunner().invoke(cli, ["check", name])
    assert result.exit_code == 0, result.stderr
    actual = f"$ netspec check {name}\n{result.stdout}"
    golden = TABLES / f"{spec.stem}.out"  # type: ignore[attr-defined]
    if request.config.getoption("--update-golden"):
        golden.write_text(actual, encoding="utf-8")
    assert golden.exists(), f"no golden table for {name}: run `pytest --update-golden` and review it"
    assert actual == golden.read_text(encoding="utf-8")


def test_every_golden_table_has_its_spec() -> None:
    assert {p.stem for p in TABLES.glob("*.out")} == {p.stem for p in SPECS}
