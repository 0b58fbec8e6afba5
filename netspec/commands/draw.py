"""`netspec draw`: a spec's architecture as a diagram (SVG written by netspec itself, PNG, or Graphviz DOT)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ..diagnostics import Diagnostic, SpecError, cannot_write
from .output import echo_diagnostics, parse_input, refuse_overwriting_input

DRAW_EXAMPLES = """\b
Examples:
  netspec draw specs/lenet.yaml                 lenet.svg, in the current folder
  netspec draw specs/resnet18.yaml -o r18.png   PNG (needs the extra: pip install 'netspec[draw]')
  netspec draw specs/resnet18.yaml --expand     every repeated block drawn, not once with ×n
  netspec draw specs/resnet50.yaml --depth 1    the stages' blocks as one box each
  netspec draw specs/lenet.yaml --direction LR --style blocks -o lenet.svg   boxes sized by tensor, for papers
  netspec draw specs/lenet.yaml -o - --format dot | dot -Tpdf > lenet.pdf  DOT for Graphviz, on stdout
"""

FORMATS = {".svg": "svg", ".png": "png", ".dot": "dot", ".gv": "dot"}


@click.command(epilog=DRAW_EXAMPLES)
@click.argument("spec_file", type=click.Path(path_type=Path, readable=False))
@click.option(
    "-o",
    "--output",
    metavar="FILE",
    help="Write here: .svg, .png or .dot (default: the spec's name .svg in the current folder); - for stdout.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["svg", "png", "dot"]),
    default=None,
    help="The format, when the output's suffix does not say it (as for stdout).",
)
@click.option(
    "--direction",
    type=click.Choice(["TB", "LR"], case_sensitive=False),
    default="TB",
    show_default=True,
    help="TB: top to bottom; LR: left to right.",
)
@click.option(
    "--style",
    type=click.Choice(["boxes", "blocks"]),
    default="boxes",
    show_default=True,
    help="boxes: each layer's name, shape and parameters in its box; blocks: boxes sized by tensor size, for papers.",
)
@click.option("--expand", is_flag=True, help="Draw every repeated block, not the first with ×n.")
@click.option(
    "--depth",
    type=click.IntRange(min=0),
    default=None,
    metavar="N",
    help="Draw blocks N levels down as one box each, with their totals (0: the model's own layers).",
)
@click.option(
    "--input",
    "input_shape",
    metavar="C,H,W",
    callback=parse_input,
    help="Draw with this input instead of the spec's.",
)
@click.pass_context
def draw(
    ctx: click.Context,
    spec_file: Path,
    output: str | None,
    fmt: str | None,
    direction: str,
    style: str,
    expand: bool,
    depth: int | None,
    input_shape: tuple[int, ...] | None,
) -> None:
    """Draw SPEC_FILE's layers, blocks and joins with their shapes and parameters.

    A spec with errors is drawn up to where its shapes are known, the failing layer marked in red; its diagnostics
    go to stderr and the exit code is 1.
    """
    target = None if output in (None, "-") else Path(output)
    fmt = fmt or _format_of(target)
    refuse_overwriting_input(spec_file, target)
    from .. import draw as drawing
    from ..report import check_partial
    from ..spec import load_spec

    if fmt == "png":
        _require_resvg()
    spec = load_spec(spec_file)
    if input_shape is not None:
        spec = spec.with_input(input_shape)
    partial = check_partial(spec)
    echo_diagnostics(partial.diagnostics)
    options = drawing.Options(direction=direction.upper(), style=style, expand=expand, depth=depth)
    if fmt == "dot":
        data = drawing.dot(partial, options).encode()
    else:
        text = drawing.svg(partial, options)
        data = drawing.png(text) if fmt == "png" else text.encode()
    if output == "-":
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    else:
        path = target or Path(f"{spec_file.stem}.{fmt}")
        _write(path, data)
        click.echo(f"wrote {path}", err=True)
    ctx.exit(1 if any(d.is_error for d in partial.diagnostics) else 0)


def _format_of(target: Path | None) -> str:
    if target is None:
        return "svg"
    fmt = FORMATS.get(target.suffix.lower())
    if fmt is None:
        raise click.UsageError(
            f"cannot tell the format of {target} from its suffix: use .svg, .png or .dot, or give --format"
        )
    return fmt


def _require_resvg() -> None:
    try:
        import resvg_py  # noqa: F401  # only asked whether it is there
    except ImportError:
        raise SpecError(
            [
                Diagnostic(
                    "missing-dependency",
                    "`netspec draw` writes PNG through resvg-py, which is not installed",
                    help="pip install 'netspec[draw]' (or write an .svg, which needs nothing)",
                )
            ]
        ) from None


def _write(path: Path, data: bytes) -> None:
    """Write the picture, creating its folder; a failure is an `io-error`, not a traceback."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    except OSError as e:
        raise cannot_write(path, e) from None
