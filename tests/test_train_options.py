"""The `train:` options beyond the defaults: loss arguments, RMSprop, gradient clipping and early stopping."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from click.testing import CliRunner

import netspec
from netspec.cli import cli
from netspec.report import check
from netspec.training.config import EarlyStopping, TrainConfig
from netspec.training.data import load_data
from netspec.training.run import EpochMetrics
from netspec.training.stopping import should_stop
from netspec.training.trainer import make_optimizer

from .test_train import TINY, spec_file

WEIGHTS = [1.0, 2.0, 0.5, 1.0, 3.0, 1.0, 1.0, 0.25, 1.0, 1.5]


def _val(spec_text: str) -> tuple[torch.Tensor, torch.Tensor]:
    spec = netspec.parse_spec(spec_text)
    data = load_data(spec, spec.train or TrainConfig(), check(spec), torch.device("cpu"))
    return data.val.x, data.val.y  # type: ignore[union-attr]


def _logits(run: Path, x: torch.Tensor) -> torch.Tensor:
    model = netspec.load_model(run / "last.pt").eval()
    with torch.no_grad():
        out: torch.Tensor = model(x)
    return out


def test_label_smoothing_and_class_weights_match_torch(tmp_path: Path) -> None:
    """The validation loss is torch's cross_entropy with the same arguments on the same logits (one batch of 359)."""
    text = TINY.replace("batch_size: 64", "batch_size: 512") + (
        f"  loss: {{type: CrossEntropyLoss, label_smoothing: 0.2, weight: {WEIGHTS}}}\n"
    )
    result = netspec.train(spec_file(tmp_path, text), epochs=1, out=tmp_path / "run", quiet=True)
    x, y = _val(text)
    logits = _logits(tmp_path / "run", x)
    expected = F.cross_entropy(logits, y, weight=torch.tensor(WEIGHTS), label_smoothing=0.2).item()
    plain = F.cross_entropy(logits, y).item()
    assert result.history[0].val_loss == pytest.approx(expected, rel=1e-5)
    assert abs(expected - plain) > 1e-3  # the arguments changed the figure


def test_reduction_sum_still_reports_the_loss_per_sample(tmp_path: Path) -> None:
    text = TINY + "  loss: {type: CrossEntropyLoss, reduction: sum}\n"
    result = netspec.train(spec_file(tmp_path, text), epochs=1, out=tmp_path / "run", quiet=True)
    x, y = _val(text)
    expected = F.cross_entropy(_logits(tmp_path / "run", x), y, reduction="sum").item() / len(y)
    assert result.history[0].val_loss == pytest.approx(expected, rel=1e-5)


def test_nll_loss_after_log_softmax(tmp_path: Path) -> None:
    last = "  - {type: Linear, out_features: 10}\n"
    text = TINY.replace(last, last + "  - {type: LogSoftmax, dim: 1}\n")
    text += "  loss: NLLLoss\n"
    result = netspec.train(spec_file(tmp_path, text), epochs=1, out=tmp_path / "run", quiet=True)
    x, y = _val(text)
    expected = F.nll_loss(_logits(tmp_path / "run", x), y).item()
    assert result.history[0].val_loss == pytest.approx(expected, rel=1e-5)


def test_bce_with_logits_on_class_labels_uses_one_hot_targets(tmp_path: Path) -> None:
    text = TINY + "  loss: BCEWithLogitsLoss\n"
    result = netspec.train(spec_file(tmp_path, text), epochs=1, out=tmp_path / "run", quiet=True)
    x, y = _val(text)
    expected = F.binary_cross_entropy_with_logits(_logits(tmp_path / "run", x), F.one_hot(y, 10).float()).item()
    assert result.history[0].val_loss == pytest.approx(expected, rel=1e-5)
    assert result.history[0].val_acc is not None


def test_huber_loss_with_its_delta(tmp_path: Path) -> None:
    text = TINY + "  loss: {type: HuberLoss, delta: 0.3}\n"
    result = netspec.train(spec_file(tmp_path, text), epochs=1, out=tmp_path / "run", quiet=True)
    x, y = _val(text)
    logits = _logits(tmp_path / "run", x)
    expected = F.huber_loss(logits, F.one_hot(y, 10).float(), delta=0.3).item()
    assert result.history[0].val_loss == pytest.approx(expected, rel=1e-5)
    assert abs(expected - F.huber_loss(logits, F.one_hot(y, 10).float()).item()) > 1e-4  # delta mattered


@pytest.mark.parametrize(
    ("loss", "message", "path", "help"),
    [
        (
            "NLLLoss",
            "NLLLoss takes log-probabilities, but the last layer is Linear, not LogSoftmax",
            ("layers", 4),
            "end the network with `{type: LogSoftmax, dim: 1}`",
        ),
        (
            "{type: CrossEntropyLoss, weight: [1, 2, 3]}",
            "`weight` has 3 values but the spec's output has 10 per sample",
            ("train", "loss", "weight"),
            "give `weight` one number per output (10)",
        ),
        (
            "{type: BCEWithLogitsLoss, pos_weight: [1, 2]}",
            "`pos_weight` has 2 values but the spec's output has 10 per sample",
            ("train", "loss", "pos_weight"),
            "give `pos_weight` one number per output (10)",
        ),
    ],
)
def test_a_loss_that_does_not_fit_the_spec(
    tmp_path: Path, loss: str, message: str, path: tuple[str | int, ...], help: str
) -> None:
    with pytest.raises(netspec.SpecError) as info:
        netspec.train(spec_file(tmp_path, TINY + f"  loss: {loss}\n"), out=tmp_path / "run", quiet=True)
    [d] = info.value.diagnostics
    assert (d.message, d.path) == (message, path)
    assert d.help is not None and d.help.startswith(help)
    assert d.span is not None  # located in the file
    assert not (tmp_path / "run").exists()


def test_a_bad_loss_argument_is_a_diagnostic_at_the_cli(tmp_path: Path) -> None:
    path = spec_file(tmp_path, TINY + "  loss: {type: CrossEntropyLoss, label_smoothing: 1.5}\n")
    result = CliRunner().invoke(cli, ["train", str(path), "--out", str(tmp_path / "run")])
    assert result.exit_code == 1
    assert "error[invalid-value]: `label_smoothing` must be" in result.output
    assert "tiny.yaml:13:" in result.output and "Traceback" not in result.output


def test_rmsprop_is_torchs_rmsprop_with_the_spec_arguments(tmp_path: Path) -> None:
    text = TINY.replace("optimizer: {type: Adam, lr: 0.01}", "optimizer: {type: RMSprop, lr: 0.002, alpha: 0.9}")
    spec = netspec.parse_spec(text)
    opt = make_optimizer(spec.train or TrainConfig(), netspec.build(spec))
    assert type(opt) is torch.optim.RMSprop
    assert (opt.defaults["lr"], opt.defaults["alpha"], opt.defaults["momentum"]) == (0.002, 0.9, 0.0)
    result = netspec.train(spec_file(tmp_path, text), epochs=2, out=tmp_path / "run", quiet=True)
    assert result.history[1].train_loss < result.history[0].train_loss


# One SGD step (lr 1) from all-zero weights: the weights after it are minus the (clipped) gradients.
ONE_STEP = """\
input: [4]
layers: [{{type: Linear, out_features: 3, init: zeros}}]
train:
  dataset: {{name: tensors, path: {data}}}
  batch_size: 64
  epochs: 1
  optimizer: {{type: SGD, lr: 1.0}}
"""


def _one_step(tmp_path: Path, extra: str) -> torch.Tensor:
    rng = np.random.default_rng(0)
    data = tmp_path / "data.npz"
    np.savez(data, x=(rng.normal(size=(40, 4)) * 10).astype(np.float32), y=np.arange(40) % 3)
    out = tmp_path / f"run{len(list(tmp_path.iterdir()))}"
    netspec.train(spec_file(tmp_path, ONE_STEP.format(data=data) + extra), out=out, quiet=True)
    state = netspec.load_model(out / "last.pt").state_dict()
    return torch.cat([v.flatten() for v in state.values()])  # every weight and bias, all 0 before the step


def test_gradient_clipping(tmp_path: Path) -> None:
    free = _one_step(tmp_path, "")
    assert free.abs().max() > 0.01 and free.norm() > 0.5  # the clips below bite
    by_value = _one_step(tmp_path, "  clip_grad_value: 0.01\n")
    assert by_value.abs().max() == pytest.approx(0.01)
    assert torch.equal(by_value, free.clamp(-0.01, 0.01))
    by_norm = _one_step(tmp_path, "  clip_grad_norm: 0.5\n")
    assert by_norm.norm() == pytest.approx(0.5, rel=1e-5)
    assert torch.allclose(by_norm, free * 0.5 / free.norm(), atol=1e-6)  # the same direction, scaled


def _metrics(epoch: int, val_loss: float, val_acc: float | None = 0.5) -> EpochMetrics:
    return EpochMetrics(epoch, 1.0, 0.5, val_loss, val_acc, 0.001, 0.1)


@pytest.mark.parametrize(
    ("losses", "patience", "min_delta", "stop_after"),
    [
        ([1.0, 0.9, 0.8, 0.7], 1, 0.0, None),  # improves every epoch
        ([1.0, 0.9, 0.95, 0.96], 2, 0.0, 4),  # best at 2, two epochs without improvement
        ([1.0, 0.9, 0.95], 2, 0.0, None),  # only one so far
        ([1.0, 0.97, 0.965, 0.962], 3, 0.04, 4),  # improvements on the best of 0.04 or less do not count
        ([1.0, 0.97, 0.965, 0.962], 3, 0.0, None),
        ([1.0, 0.97, 0.94, 0.93], 2, 0.05, None),  # 0.94 is 0.06 below the best (1.0): it counts
    ],
)
def test_should_stop(losses: list[float], patience: int, min_delta: float, stop_after: int | None) -> None:
    rule = EarlyStopping(patience=patience, min_delta=min_delta)
    history = [_metrics(i + 1, v) for i, v in enumerate(losses)]
    stops = [i + 1 for i in range(len(history)) if should_stop(history[: i + 1], rule)]
    assert (stops[0] if stops else None) == stop_after


def test_should_stop_on_accuracy_maximises() -> None:
    rule = EarlyStopping(patience=1, metric="val_acc")
    history = [_metrics(1, 1.0, 0.5), _metrics(2, 0.5, 0.4)]  # the loss improves, the accuracy does not
    why = should_stop(history, rule)
    assert why == "early stopping: val_acc has not improved for 1 epoch (best 0.5000 at epoch 1)"
    assert should_stop(history, EarlyStopping(patience=1)) is None


def test_early_stopping_ends_the_run(tmp_path: Path) -> None:
    """train_loss falls every epoch, so with `mode: max` it never improves after the first: 1 + patience epochs."""
    text = TINY + "  early_stopping: {patience: 2, metric: train_loss, mode: max}\n"
    result = netspec.train(spec_file(tmp_path, text), epochs=6, out=tmp_path / "run", quiet=True)
    assert [m.epoch for m in result.history] == [1, 2, 3]
    with open(tmp_path / "run" / "metrics.csv", newline="") as f:
        assert [r["epoch"] for r in csv.DictReader(f)] == ["1", "2", "3"]
    resumed = netspec.train(spec_file(tmp_path, text), epochs=8, resume=tmp_path / "run", quiet=True)
    assert [m.epoch for m in resumed.history] == [1, 2, 3]  # a straight run of 8 stops there too
    straight = netspec.train(
        spec_file(tmp_path, TINY + "  early_stopping: 2\n"), epochs=3, out=tmp_path / "r2", quiet=True
    )
    assert len(straight.history) == 3  # val_loss improves on these epochs: no early stop


def test_early_stopping_on_accuracy_needs_class_labels(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    data = tmp_path / "reg.npz"
    np.savez(data, x=rng.normal(size=(50, 3)).astype(np.float32), y=rng.normal(size=50).astype(np.float32))
    text = (
        "input: [3]\nlayers: [{type: Linear, out_features: 1}]\n"
        f"train: {{dataset: {{name: tensors, path: {data}}}, loss: MSELoss, early_stopping: {{patience: 2, "
        "metric: val_acc}}\n"
    )
    with pytest.raises(netspec.SpecError) as info:
        netspec.train(spec_file(tmp_path, text), out=tmp_path / "run", quiet=True)
    [d] = info.value.diagnostics
    assert d.path == ("train", "early_stopping", "metric")
    assert d.help == "watch `val_loss` instead"


def test_docs_list_every_train_key_loss_and_optimizer() -> None:
    """docs/training.md's tables name every `train:` key, loss and optimizer: a new one cannot go undocumented."""
    from typing import get_args

    from netspec.training.config import Loss, Optimizer

    from .conftest import ROOT

    text = (ROOT / "docs" / "training.md").read_text(encoding="utf-8")
    for key in TrainConfig.model_fields:
        assert f"| `{key}` |" in text, key
    for union in (Loss, Optimizer):
        for record in get_args(get_args(union)[0]):
            assert f"`{record.model_fields['type'].annotation.__args__[0]}`" in text, record
