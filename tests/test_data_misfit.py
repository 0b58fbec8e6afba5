"""Data that does not fit the spec gets the fix for its real cause; each test follows the help and loads again.

The cases a new user meets: images saved channels last, samples flattened or without their channel dimension,
class numbers saved as floats, and an image folder of mixed sizes.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

import netspec
from netspec.diagnostics import Diagnostic

from .test_train_data import _load, _tree

CONV = "layers: [{type: Conv2d, out_channels: 4, kernel_size: 3}, Flatten, {type: Linear, out_features: 10}]\n"
MLP = "layers: [Flatten, {type: Linear, out_features: 10}]\n"


def spec(folder: Path, input: str, layers: str = CONV, extra: str = "") -> str:
    return f"input: {input}\n{layers}train: {{dataset: {{name: tensors, path: {folder / 'd.npz'}}}{extra}}}\n"


def save(folder: Path, x: np.ndarray, y: np.ndarray | None = None) -> None:
    np.savez(folder / "d.npz", x=x, y=(np.arange(len(x)) % 10) if y is None else y)


def problem(text: str) -> Diagnostic:
    with pytest.raises(netspec.SpecError) as info:
        _load(text)
    [d] = info.value.diagnostics
    assert d.code == "dataset-shape"
    return d


def transforms_in(help: str) -> list[Any]:
    """The transforms a help says to add to `transforms`, as YAML reads them."""
    found = re.search(r"add (.*) to `(?:val_)?transforms`", help)
    assert found is not None, help
    return [yaml.safe_load(item) for item in re.findall(r"`([^`]+)`", found.group(1))]


IMAGES = np.random.default_rng(0).integers(0, 256, size=(40, 28, 28, 3), dtype=np.uint8)  # (N, H, W, C)


def test_channels_last_images_are_said_to_be_so_and_transposing_them_fits(tmp_path: Path) -> None:
    save(tmp_path, IMAGES)
    d = problem(spec(tmp_path, "[3, 28, 28]"))
    assert "channels last" in d.message
    assert "input" not in (d.help or "")  # "change `input` to [28, 28, 3]" led to `in_channels: 28`
    assert "`x.transpose(0, 3, 1, 2)`" in (d.help or "")
    save(tmp_path, IMAGES.transpose(0, 3, 1, 2))
    assert _load(spec(tmp_path, "[3, 28, 28]")).train.x.shape[1:] == (3, 28, 28)  # type: ignore[union-attr]


def test_channels_last_for_a_grey_spec_also_names_the_transform(tmp_path: Path) -> None:
    save(tmp_path, IMAGES)
    d = problem(spec(tmp_path, "[1, 28, 28]"))
    assert "channels last" in d.message and "`x.transpose(0, 3, 1, 2)`" in (d.help or "")
    save(tmp_path, IMAGES.transpose(0, 3, 1, 2))
    added = transforms_in(d.help or "")
    assert added == ["Grayscale"]
    data = _load(spec(tmp_path, "[1, 28, 28]", extra=f", transforms: {added}".replace("'", "")))
    assert data.train.x.shape[1:] == (1, 28, 28)  # type: ignore[union-attr]


@pytest.mark.parametrize("layers", [CONV, MLP])
def test_flattened_samples_get_reshaped(tmp_path: Path, layers: str) -> None:
    flat = IMAGES[..., 0].reshape(40, 784)
    save(tmp_path, flat)
    d = problem(spec(tmp_path, "[1, 28, 28]", layers))
    assert d.message == (
        "training samples are vectors of 784 values but the spec takes 1×28×28 images (1 × 28 × 28 = 784)"
    )
    reshape = re.search(r"`x\.reshape\(([-\d, ]+)\)`", d.help or "")
    assert reshape is not None
    save(tmp_path, flat.reshape(*(int(n) for n in reshape.group(1).split(", "))))
    assert _load(spec(tmp_path, "[1, 28, 28]", layers)).train.x.shape[1:] == (1, 28, 28)  # type: ignore[union-attr]
    # a network that starts by flattening may take the vectors as they are; one that starts with a Conv2d may not
    assert ("change `input` to [784]" in (d.help or "")) == (layers == MLP)
    if layers == MLP:
        save(tmp_path, flat)
        assert len(_load(spec(tmp_path, "[784]", layers)).train) == 30


def test_images_without_a_channel_dimension_get_one(tmp_path: Path) -> None:
    grey = IMAGES[..., 0]  # (N, 28, 28)
    save(tmp_path, grey)
    d = problem(spec(tmp_path, "[1, 28, 28]"))
    assert "without a channel dimension" in d.message
    assert "`x[:, None]`" in (d.help or "") and "[784]" not in (d.help or "")
    save(tmp_path, grey[:, None])
    assert _load(spec(tmp_path, "[1, 28, 28]")).train.x.shape[1:] == (1, 28, 28)  # type: ignore[union-attr]


def test_float_class_labels_are_to_be_cast(tmp_path: Path) -> None:
    labels = (np.arange(40) % 10).astype(np.float32)
    save(tmp_path, IMAGES.transpose(0, 3, 1, 2), labels)
    d = problem(spec(tmp_path, "[3, 28, 28]"))
    assert "class numbers (0 to 9) stored as floats" in d.message
    assert "`y.astype(np.int64)`" in (d.help or "")
    assert "target's shape" not in (d.help or "")  # the old advice: make the output a scalar
    save(tmp_path, IMAGES.transpose(0, 3, 1, 2), labels.astype(np.int64))
    assert _load(spec(tmp_path, "[3, 28, 28]")).classes == [str(c) for c in range(10)]


def test_float_regression_targets_stay_targets(tmp_path: Path) -> None:
    save(tmp_path, np.random.default_rng(0).random((40, 5)).astype(np.float32), np.linspace(0, 1, 40))
    text = spec(tmp_path, "[5]", "layers: [{type: Linear, out_features: 1}]\n", ", loss: MSELoss")
    assert _load(text).classes is None


def test_an_image_folder_of_mixed_sizes_gets_a_resize(tmp_path: Path) -> None:
    _tree(tmp_path / "tree", {"cat": [(40, 30), (32, 32), (50, 60)], "dog": [(32, 32), (64, 48), (20, 20)]})
    text = (
        "input: [3, 32, 32]\n" + CONV + f"train: {{dataset: {{name: imagefolder, path: {tmp_path / 'tree'},"
        " val_fraction: 0.34}, num_workers: 0"
    )
    d = problem(text + "}\n")
    assert "different sizes" in d.message and d.path == ("train", "transforms")
    added = transforms_in(d.help or "")
    assert added == [{"type": "Resize", "size": [32, 32]}]
    data = _load(text + f", transforms: {yaml.safe_dump(added, default_flow_style=True).strip()}}}\n")
    for split in (data.train, data.val):
        assert all(tuple(split[(i, 0)][0].shape) == (3, 32, 32) for i in range(len(split)))


@pytest.mark.parametrize(("features", "fits"), [(784, True), (64, True), (100, True), (700, False)])
def test_digits_for_a_vector_input(features: int, fits: bool) -> None:
    """`input: [784]` takes the digits resized to 28×28 and flattened, as README says they are resized."""
    text = f"input: [{features}]\nlayers: [{{type: Linear, out_features: 10}}]\n"
    if fits:
        assert _load(text).train.x.shape[1:] == (features,)  # type: ignore[union-attr]
        return
    d = problem(text)
    suggested = re.search(r"`input: \[(\d+)\]`", d.help or "")
    assert suggested is not None
    assert _load(f"input: [{suggested.group(1)}]\nlayers: [{{type: Linear, out_features: 10}}]\n")


def test_a_classifier_without_flatten_is_told_where_to_flatten() -> None:
    """It said "end the network with Linear" of a network that ends with one."""
    text = (
        "input: [1, 8, 8]\nlayers:\n  - {type: Conv2d, out_channels: 4, kernel_size: 3}\n"
        "  - {type: Linear, out_features: 10}\n"
    )
    d = problem(text)
    assert "end the network with Linear" not in (d.help or "")
    where = re.search(r"before `layers\[(\d+)\]`", d.help or "")
    assert where is not None
    lines = text.splitlines()
    lines.insert(lines.index("layers:") + 1 + int(where.group(1)), "  - Flatten")
    assert _load("\n".join(lines) + "\n").classes is not None
