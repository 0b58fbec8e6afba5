"""`netspec check`: the static report for each spec, without importing torch."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from .. import render
from ..diagnostics import SpecError
from ..source import spec_files
from .output import echo_diagnostics, exit_code, parse_input

CHECK_EXAMPLES = """\b
Examples:
  netspec check specs/lenet.yaml            the layer table and totals
  netspec check specs/                      every spec in a folder
  netspec check lenet.yaml --input 1,28,28  try another input size
  netspec check lenet.yaml --format concise one line per problem, for CI
  netspec check lenet.yaml --json           a machine-readable report
  netspec check resnet50.yaml --depth 1     blocks as one row each, their layers hidden
  netspec check lenet.yaml --sizes          which input sizes it accepts, axis by axis
  netspec check unet.yaml --sizes 1:1024    the same, trying sizes 1 to 1024
"""


@click.command(epilog=CHECK_EXAMPLES)
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path, readable=False))
@click.option(
    "--input",
    "input_shape",
    metavar="C,H,W",
    callback=parse_input,
    help="Check with this input instead of the spec's (F for vectors).",
)
@click.option(
    "--sizes",
    "size_range",
    is_flag=False,
    flag_value="",
    default=None,
    metavar="[LOW:HIGH]",
    help="Instead of the table, say which input sizes check, each axis varied alone"
    " (from LOW to HIGH; default 1 to twice the declared size).",
)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON report on stdout (diagnostics included).")
@click.option(
    "--depth",
    type=click.IntRange(min=0),
    default=None,
    metavar="N",
    help="Show the layers of blocks only N levels down (0: the model's own layers, blocks as subtotals).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["full", "concise"]),
    default="full",
    show_default=True,
    help="full: tables and compiler-style diagnostics; concise: one line each.",
)
@click.pass_context
def check(
    ctx: click.Context,
    files: tuple[Path, ...],
    input_shape: tuple[int, ...] | None,
    as_json: bool,
    depth: int | None,
    fmt: str,
    size_range: str | None,
) -> None:
    """Check FILES (specs, or folders of them) and print each one's layer table."""
    from ..report import check as check_spec
    from ..spec import load_spec

    results: list[dict[str, Any]] = []
    worst = 0
    for path in map(Path, spec_files([str(f) for f in files])):  # the fast path finds them so too
        try:
            spec = load_spec(path)
            if input_shape is not None:
                spec = spec.with_input(input_shape)
            if size_range is not None:
                _echo_sizes(spec, size_range, as_json, results)
            report = check_spec(spec)
        except SpecError as e:
            worst = max(worst, exit_code(e))
            if as_json:
                results.append(
                    {
                        **_sized(results),
                        "file": str(path),
                        "ok": False,
                        "diagnostics": [render.diagnostic_json(d) for d in e.diagnostics],
                    }
                )
            else:
                echo_diagnostics(e.diagnostics, fmt)
            continue
        if as_json:
            results.append(
                {
                    "file": str(path),
                    "ok": True,
                    "report": render.report_json(report),
                    "diagnostics": [render.diagnostic_json(d) for d in report.warnings],
                    **_sized(results),
                }
            )
            continue
        if size_range is not None:
            continue
        echo_diagnostics(report.warnings, fmt)
        click.echo(render.summary_line(report) if fmt == "concise" else render.table(report, depth, color=True) + "\n")
    if as_json:
        click.echo(json.dumps({"files": results}, indent=2))
    ctx.exit(worst)


def _range(value: str) -> tuple[int, int | None]:
    """`--sizes` as given: empty for the default range, else LOW:HIGH."""
    if not value:
        return 1, None
    low, sep, high = value.partition(":")
    try:
        if not sep:
            raise ValueError
        return int(low), int(high)
    except ValueError:
        raise click.BadParameter(f"expected LOW:HIGH such as 1:512, got {value!r}", param_hint="--sizes") from None


def _echo_sizes(spec: Any, value: str, as_json: bool, results: list[dict[str, Any]]) -> None:
    """Print (or, with --json, stage for the file's entry) which input sizes check."""
    from .. import sizes

    low, high = _range(value)
    try:
        axes = sizes.input_sizes(spec, low, high)
    except ValueError as e:
        raise click.BadParameter(str(e), param_hint="--sizes") from None
    if as_json:
        results.append({"sizes": sizes.as_json(axes)})  # merged into the file's entry by _sized
    else:
        click.echo(sizes.text(spec, axes) + "\n")


def _sized(results: list[dict[str, Any]]) -> dict[str, Any]:
    """The staged `sizes` of this file, taken off the list."""
    if results and set(results[-1]) == {"sizes"}:
        return results.pop()
    return {}
