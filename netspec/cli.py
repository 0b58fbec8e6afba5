"""The `netspec` command line. Diagnostics are rendered here, and only here.

Exit codes: 0 success (warnings allowed), 1 a spec or run has errors, 2 usage errors
(a missing file, a bad option), 130 interrupted. torch is imported only by the commands
that build or train, never by `check`.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any, NoReturn

import click

from . import render
from .diagnostics import Diagnostic, SpecError

EXAMPLES = """\b
Examples:
  netspec check specs/lenet.yaml            the layer table and totals
  netspec check specs/                      every spec in a folder
  netspec check lenet.yaml --input 1,28,28  try another input size
  netspec check lenet.yaml --format concise one line per problem, for CI
  netspec check lenet.yaml --json           a machine-readable report
"""


def echo_diagnostics(diagnostics: Iterable[Diagnostic], fmt: str = "full") -> None:
    for d in diagnostics:
        click.echo(render.concise(d) if fmt == "concise" else render.diagnostic(d) + "\n", err=True)


class _Group(click.Group):
    """Turns what escapes a command into a message and an exit code, never a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except SpecError as e:
            echo_diagnostics(e.diagnostics)
            code = 2 if any(d.code == "io-error" for d in e.diagnostics) else 1
            ctx.exit(code)
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            ctx.exit(130)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except BrokenPipeError:  # `netspec check ... | head`
            sys.stderr.close()
            ctx.exit(0)
        except Exception as e:  # the last line of defence against tracebacks
            if os.environ.get("NETSPEC_DEBUG"):
                raise
            click.echo(
                f"netspec: internal error: {type(e).__name__}: {e}\n"
                "this is a bug in netspec: please report it with the command you ran"
                " (NETSPEC_DEBUG=1 shows the traceback)",
                err=True,
            )
            ctx.exit(1)


@click.group(cls=_Group, epilog=EXAMPLES, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="netspec", prog_name="netspec")
def cli() -> None:
    """netspec: declare a PyTorch network in YAML, know every shape before it runs."""


def _parse_input(ctx: click.Context, param: click.Parameter, value: str | None) -> tuple[int, ...] | None:
    if value is None:
        return None
    try:
        dims = tuple(int(v) for v in value.replace("x", ",").replace("×", ",").split(","))
    except ValueError:
        raise click.BadParameter(f"expected C,H,W or F as positive integers, got {value!r}") from None
    if len(dims) not in (1, 3) or min(dims) < 1:
        raise click.BadParameter(f"expected C,H,W or F as positive integers, got {value!r}")
    return dims


def _spec_files(paths: tuple[Path, ...]) -> list[Path]:
    files: list[Path] = []
    for p in paths:
        if p.is_dir():
            found = sorted([*p.glob("*.yaml"), *p.glob("*.yml")])
            files.extend(found or [p])  # an empty folder is reported by load_spec
        else:
            files.append(p)
    return files


@cli.command(epilog=EXAMPLES)
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--input",
    "input_shape",
    metavar="C,H,W",
    callback=_parse_input,
    help="Check with this input instead of the spec's (F for vectors).",
)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON report on stdout (diagnostics included).")
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
    ctx: click.Context, files: tuple[Path, ...], input_shape: tuple[int, ...] | None, as_json: bool, fmt: str
) -> None:
    """Check FILES (specs, or folders of them) and print each one's layer table."""
    from .report import check as check_spec
    from .spec import load_spec

    results: list[dict[str, Any]] = []
    worst = 0
    for path in _spec_files(files):
        try:
            spec = load_spec(path)
            if input_shape is not None:
                spec = spec.with_input(input_shape)
            report = check_spec(spec)
        except SpecError as e:
            worst = max(worst, 2 if any(d.code == "io-error" for d in e.diagnostics) else 1)
            if as_json:
                results.append(
                    {"file": str(path), "ok": False, "diagnostics": [render.diagnostic_json(d) for d in e.diagnostics]}
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
                }
            )
            continue
        echo_diagnostics(report.warnings, fmt)
        click.echo(render.summary_line(report) if fmt == "concise" else render.table(report) + "\n")
    if as_json:
        click.echo(json.dumps({"files": results}, indent=2))
    ctx.exit(worst)


def main() -> NoReturn:
    """Console-script entry point."""
    cli(prog_name="netspec")
    raise SystemExit(0)  # pragma: no cover - click always exits
