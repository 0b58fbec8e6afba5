"""The held-out test split: carved out of the training samples or read from its own file, tested once with best.pt."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from click.testing import CliRunner

import netspec
from netspec.cli import cli
from netspec.report import check
from netspec.training.config import TrainConfig
from netspec.training.data import load_data

from .test_train import TINY, spec_file

SPEC = """\
name: ids
input: [3]
layers: [{{type: Linear, out_features: 8}}, ReLU, {{type: Linear, out_features: 2}}]
train:
  dataset: {{name: tensors, path: {data}, {test}}}
  epochs: 3
  optimizer: {{type: Adam, lr: 0.01}}
"""


def _data(tmp_path: Path, n: int = 200, name: str = "data.npz", seed: int = 0) -> Path:
    """Samples whose first value is their index, so the splits can be told apart."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3)).astype(np.float32)
    x[:, 0] = np.arange(n) + (1000 * seed)
    y = (x[:, 1] > 0).astype(np.int64)
    np.savez(tmp_path / name, x=x, y=y)
    return tmp_path / name


def test_test_fraction_is_held_out_of_training(tmp_path: Path) -> None:
    text = SPEC.format(data=_data(tmp_path), test="test_fraction: 0.25")
    spec = netspec.parse_spec(text)
    data = load_data(spec, spec.train or TrainConfig(), check(spec), torch.device("cpu"))
    assert data.test is not None
    ids = [set(split.x[:, 0].int().tolist()) for split in (data.train, data.val, data.test)]  # type: ignore[union-attr]
    assert set().union(*ids) == set(range(200)) and sum(map(len, ids)) == 200  # disjoint, all of them
    assert len(ids[1]) == 40 and len(ids[2]) == 40  # 20% validation, then 25% of the 160 left
    labels = data.test.y  # type: ignore[union-attr]
    assert abs(int(labels.sum()) - 20) <= 1  # stratified: the classes in their share (about half each)

    out = tmp_path / "run"
    result = netspec.train(spec_file(tmp_path, text), out=out, quiet=True)
    best = netspec.load_model(out / "best.pt").eval()
    with torch.no_grad():
        logits = best(data.test.x)  # type: ignore[union-attr]
    saved = json.loads((out / "test.json").read_text())
    assert result.test is not None and result.best is not None
    assert saved["epoch"] == result.best.epoch == result.test.epoch
    assert saved["samples"] == 40
    assert saved["loss"] == pytest.approx(F.cross_entropy(logits, labels).item(), rel=1e-5)
    assert saved["acc"] == (logits.argmax(1) == labels).sum().item() / 40
    evaluated = CliRunner().invoke(cli, ["evaluate", str(out / "best.pt"), "--split", "test"])
    assert evaluated.exit_code == 0 and f"loss {saved['loss']:.4f}, acc {saved['acc']:.3f} (40 samples)" in (
        evaluated.output
    )


def test_test_path_is_read_from_its_own_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    test_file = _data(tmp_path, 30, "test.npz", seed=1)
    text = SPEC.format(data=_data(tmp_path), test=f"test_path: {test_file}")
    result = netspec.train(spec_file(tmp_path, text), out=tmp_path / "run")
    printed = capsys.readouterr().out
    assert "160 training, 40 validation and 30 test samples" in printed
    with np.load(test_file) as f:
        x, y = torch.from_numpy(f["x"]), torch.from_numpy(f["y"])
    with torch.no_grad():
        logits = netspec.load_model(tmp_path / "run" / "best.pt").eval()(x)
    assert result.test is not None and result.test.samples == 30
    assert result.test.loss == pytest.approx(F.cross_entropy(logits, y).item(), rel=1e-5)
    assert printed.splitlines()[-1] == result.test.line()


def test_no_test_split_no_test(tmp_path: Path) -> None:
    result = netspec.train(spec_file(tmp_path, TINY), epochs=1, out=tmp_path / "run", quiet=True)
    assert result.test is None and not (tmp_path / "run" / "test.json").exists()
    evaluated = CliRunner().invoke(cli, ["evaluate", str(tmp_path / "run" / "best.pt"), "--split", "test"])
    assert evaluated.exit_code == 1
    assert "error[dataset-missing]: tiny's digits dataset has no test split" in evaluated.output
    assert "help: hold one out with `test_fraction`" in evaluated.output


def test_python_data_takes_a_test_fraction(tmp_path: Path) -> None:
    x = torch.randn(100, 3)
    y = (x[:, 1] > 0).long()
    spec = netspec.parse_spec(SPEC.format(data="unused.npz", test="test_fraction: 0.5"))
    result = netspec.train(
        spec, data=(x, y), overrides={"train.dataset.test_fraction": 0.5}, out=tmp_path / "run", quiet=True
    )
    assert result.test is not None and result.test.samples == 40  # half of the 80 left after validation
    own = netspec.parse_spec(
        "input: [3]\nlayers: [{type: Linear, out_features: 2}]\ntrain: {dataset: {name: python, test_fraction: 0.25}}\n"
    )
    kept = netspec.train(own, data=(x, y), epochs=1, out=tmp_path / "own", quiet=True)
    assert kept.test is not None and kept.test.samples == 20  # the spec's own test_fraction is kept


@pytest.mark.parametrize(
    ("dataset", "message"),
    [
        (
            "{name: tensors, path: a.npz, test_fraction: 0.1, test_path: b.npz}",
            "`test_fraction` and `test_path` both name a test split: give one",
        ),
        ("{name: digits, test_fraction: 1}", "`test_fraction` must be a fraction between 0 and 1 (exclusive), got 1"),
    ],
)
def test_test_split_errors(dataset: str, message: str) -> None:
    with pytest.raises(netspec.SpecError) as info:
        netspec.parse_spec(f"input: [3]\nlayers: [{{type: Linear, out_features: 2}}]\ntrain: {{dataset: {dataset}}}\n")
    assert info.value.diagnostics[0].message == message


def _tree(root: Path, classes: list[str], per_class: int) -> Path:
    from PIL import Image

    rng = np.random.default_rng(len(classes))
    for c in classes:
        (root / c).mkdir(parents=True)
        for i in range(per_class):
            Image.fromarray(rng.integers(0, 255, (8, 8), dtype=np.uint8)).save(root / c / f"{i}.png")
    return root


IMAGES = """\
input: [3, 8, 8]
layers: [Flatten, {{type: Linear, out_features: 2}}]
train: {{dataset: {{name: imagefolder, path: {path}, {test}}}, num_workers: 0}}
"""


def test_an_image_folder_holds_out_a_test_split(tmp_path: Path) -> None:
    tree = _tree(tmp_path / "images", ["ants", "bees"], 20)
    spec = netspec.parse_spec(IMAGES.format(path=tree, test="test_fraction: 0.25"))
    data = load_data(spec, spec.train or TrainConfig(), check(spec), torch.device("cpu"))
    assert data.test is not None and (len(data.train), len(data.val), len(data.test)) == (24, 8, 8)
    splits: list[Any] = [data.train, data.val, data.test]  # FolderSamples over the one tree
    files = [{split.tree.samples[i][0] for i in split.indices} for split in splits]
    assert len(set().union(*files)) == 40  # disjoint
    assert sorted(splits[2].tree.samples[i][1] for i in splits[2].indices) == [0] * 4 + [1] * 4  # stratified

    other = _tree(tmp_path / "other", ["ants", "wasps"], 2)
    bad = netspec.parse_spec(IMAGES.format(path=tree, test=f"test_path: {other}"))
    with pytest.raises(netspec.SpecError) as info:
        load_data(bad, bad.train or TrainConfig(), check(bad), torch.device("cpu"))
    assert info.value.diagnostics[0].message == (
        f"the class folders of {other} (ants, wasps) differ from those of {tree} (ants, bees)"
    )
    same = _tree(tmp_path / "same", ["ants", "bees"], 3)
    good = netspec.parse_spec(IMAGES.format(path=tree, test=f"test_path: {same}"))
    data = load_data(good, good.train or TrainConfig(), check(good), torch.device("cpu"))
    assert data.test is not None and len(data.test) == 6 and len(data.train) == 32
