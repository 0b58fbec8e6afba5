"""Inputs that reached `netspec: internal error` (issue 15): each is now a diagnostic with a non-zero exit."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from click.testing import CliRunner

import netspec
from netspec import checkpoint
from netspec.cli import cli

from .test_train_runs import small


def run(*args: str) -> Any:
    result = CliRunner().invoke(cli, list(args))
    assert "internal error" not in result.output and "Traceback" not in result.output, result.output
    return result


def _tensors(tmp_path: Path, x: Any, y: Any, name: str = "d.pt") -> Path:
    path = tmp_path / name
    torch.save({"x": x, "y": y}, path)
    return path


@pytest.mark.parametrize("dtype", [np.uint16, np.uint32, np.uint64])
def test_unsigned_labels_train_and_evaluate(tmp_path: Path, dtype: Any) -> None:
    """`"min_all" not implemented for 'UInt16'` in train and evaluate."""
    spec = small(tmp_path)
    x = np.random.default_rng(0).normal(size=(64, 1, 8, 8)).astype(np.float32)
    np.savez(tmp_path / "u.npz", x=x, y=(np.arange(64) % 3).astype(dtype))
    out = tmp_path / "run"
    result = run("train", str(spec), "--set", f"train.dataset.path={tmp_path / 'u.npz'}", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert run("evaluate", str(out / "best.pt")).exit_code == 0


@pytest.mark.parametrize(
    ("x", "y", "message"),
    [
        (torch.zeros(8, 4), torch.zeros(8, dtype=torch.complex64), "`y` in {p} is a complex tensor (torch.complex64)"),
        (torch.zeros(8, 4).to_sparse(), torch.zeros(8, dtype=torch.long), "`x` in {p} is a sparse tensor"),
        (torch.zeros(8, 4, device="meta"), torch.zeros(8, dtype=torch.long), "`x` in {p} is a meta (no data) tensor"),
        (
            torch.zeros(8, 4),
            torch.tensor([0] * 7 + [10**9]),
            "`y` in {p} holds the class label 1,000,000,000, but netspec takes at most 1,000,000 classes",
        ),
    ],
    ids=["complex-y", "sparse-x", "meta-x", "huge-label"],
)
def test_tensors_torch_cannot_reduce(tmp_path: Path, x: Any, y: Any, message: str) -> None:
    path = _tensors(tmp_path, x, y)
    spec = tmp_path / "s.yaml"
    spec.write_text(
        "input: [4]\nlayers: [{type: Linear, out_features: 3}]\n"
        f"train: {{dataset: {{name: tensors, path: {path}}}}}\n"
    )
    result = run("train", str(spec), "--out", str(tmp_path / "run"))
    assert result.exit_code == 1
    assert f"error[dataset-shape]: {message.format(p=path)}" in result.output
    assert not (tmp_path / "run").exists()


def test_nan_in_validation_data_stops_the_run(tmp_path: Path) -> None:
    """It passed with val_loss nan and exit 0."""
    spec = small(tmp_path)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 1, 8, 8)).astype(np.float32)
    vx = x.copy()
    vx[3, 0, 0, 0] = np.nan
    np.savez(tmp_path / "t.npz", x=x, y=np.arange(64) % 3)
    np.savez(tmp_path / "v.npz", x=vx, y=np.arange(64) % 3)
    dataset = f"train.dataset={{name: tensors, path: {tmp_path / 't.npz'}, val_path: {tmp_path / 'v.npz'}}}"
    result = run("train", str(spec), "--set", dataset, "--out", str(tmp_path / "run"))
    assert result.exit_code == 1
    assert "error[non-finite-loss]: the validation loss is NaN at epoch 1, though every training loss was finite" in (
        result.output
    )


def test_flags_that_reached_internal_errors(tmp_path: Path) -> None:
    spec = small(tmp_path)
    one_cycle = run("train", str(spec), "--set", "train.scheduler={type: OneCycleLR, pct_start: 1.0}")
    assert one_cycle.exit_code == 1 and "error[invalid-value]" in one_cycle.output  # was a ZeroDivisionError
    assert "a fraction between 0 and 1 (exclusive)" in one_cycle.output
    superscript = run("train", str(spec), "--set", "train.transforms.²=1")  # "²".isdigit(), but not an index
    assert superscript.exit_code == 1
    assert "error[invalid-value]: `transforms` must be a list" in superscript.output
    out = str(tmp_path / "run\udcff")  # the file-system bytes b"run\xff", as Python decodes them
    bad = run("train", str(spec), "--out", out)
    assert bad.exit_code == 2 and "is not valid UTF-8" in bad.output
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith("run")] == []


# -- checkpoints edited by hand, with their digest made to match ---------------------------------------


def _edit(path: Path, change: Any) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch notes it validates sparse tensors as it loads them
        raw = torch.load(path, weights_only=True)
    change(raw)
    raw.pop("digest")
    torch.save({**raw, "digest": checkpoint.digest(raw)}, path)


EDITS = {
    "rng-removed": lambda c: c.pop("rng"),
    "rng-garbled": lambda c: c.update(rng={"torch": torch.zeros(3), "numpy": 1, "python": 2, "cuda": []}),
    "history-not-a-list": lambda c: c.update(history=5),
    "history-bad-rows": lambda c: c.update(history=[{"epoch": "one"}]),
    "position-garbled": lambda c: c.update(position={"epoch": 0}),
    "optimizer-garbled": lambda c: c.update(optimizer={"state": {}, "param_groups": [{"lr": 1}]}),
    "epoch-not-a-number": lambda c: c.update(epoch="x"),
    "sparse-weights": lambda c: c["model"].update({k: v.to_sparse() for k, v in c["model"].items()}),
}


@pytest.mark.parametrize("edit", EDITS)
def test_hand_edited_checkpoints(tmp_path: Path, edit: str) -> None:
    """10 of 22 hand-edited but loadable checkpoints reached internal errors on resume."""
    spec = small(tmp_path)
    out = tmp_path / "run"
    assert run("train", str(spec), "--out", str(out)).exit_code == 0
    _edit(out / "last.pt", EDITS[edit])
    before = (out / "metrics.csv").read_bytes()
    result = run("train", "--resume", str(out), "--epochs", "2")
    assert result.exit_code == 1, result.output
    assert "error[checkpoint]" in result.output
    assert (out / "metrics.csv").read_bytes() == before
    if edit == "sparse-weights":
        result = run("build", str(out / "last.pt"))
        assert result.exit_code == 1 and "is a torch.sparse_coo tensor, not a dense one" in result.output


def test_a_small_checkpoint_with_a_huge_spec_is_refused_before_allocating(tmp_path: Path) -> None:
    """A 2 KB checkpoint made `evaluate` allocate 4.5 GB before its weights were compared."""
    spec = netspec.parse_spec("input: [40000]\nlayers: [{type: Linear, out_features: 40000}]\n")
    path = tmp_path / "huge.pt"
    checkpoint.save(path, spec=spec, model_state={"0.weight": torch.zeros(2, 2), "0.bias": torch.zeros(2)})
    assert path.stat().st_size < 4096
    result = run("build", str(path))
    assert result.exit_code == 1
    assert f"the weights in {path} do not fit its spec: it stores 6 values but the spec has 1,600,040,000" in (
        result.output
    )
