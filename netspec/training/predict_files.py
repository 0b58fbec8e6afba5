"""What `netspec predict` reads: image files, folders of them, and array files of samples (.npy, .npz, .pt, .csv)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from ..diagnostics import Diagnostic, SpecError

ARRAY_SUFFIXES = (".npy", ".npz", ".pt", ".csv")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".ppm", ".pgm")


def is_array_file(path: Path) -> bool:
    return path.suffix.lower() in ARRAY_SUFFIXES


def expand(paths: list[str | os.PathLike[str]]) -> list[Path]:
    """The files to predict: each path as given, a folder as the images under it (sorted, subfolders too)."""
    files: list[Path] = []
    for p in map(Path, paths):
        if not p.is_dir():
            files.append(p)
            continue
        found = sorted(f for f in p.rglob("*") if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES)
        if not found:
            raise SpecError(
                [
                    Diagnostic(
                        "io-error",
                        f"{p} holds no image files",
                        source=str(p),
                        help=f"pass image files, or a folder holding some ({', '.join(IMAGE_SUFFIXES[:4])}, ...)",
                    )
                ]
            )
        files += found
    return files


def read_rows(path: Path, shape: tuple[int, ...], transform: Callable[[Tensor], Tensor]) -> Tensor:
    """The samples in an array file as (N, *shape) float32: `x` of an .npz or .pt dict, its one array, or CSV rows.

    As a tensors dataset's samples in training: uint8 scaled to [0, 1], the validation transforms
    applied, images flattened for a vector input. A file holding a single sample is one row.
    """
    if not path.is_file():
        raise _error(path, f"{path} does not exist", "pass the path of an .npy, .npz, .pt or .csv file")
    try:
        x = _load(path)
    except SpecError:
        raise
    except Exception as e:  # numpy's, torch's and the csv reader's many ways to fail on a file that is not theirs
        raise _error(path, f"cannot read {path} ({type(e).__name__})", _SAVE) from None
    if x is None:
        raise _error(path, f"{path} holds no `x` array", _SAVE)
    if not (x.dtype.is_floating_point or x.dtype in (torch.uint8, torch.int32, torch.int64, torch.int16)):
        raise _error(path, f"the samples in {path} are {x.dtype}, not numbers", _SAVE, code="dataset-shape")
    x = x.float().div(255.0) if x.dtype == torch.uint8 else x.float()  # uint8 as in training: [0, 1]
    if x.ndim == len(shape) and (x.ndim > 1 or tuple(x.shape) == shape):
        x = x[None]  # one sample
    try:
        x = transform(x)  # (N, C, H, W) at a time, as training applies them
    except (RuntimeError, ValueError, TypeError, IndexError) as e:  # torchvision's and torch's checks
        raise _error(
            path,
            f"the validation transforms fail on the samples in {path}, of shape {tuple(x.shape[1:])}: "
            f"{(str(e).strip().splitlines() or [type(e).__name__])[0]}",
            "give the samples as the training data held them",
            code="dataset-shape",
        ) from None
    if len(shape) == 1 and x.ndim > 2:
        x = x.reshape(len(x), -1)  # images for a vector input, flattened as in training
    if tuple(x.shape[1:]) != shape:
        want = "×".join(map(str, shape))
        raise _error(
            path,
            f"the samples in {path} are {'×'.join(map(str, x.shape[1:])) or 'scalars'} but the model takes {want}",
            f"give one row of {want} values per sample: an array of shape (N, {', '.join(map(str, shape))})",
            code="dataset-shape",
        )
    return x


_SAVE = "save the samples with numpy.save(path, x), numpy.savez(path, x=x), torch.save(x, path) or as CSV rows"


def _load(path: Path) -> Tensor | None:
    suffix = path.suffix.lower()
    if suffix == ".csv":
        rows = np.loadtxt(path, delimiter=",", dtype=np.float32, ndmin=2)  # (N, F)
        return torch.from_numpy(rows)
    if suffix == ".npy":
        return _numbers(np.load(path, allow_pickle=False), path)
    if suffix == ".npz":
        with np.load(path, allow_pickle=False) as f:
            key = "x" if "x" in f.files else (f.files[0] if len(f.files) == 1 else None)
            return _numbers(f[key], path) if key is not None else None
    loaded = torch.load(path, map_location="cpu", weights_only=True)
    if isinstance(loaded, dict):
        loaded = loaded.get("x")
    return loaded if isinstance(loaded, Tensor) else None


def _numbers(a: np.ndarray, path: Path) -> Tensor:
    if a.dtype.kind not in "biuf":  # strings, objects, complex: torch has no use for them here
        raise _error(path, f"the samples in {path} are {a.dtype}, not numbers", _SAVE, code="dataset-shape")
    return torch.from_numpy(a)


def _error(path: Path, message: str, help: str, code: str = "io-error") -> SpecError:
    return SpecError([Diagnostic(code, message, source=str(path), help=help)])
