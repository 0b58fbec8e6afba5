"""Datasets: read each kind into tensors (or a file-backed sample set), transform, and check them against the spec.

Small datasets are held in memory as float tensors on the target device, with deterministic
transforms applied once up front. Random transforms, and images read from files, go through
`Samples`, one sample at a time in DataLoader workers.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from ..diagnostics import Diagnostic, SpecError, path_str
from ..report import ShapeReport
from ..spec import Spec
from . import misfit
from .config import Digits, ImageFolder, PythonData, TensorFile, TorchvisionDataset, TrainConfig
from .given import given_splits
from .losses import check_loss
from .overrides import locate
from .samples import FolderSamples, SampleError, Samples, TensorSamples, failure
from .stopping import check_metric
from .transforms import TransformBase, compose

_TORCHVISION = {  # config name -> (torchvision class, the folder it reads under `root`)
    "mnist": ("MNIST", "MNIST/raw"),
    "fashion_mnist": ("FashionMNIST", "FashionMNIST/raw"),
    "cifar10": ("CIFAR10", "cifar-10-batches-py"),
}


@dataclass
class InMemory:
    """A split held as two tensors on the training device."""

    x: Tensor  # (N, C, H, W) or (N, F), float32
    y: Tensor  # (N,) int64 class labels, or (N, ...) float32 targets

    def __len__(self) -> int:
        return len(self.y)


Split = InMemory | Samples


@dataclass
class Data:
    train: Split
    val: Split
    classes: list[str] | None  # None when the targets are float values (regression)
    test: Split | None = None  # a held-out test split (`test_fraction` or `test_path`), seen once at the end


@dataclass
class _Raw:
    """A dataset as read, before transforms: images in [0, 1] or as stored, labels, class names."""

    train_x: Tensor
    train_y: Tensor
    val_x: Tensor
    val_y: Tensor
    classes: list[str] | None


def load_data(spec: Spec, config: TrainConfig, report: ShapeReport, device: torch.device) -> Data:
    """The spec's dataset, transformed, checked against its input and output, ready to batch."""
    ds = config.dataset
    train_tf, val_tf = list(config.transforms), config.validation_transforms()
    val_key = "val_transforms" if config.val_transforms is not None else "transforms"
    try:
        if isinstance(ds, ImageFolder):
            data = Data(*_image_folder(ds, train_tf, val_tf, spec.input))
        elif isinstance(ds, PythonData):
            data = Data(*given_splits(ds, train_tf, val_tf, spec.input, device))
        else:
            raw = _read(ds, spec.input)
            test = _held_out(raw, ds)
            data = Data(
                transformed(raw.train_x, raw.train_y, train_tf, spec.input, device, "transforms"),
                transformed(raw.val_x, raw.val_y, val_tf, spec.input, device, val_key),
                raw.classes,
                transformed(*test, val_tf, spec.input, device, val_key) if test is not None else None,
            )
        check_fits(spec, report, data, config)  # reads a first sample of file-backed splits
    except SampleError as e:
        raise locate(spec, e.error()) from None
    except SpecError as e:
        raise locate(spec, e) from None
    return data


def _held_out(raw: _Raw, ds: Digits | TorchvisionDataset | TensorFile) -> tuple[Tensor, Tensor] | None:
    """The test split's (x, y), carved out of `raw`'s training samples or read from `test_path`."""
    if isinstance(ds, TensorFile) and ds.test_path is not None:
        x, y = _read_xy(Path(ds.test_path), "test_path")
        if raw.classes is not None and not y.is_floating_point() and int(y.max()) >= len(raw.classes):
            raw.classes = [str(c) for c in range(int(y.max()) + 1)]  # labels only the test file holds
        return x, y
    if ds.test_fraction is None:
        return None
    keep, held = split_indices(raw.train_y, ds.test_fraction)
    test = raw.train_x[held], raw.train_y[held]
    raw.train_x, raw.train_y = raw.train_x[keep], raw.train_y[keep]
    return test


def carve(indices: Tensor, labels: Tensor, fraction: float) -> tuple[Tensor, Tensor]:
    """`indices` split into (kept, held out): a fixed stratified `fraction` of them, by their `labels`."""
    keep, held = split_indices(labels[indices], fraction)
    return indices[keep], indices[held]


def transformed(
    x: Tensor,
    y: Tensor,
    transforms: Sequence[TransformBase],
    shape: tuple[int, ...],
    device: torch.device,
    key: str,  # where `transforms` come from: train.transforms or train.val_transforms
) -> Split:
    flatten = len(shape) == 1 and x.ndim > 2  # an MLP's `input: [F]` takes images flattened
    if any(t.random for t in transforms):
        return TensorSamples(x, y, compose(transforms), flatten, shape)
    if transforms:
        try:
            x = compose(transforms)(x)  # deterministic: once for the whole split, (N, C, H, W) at a time
        except (RuntimeError, ValueError, TypeError, IndexError) as e:  # torchvision's and torch's checks
            raise SpecError(
                [
                    Diagnostic(
                        "dataset-shape",
                        f"`{key}` fail on samples of shape {tuple(x.shape[1:])}: {failure(e)}",
                        path=("train", key),
                        help="make the transforms fit the samples' size and channels",
                    )
                ]
            ) from None
    if flatten:
        x = x.reshape(len(x), -1)  # (N, C, H, W) -> (N, C*H*W)
    return InMemory(x.to(device), y.to(device))


# -- reading each kind ---------------------------------------------------------------------


def _read(ds: Digits | TorchvisionDataset | TensorFile, input_shape: tuple[int, ...]) -> _Raw:
    if isinstance(ds, Digits):
        return _digits(ds, input_shape)
    if isinstance(ds, TorchvisionDataset):
        return _torchvision(ds)
    return _tensor_file(ds, getattr(input_shape, "tokens", None))


def _digits(ds: Digits, input_shape: tuple[int, ...]) -> _Raw:
    """scikit-learn's 1,797 8×8 digits (values 0-16), scaled to [0, 1] and resized to the spec's (C, H, W), or to
    a square whose flattened size is the spec's [F]."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    x = torch.from_numpy(bunch.images).float().unsqueeze(1) / 16.0  # (1797, 1, 8, 8)
    y = torch.from_numpy(bunch.target).long()
    side = math.isqrt(input_shape[0]) if len(input_shape) == 1 else 0
    if side > 1 and side * side == input_shape[0] and side != 8:  # `input: [784]`: 28×28 images, flattened later
        x = F.interpolate(x, size=(side, side), mode="bilinear", align_corners=False)  # (1797, 1, side, side)
    if len(input_shape) == 3:
        c, h, w = input_shape
        if (h, w) != (8, 8):
            x = F.interpolate(x, size=(h, w), mode="bilinear", align_corners=False)  # (1797, 1, H, W)
        x = x.expand(-1, c, -1, -1).contiguous()  # (1797, C, H, W): grey replicated for C = 3
    train, val = split_indices(y, ds.val_fraction)
    return _Raw(x[train], y[train], x[val], y[val], [str(d) for d in range(10)])


def _torchvision(ds: TorchvisionDataset) -> _Raw:
    """MNIST and Fashion-MNIST (uint8 28×28) or CIFAR-10 (uint8 32×32×3); the test set validates."""
    import torchvision.datasets

    cls_name, folder = _TORCHVISION[ds.name]
    cls = getattr(torchvision.datasets, cls_name)
    where = Path(ds.root) / folder
    try:
        train = cls(ds.root, train=True, download=ds.download)
        test = cls(ds.root, train=False, download=ds.download)
    except Exception as e:  # torchvision raises RuntimeError, URLError, OSError, pickle errors, ...
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        fetch = (
            "check the network connection, or download the files elsewhere and copy them there"
            if ds.download
            else "set `download: true` in train.dataset to fetch it, or copy the files there"
        )
        raise SpecError(
            [
                Diagnostic(
                    "dataset-missing",
                    f"the {ds.name} files are not in {where}" if not ds.download else f"cannot get {ds.name}",
                    path=("train", "dataset"),
                    notes=(f"torchvision: {first}", f"netspec looked in {where.resolve()}"),
                    help=fetch,
                )
            ]
        ) from None
    return _Raw(_images(train.data), _labels(train.targets), _images(test.data), _labels(test.targets), train.classes)


def _images(data: Any) -> Tensor:
    x = torch.as_tensor(np.asarray(data))
    if x.ndim == 3:
        x = x.unsqueeze(1)  # MNIST: (N, 28, 28) -> (N, 1, 28, 28)
    else:
        x = x.permute(0, 3, 1, 2)  # CIFAR-10 stores (N, 32, 32, 3) -> (N, 3, 32, 32)
    return x.float().div_(255.0)


def _labels(targets: Any) -> Tensor:
    return torch.as_tensor(np.asarray(targets), dtype=torch.int64)


def _tensor_file(ds: TensorFile, tokens: int | None) -> _Raw:
    x, y = _read_xy(Path(ds.path), "path", tokens)
    if ds.val_path is not None:
        vx, vy = _read_xy(Path(ds.val_path), "val_path", tokens)
    else:
        train, val = split_indices(y, ds.val_fraction)
        x, y, vx, vy = x[train], y[train], x[val], y[val]
    classes = None
    if not y.is_floating_point():
        classes = [str(c) for c in range(int(torch.cat([y, vy]).max()) + 1)]
    return _Raw(x, y, vx, vy, classes)


MAX_CLASSES = 1_000_000  # labels number classes 0..K-1; a label of 1e9 would make a billion class names


def _read_xy(path: Path, key: str, tokens: int | None = None) -> tuple[Tensor, Tensor]:
    """`x` and `y` from an .npz (numpy) or .pt (torch, read with weights_only) file; `key` names it in the spec.

    For a spec of token ids (`tokens`), `x` must hold integers below the vocabulary; they stay int64.
    """
    if not path.is_file():
        raise _missing(path, key, "give the path of an .npz or .pt file holding `x` and `y`")
    try:
        if path.suffix == ".npz":
            with np.load(path, allow_pickle=False) as f:
                arrays = {k: torch.from_numpy(f[k]) for k in f.files}
        else:
            with warnings.catch_warnings():  # torch notes that it validates sparse tensors: they are refused below
                warnings.simplefilter("ignore")
                loaded = torch.load(path, map_location="cpu", weights_only=True)
            arrays = loaded if isinstance(loaded, dict) else {}
    except Exception as e:  # not an archive, truncated, or pickled objects we refuse to load
        raise SpecError(
            [
                Diagnostic(
                    "dataset-missing",
                    f"cannot read {path} ({type(e).__name__})",
                    path=("train", "dataset", key),
                    help="save it with numpy.savez(path, x=..., y=...) or torch.save({'x': ..., 'y': ...}, path)",
                )
            ]
        ) from None
    x, y = arrays.get("x"), arrays.get("y")
    if x is None or y is None:
        raise _shape_error(
            f"{path} holds {', '.join(f'`{k}`' for k in arrays) or 'nothing netspec can read'}, not `x` and `y`",
            "save the samples as `x` and the labels or targets as `y`",
        )
    if not isinstance(x, Tensor) or not isinstance(y, Tensor):  # a .pt file may hold lists
        raise _shape_error(
            f"`x` and `y` in {path} are a {type(x).__name__} and a {type(y).__name__}, not tensors",
            "save them as tensors: torch.save({'x': torch.tensor(...), 'y': torch.tensor(...)}, path)",
        )
    for name, t in (("x", x), ("y", y)):  # what torch's reductions and losses cannot take
        kind = (
            "sparse"
            if t.layout != torch.strided
            else "meta (no data)"
            if t.is_meta
            else "complex"
            if t.is_complex()
            else "quantized"
            if t.is_quantized
            else None
        )
        if kind is not None:
            raise _shape_error(
                f"`{name}` in {path} is a {kind} tensor ({t.dtype})",
                "save dense real numbers: floats for samples and targets, integers for class labels",
            )
    if x.ndim < 2:
        raise _shape_error(
            f"`x` in {path} has shape {tuple(x.shape)}: samples need at least one dimension of their own",
            "give `x` one row per sample: (N, features) or (N, channels, height, width)",
        )
    if len(x) == 0:
        raise _shape_error(f"{path} holds no samples", "give `x` and `y` at least one sample each")
    if y.ndim == 0 or len(x) != len(y):
        raise _shape_error(
            f"{path} has {len(x)} samples in `x` but {len(y) if y.ndim else 'a single number'} in `y`",
            "give every sample one target",
        )
    if not y.is_floating_point():  # class labels: the loss and the one-hot targets index with them
        if y.ndim != 1:
            raise _shape_error(
                f"integer `y` in {path} has shape {tuple(y.shape)}, not one class label per sample",
                "give `y` as (N,) class indices, or as floats for regression targets",
            )
        labels = y.numpy()  # numpy reduces every integer dtype; torch has no min/max for uint16/32/64
        lo, hi = int(labels.min()), int(labels.max())
        if lo < 0:
            raise _shape_error(
                f"`y` in {path} holds the class label {lo}, but labels must be class indices from 0",
                "number the classes from 0",
            )
        if hi >= MAX_CLASSES:
            raise _shape_error(
                f"`y` in {path} holds the class label {hi:,}, but netspec takes at most {MAX_CLASSES:,} classes",
                "number the classes 0, 1, 2, ... (for regression targets, save `y` as floats)",
            )
        y = torch.from_numpy(labels.astype(np.int64))
    if tokens is not None:
        return _token_ids(x, path, tokens), y.float() if y.is_floating_point() else y.long()
    x = x.float().div_(255.0) if x.dtype == torch.uint8 else x.float()  # uint8 images become [0, 1]
    y = y.float() if y.is_floating_point() else y.long()
    return x, y


def _token_ids(x: Tensor, path: Path, tokens: int) -> Tensor:
    """`x` of a spec whose input is token ids: integers from 0 to `tokens` - 1, as int64."""
    if x.is_floating_point() or x.is_complex() or x.dtype == torch.bool:
        raise _shape_error(
            f"`x` in {path} holds {str(x.dtype).removeprefix('torch.')} values, but the spec's input is token ids",
            "save `x` as integers (numpy int64), one token id per position",
        )
    low, high = int(x.min()), int(x.max())
    if low < 0 or high >= tokens:
        bad = low if low < 0 else high
        raise _shape_error(
            f"`x` in {path} holds the token id {bad}, but the spec's input takes ids from 0 to {tokens - 1}"
            f" (`tokens: {tokens}`)",
            f"set `tokens: {high + 1}` in `input`" if low >= 0 else "number the tokens from 0",
        )
    return x.long()


def _image_folder(
    ds: ImageFolder, train_tf: Sequence[TransformBase], val_tf: Sequence[TransformBase], shape: tuple[int, ...]
) -> tuple[Samples, Samples, list[str], Samples | None]:
    from torchvision.datasets import ImageFolder as TorchImageFolder

    def open_tree(path: str, key: str) -> Any:
        if not Path(path).is_dir():
            raise _missing(Path(path), key, "give a folder with one subfolder of images per class")
        try:
            return TorchImageFolder(path)
        except (FileNotFoundError, OSError) as e:
            raise _missing(Path(path), key, f"it needs one subfolder of images per class ({e})") from None

    def same_classes(other: Any, other_path: str) -> Any:
        if other.classes != tree.classes:
            raise _shape_error(
                f"the class folders of {other_path} ({', '.join(other.classes)}) differ from "
                f"those of {ds.path} ({', '.join(tree.classes)})",
                "give both trees the same class folders",
            )
        return other

    tree = open_tree(ds.path, "path")
    targets = torch.tensor(tree.targets)
    if ds.val_path is not None:
        val_tree = same_classes(open_tree(ds.val_path, "val_path"), ds.val_path)
        train_t, val_t = torch.arange(len(tree)), torch.arange(len(val_tree))
    else:
        val_tree = tree
        train_t, val_t = split_indices(targets, ds.val_fraction)
    test = None
    flatten = len(shape) == 1
    if ds.test_path is not None:
        test_tree = same_classes(open_tree(ds.test_path, "test_path"), ds.test_path)
        test = FolderSamples(test_tree, list(range(len(test_tree))), compose(val_tf), flatten, shape)
    elif ds.test_fraction is not None:
        train_t, test_t = carve(train_t, targets, ds.test_fraction)
        test = FolderSamples(tree, test_t.tolist(), compose(val_tf), flatten, shape)
    return (
        FolderSamples(tree, train_t.tolist(), compose(train_tf), flatten, shape),
        FolderSamples(val_tree, val_t.tolist(), compose(val_tf), flatten, shape),
        list(tree.classes),
        test,
    )


def split_indices(y: Tensor, fraction: float) -> tuple[Tensor, Tensor]:
    """A fixed (seed 0) train/validation split, stratified by class when `y` holds labels."""
    rng = np.random.default_rng(0)
    labels = y.numpy()
    groups = [np.arange(len(y))] if y.is_floating_point() else [np.flatnonzero(labels == c) for c in np.unique(labels)]
    train, val = [], []
    for idx in groups:
        idx = rng.permutation(idx)
        k = round(len(idx) * fraction)
        val.append(idx[:k])
        train.append(idx[k:])
    return torch.from_numpy(np.sort(np.concatenate(train))), torch.from_numpy(np.sort(np.concatenate(val)))


# -- checks before the first step ----------------------------------------------------------


def sample_shape(split: Split) -> tuple[int, ...]:
    if isinstance(split, InMemory):
        return tuple(split.x.shape[1:])
    return tuple(split.sample(0)[0].shape)


def target_shape(split: Split) -> tuple[int, ...]:
    if isinstance(split, InMemory):
        return tuple(split.y.shape[1:])
    return tuple(torch.as_tensor(split.sample(0)[1]).shape)


def check_fits(spec: Spec, report: ShapeReport, data: Data, config: TrainConfig) -> None:
    """Samples must have the spec's input shape, labels must fit its output: else `dataset-shape` with the fix."""
    val_key = "val_transforms" if config.val_transforms is not None else "transforms"
    transformed: list[tuple[str, Split, Sequence[TransformBase]]] = [
        ("transforms", data.train, config.transforms),
        (val_key, data.val, config.validation_transforms()),
    ]
    if data.test is not None:  # the test split is read as the validation split is
        transformed.append((val_key, data.test, config.validation_transforms()))
    mixed = misfit.mixed_sizes(config, transformed, spec.input)
    if mixed is not None:
        raise mixed
    splits = [("training", data.train), ("validation", data.val)]
    splits += [("test", data.test)] if data.test is not None else []
    for which, split in splits:
        if len(split) == 0:
            raise _shape_error(f"the {which} split is empty", "use a larger dataset or another `val_fraction`")
        got = sample_shape(split)
        if got != spec.input:
            raise misfit.input_mismatch(spec, which, got, config)
        if spec.input.tokens is not None and isinstance(split, InMemory) and split.x.is_floating_point():
            raise _shape_error(
                f"the {which} samples are floats, but the spec's input is token ids (`tokens`)",
                "train it on a `tensors` file whose `x` holds integer token ids",
            )
    out = report.output_shape[1:]
    if config.loss.type == "CrossEntropyLoss" and out == (1,):  # the default loss, left on a regression
        raise _output_error(
            spec,
            "CrossEntropyLoss over one output per sample is always 0: a softmax over a single class",
            help="for a regression set `loss: MSELoss` (or L1Loss); for classes, give one output per class",
        )
    if data.classes is not None and len(out) != 1:  # before the loss's own check: this one knows the fix
        flatten = next((w for w in report.warnings if w.code == "missing-flatten"), None)
        raise _output_error(  # a Linear on an unflattened input ends the network with (N, C, H, classes)
            spec,
            f"the spec's output is {_shape(report.output_shape)} but class labels need (N, classes)",
            help=f"add `- Flatten` before `{path_str(_layer_of(flatten.path))}`, the Linear the missing-flatten"
            " warning points at: it acts on the last dimension only"
            if flatten is not None
            else None,
        )
    check_loss(spec, report, config.loss, data.classes)
    check_metric(config.early_stopping, data.classes)
    if data.classes is not None:
        if len(data.classes) > int(out[0]):
            raise _output_error(
                spec,
                f"the dataset has {len(data.classes)} classes but the spec's output has {out[0]} values per sample",
                help=f"make the last layer produce {len(data.classes)} outputs (`out_features: {len(data.classes)}`)",
            )
        return
    target = target_shape(data.train)
    floats = misfit.float_labels(data.train.y, int(out[0])) if isinstance(data.train, InMemory) and out else None
    if floats is not None and target == () and len(out) == 1:
        raise floats
    if target != out and not (target == () and out == (1,)):
        raise _output_error(
            spec,
            f"the targets are {_dims(target) or 'scalars'} per sample but the spec's output is {_dims(out)}",
            help="make the last layer produce the target's shape",
        )
    if config.loss.type == "CrossEntropyLoss" and len(out) != 1:
        raise _output_error(spec, "CrossEntropyLoss needs an output of (N, classes)")


def _layer_of(path: tuple[Any, ...]) -> tuple[Any, ...]:
    """A diagnostic's path cut to the layer it is in: ("layers", 1, "type") -> ("layers", 1)."""
    last = max((i for i, p in enumerate(path) if isinstance(p, int)), default=len(path) - 1)
    return path[: last + 1]


def _output_error(spec: Spec, message: str, help: str | None = None) -> SpecError:
    path = ("layers", len(spec.layers) - 1)  # the trainer's `locate` points it at the file
    return SpecError([Diagnostic("dataset-shape", message, path=path, help=help or "end the network with Linear")])


def _shape_error(message: str, help: str) -> SpecError:
    return SpecError([Diagnostic("dataset-shape", message, path=("train", "dataset"), help=help)])


def _missing(path: Path, key: str, help: str) -> SpecError:
    return SpecError(
        [
            Diagnostic(
                "dataset-missing",
                f"{path} does not exist" if not path.exists() else f"{path} is not a dataset netspec can read",
                path=("train", "dataset", key),
                notes=(f"netspec looked in {path.resolve()}",),
                help=help,
            )
        ]
    )


def _dims(shape: tuple[Any, ...]) -> str:
    return "×".join(str(d) for d in shape)


def _shape(shape: tuple[Any, ...]) -> str:
    return "(" + ", ".join(str(d) for d in shape) + ")"
