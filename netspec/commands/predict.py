"""`netspec predict`: the top classes a checkpoint's model gives each image."""

from __future__ import annotations

from pathlib import Path

import click

PREDICT_EXAMPLES = """\b
Examples:
  netspec predict runs/lenet/20250101-120000/best.pt digit.png
  netspec predict best.pt photos/*.jpg --top 5
"""


@click.command(epilog=PREDICT_EXAMPLES)
@click.argument("checkpoint", type=click.Path(path_type=Path))
@click.argument("images", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--top", type=click.IntRange(min=1), default=3, show_default=True, help="How many classes to show.")
@click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda, cuda:N or mps.")
def predict(checkpoint: Path, images: tuple[Path, ...], top: int, device: str) -> None:
    """Print the TOP classes (with probabilities) CHECKPOINT's model gives each of IMAGES.

    Each image is converted to the spec's channels, passed through the validation
    transforms of its train: section, and resized to the spec's input.
    """
    from ..training.inference import predict as predict_images

    for p in predict_images(checkpoint, list(images), top=top, device=device):
        click.echo(p.line())
