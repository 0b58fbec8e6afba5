"""`netspec plot`: a run's loss and accuracy curves as an image (needs matplotlib)."""

from __future__ import annotations

from pathlib import Path

import click


@click.command()
@click.argument("run_dir", type=click.Path(path_type=Path))
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The image to write (default RUN_DIR/curves.png).",
)
def plot(run_dir: Path, output: Path | None) -> None:
    """Draw RUN_DIR's loss and accuracy per epoch (from its metrics.csv) into an image."""
    from ..training.curves import plot_run

    click.echo(f"wrote {plot_run(run_dir, output)}")
