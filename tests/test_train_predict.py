"""`netspec predict` on array files (vector-input models) and on folders of images."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from PIL import Image

import netspec
from netspec.cli import cli

from .test_train import TINY, spec_file

VECTOR = """\
name: vec
input: [4]
layers: [{{type: Linear, out_features: 16}}, ReLU, {{type: Linear, out_features: 3}}]
train: {{dataset: {{name: tensors, path: {data}}}, epochs: 2, optimizer: {{type: Adam, lr: 0.01}}}}
"""


@pytest.fixture(scope="module")
def vector_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("vector")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(150, 4)).astype(np.float32)
    np.savez(folder / "data.npz", x=x, y=x[:, :3].argmax(1))
    netspec.train(spec_file(folder, VECTOR.format(data=folder / "data.npz")), out=folder / "run", quiet=True)
    return folder / "run"


def _expected(run: Path, x: torch.Tensor, names: list[str], top: int = 2) -> str:
    with torch.no_grad():
        probs = torch.softmax(netspec.load_model(run / "best.pt").eval()(x), dim=1)
    best = probs.topk(top, dim=1)
    return "".join(
        f"{name}: " + ", ".join(f"{int(i)} ({float(p):.1%})" for p, i in zip(values, idx)) + "\n"
        for name, values, idx in zip(names, best.values, best.indices)
    )


def test_predict_rows_of_array_files(vector_run: Path, tmp_path: Path) -> None:
    rows = np.random.default_rng(1).normal(size=(5, 4)).astype(np.float32)
    np.save(tmp_path / "s.npy", rows)
    np.savetxt(tmp_path / "s.csv", rows[:2], delimiter=",")
    np.savez(tmp_path / "s.npz", x=rows[:3])
    torch.save({"x": torch.from_numpy(rows[:1])}, tmp_path / "s.pt")
    np.save(tmp_path / "one.npy", rows[4])  # a single sample, (4,)
    files = ["s.npy", "s.csv", "s.npz", "s.pt", "one.npy"]
    result = CliRunner().invoke(
        cli, ["predict", str(vector_run / "best.pt"), *(str(tmp_path / f) for f in files), "--top", "2"]
    )
    assert result.exit_code == 0, result.output
    names = [f"{tmp_path / f}[{i}]" for f, n in zip(files, [5, 2, 3, 1, 1]) for i in range(n)]
    x = torch.from_numpy(np.concatenate([rows, rows[:2], rows[:3], rows[:1], rows[4:]]))
    assert result.output == _expected(vector_run, x, names)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (np.zeros((3, 5), np.float32), "the samples in {f} are 5 but the model takes 4"),
        (np.zeros(5, np.float32), "the samples in {f} are scalars but the model takes 4"),
        (np.array(["a", "b"]), "the samples in {f} are"),
    ],
)
def test_array_files_that_do_not_fit(vector_run: Path, tmp_path: Path, content: np.ndarray, message: str) -> None:
    f = tmp_path / "bad.npy"
    np.save(f, content)
    result = CliRunner().invoke(cli, ["predict", str(vector_run / "best.pt"), str(f)])
    assert result.exit_code != 0 and "Traceback" not in result.output
    assert result.output.splitlines()[0].startswith("error[") and message.format(f=f) in result.output


def test_unreadable_array_file(vector_run: Path, tmp_path: Path) -> None:
    f = tmp_path / "junk.npz"
    f.write_bytes(b"not a zip")
    result = CliRunner().invoke(cli, ["predict", str(vector_run / "best.pt"), str(f)])
    assert result.exit_code != 0 and f"error[io-error]: cannot read {f} (" in result.output
    assert "Traceback" not in result.output


def test_an_image_for_a_vector_model_says_to_pass_arrays(vector_run: Path, tmp_path: Path) -> None:
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(tmp_path / "x.png")
    result = CliRunner().invoke(cli, ["predict", str(vector_run / "best.pt"), str(tmp_path / "x.png")])
    assert result.exit_code == 1
    assert "help: pass the samples in an array file (.npy, .npz, .pt or .csv) of shape (N, 4)" in result.output


def test_predict_a_folder_of_images(tmp_path: Path) -> None:
    from sklearn.datasets import load_digits

    netspec.train(spec_file(tmp_path, TINY), epochs=1, out=tmp_path / "run", quiet=True)
    digits = load_digits()
    folder = tmp_path / "images"
    paths = [folder / "b.png", folder / "a.png", folder / "sub" / "c.png"]
    (folder / "sub").mkdir(parents=True)
    (folder / "notes.txt").write_text("not an image")  # skipped: not an image suffix
    images = [np.round(digits.images[i] / 16 * 255).astype(np.uint8) for i in range(3)]
    for p, image in zip(paths, images):
        Image.fromarray(image, mode="L").save(p)
    result = CliRunner().invoke(cli, ["predict", str(tmp_path / "run" / "best.pt"), str(folder), "--top", "2"])
    assert result.exit_code == 0, result.output
    order = [1, 0, 2]  # a.png, b.png, sub/c.png
    x = torch.from_numpy(np.stack([images[i] for i in order])).float().div(255)[:, None]  # (3, 1, 8, 8)
    assert result.output == _expected(tmp_path / "run", x, [str(paths[i]) for i in order])
    (tmp_path / "empty").mkdir()
    empty = CliRunner().invoke(cli, ["predict", str(tmp_path / "run" / "best.pt"), str(tmp_path / "empty")])
    assert empty.exit_code != 0 and f"error[io-error]: {tmp_path / 'empty'} holds no image files" in empty.output
