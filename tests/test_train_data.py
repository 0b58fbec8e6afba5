"""Every dataset kind on tiny files the tests write in the real on-disk formats; nothing is downloaded."""

from __future__ import annotations

import hashlib
import pickle
import struct
from pathlib import Path

import numpy as np
import pytest
import torch
import torchvision
from PIL import Image

import netspec
from netspec.report import check
from netspec.training.batches import Batches
from netspec.training.config import TrainConfig
from netspec.training.data import Data, InMemory, load_data
from netspec.training.samples import Samples

MLP_28 = "input: [1, 28, 28]\nlayers: [Flatten, {type: Linear, out_features: 10}]\n"


def _load(text: str) -> Data:
    spec = netspec.parse_spec(text, source="s.yaml")
    return load_data(spec, spec.train or TrainConfig(), check(spec), torch.device("cpu"))


def _idx(path: Path, array: np.ndarray) -> None:
    """An IDX file as MNIST ships them: magic (0, 0, type 0x08 = ubyte, ndim), big-endian sizes, the bytes."""
    header = struct.pack(">I", 0x0800 + array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    path.write_bytes(header + array.tobytes())


def _mnist(root: Path, folder: str, n_train: int = 30, n_test: int = 10) -> tuple[np.ndarray, np.ndarray]:
    raw = root / folder / "raw"
    raw.mkdir(parents=True)
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(n_train + n_test, 28, 28), dtype=np.uint8)
    labels = (np.arange(n_train + n_test) % 10).astype(np.uint8)
    _idx(raw / "train-images-idx3-ubyte", images[:n_train])
    _idx(raw / "train-labels-idx1-ubyte", labels[:n_train])
    _idx(raw / "t10k-images-idx3-ubyte", images[n_train:])
    _idx(raw / "t10k-labels-idx1-ubyte", labels[n_train:])
    return images, labels


@pytest.mark.parametrize(("name", "folder"), [("mnist", "MNIST"), ("fashion_mnist", "FashionMNIST")])
def test_mnist_idx_files(tmp_path: Path, name: str, folder: str) -> None:
    images, labels = _mnist(tmp_path, folder)
    text = MLP_28 + f"train: {{dataset: {{name: {name}, root: {tmp_path}}}, batch_size: 8, epochs: 1}}\n"
    data = _load(text)
    assert (len(data.train), len(data.val)) == (30, 10)  # the test set validates
    assert torch.equal(data.train.x[3, 0], torch.from_numpy(images[3]).float() / 255)  # type: ignore[union-attr]
    assert data.val.y.tolist() == labels[30:].tolist()  # type: ignore[union-attr]
    assert data.classes == getattr(torchvision.datasets, folder).classes
    result = netspec.train(netspec.parse_spec(text), out=tmp_path / "run", quiet=True)
    assert result.final is not None and result.final.val_acc is not None


def test_a_missing_dataset_says_where_it_looked(tmp_path: Path) -> None:
    text = MLP_28 + f"train: {{dataset: {{name: mnist, root: {tmp_path / 'data'}}}}}\n"
    with pytest.raises(netspec.SpecError) as info:
        _load(text)
    [d] = info.value.diagnostics
    assert d.code == "dataset-missing"
    assert d.message == f"the mnist files are not in {tmp_path / 'data' / 'MNIST' / 'raw'}"
    assert d.help == "set `download: true` in train.dataset to fetch it, or copy the files there"
    assert d.span is not None and (d.span.line, d.span.col) == (3, 18)  # at `{name: mnist, ...}`


def test_mnist_into_a_3_channel_32x32_spec_needs_transforms(tmp_path: Path) -> None:
    _mnist(tmp_path, "MNIST")
    head = "input: [3, 32, 32]\nlayers: [Flatten, {type: Linear, out_features: 10}]\n"
    dataset = f"dataset: {{name: mnist, root: {tmp_path}}}"
    with pytest.raises(netspec.SpecError) as info:
        _load(head + f"train: {{{dataset}}}\n")
    [d] = info.value.diagnostics
    assert (d.code, d.message) == ("dataset-shape", "training samples are 1×28×28 but the spec takes 3×32×32")
    assert d.help == "add Grayscale(num_output_channels: 3) and Resize(32) transforms, or change `input` to [1, 28, 28]"
    transforms = "[{type: Grayscale, num_output_channels: 3}, {type: Resize, size: 32}]"
    fixed = head + f"train: {{{dataset}, transforms: {transforms}}}\n"
    data = _load(fixed)
    assert tuple(data.train.x.shape[1:]) == (3, 32, 32)  # type: ignore[union-attr]


def _cifar(root: Path, monkeypatch: pytest.MonkeyPatch) -> np.ndarray:
    """CIFAR-10's python pickle batches; torchvision's md5 list is pointed at these tiny files."""
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(1)
    data = rng.integers(0, 256, size=(30, 3072), dtype=np.uint8)  # rows: 1024 red, 1024 green, 1024 blue
    batches = {f"data_batch_{i + 1}": range(4 * i, 4 * i + 4) for i in range(5)} | {"test_batch": range(20, 30)}
    md5 = {}
    for name, rows in batches.items():
        payload = {"batch_label": name, "data": data[list(rows)], "labels": [r % 10 for r in rows]}
        (folder / name).write_bytes(pickle.dumps(payload, protocol=2))
        md5[name] = hashlib.md5((folder / name).read_bytes()).hexdigest()
    names = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
    (folder / "batches.meta").write_bytes(pickle.dumps({"label_names": names}, protocol=2))
    cls = torchvision.datasets.CIFAR10
    monkeypatch.setattr(cls, "train_list", [[f"data_batch_{i}", md5[f"data_batch_{i}"]] for i in range(1, 6)])
    monkeypatch.setattr(cls, "test_list", [["test_batch", md5["test_batch"]]])
    meta_md5 = hashlib.md5((folder / "batches.meta").read_bytes()).hexdigest()
    monkeypatch.setattr(cls, "meta", {"filename": "batches.meta", "key": "label_names", "md5": meta_md5})
    return data


def test_cifar10_pickle_batches(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = _cifar(tmp_path, monkeypatch)
    text = (
        "input: [3, 32, 32]\n"
        "layers: [{type: Conv2d, out_channels: 2, kernel_size: 3}, Flatten, {type: Linear, out_features: 10}]\n"
        f"train: {{dataset: {{name: cifar10, root: {tmp_path}}}, batch_size: 4, epochs: 1}}\n"
    )
    loaded = _load(text)
    assert (len(loaded.train), len(loaded.val)) == (20, 10)
    assert loaded.classes is not None and loaded.classes[3] == "cat"
    first = torch.from_numpy(data[0].reshape(3, 32, 32)).float() / 255  # CIFAR's row layout is (C, H, W)
    assert torch.equal(loaded.train.x[0], first)  # type: ignore[union-attr]
    result = netspec.train(netspec.parse_spec(text), out=tmp_path / "run", quiet=True)
    assert result.final is not None and len(result.history) == 1


def _tree(root: Path, sizes: dict[str, list[tuple[int, int]]]) -> None:
    for cls, dims in sizes.items():
        (root / cls).mkdir(parents=True)
        for i, (w, h) in enumerate(dims):
            pixels = np.full((h, w, 3), 20 * i + (120 if cls == "dog" else 0), dtype=np.uint8)
            Image.fromarray(pixels).save(root / cls / f"{i}.png")


def test_imagefolder(tmp_path: Path) -> None:
    _tree(tmp_path / "tree", {"cat": [(12, 10)] * 6, "dog": [(12, 10)] * 6})
    head = "input: [1, 8, 8]\nlayers: [Flatten, {type: Linear, out_features: 2}]\n"
    dataset = f"dataset: {{name: imagefolder, path: {tmp_path / 'tree'}, val_fraction: 0.25}}"
    with pytest.raises(netspec.SpecError) as info:
        _load(head + f"train: {{{dataset}}}\n")
    [d] = info.value.diagnostics
    assert d.message == "training samples are 3×10×12 but the spec takes 1×8×8"
    assert d.help == "add Grayscale and Resize(8) transforms, or change `input` to [3, 10, 12]"
    text = head + f"train: {{{dataset}, transforms: [Grayscale, {{type: Resize, size: [8, 8]}}], num_workers: 0}}\n"
    data = _load(text)
    assert data.classes == ["cat", "dog"]
    assert (len(data.train), len(data.val)) == (8, 4)  # round(6 × 0.25) = 2 of each class validate
    x, y = data.train[(0, 0)]
    assert tuple(x.shape) == (1, 8, 8) and int(y) == 0
    result = netspec.train(netspec.parse_spec(text), epochs=1, out=tmp_path / "run", quiet=True)
    assert result.final is not None and result.final.val_acc is not None


def test_imagefolder_images_of_another_size_mid_epoch(tmp_path: Path) -> None:
    """A sample that does not fit, met in a DataLoader worker, is a dataset-shape diagnostic naming the file."""
    _tree(tmp_path / "tree", {"cat": [(8, 8)] * 4, "dog": [(8, 8)] * 3 + [(9, 9)]})
    text = (
        "input: [1, 8, 8]\nlayers: [Flatten, {type: Linear, out_features: 2}]\n"
        f"train: {{dataset: {{name: imagefolder, path: {tmp_path / 'tree'}, val_path: {tmp_path / 'tree'}}},"
        " transforms: [Grayscale], num_workers: 1, batch_size: 2}\n"
    )
    with pytest.raises(netspec.SpecError) as info:
        netspec.train(netspec.parse_spec(text), epochs=1, out=tmp_path / "run", quiet=True)
    [d] = info.value.diagnostics
    assert d.code == "dataset-shape"
    assert d.message == f"{tmp_path / 'tree' / 'dog' / '3.png'} is 1×9×9 after the transforms but the spec takes 1×8×8"


def test_imagefolder_missing(tmp_path: Path) -> None:
    text = "input: [3]\nlayers: [{type: Linear, out_features: 2}]\n"
    with pytest.raises(netspec.SpecError) as info:
        _load(text + f"train: {{dataset: {{name: imagefolder, path: {tmp_path / 'nope'}}}}}\n")
    [d] = info.value.diagnostics
    assert (d.code, d.message) == ("dataset-missing", f"{tmp_path / 'nope'} does not exist")


def test_tensor_files_pt_with_a_validation_file(tmp_path: Path) -> None:
    torch.save({"x": torch.rand(12, 5), "y": torch.arange(12) % 3}, tmp_path / "train.pt")
    torch.save({"x": torch.rand(6, 5), "y": torch.arange(6) % 3}, tmp_path / "val.pt")
    text = (
        "input: [5]\nlayers: [{type: Linear, out_features: 3}]\n"
        f"train: {{dataset: {{name: tensors, path: {tmp_path / 'train.pt'}, val_path: {tmp_path / 'val.pt'}}}}}\n"
    )
    data = _load(text)
    assert (len(data.train), len(data.val), data.classes) == (12, 6, ["0", "1", "2"])


def test_tensor_files_that_are_not_x_and_y(tmp_path: Path) -> None:
    np.savez(tmp_path / "d.npz", images=np.zeros((4, 2)), labels=np.zeros(4))
    text = "input: [2]\nlayers: [{type: Linear, out_features: 2}]\n"
    with pytest.raises(netspec.SpecError) as info:
        _load(text + f"train: {{dataset: {{name: tensors, path: {tmp_path / 'd.npz'}}}}}\n")
    [d] = info.value.diagnostics
    assert (d.code, d.message) == ("dataset-shape", f"{tmp_path / 'd.npz'} holds `images`, `labels`, not `x` and `y`")
    torch.save({"x": [[0.0, 1.0]] * 4, "y": torch.zeros(4)}, tmp_path / "lists.pt")
    with pytest.raises(netspec.SpecError) as info:
        _load(text + f"train: {{dataset: {{name: tensors, path: {tmp_path / 'lists.pt'}}}}}\n")
    [d] = info.value.diagnostics  # it said "holds `x`, `y`, not `x` and `y`"
    assert (d.code, d.message) == (
        "dataset-shape",
        f"`x` and `y` in {tmp_path / 'lists.pt'} are a list and a Tensor, not tensors",
    )
    (tmp_path / "bad.npz").write_bytes(b"not a zip")
    with pytest.raises(netspec.SpecError) as info:
        _load(text + f"train: {{dataset: {{name: tensors, path: {tmp_path / 'bad.npz'}}}}}\n")
    assert info.value.diagnostics[0].code == "dataset-missing"
    assert info.value.diagnostics[0].message.startswith(f"cannot read {tmp_path / 'bad.npz'} (")


def test_digits_become_the_specs_channels_and_size() -> None:
    data = _load("input: [3, 16, 20]\nlayers: [Flatten, {type: Linear, out_features: 10}]\n")
    x = data.train.x  # type: ignore[union-attr]
    assert tuple(x.shape[1:]) == (3, 16, 20)
    assert torch.equal(x[:, 0], x[:, 2])  # grey replicated
    assert float(x.min()) >= 0 and float(x.max()) <= 1


def test_in_memory_unless_samples_need_transforming_one_by_one() -> None:
    """Digits, MNIST, CIFAR-10 and tensors are batched by index from tensors; random transforms take a DataLoader."""
    plain = _load("input: [1, 8, 8]\nlayers: [Flatten, {type: Linear, out_features: 10}]\n")
    assert isinstance(plain.train, InMemory) and isinstance(plain.val, InMemory)
    assert Batches(plain.train, 64, torch.device("cpu"), shuffle=True).loader is None
    augmented = _load(
        "input: [1, 8, 8]\nlayers: [Flatten, {type: Linear, out_features: 10}]\n"
        "train: {transforms: [RandomHorizontalFlip, {type: Normalize, mean: 0.5, std: 0.5}]}\n"
    )
    assert isinstance(augmented.train, Samples)  # random: per sample, in workers
    assert isinstance(augmented.val, InMemory)  # validation skips the flip; Normalize runs once, up front
    assert float(augmented.val.x.min()) == -1.0  # (0 - 0.5) / 0.5
    assert Batches(augmented.train, 64, torch.device("cpu"), shuffle=True).loader is not None


@pytest.mark.parametrize(
    ("x", "y", "message"),
    [
        (np.zeros((0, 2), np.float32), np.zeros(0, np.int64), "{path} holds no samples"),
        (
            np.zeros(6, np.float32),
            np.zeros(6, np.int64),
            "`x` in {path} has shape (6,): samples need at least one dimension of their own",
        ),
        (np.zeros((6, 2), np.float32), np.int64(1), "{path} has 6 samples in `x` but a single number in `y`"),
        (
            np.zeros((6, 2), np.float32),
            np.zeros((6, 3), np.int64),
            "integer `y` in {path} has shape (6, 3), not one class label per sample",
        ),
        (
            np.zeros((6, 2), np.float32),
            np.array([0, 1, -1, 0, 1, 0]),
            "`y` in {path} holds the class label -1, but labels must be class indices from 0",
        ),
    ],
)
def test_tensor_files_with_unusable_samples_or_labels(
    tmp_path: Path, x: np.ndarray, y: np.ndarray, message: str
) -> None:
    """Each of these reached torch before (cross_entropy's "Target -1 is out of bounds", numpy's empty concatenate)."""
    path = tmp_path / "d.npz"
    np.savez(path, x=x, y=y)
    text = "input: [2]\nlayers: [{type: Linear, out_features: 2}]\n"
    with pytest.raises(netspec.SpecError) as info:
        _load(text + f"train: {{dataset: {{name: tensors, path: {path}}}}}\n")
    [d] = info.value.diagnostics
    assert (d.code, d.message) == ("dataset-shape", message.format(path=path))
    assert d.span is not None and d.span.line == 3  # at the dataset


# a worker that raised makes the DataLoader's shutdown wait 5 s (torch's MP_STATUS_CHECK_INTERVAL) when collected
@pytest.mark.parametrize("workers", [0, pytest.param(1, marks=pytest.mark.slow)])
def test_an_image_that_cannot_be_read_mid_epoch(tmp_path: Path, workers: int) -> None:
    """A damaged file in a class folder, met in this process or a worker, is a diagnostic naming the file."""
    _tree(tmp_path / "tree", {"cat": [(8, 8)] * 3, "dog": [(8, 8)] * 3})
    (tmp_path / "tree" / "dog" / "9.png").write_bytes(b"\x89PNG not really")  # sorted last: not the first sample
    text = (
        "input: [3, 8, 8]\nlayers: [Flatten, {type: Linear, out_features: 2}]\n"
        f"train: {{dataset: {{name: imagefolder, path: {tmp_path / 'tree'}, val_path: {tmp_path / 'tree'}}},"
        f" num_workers: {workers}, batch_size: 2}}\n"
    )
    with pytest.raises(netspec.SpecError) as info:
        netspec.train(netspec.parse_spec(text, source="s.yaml"), epochs=1, out=tmp_path / "run", quiet=True)
    [d] = info.value.diagnostics
    assert (d.code, d.path) == ("dataset-missing", ("train", "dataset", "path"))
    assert d.message == f"cannot read {tmp_path / 'tree' / 'dog' / '9.png'} as an image (UnidentifiedImageError)"
    assert d.span is not None and d.span.line == 3


def test_an_image_that_cannot_be_read_first(tmp_path: Path) -> None:
    _tree(tmp_path / "tree", {"cat": [(8, 8)] * 3})
    (tmp_path / "tree" / "cat" / "0.png").write_bytes(b"")  # the first sample, read before training starts
    text = (
        "input: [3, 8, 8]\nlayers: [Flatten, {type: Linear, out_features: 2}]\n"
        f"train: {{dataset: {{name: imagefolder, path: {tmp_path / 'tree'}}}}}\n"
    )
    with pytest.raises(netspec.SpecError) as info:
        _load(text)
    [d] = info.value.diagnostics
    assert (d.code, d.message) == (
        "dataset-missing",
        f"cannot read {tmp_path / 'tree' / 'cat' / '0.png'} as an image (UnidentifiedImageError)",
    )


def test_transforms_that_fail_on_the_samples(tmp_path: Path) -> None:
    """torchvision's own refusals (a crop larger than the image, Resize on vectors) become dataset-shape diagnostics."""
    digits = "input: [1, 8, 8]\nlayers: [Flatten, {type: Linear, out_features: 10}]\n"
    with pytest.raises(netspec.SpecError) as info:
        _load(digits + "train: {transforms: [{type: RandomCrop, size: 9}]}\n")  # per sample
    [d] = info.value.diagnostics
    assert (d.code, d.path) == ("dataset-shape", ("train", "transforms"))
    assert d.message == (
        "the transforms fail on sample 0, of shape (1, 8, 8):"
        " Required crop size (9, 9) is larger than input image size (8, 8)."
    )
    assert d.span is not None and (d.span.line, d.span.col) == (3, 21)

    np.savez(tmp_path / "v.npz", x=np.zeros((10, 4), np.float32), y=np.arange(10) % 2)
    vectors = "input: [4]\nlayers: [{type: Linear, out_features: 2}]\n"
    dataset = f"dataset: {{name: tensors, path: {tmp_path / 'v.npz'}}}"
    with pytest.raises(netspec.SpecError) as info:
        _load(vectors + f"train: {{{dataset}, val_transforms: [{{type: Resize, size: 8}}]}}\n")  # whole split
    [d] = info.value.diagnostics
    assert (d.code, d.path) == ("dataset-shape", ("train", "val_transforms"))
    assert d.message.startswith("`val_transforms` fail on samples of shape (4,): ")


def test_a_transform_that_fails_on_one_image_mid_epoch(tmp_path: Path) -> None:
    _tree(tmp_path / "tree", {"cat": [(8, 8)] * 3, "dog": [(8, 8)] * 2 + [(6, 6)]})
    text = (
        "input: [1, 8, 8]\nlayers: [Flatten, {type: Linear, out_features: 2}]\n"
        f"train: {{dataset: {{name: imagefolder, path: {tmp_path / 'tree'}, val_path: {tmp_path / 'tree'}}},"
        " transforms: [Grayscale, {type: RandomCrop, size: 8}], num_workers: 0, batch_size: 2}\n"
    )
    with pytest.raises(netspec.SpecError) as info:
        netspec.train(netspec.parse_spec(text), epochs=1, out=tmp_path / "run", quiet=True)
    [d] = info.value.diagnostics
    assert d.code == "dataset-shape"
    assert d.message == (
        f"the transforms fail on {tmp_path / 'tree' / 'dog' / '2.png'}, of shape (3, 6, 6):"
        " Required crop size (8, 8) is larger than input image size (6, 6)."
    )


@pytest.mark.parametrize("kind", ["tensors", "imagefolder"])
def test_a_missing_val_path_is_pointed_at(tmp_path: Path, kind: str) -> None:
    """The caret goes under `val_path`, the file that is missing, not under `path`."""
    if kind == "tensors":
        np.savez(tmp_path / "d.npz", x=np.zeros((4, 3), np.float32), y=np.arange(4) % 2)
        present = tmp_path / "d.npz"
    else:
        _tree(tmp_path / "tree", {"cat": [(8, 8)], "dog": [(8, 8)]})
        present = tmp_path / "tree"
    text = (
        "input: [3]\nlayers: [{type: Linear, out_features: 2}]\ntrain:\n  dataset:\n"
        f"    name: {kind}\n    path: {present}\n    val_path: {tmp_path / 'nope'}\n"
    )
    with pytest.raises(netspec.SpecError) as info:
        _load(text)
    [d] = info.value.diagnostics
    assert (d.code, d.message) == ("dataset-missing", f"{tmp_path / 'nope'} does not exist")
    assert d.span is not None and d.span.text == f"    val_path: {tmp_path / 'nope'}"


@pytest.mark.slow
def test_the_3d_example_trains_from_the_volumes_its_script_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """specs/c3d-small.yaml with examples/make_volumes.py, as the README says: (N, 1, 16, 16, 16) volumes."""
    from .conftest import ROOT, run_python

    made = run_python([str(ROOT / "examples" / "make_volumes.py")], tmp_path)
    assert made.returncode == 0, made.stderr
    with np.load(tmp_path / "volumes.npz") as f:
        assert f["x"].shape[1:] == (1, 16, 16, 16) and f["y"].dtype == np.int64
    monkeypatch.chdir(tmp_path)  # the spec's `path: volumes.npz` is relative to where netspec runs
    result = netspec.train(ROOT / "specs" / "c3d-small.yaml", epochs=1, out=tmp_path / "run", quiet=True)
    assert result.final is not None and result.final.val_acc is not None
    assert (tmp_path / "run" / "last.pt").exists()


@pytest.mark.slow
def test_the_autoencoder_learns_to_give_back_its_input(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """specs/autoencoder.yaml on the digits16.npz its script writes: float targets of the input's own shape."""
    from .conftest import ROOT, run_python

    made = run_python([str(ROOT / "examples" / "make_autoencoder_data.py")], tmp_path)
    assert made.returncode == 0, made.stderr
    monkeypatch.chdir(tmp_path)
    result = netspec.train(ROOT / "specs" / "autoencoder.yaml", epochs=2, out=tmp_path / "run", quiet=True)
    first, last = result.history[0].val_loss, result.history[-1].val_loss
    assert first is not None and last is not None
    with np.load(tmp_path / "digits16.npz") as f:
        baseline = float(((f["x"] - f["x"].mean()) ** 2).mean())  # the loss of giving back the mean pixel
    assert last < first and last < baseline / 2
