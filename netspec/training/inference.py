"""Using a trained checkpoint: its metrics on a dataset (`netspec evaluate`), its top classes for images (`predict`)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..checkpoint import Checkpoint, load, restore
from ..diagnostics import Diagnostic, SpecError
from ..report import check
from ..spec import Spec
from .batches import Batches
from .config import Digits, TrainConfig
from .data import load_data
from .loop import Forward, evaluate
from .losses import make_loss
from .overrides import Override, apply_overrides
from .predict_files import expand, is_array_file, read_rows
from .trainer import pick_device
from .transforms import compose


@dataclass(frozen=True)
class Evaluation:
    dataset: str
    split: str
    samples: int
    loss: float
    accuracy: float | None
    classes: list[str] | None = None  # the class names, when the targets are class labels
    confusion: list[list[int]] | None = None  # [true class][predicted class] -> samples

    def line(self) -> str:
        acc = f", acc {self.accuracy:.3f}" if self.accuracy is not None else ""
        return f"{self.dataset} {self.split}: loss {self.loss:.4f}{acc} ({self.samples:,} samples)"

    def per_class(self) -> list[tuple[str, int, int]]:
        """(class, samples, correct) per class, from the confusion matrix's rows and diagonal."""
        if self.classes is None or self.confusion is None:
            return []
        return [(name, sum(row), row[i]) for i, (name, row) in enumerate(zip(self.classes, self.confusion))]

    def per_class_table(self) -> str:
        """Per-class accuracy, then the confusion matrix, as aligned text."""
        if self.classes is None or self.confusion is None:
            return "no per-class figures: the targets are float values, not class labels"
        names = self.classes
        width = max(len("class"), *(len(n) for n in names))
        lines = [f"{'class':<{width}}  samples  correct  accuracy"]
        for name, total, right in self.per_class():
            acc = f"{right / total:.3f}" if total else "-"
            lines.append(f"{name:<{width}}  {total:>7,}  {right:>7,}  {acc:>8}")
        cell = max(len(f"{v:,}") for row in self.confusion for v in row)
        cell = max(cell, *(len(n) for n in names))
        lines += ["", "confusion matrix (rows: true class, columns: predicted class)"]
        lines.append(" " * width + "  " + " ".join(f"{n:>{cell}}" for n in names))
        for name, row in zip(names, self.confusion):
            lines.append(f"{name:<{width}}  " + " ".join(f"{v:>{cell},}" for v in row))
        return "\n".join(lines)


@dataclass(frozen=True)
class Prediction:
    image: str
    top: list[tuple[str, float]]  # (class, probability), best first; the raw outputs when there are no classes
    probabilities: bool = True

    def line(self) -> str:
        shown = (f"{name} ({v:.1%})" if self.probabilities else f"{name}: {v:.4g}" for name, v in self.top)
        return f"{self.image}: " + ", ".join(shown)


def _model(path: str | os.PathLike[str], device: torch.device) -> tuple[Checkpoint, nn.Module]:
    ckpt = load(path)
    # restore keeps the weights' stored dtype; evaluation and prediction feed float32 samples
    return ckpt, restore(ckpt, path, device=device).float().eval()


def evaluate_checkpoint(
    path: str | os.PathLike[str],
    *,
    dataset: Override | None = None,
    split: str = "val",
    batch_size: int | None = None,
    device: str = "auto",
) -> Evaluation:
    """Mean loss and accuracy of a checkpoint's model on its spec's dataset (or `dataset`), in eval mode."""
    dev = pick_device(device, None, source=f"--device {device}")
    ckpt, model = _model(path, dev)
    spec = apply_overrides(ckpt.spec, [dataset] if dataset is not None else [])
    config = spec.train or TrainConfig()
    # training samples as validation sees them: augmentation would make the figures vary from run to run
    config = config.model_copy(update={"transforms": config.validation_transforms()})
    report = check(spec)
    data = load_data(spec, config, report, dev)
    fwd = Forward(model, make_loss(config.loss, dev), data.classes, int(report.output_shape[-1]), dev)
    chosen = {"val": data.val, "train": data.train, "test": data.test}[split]
    if chosen is None:
        raise SpecError(
            [
                Diagnostic(
                    "dataset-missing",
                    f"{spec.name}'s {config.dataset.name} dataset has no test split",
                    source=str(path),
                    help="hold one out with `test_fraction` (or `test_path`) in train.dataset, or pass `--dataset`"
                    ' with one, e.g. --dataset "{name: digits, test_fraction: 0.2}"',
                )
            ]
        )
    batches = Batches(chosen, batch_size or config.batch_size, dev, shuffle=False, num_workers=config.num_workers)
    loss, acc = evaluate(fwd, batches)
    confusion, classes = None, data.classes
    if classes is not None:  # outputs beyond the dataset's classes are named by their index, as `predict` does
        k = max(len(classes), fwd.num_outputs)
        classes = classes + [str(i) for i in range(len(classes), k)]
        confusion = confusion_matrix(fwd, batches, k).tolist()
    return Evaluation(config.dataset.name, split, batches.samples, loss, acc, classes, confusion)


def confusion_matrix(fwd: Forward, batches: Batches, k: int) -> Tensor:
    """(k, k) counts: row = true class, column = the class the model's largest output names."""
    counts = torch.zeros(k * k, dtype=torch.int64, device=fwd.device)
    fwd.model.eval()
    with torch.inference_mode(), fwd.autocast():
        for x, y in batches.epoch(0):
            pred = fwd.model(fwd.prepare(x)).argmax(1)  # (B,)
            counts += torch.bincount(y * k + pred, minlength=k * k)  # (true, predicted) pairs as one index
    return counts.reshape(k, k).cpu()


def plot_confusion(result: Evaluation, target: Path) -> Path:
    """The confusion matrix as an image: counts in each cell, darker for more."""
    from .curves import pyplot, save_figure

    if result.classes is None or result.confusion is None:
        raise SpecError(
            [
                Diagnostic(
                    "dataset-shape",
                    "a confusion matrix needs class labels, but the targets are float values",
                    source=str(target),
                    help="drop `--confusion-plot`: a regression has no classes to confuse",
                )
            ]
        )
    plt = pyplot("netspec evaluate --confusion-plot")
    k = len(result.classes)
    side = min(4 + 0.5 * k, 20)
    fig, ax = plt.subplots(figsize=(side, side))
    ax.imshow(result.confusion, cmap="Blues")
    ax.set(
        xticks=range(k),
        yticks=range(k),
        xticklabels=result.classes,
        yticklabels=result.classes,
        xlabel="predicted class",
        ylabel="true class",
        title=f"{result.dataset} {result.split}: acc {result.accuracy:.3f} ({result.samples:,} samples)",
    )
    top = max(max(row) for row in result.confusion) or 1
    if k <= 30:  # beyond that, numbers would not fit in the cells
        for i, row in enumerate(result.confusion):
            for j, v in enumerate(row):
                ax.text(j, i, str(v), ha="center", va="center", color="white" if v > top / 2 else "black")
    fig.tight_layout()
    return save_figure(fig, target)


def predict(
    path: str | os.PathLike[str], inputs: list[str | os.PathLike[str]], *, top: int = 3, device: str = "auto"
) -> list[Prediction]:
    """The `top` classes (with softmax probabilities) the checkpoint's model gives each sample.

    `inputs`: image files, folders of them (image models), or array files of samples for any model
    (.npy, .npz, .pt, .csv; one prediction per row, named `file[row]`).
    """
    dev = pick_device(device, None, source=f"--device {device}")
    ckpt, model = _model(path, dev)
    spec = ckpt.spec
    names: list[str] = []
    rows: list[Tensor] = []
    for file in expand(inputs):
        if is_array_file(file):
            x = read_rows(file, spec.input, compose((spec.train or TrainConfig()).validation_transforms()))
            names += [f"{file}[{i}]" for i in range(len(x))]
            rows.append(x)
            continue
        if len(spec.input) != 3 or spec.input[0] not in (1, 3):  # image files read as grey or RGB
            what = f"is a vector of {spec.input[0]}" if len(spec.input) == 1 else f"has {spec.input[0]} channels"
            raise SpecError(
                [
                    Diagnostic(
                        "dataset-shape",
                        f"`netspec predict` reads image files as grey or RGB, but {spec.name}'s input {what}",
                        source=str(file),
                        help=f"pass the samples in an array file (.npy, .npz, .pt or .csv) of shape "
                        f"(N, {', '.join(map(str, spec.input))}), or call netspec.load_model on your tensors",
                    )
                ]
            )
        names.append(str(file))
        rows.append(_image(file, spec)[None])  # (1, C, H, W)
    x = torch.cat(rows).to(dev)
    if check(spec).tokens is not None:  # an Embedding first: the samples are token ids
        x = x.long()
    with torch.inference_mode():
        out = model(x)
    out = out.reshape(len(x), -1)  # (N, K)
    classes = _classes(ckpt, spec)
    if classes is None:
        return [
            Prediction(name, [(str(i), float(v)) for i, v in enumerate(row[:top])], probabilities=False)
            for name, row in zip(names, out)
        ]
    probs = F.softmax(out.float(), dim=1)
    best = probs.topk(min(top, probs.shape[1]), dim=1)
    return [
        Prediction(name, [(_name(classes, int(i)), float(v)) for v, i in zip(values, idx)])
        for name, values, idx in zip(names, best.values, best.indices)
    ]


def _classes(ckpt: Checkpoint, spec: Spec) -> list[str] | None:
    if "classes" in ckpt.extra:
        classes: list[str] | None = ckpt.extra["classes"]
        return classes
    if spec.train is None or isinstance(spec.train.dataset, Digits):  # a `netspec build --save` of a digits spec
        return [str(d) for d in range(10)]
    return []


def _name(classes: list[str], i: int) -> str:
    return classes[i] if i < len(classes) else str(i)


def _image(path: Path, spec: Spec) -> Tensor:
    """An image file as the model's input: grey or RGB as the spec takes, validation transforms, resized to (H, W)."""
    from PIL import Image
    from torchvision.transforms.v2.functional import pil_to_tensor

    c, h, w = spec.input
    try:
        with Image.open(path) as im:
            image = im.convert("L" if c == 1 else "RGB")
    except (OSError, Image.DecompressionBombError) as e:  # OSError includes UnidentifiedImageError
        raise SpecError(
            [
                Diagnostic(
                    "io-error",
                    f"cannot read {path} as an image ({type(e).__name__})",
                    source=str(path),
                    help="pass PNG, JPEG or other image files Pillow can open",
                )
            ]
        ) from None
    x = pil_to_tensor(image).float().div_(255.0)  # (C, H', W') in [0, 1]
    x = compose((spec.train or TrainConfig()).validation_transforms())(x)
    if tuple(x.shape[1:]) != (h, w):
        x = F.interpolate(x[None], size=(h, w), mode="bilinear", antialias=True, align_corners=False)[0]
    return x  # (C, H, W)
