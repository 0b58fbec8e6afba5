"""`netspec predict`: the top classes a checkpoint's model gives each image, or each sample of an array file."""

from __future__ import annotations

from pathlib import Path

import click

PREDICT_EXAMPLES = """\b
Examples:
  netspec predict runs/lenet/20250101-120000/best.pt digit.png
  netspec predict best.pt photos/*.jpg --top 5
  netspec predict best.pt photos/                 every image in the folder (and its subfolders)
  netspec predict best.pt samples.npy             a vector-input model: one row per sample (.npy .npz .pt .csv)
"""


@click.command(epilog=PREDICT_EXAMPLES)
@click.argument("checkpoint", type=click.Path(path_type=Path))
@click.argument("inputs", nargs=-1, required=True, type=click.Path(path_type=Path), metavar="INPUTS...")
@click.option("--top", type=click.IntRange(min=1), default=3, show_default=True, help="How many classes to show.")
@click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda, cuda:N or mps.")
def predict(checkpoint: Path, inputs: tuple[Path, ...], top: int, device: str) -> None:
    """Print the TOP classes (with probabilities) CHECKPOINT's model gives each of INPUTS.

    INPUTS are image files, folders of images, or array files of samples (.npy, .npz with
    `x`, .pt, .csv), one prediction per row. Each image is converted to the spec's channels,
    passed through the validation transforms of its train: section, and resized to the
    spec's input; array rows must have the spec's input shape already.
    """
    from ..training.inference import predict as predict_samples

    for p in predict_samples(checkpoint, list(inputs), top=top, device=device):
        click.echo(p.line())
