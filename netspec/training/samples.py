"""Sample sets transformed one sample at a time, for DataLoader workers: random augmentation, image files.

Items are fetched by `(index, seed)`: the seed, drawn from (train seed, epoch, index), makes
each sample's augmentation the same whichever worker or process draws it, so a resumed or
distributed run sees the same augmented samples as a straight one.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor
from torch.utils.data import Dataset

from ..diagnostics import Diagnostic, SpecError
from ..diagnostics import Path as DocPath


class SampleError(ValueError):
    """A sample that cannot be used, found in a DataLoader worker (or this process) and turned into a diagnostic.

    A worker's exception reaches the main process rebuilt from one string, the worker's traceback,
    whose last line is `netspec.training.samples.<class name>: <message>`; subclasses say which diagnostic.
    """

    code = "dataset-shape"
    path: DocPath = ("input",)
    help = "add transforms that give every sample the same size, e.g. Resize([H, W]) or CenterCrop"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message.rstrip().splitlines()[-1].split(f"{type(self).__name__}: ", 1)[-1]

    def error(self) -> SpecError:
        return SpecError([Diagnostic(self.code, self.message, path=self.path, help=self.help)])


class SampleShapeError(SampleError):
    """A sample whose shape after the transforms is not the spec's input."""


class SampleReadError(SampleError):
    """An image file that cannot be decoded: damaged, truncated, or not an image."""

    code = "dataset-missing"
    path = ("train", "dataset", "path")
    help = "replace or remove the file: every file in the class folders must be an image Pillow can open"


class TransformError(SampleError):
    """A transform that fails on a sample: a crop larger than the image, a Normalize for other channels, ..."""

    path = ("train", "transforms")
    help = "make the transforms fit the samples' size and channels"


def failure(e: Exception) -> str:
    """The first line of an exception's message (torch's can run to many), or its type."""
    text = str(e).strip()
    return text.splitlines()[0] if text else type(e).__name__


class Samples(Dataset[tuple[Tensor, Tensor]], ABC):
    """A split whose samples are read and transformed on demand; each must come out as `shape`."""

    def __init__(self, transform: Callable[[Tensor], Tensor], flatten: bool, shape: tuple[int, ...]) -> None:
        self.transform = transform
        self.flatten = flatten
        self.shape = shape

    @abstractmethod
    def __len__(self) -> int: ...

    @abstractmethod
    def raw(self, index: int) -> tuple[Tensor, Tensor]:
        """Sample `index` as a float (C, H, W) image in [0, 1] (or as stored) and its target."""

    @abstractmethod
    def describe(self, index: int) -> str:
        """How to name sample `index` in a message: `sample 12`, or its file."""

    def sample(self, index: int, seed: int = 0) -> tuple[Tensor, Tensor]:
        """Sample `index`, transformed with its own seed (the caller's RNG stream is left as it was)."""
        x, y = self.raw(index)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            try:
                x = self.transform(x)
            except (RuntimeError, ValueError, TypeError, IndexError) as e:  # torchvision's and torch's checks
                raise TransformError(
                    f"the transforms fail on {self.describe(index)}, of shape {tuple(x.shape)}: {failure(e)}"
                ) from None
        return (x.reshape(-1) if self.flatten else x), y

    def __getitem__(self, key: tuple[int, int]) -> tuple[Tensor, Tensor]:
        x, y = self.sample(*key)
        if tuple(x.shape) != self.shape:  # a DataLoader would fail to stack it, less clearly
            got, want = _dims(x.shape), _dims(self.shape)
            raise SampleShapeError(f"{self.describe(key[0])} is {got} after the transforms but the spec takes {want}")
        return x, y


class TensorSamples(Samples):
    """Samples of an in-memory dataset with random transforms (kept on the CPU, batched by a DataLoader)."""

    def __init__(
        self, x: Tensor, y: Tensor, transform: Callable[[Tensor], Tensor], flatten: bool, shape: tuple[int, ...]
    ) -> None:
        super().__init__(transform, flatten, shape)
        self.x, self.y = x, y

    def __len__(self) -> int:
        return len(self.y)

    def raw(self, index: int) -> tuple[Tensor, Tensor]:
        return self.x[index], self.y[index]

    def describe(self, index: int) -> str:
        return f"sample {index}"


class FolderSamples(Samples):
    """Images of a torchvision ImageFolder tree (a subset of it, by index), decoded as RGB."""

    def __init__(
        self,
        tree: Any,
        indices: list[int],
        transform: Callable[[Tensor], Tensor],
        flatten: bool,
        shape: tuple[int, ...],
    ) -> None:
        super().__init__(transform, flatten, shape)
        self.tree, self.indices = tree, indices

    def __len__(self) -> int:
        return len(self.indices)

    def raw(self, index: int) -> tuple[Tensor, Tensor]:
        from PIL import Image
        from torchvision.transforms.v2.functional import pil_to_tensor

        path, label = self.tree.samples[self.indices[index]]
        try:
            image = pil_to_tensor(self.tree.loader(path))  # (3, H, W) uint8
        except (OSError, Image.DecompressionBombError) as e:  # OSError includes UnidentifiedImageError
            raise SampleReadError(f"cannot read {path} as an image ({type(e).__name__})") from None
        return image.float().div_(255.0), torch.tensor(label)

    def describe(self, index: int) -> str:
        return str(self.tree.samples[self.indices[index]][0])


def _dims(shape: tuple[int, ...] | torch.Size) -> str:
    return "×".join(map(str, shape))


def sample_seed(seed: int, epoch: int, index: int) -> int:
    """A seed per (run seed, epoch, sample), spread out so neighbouring samples get unrelated streams."""
    return hash((seed, epoch, index)) & 0x7FFF_FFFF_FFFF_FFFF
