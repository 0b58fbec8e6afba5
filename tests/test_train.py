"""The trainer on real (tiny) runs: the run directory, correct metrics, exact resume, NaN stops, shape checks."""

from __future__ import annotations

import csv
import math
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from sklearn.datasets import load_digits

import netspec
from netspec.checkpoint import load
from netspec.draw import svg
from netspec.report import check
from netspec.training.config import TrainConfig
from netspec.training.data import load_data

from .conftest import ROOT

# 8×8 digits as they come: a small CNN with dropout (so eval mode matters), 1,438 / 359 samples
TINY = """\
name: tiny
input: [1, 8, 8]
layers:
  - {type: Conv2d, out_channels: 4, kernel_size: 3}
  - ReLU
  - {type: Dropout, p: 0.3}
  - Flatten
  - {type: Linear, out_features: 10}
train:
  epochs: 2
  batch_size: 64
  optimizer: {type: Adam, lr: 0.01}
"""
DIGITS_CLASS_COUNTS = [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]  # sklearn's documented per-class counts


def spec_file(tmp_path: Path, text: str = TINY, name: str = "tiny.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_run_directory(tmp_path: Path) -> None:
    out = tmp_path / "run"
    result = netspec.train(spec_file(tmp_path), epochs=3, out=out, quiet=True)
    assert result.run_dir == out and result.interrupted is None
    assert len(result.history) == 3 and [m.epoch for m in result.history] == [1, 2, 3]
    with open(out / "metrics.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["epoch", "train_loss", "train_acc", "val_loss", "val_acc", "lr", "seconds"]
    assert b"\r" not in (out / "metrics.csv").read_bytes()  # one line ending, as a resume rewrites it
    assert [float(r["val_acc"]) for r in rows] == pytest.approx([m.val_acc for m in result.history], abs=1e-5)
    used = netspec.load_spec(out / "spec.yaml")  # the spec as used: the override is in it
    assert used.train is not None and used.train.epochs == 3
    assert (out / "model.svg").read_text() == svg(netspec.check(used))  # `netspec draw`'s diagram of it
    assert any(p.name.startswith("events.out.tfevents") for p in out.iterdir())  # tensorboard is a dev dependency
    for name in ("last.pt", "best.pt"):
        raw = torch.load(out / name, weights_only=True)  # tensors and plain values only
        assert {"model", "optimizer", "epoch", "rng", "history"} <= set(raw)
    assert load(out / "last.pt").extra["epoch"] == 3
    best = max(result.history, key=lambda m: m.val_acc or 0)
    assert load(out / "best.pt").extra["epoch"] == best.epoch == result.best.epoch  # type: ignore[union-attr]


def test_overrides_index_lists_as_set_does(tmp_path: Path) -> None:
    """`overrides={"train.transforms.0.std": ...}` reaches the list item, as `--set train.transforms.0.std=` does."""
    text = TINY + "  transforms: [{type: Normalize, mean: 0.5, std: 0.5}]\n"
    out = tmp_path / "run"
    netspec.train(spec_file(tmp_path, text), epochs=1, out=out, overrides={"train.transforms.0.std": 0.25}, quiet=True)
    used = netspec.load_spec(out / "spec.yaml").train
    assert used is not None and used.transforms[0].std == (0.25,)  # type: ignore[union-attr]


def test_tensorboard_gets_the_scalars_and_the_graph(tmp_path: Path) -> None:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    netspec.train(spec_file(tmp_path), out=tmp_path / "run", quiet=True)
    events = EventAccumulator(str(tmp_path / "run"))
    events.Reload()
    tags = events.Tags()
    assert {"loss/train", "loss/val", "accuracy/train", "accuracy/val", "lr"} <= set(tags["scalars"])
    assert [e.step for e in events.Scalars("accuracy/val")] == [1, 2]
    assert tags["graph"]


def test_a_progress_bar_only_when_asked(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from netspec.training.trainer import run_training

    run_training(spec_file(tmp_path), [], out=tmp_path / "bar", resume=None, echo=print, progress=True)
    assert "epoch 1" in capsys.readouterr().err  # tqdm's bar on stderr, described by netspec (the bar is tqdm's)
    run_training(spec_file(tmp_path), [], out=tmp_path / "plain", resume=None, echo=print, progress=False)
    assert capsys.readouterr().err == ""


def test_devices(tmp_path: Path) -> None:
    from netspec.training.trainer import pick_device

    assert pick_device("auto", None) == torch.device("cuda" if torch.cuda.is_available() else "cpu")
    assert pick_device("cpu", None) == torch.device("cpu")
    if not torch.cuda.is_available():
        with pytest.raises(netspec.SpecError) as info:
            netspec.train(spec_file(tmp_path), device="cuda", out=tmp_path / "run", quiet=True)
        [d] = info.value.diagnostics
        assert (d.code, d.message) == ("invalid-value", "`device` is cuda but torch sees no CUDA device")
        assert d.help == "use `--device cpu`, or `device: auto` to take CUDA only when it is there"


@pytest.mark.parametrize(
    ("capability", "dtype", "scaler"),
    [((7, 5), torch.float16, True), ((8, 0), torch.bfloat16, False), ((9, 0), torch.bfloat16, False)],
)
def test_mixed_precision_takes_bf16_only_where_the_gpu_has_it(
    monkeypatch: pytest.MonkeyPatch, capability: tuple[int, int], dtype: torch.dtype, scaler: bool
) -> None:
    """A T4 (7.5) emulates bf16, slowly, though torch.cuda.is_bf16_supported() says yes: fp16 and a grad scaler."""
    import warnings

    from netspec.training.trainer import _amp

    monkeypatch.setattr(torch.version, "hip", None)
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None: capability)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda including_emulation=True: True)  # as on a T4 too
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # GradScaler warns that this machine has no CUDA
        amp_dtype, grad_scaler = _amp(TrainConfig(), torch.device("cuda", 1))
    assert amp_dtype == dtype
    assert isinstance(grad_scaler, torch.amp.GradScaler) == scaler
    assert _amp(TrainConfig(amp=False), torch.device("cuda", 1)) == (None, None)
    assert _amp(TrainConfig(), torch.device("cpu")) == (None, None)


def test_digits_split_is_fixed_and_stratified() -> None:
    spec = netspec.parse_spec(TINY)
    config = spec.train or TrainConfig()
    data = load_data(spec, config, check(spec), torch.device("cpu"))
    counts = torch.bincount(data.val.y, minlength=10).tolist()  # type: ignore[union-attr]
    assert counts == [round(c * 0.2) for c in DIGITS_CLASS_COUNTS]
    assert len(data.train) + len(data.val) == 1797
    # the samples are sklearn's images scaled to [0, 1] (no resize at 8×8)
    digits = load_digits()
    images = torch.from_numpy(digits.images).float() / 16
    first = data.val.x[0, 0]  # type: ignore[union-attr]
    matches = [i for i in range(1797) if torch.equal(images[i], first)]
    assert matches and digits.target[matches[0]] == int(data.val.y[0])  # type: ignore[union-attr]


def test_validation_metrics_cover_every_sample_in_eval_mode(tmp_path: Path) -> None:
    """val loss and acc equal a hand computation over all 359 samples (64 does not divide 359)."""
    out = tmp_path / "run"
    result = netspec.train(spec_file(tmp_path), out=out, quiet=True)
    model = netspec.load_model(out / "last.pt").eval()
    spec = netspec.parse_spec(TINY)
    data = load_data(spec, spec.train or TrainConfig(), check(spec), torch.device("cpu"))
    x, y = data.val.x, data.val.y  # type: ignore[union-attr]
    with torch.no_grad():
        logits = model(x)
    final = result.final
    assert final is not None and final.val_acc is not None
    assert len(y) == 359
    assert final.val_acc == (logits.argmax(1) == y).sum().item() / 359
    assert final.val_loss == pytest.approx(F.cross_entropy(logits, y).item(), rel=1e-5)


def test_resume_ends_exactly_like_a_straight_run(tmp_path: Path) -> None:
    text = TINY + "  scheduler: {type: StepLR, step_size: 1, gamma: 0.5}\n"
    path = spec_file(tmp_path, text)
    straight = netspec.train(path, epochs=4, out=tmp_path / "straight", quiet=True)
    netspec.train(path, epochs=2, out=tmp_path / "resumed", quiet=True)
    resumed = netspec.train(path, epochs=4, resume=tmp_path / "resumed", quiet=True)
    assert resumed.run_dir == tmp_path / "resumed"

    def figures(r: Any) -> list[tuple[Any, ...]]:
        return [(m.epoch, m.train_loss, m.train_acc, m.val_loss, m.val_acc, m.lr) for m in r.history]

    assert figures(resumed) == figures(straight)  # exact: dropout RNG, Adam state and the schedule carried over
    assert [m.lr for m in straight.history] == [0.01, 0.005, 0.0025, 0.00125]
    with open(tmp_path / "resumed" / "metrics.csv", newline="") as f:
        assert [r["epoch"] for r in csv.DictReader(f)] == ["1", "2", "3", "4"]


def test_one_cycle_lr_in_the_metrics_is_the_last_steps(tmp_path: Path) -> None:
    """OneCycleLR steps every batch: each epoch's `lr` is the one its last step used, as torch's schedule gives it."""
    result = netspec.train(spec_file(tmp_path, TINY + "  scheduler: OneCycleLR\n"), out=tmp_path / "run", quiet=True)
    steps = 23  # ceil(1,438 / 64) batches per epoch
    param = torch.zeros(1, requires_grad=True)
    optimizer = torch.optim.Adam([param], lr=0.01)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=0.01, total_steps=2 * steps)
    used = []  # the lr of every step
    for _ in range(2 * steps):
        used.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        schedule.step()
    assert [m.lr for m in result.history] == pytest.approx([used[steps - 1], used[-1]], rel=1e-5)
    assert result.history[-1].lr == pytest.approx(0.01 / 25 / 1e4)  # max_lr / div_factor / final_div_factor


def test_resuming_a_finished_run_leaves_it_as_it_is(tmp_path: Path) -> None:
    from netspec.training.trainer import flag_overrides, run_training

    out = tmp_path / "run"
    netspec.train(spec_file(tmp_path), epochs=1, out=out, quiet=True)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    lines: list[str] = []
    result = run_training(
        spec_file(tmp_path),
        flag_overrides({"epochs": 1, "lr": 0.5}, lambda k, v: f"--{k} {v}"),
        out=None,
        resume=out,
        echo=lines.append,
        progress=False,
    )
    assert lines == [f"{out} has already trained 1 epoch: raise `--epochs` to train further"]
    assert (result.run_dir, [m.epoch for m in result.history], result.interrupted) == (out, [1], None)
    assert result.best is not None and result.best.epoch == 1
    # spec.yaml still says what the run used (not lr 0.5), and no second TensorBoard event file
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_extending_a_cosine_run_continues_the_cosine_over_the_new_epochs(tmp_path: Path) -> None:
    """`T_max` defaults to `epochs`: resumed from 2 to 4 epochs, epochs 3 and 4 take a straight 4-epoch run's lr.

    The checkpoint's T_max (2) took the lr from 0 back up to 0.05 for epoch 4.
    """
    path = spec_file(tmp_path, TINY + "  scheduler: CosineAnnealingLR\n")
    netspec.train(path, epochs=2, out=tmp_path / "resumed", quiet=True)
    resumed = netspec.train(path, epochs=4, resume=tmp_path / "resumed", quiet=True)
    param = torch.zeros(1, requires_grad=True)
    optimizer = torch.optim.Adam([param], lr=0.01)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=4)
    straight = []
    for _ in range(4):
        straight.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        schedule.step()
    assert [m.lr for m in resumed.history] == pytest.approx([0.01, 0.005, *straight[2:]])  # 2 epochs of T_max 2
    assert straight[2:] == pytest.approx([0.005, 0.01 * (1 + math.cos(3 * math.pi / 4)) / 2])


def test_resume_refuses_a_checkpoint_from_another_spec(tmp_path: Path) -> None:
    netspec.train(spec_file(tmp_path), epochs=1, out=tmp_path / "run", quiet=True)
    other = spec_file(tmp_path, TINY.replace("out_channels: 4", "out_channels: 5"), "other.yaml")
    with pytest.raises(netspec.SpecError) as info:
        netspec.train(other, resume=tmp_path / "run", quiet=True)
    [d] = info.value.diagnostics
    assert d.code == "checkpoint"
    assert d.message == f"{tmp_path / 'run' / 'last.pt'} was trained from another spec: its `layers` differ from tiny's"


def test_resuming_from_an_earlier_checkpoint_of_a_run_is_refused(tmp_path: Path) -> None:
    """best.pt (or any file beside last.pt): the run would continue in its folder, over the later epochs."""
    import shutil

    out = tmp_path / "run"
    netspec.train(spec_file(tmp_path), epochs=1, out=out, quiet=True)
    shutil.copy(out / "last.pt", out / "epoch1.pt")
    netspec.train(spec_file(tmp_path), epochs=2, resume=out, quiet=True)
    before = (out / "metrics.csv").read_bytes(), (out / "last.pt").read_bytes()
    with pytest.raises(netspec.SpecError) as info:
        netspec.train(spec_file(tmp_path), epochs=3, resume=out / "epoch1.pt", quiet=True)
    [d] = info.value.diagnostics
    assert d.code == "checkpoint"
    assert d.message == (
        f"{out / 'epoch1.pt'} is not a run directory: `--resume` continues a run from its folder, not from a"
        " checkpoint file"
    )
    assert d.help == (
        f"continue the run with `--resume {out}` (from its last.pt), or copy epoch1.pt to last.pt in a new folder"
        " and resume that"
    )
    assert ((out / "metrics.csv").read_bytes(), (out / "last.pt").read_bytes()) == before  # epoch 2 is still there
    (tmp_path / "branch").mkdir()
    shutil.copy(out / "epoch1.pt", tmp_path / "branch" / "last.pt")  # as the help says
    branch = netspec.train(epochs=2, resume=tmp_path / "branch", quiet=True)  # no spec.yaml: last.pt's spec
    assert [m.epoch for m in branch.history] == [1, 2] and branch.run_dir == tmp_path / "branch"


def test_an_existing_run_is_never_overwritten(tmp_path: Path) -> None:
    out = tmp_path / "run"
    netspec.train(spec_file(tmp_path), epochs=1, out=out, quiet=True)
    before = (out / "metrics.csv").read_bytes(), (out / "last.pt").read_bytes()
    with pytest.raises(netspec.SpecError) as info:
        netspec.train(spec_file(tmp_path), epochs=1, out=out, quiet=True)
    assert info.value.diagnostics[0].message == f"{out} already holds a run"
    assert ((out / "metrics.csv").read_bytes(), (out / "last.pt").read_bytes()) == before


@pytest.mark.parametrize("scheduler", ["", "  scheduler: OneCycleLR\n"])
def test_drop_last_with_a_batch_larger_than_the_data(tmp_path: Path, scheduler: str) -> None:
    """No step at all per epoch is a diagnostic before anything is written (not a division by zero)."""
    text = TINY.replace("batch_size: 64", "batch_size: 1500") + "  drop_last: true\n" + scheduler
    with pytest.raises(netspec.SpecError) as info:
        netspec.train(spec_file(tmp_path, text), out=tmp_path / "run", quiet=True)
    [d] = info.value.diagnostics
    assert (d.code, d.path) == ("invalid-value", ("train", "batch_size"))
    assert d.message == (
        "`batch_size` (=1500) is more than the 1,438 training samples and `drop_last` is true:"
        " an epoch would take no step"
    )
    assert d.help == "set `batch_size` to at most 1438, or `drop_last: false`"
    assert d.span is not None and d.span.text == "  batch_size: 1500"
    assert not (tmp_path / "run").exists()
    assert netspec.train(spec_file(tmp_path, text), batch_size=1438, epochs=1, out=tmp_path / "ok", quiet=True).final


def test_a_network_without_weights(tmp_path: Path) -> None:
    """Nothing to optimise: a diagnostic at `layers`, not torch.optim's "optimizer got an empty parameter list"."""
    text = "name: relu\ninput: [1, 8, 8]\nlayers:\n  - Flatten\n  - ReLU\n"
    with pytest.raises(netspec.SpecError) as info:
        netspec.train(spec_file(tmp_path, text), out=tmp_path / "run", quiet=True)
    [d] = info.value.diagnostics
    assert (d.code, d.message) == ("invalid-value", "relu has no weights to train: none of its 2 layers has parameters")
    assert d.span is not None and d.span.line == 4  # the first layer
    assert not (tmp_path / "run").exists()
    one = netspec.parse_spec("name: relu\ninput: [64]\nlayers: [ReLU]\n")
    with pytest.raises(netspec.SpecError) as info:
        netspec.train(one, out=tmp_path / "run", quiet=True)
    assert info.value.diagnostics[0].message == "relu has no weights to train: its one layer has no parameters"


def _tensors(tmp_path: Path, x: np.ndarray, y: np.ndarray, name: str = "data.npz") -> Path:
    path = tmp_path / name
    np.savez(path, x=x, y=y)
    return path


def test_a_nan_loss_stops_naming_epoch_and_batch(tmp_path: Path) -> None:
    x = np.full((40, 4), np.nan, dtype=np.float32)  # every batch's loss is NaN: the first one stops it
    data = _tensors(tmp_path, x, np.arange(40) % 2)
    text = (
        "input: [4]\nlayers: [{type: Linear, out_features: 2}]\n"
        f"train: {{dataset: {{name: tensors, path: {data}}}, epochs: 3, batch_size: 8}}\n"
    )
    with pytest.raises(netspec.SpecError) as info:
        netspec.train(spec_file(tmp_path, text), out=tmp_path / "run", quiet=True)
    [d] = info.value.diagnostics
    assert (d.code, d.message) == ("non-finite-loss", "the loss became NaN at epoch 1, batch 1")
    assert d.help is not None and d.help.startswith("lower the learning rate (it is 0.001: try `--lr 0.0001`)")
    assert not (tmp_path / "run" / "last.pt").exists()  # no weights from after the NaN


def test_a_diverging_run_keeps_the_last_good_epoch(tmp_path: Path) -> None:
    text = (
        "input: [4]\nlayers: [{type: Linear, out_features: 2}]\n"
        f"train: {{dataset: {{name: tensors, path: {tmp_path / 'data.npz'}}}, epochs: 2, batch_size: 8}}\n"
    )
    x = np.ones((64, 4), dtype=np.float32)
    _tensors(tmp_path, x[:40], np.arange(40) % 2)
    out = tmp_path / "run"
    netspec.train(spec_file(tmp_path, text), epochs=1, out=out, quiet=True)
    x[40:] = np.inf  # the data gains infinite samples before the second epoch
    _tensors(tmp_path, x, np.arange(64) % 2)
    with pytest.raises(netspec.SpecError) as info:
        netspec.train(spec_file(tmp_path, text), resume=out, quiet=True)
    [d] = info.value.diagnostics
    assert d.code == "non-finite-loss"
    assert re.fullmatch(r"the loss became (NaN|infinite) at epoch 2, batch [1-7]", d.message), d.message
    assert d.notes == (f"last.pt in {out} holds epoch 1",)
    assert load(out / "last.pt").extra["epoch"] == 1  # the last good weights are kept


def test_samples_that_do_not_fit_the_input(tmp_path: Path) -> None:
    data = _tensors(tmp_path, np.zeros((20, 3, 32, 32), np.float32), np.arange(20) % 10)
    text = (
        "input: [1, 28, 28]\nlayers: [Flatten, {type: Linear, out_features: 10}]\n"
        f"train: {{dataset: {{name: tensors, path: {data}}}}}\n"
    )
    with pytest.raises(netspec.SpecError) as info:
        netspec.train(spec_file(tmp_path, text), out=tmp_path / "run", quiet=True)
    [d] = info.value.diagnostics
    assert d.code == "dataset-shape"
    assert d.message == "training samples are 3×32×32 but the spec takes 1×28×28"
    assert d.help == (
        "add `Grayscale` and `{type: Resize, size: [28, 28]}` to `transforms`, or change `input` to [3, 32, 32]"
    )
    assert d.span is not None and d.span.line == 1  # points at `input:`
    assert not (tmp_path / "run").exists()  # nothing written for a run that cannot start


def test_more_classes_than_outputs(tmp_path: Path) -> None:
    data = _tensors(tmp_path, np.zeros((60, 4), np.float32), np.arange(60) % 12)
    text = (
        "input: [4]\nlayers: [{type: Linear, out_features: 10}]\n"
        f"train: {{dataset: {{name: tensors, path: {data}}}}}\n"
    )
    with pytest.raises(netspec.SpecError) as info:
        netspec.train(spec_file(tmp_path, text), out=tmp_path / "run", quiet=True)
    [d] = info.value.diagnostics
    assert d.code == "dataset-shape"
    assert d.message == "the dataset has 12 classes but the spec's output has 10 values per sample"
    assert d.help == "make the last layer produce 12 outputs (`out_features: 12`)"


def test_mse_on_class_labels_uses_one_hot_targets(tmp_path: Path) -> None:
    out = tmp_path / "run"
    result = netspec.train(spec_file(tmp_path, TINY + "  loss: MSELoss\n"), epochs=1, out=out, quiet=True)
    model = netspec.load_model(out / "last.pt").eval()
    spec = netspec.parse_spec(TINY)
    data = load_data(spec, spec.train or TrainConfig(), check(spec), torch.device("cpu"))
    x, y = data.val.x, data.val.y  # type: ignore[union-attr]
    with torch.no_grad():
        expected = F.mse_loss(model(x), F.one_hot(y, 10).float()).item()
    assert result.history[0].val_loss == pytest.approx(expected, rel=1e-5)
    assert result.history[0].val_acc is not None


def test_float_targets_train_a_regression_without_accuracy(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 3)).astype(np.float32)
    y = (x @ np.array([1.0, -2.0, 0.5], np.float32)).astype(np.float32)  # (200,) float targets
    data = _tensors(tmp_path, x, y, "reg.npz")
    text = (
        "input: [3]\nlayers: [{type: Linear, out_features: 1}]\n"
        f"train: {{dataset: {{name: tensors, path: {data}}}, loss: L1Loss, epochs: 30,"
        " optimizer: {type: Adam, lr: 0.05}}\n"
    )
    out = tmp_path / "run"
    result = netspec.train(spec_file(tmp_path, text), out=out, quiet=True)
    final = result.final
    assert final is not None and final.val_acc is None and final.train_acc is None
    assert final.val_loss < 0.1 * result.history[0].val_loss  # it learns the linear map
    assert final.line() == (
        f"epoch 30, loss {final.train_loss:.4f}, val loss {final.val_loss:.4f}, time {final.seconds:.1f} sec"
    )
    with open(out / "metrics.csv", newline="") as f:
        assert next(csv.DictReader(f))["val_acc"] == ""


def test_cross_entropy_on_a_single_output_is_refused(tmp_path: Path) -> None:
    """The default loss left on a regression trained nothing and printed `loss 0.0000` every epoch."""
    assert F.cross_entropy(torch.randn(8, 1), torch.randn(8, 1)).item() == 0  # torch: log_softmax of one value is 0
    x = np.random.default_rng(0).normal(size=(40, 3)).astype(np.float32)
    data = _tensors(tmp_path, x, x.sum(1), "reg.npz")
    text = (
        "input: [3]\nlayers: [{type: Linear, out_features: 1}]\n"
        + f"train: {{dataset: {{name: tensors, path: {data}}}}}\n"
    )
    with pytest.raises(netspec.SpecError) as info:
        netspec.train(spec_file(tmp_path, text), out=tmp_path / "run", quiet=True)
    [d] = info.value.diagnostics
    assert (d.code, d.path) == ("dataset-shape", ("layers", 0))
    assert d.message == "CrossEntropyLoss over one output per sample is always 0: a softmax over a single class"
    assert d.help == "for a regression set `loss: MSELoss` (or L1Loss); for classes, give one output per class"
    assert not (tmp_path / "run").exists()


def test_random_transforms_are_reproducible_whatever_the_workers(tmp_path: Path) -> None:
    """Per-sample augmentation seeds: the same metrics with the samples drawn in this process or in 2 workers."""
    text = TINY + "  transforms: [{type: RandomRotation, degrees: 10}, RandomHorizontalFlip]\n"
    runs = [
        netspec.train(
            spec_file(tmp_path, text), epochs=1, out=tmp_path / f"w{w}", overrides={"train.num_workers": w}, quiet=True
        )
        for w in (0, 2)
    ]
    assert runs[0].history[0].train_loss == runs[1].history[0].train_loss
    assert runs[0].history[0].val_acc == runs[1].history[0].val_acc
    plain = netspec.train(spec_file(tmp_path), epochs=1, out=tmp_path / "plain", quiet=True)
    assert plain.history[0].train_loss != runs[0].history[0].train_loss  # the transforms did something


@pytest.mark.slow
def test_dataloader_workers_change_nothing_over_epochs_and_resumes(tmp_path: Path) -> None:
    """With random transforms (a DataLoader), epoch 2 is the same without workers, with one, and after a resume.

    A DataLoader that drew its workers' seed from torch's global RNG would shift the dropout masks by
    how often it makes an iterator: every epoch without workers, once with persistent ones, again on resume.
    """
    text = TINY + "  transforms: [RandomHorizontalFlip]\n"

    path = spec_file(tmp_path, text)

    def figures(result: Any) -> list[tuple[float, float, float | None]]:
        return [(m.train_loss, m.val_loss, m.val_acc) for m in result.history]

    def workers(n: int) -> dict[str, Any]:
        return {"train.num_workers": n}

    without = figures(netspec.train(path, out=tmp_path / "w0", overrides=workers(0), quiet=True))
    assert figures(netspec.train(path, out=tmp_path / "w1", overrides=workers(1), quiet=True)) == without
    netspec.train(path, epochs=1, out=tmp_path / "resumed", overrides=workers(1), quiet=True)
    assert figures(netspec.train(path, resume=tmp_path / "resumed", overrides=workers(1), quiet=True)) == without


@pytest.mark.slow
def test_the_train_from_python_example(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "train_from_python.py")],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.splitlines()
    assert lines[3].startswith("best: epoch ") and float(lines[3].split("val acc ")[1].split(",")[0]) >= 0.95
    assert lines[4] == "metrics.csv: 15 rows of epoch, train_loss, train_acc, val_loss, val_acc, lr, seconds"
    assert lines[-1] == "the best model maps (1, 1, 32, 32) to (1, 10)"


@pytest.mark.slow
def test_lenet_demo_reaches_95_percent(tmp_path: Path) -> None:
    """What `make demo` trains: specs/lenet.yaml on the bundled digits."""
    result = netspec.train(ROOT / "specs" / "lenet.yaml", out=tmp_path / "run", quiet=True)
    final = result.final
    assert final is not None and final.val_acc is not None and final.val_acc >= 0.95
    assert len(result.history) == 15


def test_ctrl_c_between_epochs_stops_before_the_next(tmp_path: Path) -> None:
    """SIGINT while an epoch's line is printed (after validation): no batch of the next epoch runs."""
    import os
    import signal

    from netspec.training.trainer import run_training

    def echo(line: str) -> None:
        if line.startswith("epoch 1,"):
            os.kill(os.getpid(), signal.SIGINT)  # caught by the trainer's handler, not KeyboardInterrupt

    out = tmp_path / "run"
    result = run_training(spec_file(tmp_path), [], out=out, resume=None, echo=echo, progress=False)
    assert result.interrupted is not None and (result.interrupted.epoch, result.interrupted.batch) == (1, 0)
    assert [m.epoch for m in result.history] == [1]
    saved = load(out / "last.pt").extra
    assert (saved["epoch"], saved["position"]) == (1, None)  # a clean epoch boundary to resume from
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # the handler is put back
