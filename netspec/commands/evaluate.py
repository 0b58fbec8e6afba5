"""`netspec evaluate`: a checkpoint's loss and accuracy on its dataset (or another), in eval mode."""

from __future__ import annotations

from pathlib import Path

import click

EVALUATE_EXAMPLES = """\b
Examples:
  netspec evaluate runs/lenet/20250101-120000/best.pt
  netspec evaluate best.pt --dataset "{name: mnist, root: data}"
  netspec evaluate best.pt --split train
  netspec evaluate best.pt --per-class --confusion-plot confusion.png
"""


@click.command(epilog=EVALUATE_EXAMPLES)
@click.argument("checkpoint", type=click.Path(path_type=Path))
@click.option(
    "--dataset",
    metavar="YAML",
    help="Evaluate on another dataset: a name (digits) or a mapping like train.dataset's.",
)
@click.option(
    "--split",
    type=click.Choice(["val", "train", "test"]),
    default="val",
    show_default=True,
    help="test: the held-out split of `test_fraction` or `test_path`.",
)
@click.option("--batch-size", type=click.IntRange(min=1), help="Default: the spec's train.batch_size.")
@click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda, cuda:N or mps.")
@click.option("--per-class", is_flag=True, help="Also print each class's accuracy and the confusion matrix.")
@click.option(
    "--confusion-plot",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="IMAGE",
    help="Draw the confusion matrix into IMAGE (.png, .pdf or .svg; needs matplotlib).",
)
def evaluate(
    checkpoint: Path,
    dataset: str | None,
    split: str,
    batch_size: int | None,
    device: str,
    per_class: bool,
    confusion_plot: Path | None,
) -> None:
    """Print CHECKPOINT's mean loss and accuracy over every sample of a dataset split."""
    from ..source import load_yaml
    from ..training.inference import evaluate_checkpoint, plot_confusion
    from ..training.overrides import Override

    chosen = None
    if dataset is not None:
        value, _ = load_yaml(dataset, f"--dataset {dataset}")
        chosen = Override(("train", "dataset"), value, f"--dataset {dataset}")
    result = evaluate_checkpoint(checkpoint, dataset=chosen, split=split, batch_size=batch_size, device=device)
    click.echo(result.line())
    if per_class:
        click.echo("\n" + result.per_class_table())
    if confusion_plot is not None:
        click.echo(f"wrote {plot_confusion(result, confusion_plot)}")
