"""Run directories and resuming: one writer per directory, nothing of anyone else's overwritten, resume from the run.

Each test reproduces a failure found by fault injection (issue 15) or by a new user (issue 14).
"""

from __future__ import annotations

import csv
import os
import shlex
import signal
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from click.testing import CliRunner

import netspec
from netspec.checkpoint import load
from netspec.cli import cli
from netspec.training import rundir
from netspec.training.rundir import RunLock
from netspec.training.trainer import run_training

# 96 samples of 1×8×8 in 3 classes, 32 validation: a run of one epoch takes milliseconds
SMALL = """\
name: small
input: [1, 8, 8]
layers:
  - Flatten
  - {{type: Linear, out_features: 3}}
train:
  dataset: {{name: tensors, path: {data}, val_fraction: 0.25}}
  epochs: 1
  batch_size: 16
  optimizer: {{type: Adam, lr: 0.01}}
"""


def small(tmp_path: Path, extra: str = "") -> Path:
    rng = np.random.default_rng(0)
    y = np.arange(128) % 3
    x = rng.normal(size=(128, 1, 8, 8)).astype(np.float32) + y[:, None, None, None]
    np.savez(tmp_path / "data.npz", x=x, y=y)
    path = tmp_path / "small.yaml"
    path.write_text(SMALL.format(data=tmp_path / "data.npz") + extra)
    return path


def train(*args: str) -> Any:
    return CliRunner().invoke(cli, ["train", *args])


def rows(run: Path) -> list[dict[str, str]]:
    with open(run / "metrics.csv", newline="") as f:
        return list(csv.DictReader(f))


# -- one run, one directory --------------------------------------------------------------------


def test_a_locked_run_directory_names_its_holder(tmp_path: Path) -> None:
    """The lock is what a second `--out` or a `--resume` of a running run meets (flock is per open file)."""
    spec = small(tmp_path)
    out = tmp_path / "run"
    assert train(str(spec), "--out", str(out)).exit_code == 0
    lock = RunLock.acquire(out)  # as a running `netspec train` holds it
    try:
        before = {p.name: p.read_bytes() for p in out.iterdir() if p.name != rundir.LOCK}
        for args in (["--resume", str(out), "--epochs", "2"], [str(spec), "--out", str(out)]):
            result = train(*args)
            assert result.exit_code == 2, result.output
            assert f"error[io-error]: {out} is in use by netspec process {os.getpid()}" in result.output
        assert {p.name: p.read_bytes() for p in out.iterdir() if p.name != rundir.LOCK} == before
    finally:
        lock.release()
    assert train("--resume", str(out), "--epochs", "2").exit_code == 0  # released: it resumes
    assert [r["epoch"] for r in rows(out)] == ["1", "2"]


RACER = """
import sys, time
from pathlib import Path
import netspec
spec, out, go = sys.argv[1:]
print("ready", flush=True)
while not Path(go).exists():  # the barrier: both processes have imported torch and wait here
    time.sleep(0.001)
try:
    netspec.train(spec, out=out, quiet=True)
    print("ok")
except netspec.SpecError as e:
    print(f"{e.diagnostics[0].code}: {e.diagnostics[0].message}")
"""


@pytest.mark.slow
def test_two_runs_started_together_into_one_out(tmp_path: Path) -> None:
    """Two processes released together: exactly one trains, the other is refused; no row is mixed, nothing lost."""
    import subprocess
    import sys

    from .conftest import ROOT

    spec = small(tmp_path)
    out, go = tmp_path / "run", tmp_path / "go"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", RACER, str(spec), str(out), str(go)], stdout=subprocess.PIPE, text=True, env=env
        )
        for _ in range(2)
    ]
    for p in procs:
        assert p.stdout is not None and p.stdout.readline() == "ready\n"
    go.touch()
    outcomes = sorted(p.communicate(timeout=120)[0].strip() for p in procs)
    assert outcomes[1] == "ok" and outcomes[0].startswith(f"io-error: {out} "), outcomes  # in use, or holds a run
    assert [r["epoch"] for r in rows(out)] == ["1"]
    assert load(out / "last.pt").extra["epoch"] == 1


def test_default_names_are_unique_within_a_second(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    spec = small(tmp_path)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("netspec.training.run.default_name", lambda: "20260101-120000")
    dirs = [netspec.train(spec, quiet=True).run_dir for _ in range(3)]
    base = Path("runs/small/20260101-120000")
    assert dirs == [base, base.with_name(base.name + "-2"), base.with_name(base.name + "-3")]
    assert all(rows(d) for d in dirs if d is not None)


def test_out_refuses_a_folder_of_other_files(tmp_path: Path) -> None:
    """`--out .` in a project folder once replaced the user's own spec.yaml."""
    spec = small(tmp_path)
    (tmp_path / "spec.yaml").write_text("mine")
    result = train(str(spec), "--out", str(tmp_path))
    assert result.exit_code == 2
    assert f"error[io-error]: {tmp_path} is not empty and holds no netspec run (data.npz, small.yaml, spec.yaml)" in (
        result.output
    )
    assert (tmp_path / "spec.yaml").read_text() == "mine"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data.npz", "small.yaml", "spec.yaml"]  # no lock left
    with pytest.raises(netspec.SpecError) as e:  # click refuses it before netspec sees it; Python does not
        netspec.train(spec, out=spec, quiet=True)
    assert e.value.diagnostics[0].message == f"{spec} is a file, not a folder"
    empty = tmp_path / "empty"
    empty.mkdir()
    assert train(str(spec), "--out", str(empty)).exit_code == 0  # an empty folder is fine


def test_temp_files_are_per_process_and_never_left(tmp_path: Path) -> None:
    spec = small(tmp_path)
    out = tmp_path / "run"
    assert train(str(spec), "--out", str(out)).exit_code == 0
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith("events.")) == [
        ".netspec.lock",
        "best.pt",
        "last.pt",
        "metrics.csv",
        "model.svg",
        "spec.yaml",
    ]
    umask = os.umask(0)
    os.umask(umask)
    for name in ("last.pt", "best.pt", "spec.yaml"):  # checkpoints were 0600 whatever the umask
        assert (out / name).stat().st_mode & 0o777 == 0o666 & ~umask


# -- failed runs --------------------------------------------------------------------------------


def test_a_run_that_fails_before_its_first_checkpoint_leaves_nothing(tmp_path: Path) -> None:
    spec = small(tmp_path)
    np.savez(tmp_path / "nan.npz", x=np.full((64, 1, 8, 8), np.nan, np.float32), y=np.arange(64) % 3)
    nan = f"train.dataset.path={tmp_path / 'nan.npz'}"  # NaN in the first batch
    out = tmp_path / "run"
    result = train(str(spec), "--out", str(out), "--set", nan)
    assert result.exit_code == 1 and "error[non-finite-loss]" in result.output
    assert not out.exists()
    empty = tmp_path / "empty"
    empty.mkdir()
    assert train(str(spec), "--out", str(empty), "--set", nan).exit_code == 1
    assert list(empty.iterdir()) == []  # the folder the user made stays, empty
    assert train(str(spec), "--out", str(out)).exit_code == 0  # and `--out` takes it again


def test_a_run_that_fails_later_keeps_its_epochs_and_resumes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from netspec.training import loop

    spec = small(tmp_path)
    out = tmp_path / "run"
    real = loop.evaluate
    calls = []

    def failing(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) == 2:
            raise netspec.SpecError([netspec.Diagnostic("dataset-missing", "the disk went away")])
        return real(*args, **kwargs)

    monkeypatch.setattr(loop, "evaluate", failing)
    with pytest.raises(netspec.SpecError):
        netspec.train(spec, epochs=3, out=out, quiet=True)
    assert [r["epoch"] for r in rows(out)] == ["1"] and load(out / "last.pt").extra["epoch"] == 1
    monkeypatch.setattr(loop, "evaluate", real)
    resumed = netspec.train(resume=out, quiet=True)  # the run's spec.yaml says 3 epochs
    assert [m.epoch for m in resumed.history] == [1, 2, 3]
    assert [r["epoch"] for r in rows(out)] == ["1", "2", "3"]


# -- resuming from the run itself ------------------------------------------------------------


def _interrupt_after(prefix: str) -> Any:
    def echo(line: str) -> None:
        if line.startswith(prefix):
            os.kill(os.getpid(), signal.SIGINT)  # the trainer's handler: stop after this batch

    return echo


def test_the_printed_resume_command_works_as_printed(tmp_path: Path) -> None:
    """It used to drop `--epochs` and every `--set`, so a OneCycleLR run could not be resumed with it."""
    from netspec.training.overrides import parse_assignment
    from netspec.training.trainer import flag_overrides

    spec = small(tmp_path)
    out = tmp_path / "run"
    sets = [parse_assignment("train.scheduler=OneCycleLR")]
    sets += flag_overrides({"epochs": 3}, lambda k, v: f"--{k} {v}")
    result = run_training(spec, sets, out=out, resume=None, echo=_interrupt_after("epoch 1,"), progress=False)
    assert result.interrupted is not None
    assert result.resume_command == f"netspec train --resume {out}"
    args = shlex.split(result.resume_command)
    assert args[:2] == ["netspec", "train"]
    resumed = CliRunner().invoke(cli, args[1:])
    assert resumed.exit_code == 0, resumed.output
    assert [r["epoch"] for r in rows(out)] == ["1", "2", "3"]
    overrides = {"train.scheduler": "OneCycleLR"}
    netspec.train(spec, epochs=3, out=tmp_path / "straight", overrides=overrides, quiet=True)

    def figures(run: Path) -> list[list[str]]:
        return [[v for k, v in r.items() if k != "seconds"] for r in rows(run)]

    assert figures(out) == figures(tmp_path / "straight")  # exact: Adam's state, the cycle and the RNG carried over


def test_epochs_extend_a_finished_one_cycle_run_with_a_new_cycle(tmp_path: Path) -> None:
    """The rule for a fixed-length schedule: a new one-cycle over the added epochs, from the optimizer's lr."""
    spec = small(tmp_path, "  scheduler: OneCycleLR\n")
    out = tmp_path / "run"
    assert train(str(spec), "--out", str(out)).exit_code == 0
    result = train("--resume", str(out), "--epochs", "3")
    assert result.exit_code == 0, result.output
    assert "OneCycleLR starts a new schedule over epochs 2-3 (the run's schedule ended)" in result.output
    steps = 6  # 96 training samples in batches of 16
    param = torch.zeros(1, requires_grad=True)
    optimizer = torch.optim.Adam([param], lr=0.01)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=0.01, total_steps=2 * steps)
    used = []
    for _ in range(2 * steps):
        used.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        schedule.step()
    assert [float(r["lr"]) for r in rows(out)[1:]] == pytest.approx([used[steps - 1], used[-1]], rel=1e-5)
    assert netspec.load_spec(out / "spec.yaml").train.epochs == 3  # type: ignore[union-attr]


def test_a_scheduler_added_on_resume(tmp_path: Path) -> None:
    """`--set train.scheduler=null` then a resume with the spec's StepLR reached `KeyError: 'initial_lr'`."""
    spec = small(tmp_path, "  scheduler: {type: StepLR, step_size: 1, gamma: 0.5}\n")
    out = tmp_path / "run"
    assert train(str(spec), "--set", "train.scheduler=null", "--out", str(out)).exit_code == 0
    refused = train(str(spec), "--resume", str(out), "--epochs", "2")
    assert refused.exit_code == 1
    assert f"error[checkpoint]: `train.scheduler` differs from the run's: resuming would continue {out}" in (
        refused.output
    )
    assert f"help: resume without a spec file (`netspec train --resume {out}`)" in refused.output
    step = train("--resume", str(out), "--epochs", "3", "--set", "train.scheduler={type: StepLR, step_size: 1}")
    assert step.exit_code == 0, step.output
    assert "StepLR starts a new schedule over epochs 2-3 (the run's schedule changed)" in step.output
    assert [float(r["lr"]) for r in rows(out)] == pytest.approx([0.01, 0.01, 0.001])


def test_a_changed_optimizer_type_starts_fresh(tmp_path: Path) -> None:
    """`--set train.optimizer.type=SGD` on resume reached `KeyError: 'momentum'`."""
    spec = small(tmp_path)
    out = tmp_path / "run"
    assert train(str(spec), "--out", str(out)).exit_code == 0
    result = train("--resume", str(out), "--epochs", "2", "--set", "train.optimizer.type=SGD")
    assert result.exit_code == 0, result.output
    assert "the optimizer changed (Adam → SGD): it starts with fresh state" in result.output
    state = load(out / "last.pt").extra["optimizer"]
    assert state["param_groups"][0]["momentum"] == 0.0 and state["param_groups"][0]["lr"] == 0.01


def test_a_changed_learning_rate_keeps_the_optimizer_state(tmp_path: Path) -> None:
    """`--lr` on resume used to be overwritten by the checkpoint's param groups."""
    spec = small(tmp_path)
    out = tmp_path / "run"
    assert train(str(spec), "--out", str(out)).exit_code == 0
    result = train("--resume", str(out), "--epochs", "2", "--lr", "0.001")
    assert result.exit_code == 0, result.output
    assert "Adam's settings changed (lr 0.01 → 0.001): its state carries over" in result.output
    assert [float(r["lr"]) for r in rows(out)] == [0.01, 0.001]
    assert load(out / "last.pt").extra["optimizer"]["state"][0]["step"] == 12  # 6 steps an epoch, carried over


def test_a_different_dataset_is_refused_unless_set(tmp_path: Path) -> None:
    """A run started with `--set train.dataset=...` and resumed without it continued silently on other data."""
    spec = small(tmp_path)
    np.savez(tmp_path / "other.npz", x=np.zeros((64, 1, 8, 8), np.float32), y=np.arange(64) % 3)
    dataset = f"train.dataset={{name: tensors, path: {tmp_path / 'other.npz'}}}"
    out = tmp_path / "run"
    assert train(str(spec), "--set", dataset, "--out", str(out)).exit_code == 0
    refused = train(str(spec), "--resume", str(out), "--epochs", "2")
    assert refused.exit_code == 1
    assert "error[checkpoint]: `train.dataset` differs from the run's" in refused.output
    assert [r["epoch"] for r in rows(out)] == ["1"]
    assert train("--resume", str(out), "--epochs", "2").exit_code == 0  # the run's own spec.yaml: its dataset
    used = netspec.load_spec(out / "spec.yaml").train
    assert used is not None and str(used.dataset.path).endswith("other.npz")  # type: ignore[union-attr]
    back = f"train.dataset.path={tmp_path / 'data.npz'}"
    assert train(str(spec), "--resume", str(out), "--epochs", "3", "--set", back).exit_code == 0  # set on purpose


def test_resume_needs_a_run_directory(tmp_path: Path) -> None:
    spec = small(tmp_path)
    (tmp_path / "empty").mkdir()
    result = train("--resume", str(tmp_path / "empty"))
    assert result.exit_code == 2
    assert f"error[io-error]: {tmp_path / 'empty'} is not a run directory (it has no spec.yaml)" in result.output
    result = train(str(spec), "--resume", str(tmp_path / "empty"))
    assert result.exit_code == 1
    assert f"{tmp_path / 'empty'} holds no last.pt: it is not a run, or its run saved no checkpoint" in result.output
    assert list((tmp_path / "empty").iterdir()) == []
    usage = train()
    assert usage.exit_code == 2 and "give a spec FILE to train, or `--resume RUN_DIR`" in usage.output


@pytest.mark.slow
def test_the_help_example_extends_a_finished_lenet_run(tmp_path: Path) -> None:
    """`train --help`'s `--resume … --epochs 20` was refused on specs/lenet.yaml (OneCycleLR): now a new cycle."""
    from .conftest import ROOT

    out = tmp_path / "lenet"
    assert train(str(ROOT / "specs" / "lenet.yaml"), "--epochs", "1", "--out", str(out)).exit_code == 0
    result = train("--resume", str(out), "--epochs", "2")
    assert result.exit_code == 0, result.output
    assert "OneCycleLR starts a new schedule over epoch 2 (the run's schedule ended)" in result.output
    assert [r["epoch"] for r in rows(out)] == ["1", "2"]
    assert float(rows(out)[1]["lr"]) == pytest.approx(0.005 / 25 / 1e4)  # the new cycle's end, as torch's
