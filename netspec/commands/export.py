"""`netspec export`: a spec (or a checkpoint's trained model) as a PyTorch source file or an ONNX file."""

from __future__ import annotations

from pathlib import Path

import click

from ..files import write_atomic
from .build import is_checkpoint
from .output import echo_diagnostics, refuse_overwriting_input

EXPORT_EXAMPLES = """\b
Examples:
  netspec export specs/lenet.yaml                      the nn.Module class, on stdout
  netspec export specs/lenet.yaml -o lenet.py          ... written to a file
  netspec export specs/lenet.yaml --format onnx -o lenet.onnx
  netspec export runs/lenet/best.pt --format onnx -o lenet.onnx   with a checkpoint's weights
"""


@click.command(epilog=EXPORT_EXAMPLES)
@click.argument("file", type=click.Path(path_type=Path))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["python", "onnx"]),
    default="python",
    show_default=True,
    help="python: one readable nn.Module class; onnx: through torch.onnx, with a dynamic batch dimension.",
)
@click.option(
    "-o", "--output", type=click.Path(path_type=Path, dir_okay=False), help="Write here (python: default stdout)."
)
def export(file: Path, fmt: str, output: Path | None) -> None:
    """Export FILE (a spec, or a netspec checkpoint .pt, .pth or .ckpt) as PyTorch code or ONNX."""
    from ..report import check
    from ..spec import load_spec

    if fmt == "onnx" and output is None:
        raise click.UsageError("--format onnx writes a binary file: give it a path with -o, e.g. -o model.onnx")
    refuse_overwriting_input(file, output)
    ckpt = None
    if is_checkpoint(file):
        from ..checkpoint import load

        ckpt = load(file)
        spec = ckpt.spec
    else:
        spec = load_spec(file)
    report = check(spec)
    echo_diagnostics(report.warnings)
    if fmt == "onnx":
        assert output is not None  # refused above
        from ..checkpoint import restore
        from ..export_onnx import require_onnx, to_onnx

        require_onnx()  # before building the model: say what is missing first
        # float32 whatever the checkpoint holds: ONNX operators such as Conv take no bfloat16, onnxruntime no float64
        to_onnx(spec, output, model=restore(ckpt, file).float() if ckpt is not None else None)
        click.echo(f"wrote {output}", err=True)
        return
    from ..export_python import to_python

    text = to_python(spec, report=report)
    if output is None:
        click.echo(text, nl=False)
        return
    write_text(output, text)
    click.echo(f"wrote {output}", err=True)


def write_text(path: Path, text: str) -> None:
    """Write an output file atomically, creating its folder; a failure is an `io-error` that keeps the old file."""
    write_atomic(path, text)
