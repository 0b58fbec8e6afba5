"""Data handed to `netspec.train` from Python: tensors or arrays, a torch Dataset, or a DataLoader.

`netspec.train(spec, data=..., val_data=...)` records `dataset: {name: python}` in the spec and
holds the objects here while it runs; `load_data` takes them from `supplying`'s context instead
of reading a file. Tensors are held in memory like a tensors file; a Dataset is read sample by
sample every epoch (so its own random augmentation still varies), each sample seeded as netspec's
are.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import DataLoader, Dataset, IterableDataset

from ..diagnostics import Diagnostic, SpecError
from .config import PythonData, TrainConfig
from .overrides import Override
from .samples import Samples
from .transforms import TransformBase, compose


@dataclass(frozen=True)
class Given:
    data: Any
    val_data: Any | None


_GIVEN: ContextVar[Given | None] = ContextVar("netspec_given_data", default=None)


@contextmanager
def supplying(data: Any, val_data: Any | None) -> Iterator[None]:
    """Make `data` (and `val_data`) what a `dataset: {name: python}` reads while the block runs."""
    token = _GIVEN.set(Given(data, val_data))
    try:
        yield
    finally:
        _GIVEN.reset(token)


def describe(data: Any) -> str:
    """What a run's output says it trained on."""
    if isinstance(data, DataLoader):
        return f"a DataLoader of {type(data.dataset).__name__}"
    if isinstance(data, (tuple, list)):
        return "tensors"
    return f"a {type(data).__name__}"


def overrides(data: Any, val_data: Any, explicit: dict[str, Any], train: TrainConfig | None) -> list[Override]:
    """`dataset: {name: python}` (unless the spec has one), and a DataLoader's batch size and workers."""
    if data is None:
        if val_data is not None:
            raise _error("`val_data` was given without `data`", "val_data")
        return []
    origin = f"data={describe(data)}"
    sets = []
    if train is None or not isinstance(train.dataset, PythonData):  # keep its val_fraction and test_fraction
        sets.append(Override(("train", "dataset"), {"name": "python"}, origin))
    if isinstance(data, DataLoader):
        if data.batch_size is not None and explicit.get("batch_size") is None:
            sets.append(Override(("train", "batch_size"), data.batch_size, origin))
        sets.append(Override(("train", "num_workers"), data.num_workers, origin))
    elif not isinstance(data, (tuple, list)):  # a Dataset made in a notebook may not reach worker processes
        sets.append(Override(("train", "num_workers"), 0, origin))
    return sets


class DatasetSamples(Samples):
    """A map-style torch Dataset (a subset of it, by index) as a netspec split: each item is (x, y)."""

    def __init__(
        self, dataset: Any, indices: Sequence[int], transforms: Sequence[TransformBase], shape: tuple[int, ...]
    ) -> None:
        super().__init__(compose(transforms), len(shape) == 1, shape)
        self.dataset, self.indices = dataset, list(indices)

    def __len__(self) -> int:
        return len(self.indices)

    def raw(self, index: int) -> tuple[Tensor, Tensor]:
        x, y = _pair(self.dataset[self.indices[index]], self.indices[index])
        return _samples(torch.as_tensor(x)), torch.as_tensor(y)

    def describe(self, index: int) -> str:
        return f"item {self.indices[index]} of the {type(self.dataset).__name__}"


def given_splits(
    ds: PythonData,
    train_tf: Sequence[TransformBase],
    val_tf: Sequence[TransformBase],
    shape: tuple[int, ...],
    device: torch.device,
) -> tuple[Any, Any, list[str] | None, Any]:
    """The (train, validation, classes, test) of the data `netspec.train` was given."""
    from .data import carve, split_indices, transformed  # data.py imports this module

    given = _GIVEN.get()
    if given is None or given.data is None:
        raise SpecError(
            [
                Diagnostic(
                    "dataset-missing",
                    "this spec trained on data given from Python (`dataset: {name: python}`), which is not here",
                    path=("train", "dataset"),
                    help="pass it again, netspec.train(spec, data=...), or name a dataset netspec can read,"
                    " e.g. `--set train.dataset=digits` (`--dataset digits` for `netspec evaluate`)",
                )
            ]
        )
    train = _as_split(given.data, "data")
    val = _as_split(given.val_data, "val_data") if given.val_data is not None else None
    labels = _labels(train, "data")
    classes = None if labels.is_floating_point() else _class_names(given.data, labels, val)

    def part(split: Any, indices: Tensor | None, tf: Sequence[TransformBase], key: str) -> Any:
        if isinstance(split, tuple):
            x, y = split if indices is None else (split[0][indices], split[1][indices])
            return transformed(x, y, tf, shape, device, key)
        return DatasetSamples(split, range(len(split)) if indices is None else indices.tolist(), tf, shape)

    val_key = "val_transforms"
    train_idx, val_idx = split_indices(labels, ds.val_fraction) if val is None else (torch.arange(len(labels)), None)
    test = None
    if ds.test_fraction is not None:
        train_idx, test_idx = carve(train_idx, labels, ds.test_fraction)
        test = part(train, test_idx, val_tf, val_key)
    val_split = part(train, val_idx, val_tf, val_key) if val is None else part(val, None, val_tf, val_key)
    return part(train, train_idx, train_tf, "transforms"), val_split, classes, test


def _as_split(data: Any, key: str) -> tuple[Tensor, Tensor] | Any:
    """(x, y) tensors checked as a tensors file's are, or a map-style Dataset."""
    if isinstance(data, DataLoader):
        data = data.dataset
    if isinstance(data, (tuple, list)):
        if len(data) != 2:
            items = f"{len(data)} item{'s' if len(data) != 1 else ''}"
            raise _error(f"`{key}` is a {type(data).__name__} of {items}, not (x, y)", key)
        try:
            x, y = (torch.as_tensor(np.asarray(v)) if not isinstance(v, Tensor) else v for v in data)
        except (TypeError, ValueError, RuntimeError) as e:
            raise _error(f"`{key}` holds values that are not arrays of numbers ({type(e).__name__})", key) from None
        return _checked(x.detach().cpu(), y.detach().cpu(), key)
    if isinstance(data, IterableDataset) or not isinstance(data, Dataset) or not hasattr(data, "__len__"):
        raise _error(
            f"`{key}` is a {type(data).__name__}, not tensors, a Dataset with a length, or a DataLoader of one",
            key,
        )
    if len(data) == 0:
        raise _error(f"`{key}` holds no samples", key)
    return data


def _checked(x: Tensor, y: Tensor, key: str) -> tuple[Tensor, Tensor]:
    if x.ndim < 2 or len(x) == 0:
        raise _error(f"`x` of `{key}` has shape {tuple(x.shape)}: give one row per sample, (N, ...)", key)
    if y.ndim == 0 or len(x) != len(y):
        raise _error(f"`{key}` has {len(x)} samples in x but {len(y) if y.ndim else 'a single number'} in y", key)
    if not y.is_floating_point():
        if y.ndim != 1 or int(y.min()) < 0:
            raise _error(f"integer y of `{key}` must be (N,) class indices from 0", key)
        y = y.long()
    return _samples(x), y.float() if y.is_floating_point() else y


def _samples(x: Tensor) -> Tensor:
    return x.float().div(255.0) if x.dtype == torch.uint8 else x.float()  # uint8 images become [0, 1]


def _pair(item: Any, index: int) -> tuple[Any, Any]:
    if not isinstance(item, (tuple, list)) or len(item) < 2:
        raise _error(f"item {index} of the Dataset is a {type(item).__name__}, not an (x, y) pair", "data")
    return item[0], item[1]


def _labels(split: Any, key: str) -> Tensor:
    """Every target of a split (a Dataset's `targets` when it has them, else read item by item)."""
    if isinstance(split, tuple):
        return split[1]  # type: ignore[no-any-return]
    targets = getattr(split, "targets", None)
    if targets is None and hasattr(split, "tensors"):  # TensorDataset
        targets = split.tensors[1]
    if targets is None:
        targets = [torch.as_tensor(_pair(split[i], i)[1]) for i in range(len(split))]
        return torch.stack(targets)
    return torch.as_tensor(np.asarray(targets))


def _class_names(data: Any, labels: Tensor, val: Any | None) -> list[str]:
    named = getattr(data.dataset if isinstance(data, DataLoader) else data, "classes", None)
    if isinstance(named, (list, tuple)) and named:
        return [str(c) for c in named]
    top = int(labels.max())
    if val is not None:
        top = max(top, int(_labels(val, "val_data").max()))
    return [str(c) for c in range(top + 1)]


def _error(message: str, key: str) -> SpecError:
    return SpecError(
        [
            Diagnostic(
                "dataset-shape",
                message,
                source=f"netspec.train({key}=...)",
                help="pass (x, y) tensors or arrays, a torch Dataset of (x, y) pairs, or a DataLoader of one",
            )
        ]
    )
