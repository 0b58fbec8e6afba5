"""`netspec evaluate --per-class / --confusion-plot` and `netspec plot` over several runs."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from PIL import Image
from sklearn.metrics import confusion_matrix

import netspec
from netspec.cli import cli
from netspec.report import check
from netspec.training.config import TrainConfig
from netspec.training.data import load_data
from netspec.training.inference import evaluate_checkpoint

from .test_train import TINY, spec_file


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("evaluate") / "run"
    netspec.train(spec_file(out.parent), epochs=1, out=out, quiet=True)
    return out


def _sklearn_confusion(run: Path) -> np.ndarray:
    spec = netspec.parse_spec(TINY)
    data = load_data(spec, spec.train or TrainConfig(), check(spec), torch.device("cpu"))
    with torch.no_grad():
        pred = netspec.load_model(run / "best.pt").eval()(data.val.x).argmax(1)  # type: ignore[union-attr]
    return confusion_matrix(data.val.y.numpy(), pred.numpy(), labels=list(range(10)))  # type: ignore[union-attr]


def test_the_confusion_matrix_is_sklearns(run: Path) -> None:
    expected = _sklearn_confusion(run)
    result = evaluate_checkpoint(run / "best.pt", device="cpu")
    assert result.confusion == expected.tolist()
    assert result.classes == [str(d) for d in range(10)]
    assert expected.trace() / expected.sum() == pytest.approx(result.accuracy)
    assert np.count_nonzero(expected - np.diag(np.diag(expected))) > 0  # some mistakes: not a trivial matrix


def test_per_class_accuracy_at_the_cli(run: Path) -> None:
    expected = _sklearn_confusion(run)
    result = CliRunner().invoke(cli, ["evaluate", str(run / "best.pt"), "--per-class"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("digits val: loss ") and lines[2].split() == ["class", "samples", "correct", "accuracy"]
    for c in range(10):
        total, right = int(expected[c].sum()), int(expected[c, c])
        assert lines[3 + c].split() == [str(c), str(total), str(right), f"{right / total:.3f}"]
    matrix = lines[lines.index("confusion matrix (rows: true class, columns: predicted class)") + 2 :]
    assert [[int(v) for v in line.split()[1:]] for line in matrix] == expected.tolist()


def test_per_class_of_a_regression(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    data = tmp_path / "reg.npz"
    np.savez(data, x=rng.normal(size=(50, 3)).astype(np.float32), y=rng.normal(size=50).astype(np.float32))
    text = (
        "input: [3]\nlayers: [{type: Linear, out_features: 1}]\n"
        f"train: {{dataset: {{name: tensors, path: {data}}}, loss: MSELoss}}\n"
    )
    netspec.train(spec_file(tmp_path, text), epochs=1, out=tmp_path / "run", quiet=True)
    result = CliRunner().invoke(cli, ["evaluate", str(tmp_path / "run" / "last.pt"), "--per-class"])
    assert result.exit_code == 0 and "no per-class figures: the targets are float values" in result.output
    plot = CliRunner().invoke(cli, ["evaluate", str(tmp_path / "run" / "last.pt"), "--confusion-plot", "c.png"])
    assert plot.exit_code == 1 and "error[dataset-shape]: a confusion matrix needs class labels" in plot.output
    assert "Traceback" not in plot.output


@pytest.mark.slow  # importing matplotlib takes seconds
def test_confusion_plot(run: Path, tmp_path: Path) -> None:
    target = tmp_path / "confusion.png"
    result = CliRunner().invoke(cli, ["evaluate", str(run / "best.pt"), "--confusion-plot", str(target)])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[-1] == f"wrote {target}"
    with Image.open(target) as im:
        assert im.format == "PNG" and im.size == (900, 900)  # 4 + 0.5 × 10 inches at 100 dpi
    bad = CliRunner().invoke(cli, ["evaluate", str(run / "best.pt"), "--confusion-plot", str(tmp_path / "c.txt")])
    assert bad.exit_code != 0 and "error[io-error]: cannot write" in bad.output and "Traceback" not in bad.output


def _rows(run: Path) -> list[dict[str, str]]:
    with open(run / "metrics.csv", newline="") as f:
        return list(csv.DictReader(f))


@pytest.mark.slow  # importing matplotlib takes seconds
def test_plot_overlays_several_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from netspec.training.curves import curves_figure

    runs = [tmp_path / "runs" / "a", tmp_path / "runs" / "b"]
    netspec.train(spec_file(tmp_path), epochs=2, out=runs[0], quiet=True)
    netspec.train(spec_file(tmp_path), epochs=3, lr=0.003, out=runs[1], quiet=True)
    fig = curves_figure(runs)
    loss_ax, acc_ax = fig.axes
    lines = {line.get_label(): line for line in loss_ax.get_lines()}
    assert sorted(lines) == ["a train", "a validation", "b train", "b validation"]
    for run in runs:
        rows = _rows(run)
        got = lines[f"{run.name} validation"].get_ydata()
        assert list(got) == pytest.approx([float(r["val_loss"]) for r in rows])
        assert list(lines[f"{run.name} train"].get_xdata()) == [int(r["epoch"]) for r in rows]
    accs = {line.get_label(): list(line.get_ydata()) for line in acc_ax.get_lines()}
    assert accs["b validation"] == pytest.approx([float(r["val_acc"]) for r in _rows(runs[1])])
    assert lines["a train"].get_color() == lines["a validation"].get_color() != lines["b train"].get_color()
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["plot", *map(str, runs)])
    assert result.exit_code == 0 and result.output == "wrote curves.png\n"
    with Image.open(tmp_path / "curves.png") as im:
        assert im.format == "PNG"
    missing = CliRunner().invoke(cli, ["plot", str(runs[0]), str(tmp_path / "nope")])
    assert missing.exit_code == 2 and f"{tmp_path / 'nope'} has no metrics.csv" in missing.output
