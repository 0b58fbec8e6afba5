"""Why a dataset's samples or labels do not fit the spec, and the fix that makes them fit.

The usual causes each get their own words: images stored channels last (N, H, W, C), samples
flattened to vectors or missing their channel dimension, class numbers saved as floats, and image
folders of mixed sizes. Only when none applies is the advice a transform or a new `input`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from torch import Tensor

from ..diagnostics import Diagnostic, SpecError
from ..spec import Spec
from .config import Digits, ImageFolder, TensorFile, TrainConfig
from .transforms import TransformBase

SIZING = ("Resize", "CenterCrop", "RandomCrop", "RandomResizedCrop")  # transforms that set an image's size
SCAN = 256  # image headers read to find mixed sizes: enough to see them, quick on any folder


def input_mismatch(spec: Spec, which: str, got: tuple[int, ...], config: TrainConfig) -> SpecError:
    """Samples of shape `got` where the spec takes `spec.input`."""
    want = spec.input
    saved = isinstance(config.dataset, TensorFile)  # the fix is in the file, not in a transform
    if saved and len(got) == 3 and got[2] <= 4 < got[0] and len(want) == 3:
        return _channels_last(spec, which, got, config)
    if saved and len(got) == 2 and len(want) == 3 and got == want[1:]:
        return _error(
            f"{which} samples are {_dims(got)}, images without a channel dimension, but the spec takes {_dims(want)}",
            help=f"give `x` its channel dimension when saving it: `x[:, None]` makes (N, {_dims(got, ', ')})"
            f" into (N, 1, {_dims(got, ', ')})"
            + ("" if want[0] == 1 else f", then `x.repeat({want[0]}, axis=1)` for {want[0]} channels"),
        )
    if saved and len(got) == 1 and len(want) > 1 and got[0] == math.prod(want):
        vectors = spec.layers[0].type in ("Flatten", "Linear")
        return _error(
            f"{which} samples are vectors of {got[0]} values but the spec takes {_dims(want)} images"
            f" ({_dims(want, ' × ')} = {got[0]})",
            help=f"reshape `x` when saving it: `x.reshape(-1, {_dims(want, ', ')})`"
            + (f", or change `input` to [{got[0]}]" if vectors else ""),
        )
    if isinstance(config.dataset, Digits) and len(want) == 1:  # resized only to a square number of features
        side = math.isqrt(want[0])
        return _error(
            f"{which} samples are {_dims(got)} values but the spec takes {want[0]}: the digits are 8×8 images,"
            " resized to a square",
            help=f"use a square number of features, e.g. `input: [{side * side}]` ({side}×{side}), or `input: [64]`",
        )
    fixes = _transforms(got, want)
    random_note: tuple[str, ...] = ()
    if which == "validation" and any(t.random for t in config.transforms) and config.val_transforms is None:
        random_note = ("validation samples skip the random transforms: list `val_transforms` to resize them",)
    fix = f"add {' and '.join(fixes)} to `transforms`, or " if fixes else ""
    return SpecError(  # the trainer's `locate` points it at the file
        [
            Diagnostic(
                "dataset-shape",
                f"{which} samples are {_dims(got)} but the spec takes {_dims(want)}",
                path=("input",),
                notes=random_note,
                help=f"{fix}change `input` to {list(got) if len(want) == len(got) else [math.prod(got)]}",
            )
        ]
    )


def _transforms(got: tuple[int, ...], want: tuple[int, ...]) -> list[str]:
    """The transforms, as a spec writes them, that turn (C, H, W) images of shape `got` into `want`."""
    fixes: list[str] = []
    if len(got) == 3 and len(want) == 3:
        if got[0] != want[0]:
            fixes.append("`Grayscale`" if want[0] == 1 else f"`{{type: Grayscale, num_output_channels: {want[0]}}}`")
        if got[1:] != want[1:]:  # both sizes: an int resizes the shorter side and keeps the aspect ratio
            fixes.append(_resize(want))
    if len(want) == 1 and math.prod(got) != want[0]:
        return []  # a vector input takes the flattened sample; only `input` can fix a different count
    return fixes


def _resize(want: tuple[int, ...]) -> str:
    return f"`{{type: Resize, size: [{want[-2]}, {want[-1]}]}}`"


def _channels_last(spec: Spec, which: str, got: tuple[int, ...], config: TrainConfig) -> SpecError:
    """(H, W, C) samples, as numpy, PIL and Keras store images, where torch takes (C, H, W)."""
    first = (got[2], got[0], got[1])
    then = _transforms(first, spec.input)
    after = f"; they are then {_dims(first)}, so also add {' and '.join(then)} to `transforms`" if then else ""
    return _error(
        f"{which} samples are {_dims(got)}, channels last (height, width, channels), but torch and the spec"
        f" take channels first: {_dims(spec.input)}",
        help="save `x` channels first: `x.transpose(0, 3, 1, 2)` in numpy (`x.permute(0, 3, 1, 2)` in torch)" + after,
    )


def float_labels(y: Tensor, outputs: int) -> SpecError | None:
    """Class numbers saved as floats (0.0, 1.0, ...) for a classifier: they read as regression targets."""
    if y.ndim != 1 or not y.is_floating_point() or outputs < 2 or len(y) == 0:
        return None
    if not bool((y == y.round()).all()) or float(y.min()) < 0 or float(y.max()) >= outputs:
        return None
    return _error(
        f"`y` holds class numbers ({int(y.min())} to {int(y.max())}) stored as floats, which netspec reads as"
        f" regression targets, but the spec's output has {outputs} class scores per sample",
        help="save `y` as integers: `y.astype(np.int64)` in numpy (`y.long()` in torch)",
    )


def mixed_sizes(
    config: TrainConfig, splits: Sequence[tuple[str, Any, Sequence[TransformBase]]], want: tuple[int, ...]
) -> SpecError | None:
    """An image folder whose images differ in size, with no transform that sizes them: a Resize is the fix."""
    if not isinstance(config.dataset, ImageFolder) or len(want) != 3:
        return None
    for key, split, transforms in splits:
        if any(t.type in SIZING for t in transforms):
            continue
        sizes = _sizes(split)
        if len(sizes) > 1:
            shown = ", ".join(f"{h}×{w}" for h, w in sorted(sizes)[:3]) + (", ..." if len(sizes) > 3 else "")
            fixes = [*_transforms((3, 0, 0), want)[:-1], _resize(want)]  # read as RGB: Grayscale for 1 channel
            return SpecError(
                [
                    Diagnostic(
                        "dataset-shape",
                        f"the images of {split.tree.root} have {len(sizes)} different sizes ({shown}), but the spec"
                        f" takes one: {_dims(want)}",
                        path=("train", key),
                        help=f"add {' and '.join(fixes)} to `{key}`, which gives every image {want[1]}×{want[2]}",
                    )
                ]
            )
    return None


def _sizes(split: Any) -> set[tuple[int, int]]:
    """The (height, width) of up to SCAN of the split's images, from their headers (nothing is decoded)."""
    from PIL import Image

    sizes = set()
    step = max(1, len(split.indices) // SCAN)
    for index in split.indices[::step][:SCAN]:
        try:
            with Image.open(split.tree.samples[index][0]) as image:
                sizes.add((image.height, image.width))
        except (OSError, Image.DecompressionBombError):
            continue  # an unreadable image is reported, with its file, when it is read
    return sizes


def _error(message: str, help: str) -> SpecError:
    return SpecError([Diagnostic("dataset-shape", message, path=("train", "dataset"), help=help)])


def _dims(shape: tuple[Any, ...], sep: str = "×") -> str:
    return sep.join(str(d) for d in shape)
