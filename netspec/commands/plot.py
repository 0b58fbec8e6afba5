"""`netspec plot`: the loss and accuracy curves of one run, or of several overlaid, as an image (needs matplotlib)."""

from __future__ import annotations

from pathlib import Path

import click

PLOT_EXAMPLES = """\b
Examples:
  netspec plot runs/lenet/20250101-120000                 writes its curves.png
  netspec plot runs/lenet/* -o compare.png               every run of lenet in one figure
"""


@click.command(epilog=PLOT_EXAMPLES)
@click.argument("run_dirs", nargs=-1, required=True, type=click.Path(path_type=Path), metavar="RUN_DIR...")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The image to write (default RUN_DIR/curves.png; curves.png here for several runs).",
)
def plot(run_dirs: tuple[Path, ...], output: Path | None) -> None:
    """Draw the loss and accuracy per epoch (from metrics.csv) of RUN_DIR, or of several runs overlaid.

    Training curves are dashed, validation ones solid; with several runs each has its own colour.
    """
    from ..training.curves import plot_runs

    click.echo(f"wrote {plot_runs(list(run_dirs), output)}")
