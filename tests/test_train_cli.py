"""`netspec train / evaluate / predict / plot` through click, Ctrl-C in a real process, and a 2-process DDP run."""

from __future__ import annotations

import csv
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from click.testing import CliRunner
from PIL import Image

import netspec
from netspec.checkpoint import load
from netspec.cli import cli

from .conftest import ROOT
from .test_train import TINY

EPOCH_LINE = re.compile(r"epoch \d+, loss \d+\.\d{4}, train acc [01]\.\d{3}, val acc [01]\.\d{3}, time \d+\.\d sec")


@pytest.fixture
def spec(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.yaml"
    path.write_text(TINY)
    return path


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONUNBUFFERED": "1", "NO_COLOR": "1", "PYTHONPATH": str(ROOT)}


def test_train_prints_one_tutorial_line_per_epoch(spec: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    result = CliRunner().invoke(cli, ["train", str(spec), "--epochs", "2", "--lr", "3e-3", "--out", str(out)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert (
        lines[0] == f"training tiny on cpu: 1,438 training and 359 validation samples, epochs 1-2, run directory {out}"
    )
    assert [bool(EPOCH_LINE.fullmatch(line)) for line in lines[1:3]] == [True, True], lines
    assert lines[3].startswith("best val acc ") and lines[3].endswith(f"; metrics and checkpoints in {out}")
    assert "\r" not in result.output  # no progress bar when stdout is not a terminal
    used = netspec.load_spec(out / "spec.yaml")
    assert used.train is not None and used.train.optimizer.lr == 0.003


def test_flag_and_set_errors(spec: Path, tmp_path: Path) -> None:
    bad = CliRunner().invoke(cli, ["train", str(spec), "--set", "train.optimizer.type=Adamw"])
    assert bad.exit_code == 1
    assert "error[invalid-value]: unknown `optimizer` type `Adamw`" in bad.output
    assert "--> --set train.optimizer.type=Adamw" in bad.output and "did you mean `AdamW`?" in bad.output
    negative = CliRunner().invoke(cli, ["train", str(spec), "--epochs", "0"])
    assert negative.exit_code == 1 and "--> --epochs 0 (train.epochs)" in negative.output


def test_an_existing_run_directory_is_a_usage_error(spec: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    assert CliRunner().invoke(cli, ["train", str(spec), "--epochs", "1", "--out", str(out)]).exit_code == 0
    again = CliRunner().invoke(cli, ["train", str(spec), "--epochs", "1", "--out", str(out)])
    assert again.exit_code == 2
    assert f"error[io-error]: {out} already holds a run" in again.output
    assert f"help: continue it with `--resume {out}`, or choose another `--out`" in again.output


def test_an_out_that_cannot_be_made_is_a_usage_error(spec: Path, tmp_path: Path) -> None:
    (tmp_path / "file").write_text("not a folder")
    result = CliRunner().invoke(cli, ["train", str(spec), "--epochs", "1", "--out", str(tmp_path / "file" / "run")])
    assert result.exit_code == 2, result.output
    assert result.output.startswith(f"error[io-error]: cannot write {tmp_path / 'file' / 'run'}: Not a directory\n")
    assert (tmp_path / "file").read_text() == "not a folder"


def test_metrics_that_cannot_be_written_mid_run(spec: Path, tmp_path: Path) -> None:
    from netspec.training.trainer import run_training

    out = tmp_path / "run"

    def echo(line: str) -> None:
        if line.startswith("training "):  # the run directory is made: take metrics.csv's place
            (out / "metrics.csv").unlink()
            (out / "metrics.csv").mkdir()

    with pytest.raises(netspec.SpecError) as info:
        run_training(spec, [], out=out, resume=None, echo=echo, progress=False)
    [d] = info.value.diagnostics
    assert (d.code, d.message) == ("io-error", f"cannot write {out / 'metrics.csv'}: Is a directory")


def test_build_train_is_train(spec: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    result = CliRunner().invoke(cli, ["build", str(spec), "--train", "--epochs", "1", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "verified:" in result.output  # build's own report first
    assert EPOCH_LINE.search(result.output)
    with open(out / "metrics.csv", newline="") as f:
        assert len(list(csv.DictReader(f))) == 1


def test_build_takes_training_flags_only_with_train(spec: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["build", str(spec), "--epochs", "3", "--lr", "0.1"])
    assert result.exit_code == 2 and "--epochs, --lr apply to training: add --train" in result.output
    netspec.train(spec, epochs=1, out=tmp_path / "run", quiet=True)
    ckpt = CliRunner().invoke(cli, ["build", str(tmp_path / "run" / "last.pt"), "--train"])
    assert ckpt.exit_code == 2 and "--train takes a spec file" in ckpt.output


def test_evaluate_prints_the_best_epochs_metrics(spec: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    assert CliRunner().invoke(cli, ["train", str(spec), "--epochs", "3", "--out", str(out)]).exit_code == 0
    best_epoch = load(out / "best.pt").extra["epoch"]
    with open(out / "metrics.csv", newline="") as f:
        row = next(r for r in csv.DictReader(f) if int(r["epoch"]) == best_epoch)
    result = CliRunner().invoke(cli, ["evaluate", str(out / "best.pt")])
    assert result.exit_code == 0, result.output
    loss, acc = float(row["val_loss"]), float(row["val_acc"])
    assert result.output == f"digits val: loss {loss:.4f}, acc {acc:.3f} (359 samples)\n"
    train_split = CliRunner().invoke(cli, ["evaluate", str(out / "best.pt"), "--split", "train"])
    assert train_split.output.startswith("digits train: loss ") and "(1,438 samples)" in train_split.output
    other = CliRunner().invoke(cli, ["evaluate", str(out / "best.pt"), "--dataset", "{name: mnist, root: nowhere}"])
    assert (
        other.exit_code == 1 and "error[dataset-missing]: the mnist files are not in nowhere/MNIST/raw" in other.output
    )


def test_evaluate_the_training_split_without_augmentation(tmp_path: Path) -> None:
    """`--split train` sees the training samples as validation does: no random transforms, the same figures."""
    from netspec.report import check
    from netspec.training.config import TrainConfig
    from netspec.training.data import load_data

    path = tmp_path / "flip.yaml"
    path.write_text(TINY + "  transforms: [{type: RandomVerticalFlip, p: 1.0}]\n  num_workers: 0\n")
    netspec.train(path, epochs=1, out=tmp_path / "run", quiet=True)
    result = CliRunner().invoke(cli, ["evaluate", str(tmp_path / "run" / "last.pt"), "--split", "train"])
    assert result.exit_code == 0, result.output
    plain = netspec.parse_spec(TINY)  # the same digits, not flipped
    data = load_data(plain, plain.train or TrainConfig(), check(plain), torch.device("cpu"))
    x, y = data.train.x, data.train.y  # type: ignore[union-attr]
    with torch.no_grad():
        logits = netspec.load_model(tmp_path / "run" / "last.pt").eval()(x)
    loss, acc = F.cross_entropy(logits, y).item(), (logits.argmax(1) == y).float().mean().item()
    assert result.output == f"digits train: loss {loss:.4f}, acc {acc:.3f} (1,438 samples)\n"


def test_predict_gives_the_models_top_classes(spec: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "run"
    assert CliRunner().invoke(cli, ["train", str(spec), "--epochs", "2", "--out", str(out)]).exit_code == 0
    from sklearn.datasets import load_digits

    image = np.round(load_digits().images[5] / 16 * 255).astype(np.uint8)  # a "5", 8×8
    png = tmp_path / "five.png"
    Image.fromarray(image, mode="L").save(png)
    result = CliRunner().invoke(cli, ["predict", str(out / "best.pt"), str(png), "--top", "2"])
    assert result.exit_code == 0, result.output
    model = netspec.load_model(out / "best.pt").eval()
    with torch.no_grad():
        probs = torch.softmax(model(torch.from_numpy(image).float().div(255)[None, None]), dim=1)[0]
    top = probs.topk(2)
    expected = ", ".join(f"{int(i)} ({float(p):.1%})" for p, i in zip(top.values, top.indices))
    assert result.output == f"{png}: {expected}\n"
    missing = CliRunner().invoke(cli, ["predict", str(out / "best.pt"), str(tmp_path / "nope.png")])
    assert missing.exit_code == 2 and f"cannot read {tmp_path / 'nope.png'} as an image" in missing.output
    with monkeypatch.context() as m:  # Pillow refuses images over twice this many pixels, as a decompression bomb
        m.setattr(Image, "MAX_IMAGE_PIXELS", 16)
        bomb = CliRunner().invoke(cli, ["predict", str(out / "best.pt"), str(png)])
    assert bomb.exit_code == 2
    assert bomb.output.startswith(f"error[io-error]: cannot read {png} as an image (DecompressionBombError)\n")


@pytest.mark.parametrize("command", ["evaluate", "predict"])
def test_a_device_name_torch_does_not_know(tmp_path: Path, command: str) -> None:
    """`--device gpu` is checked as the spec's `device` is, not handed to torch.device (a RuntimeError)."""
    from netspec.checkpoint import save

    spec = netspec.parse_spec(TINY)
    save(tmp_path / "m.pt", spec=spec, model_state=netspec.build(spec).state_dict())
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(tmp_path / "x.png")
    args = [str(tmp_path / "m.pt")] + ([str(tmp_path / "x.png")] if command == "predict" else [])
    result = CliRunner().invoke(cli, [command, *args, "--device", "gpu"])
    assert result.exit_code == 1
    message = '`device` must be "auto", "cpu", "cuda", "cuda:N" or "mps", got "gpu"'
    assert result.output.startswith(f"error[invalid-value]: {message}\n --> --device gpu\n")


@pytest.mark.parametrize(
    ("text", "what"),
    [
        (TINY.replace("[1, 8, 8]", "[2, 8, 8]"), "has 2 channels"),
        ("name: tiny\ninput: [64]\nlayers: [{type: Linear, out_features: 10}]\n", "is a vector of 64"),
    ],
    ids=["2-channel", "vector"],
)
def test_predict_needs_a_grey_or_rgb_model(tmp_path: Path, text: str, what: str) -> None:
    """An image file has 1 or 3 channels; a model taking 2 failed in its first Conv2d (an internal error)."""
    from netspec.checkpoint import save

    spec = netspec.parse_spec(text)
    save(tmp_path / "m.pt", spec=spec, model_state=netspec.build(spec).state_dict())
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(tmp_path / "x.png")
    result = CliRunner().invoke(cli, ["predict", str(tmp_path / "m.pt"), str(tmp_path / "x.png")])
    assert result.exit_code == 1
    assert result.output.startswith(
        f"error[dataset-shape]: `netspec predict` reads image files as grey or RGB, but tiny's input {what}\n"
    )


@pytest.mark.slow  # importing matplotlib takes seconds
def test_plot(spec: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "run"
    assert CliRunner().invoke(cli, ["train", str(spec), "--epochs", "2", "--out", str(out)]).exit_code == 0
    result = CliRunner().invoke(cli, ["plot", str(out), "-o", str(tmp_path / "curves.png")])
    assert result.exit_code == 0, result.output
    with Image.open(tmp_path / "curves.png") as im:
        assert im.format == "PNG" and im.size == (1000, 400)
    for target, reason in [
        (tmp_path / "nowhere" / "c.png", "No such file or directory"),
        (tmp_path / "c.txt", "Format 'txt' is not supported (supported formats: "),
    ]:
        unwritable = CliRunner().invoke(cli, ["plot", str(out), "-o", str(target)])
        assert unwritable.exit_code == 2, unwritable.output
        assert unwritable.output.startswith(f"error[io-error]: cannot write {target}: {reason}")
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # as if it were not installed
    absent = CliRunner().invoke(cli, ["plot", str(out)])
    assert absent.exit_code == 1
    assert "error[missing-dependency]: `netspec plot` needs matplotlib, which is not installed" in absent.output
    assert "pip install matplotlib" in absent.output
    nothing = CliRunner().invoke(cli, ["plot", str(tmp_path)])
    assert nothing.exit_code == 2 and f"{tmp_path} has no metrics.csv" in nothing.output


@pytest.mark.parametrize(
    ("text", "message", "help"),
    [
        ("epoch,train_loss,train_acc,val_loss,val_acc,lr,seconds\n", "holds no epochs yet", "plot the run once its"),
        ("a,b\n1,2\n", "is not a metrics.csv netspec wrote (no `epoch` column)", "pass a run directory"),
        (
            "epoch,train_loss,train_acc,val_loss,val_acc,lr,seconds\n1,nan?,,0.5,,0.1,2\n",
            "is not a metrics.csv netspec wrote (could not convert string to float: 'nan?')",
            "pass a run directory",
        ),
        ("\udcff\udcfe", "is not a metrics.csv netspec wrote ('utf-8' codec can't decode byte 0xff", "pass a run"),
    ],
    ids=["no-epochs", "other-columns", "not-numbers", "binary"],
)
def test_plot_a_metrics_csv_it_cannot_use(tmp_path: Path, text: str, message: str, help: str) -> None:
    """Read before matplotlib is imported: these are quick, and none is a traceback."""
    (tmp_path / "metrics.csv").write_bytes(text.encode("utf-8", "surrogateescape"))
    result = CliRunner().invoke(cli, ["plot", str(tmp_path)])
    assert result.exit_code == 2, result.output
    assert result.output.startswith(f"error[io-error]: {tmp_path / 'metrics.csv'} {message}")
    assert f"= help: {help}" in result.output


def test_a_nan_loss_exits_1(tmp_path: Path) -> None:
    np.savez(tmp_path / "d.npz", x=np.full((16, 2), np.nan, np.float32), y=np.arange(16) % 2)
    path = tmp_path / "s.yaml"
    path.write_text(
        "input: [2]\nlayers: [{type: Linear, out_features: 2}]\n"
        f"train: {{dataset: {{name: tensors, path: {tmp_path / 'd.npz'}}}}}\n"
    )
    result = CliRunner().invoke(cli, ["train", str(path), "--out", str(tmp_path / "run")])
    assert result.exit_code == 1
    assert "error[non-finite-loss]: the loss became NaN at epoch 1, batch 1" in result.output


@pytest.mark.slow
def test_ctrl_c_saves_and_resumes_mid_epoch(spec: Path, tmp_path: Path) -> None:
    """SIGINT stops after the current batch, writes last.pt, exits 130; the resumed run ends as a straight one."""
    out = tmp_path / "run"
    proc = subprocess.Popen(
        [sys.executable, "-m", "netspec", "train", str(spec), "--batch-size", "1", "--out", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(),
    )
    assert proc.stdout is not None
    seen = []
    for line in proc.stdout:  # wait until epoch 1 is done: the interrupt lands inside epoch 2 (1,438 batches)
        seen.append(line)
        if line.startswith("epoch 1,"):
            break
    time.sleep(0.5)  # past epoch 1's checkpoints, into epoch 2's batches (1-3 ms each)
    proc.send_signal(signal.SIGINT)
    rest, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    stopped = re.search(r"interrupted at epoch 2, batch (\d+): saved (.+)/last.pt", rest)
    assert stopped is not None, rest
    assert f"resume with: netspec train --resume {out}\n" in rest
    position = load(out / "last.pt").extra["position"]
    assert position["epoch"] == 1 and 0 < position["batch"] < 1438 and position["batch"] == int(stopped.group(1))

    resumed = netspec.train(resume=out, quiet=True)  # as printed: the run's spec.yaml has its batch size of 1
    straight = netspec.train(spec, batch_size=1, out=tmp_path / "straight", quiet=True)
    assert [(m.train_loss, m.train_acc, m.val_loss, m.val_acc) for m in resumed.history] == [
        (m.train_loss, m.train_acc, m.val_loss, m.val_acc) for m in straight.history
    ]


@pytest.mark.slow
def test_ddp_two_cpu_processes(spec: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2"]
    done = subprocess.run(
        [*torchrun, "-m", "netspec", "train", str(spec), "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
        env=_env(),
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.count("epoch 1,") == 1  # only rank 0 prints
    assert "training tiny on 2 processes (cpu)" in done.stdout
    with open(out / "metrics.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["epoch"] for r in rows] == ["1", "2"]
    assert float(rows[-1]["val_acc"]) > 0.5  # it learned; 359 validation samples split between the two
    assert load(out / "last.pt").extra["epoch"] == 2
    # rank 0 alone makes the run directory; when it cannot, the other process stops too, quietly
    again = subprocess.run(
        [*torchrun, "-m", "netspec", "train", str(spec), "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
        env=_env(),
    )
    assert again.returncode != 0
    assert again.stderr.count(f"error[io-error]: {out} already holds a run") == 1, again.stderr[-3000:]
    assert "internal error" not in again.stderr + again.stdout  # rank 1 lost its peer mid-collective before


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_mixed_precision_run(spec: Path, tmp_path: Path) -> None:
    result = netspec.train(spec, device="cuda", epochs=2, out=tmp_path / "run", quiet=True)
    assert result.final is not None and result.final.val_acc is not None and result.final.val_acc > 0.5
    cpu_weights = netspec.load_model(tmp_path / "run" / "last.pt")  # saved from the GPU, loads on the CPU
    assert next(cpu_weights.parameters()).device.type == "cpu"
