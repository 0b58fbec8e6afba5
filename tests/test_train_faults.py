"""Faults during a run: a SIGKILL between any two writes, a full disk, and outputs replaced only whole."""

from __future__ import annotations

import csv
import errno
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from click.testing import CliRunner

import netspec
from netspec import checkpoint
from netspec.cli import cli

from .conftest import ROOT

# a regression whose validation loss falls every epoch, so every epoch writes best.pt
REGRESSION = """\
name: reg
input: [4]
layers: [{{type: Linear, out_features: 1}}]
train:
  dataset: {{name: tensors, path: {data}}}
  loss: MSELoss
  epochs: 3
  batch_size: 16
  optimizer: {{type: SGD, lr: 0.05}}
"""


def regression(tmp_path: Path) -> Path:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(80, 4)).astype(np.float32)
    np.savez(tmp_path / "reg.npz", x=x, y=(x @ np.array([1.0, -2.0, 0.5, 3.0], np.float32)))
    path = tmp_path / "reg.yaml"
    path.write_text(REGRESSION.format(data=tmp_path / "reg.npz"))
    return path


def figures(run: Path) -> list[list[str]]:
    with open(run / "metrics.csv", newline="") as f:
        return [[v for k, v in r.items() if k != "seconds"] for r in csv.DictReader(f)]


# Killed with SIGKILL just before one of epoch 2's writes: metrics.csv's row (or half of it), last.pt, best.pt.
KILLER = """
import os, signal, sys
import netspec
from netspec.training import loop, run
spec, out, point = sys.argv[1:]
real_save, real_record = loop.save, run.Run.record

def save(path, *args, **kwargs):
    if kwargs["epoch"] == 2 and point == "before " + path.name:
        os.kill(os.getpid(), signal.SIGKILL)
    real_save(path, *args, **kwargs)

def record(self, m):
    if m.epoch == 2 and point == "before the row":
        os.kill(os.getpid(), signal.SIGKILL)
    if m.epoch == 2 and point == "inside the row":
        with open(self.path / "metrics.csv", "a") as f:
            f.write("2,0.12")
        os.kill(os.getpid(), signal.SIGKILL)
    real_record(self, m)

loop.save, run.Run.record = save, record
netspec.train(spec, out=out, quiet=True)
"""


@pytest.mark.slow
@pytest.mark.parametrize("point", ["before the row", "inside the row", "before last.pt", "before best.pt"])
def test_a_kill_between_any_two_writes_resumes_to_a_straight_run(tmp_path: Path, point: str) -> None:
    """best.pt once held epoch 6 while the resumed run reported its best at epoch 7."""
    spec = regression(tmp_path)
    out = tmp_path / "run"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    killed = subprocess.run([sys.executable, "-c", KILLER, str(spec), str(out), point], env=env, timeout=120)
    assert killed.returncode == -signal.SIGKILL
    resumed = netspec.train(resume=out, quiet=True)
    straight = netspec.train(spec, out=tmp_path / "straight", quiet=True)
    assert figures(out) == figures(tmp_path / "straight")
    assert resumed.best is not None and resumed.best.epoch == 3
    for name in ("best.pt", "last.pt"):
        a, b = checkpoint.load(out / name), checkpoint.load(tmp_path / "straight" / name)
        assert a.extra["epoch"] == b.extra["epoch"]
        assert all(torch.equal(a.model_state[k], v) for k, v in b.model_state.items())
    assert straight.best is not None and straight.best.epoch == 3


def test_best_pt_an_epoch_behind_is_copied_from_last_pt(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The same fault in-process: the run dies between last.pt and best.pt of epoch 2."""
    from netspec.training import loop

    spec = regression(tmp_path)
    out = tmp_path / "run"
    real = loop.save

    class Killed(BaseException):
        pass

    def save(path: Path, *args: Any, **kwargs: Any) -> None:
        if path.name == "best.pt" and kwargs["epoch"] == 2:
            raise Killed
        real(path, *args, **kwargs)

    monkeypatch.setattr(loop, "save", save)
    with pytest.raises(Killed):
        netspec.train(spec, epochs=2, out=out, quiet=True)
    monkeypatch.setattr(loop, "save", real)
    assert checkpoint.load(out / "best.pt").extra["epoch"] == 1
    lines: list[str] = []
    from netspec.training.trainer import run_training

    run_training(None, [], out=None, resume=out, echo=lines.append, progress=False)  # its 2 epochs are done
    assert lines == [
        "best.pt held epoch 1, not the best epoch 2 (the run stopped between two writes): copied last.pt",
        f"{out} has already trained 2 epochs: raise `--epochs` to train further",
    ]
    best = checkpoint.load(out / "best.pt")
    assert best.extra["epoch"] == 2 and best.extra["history"][-1]["epoch"] == 2


# -- a full disk ----------------------------------------------------------------------------------


def _full_after(limit: int, monkeypatch: pytest.MonkeyPatch, names: tuple[str, ...] = ()) -> None:
    """Writes through Python file objects fail with ENOSPC once `limit` bytes were written (names: only those)."""
    import builtins
    import io

    real_open = builtins.open
    written = [0]

    class Full(io.FileIO):
        def write(self, data: Any) -> int:
            written[0] += len(data)
            if written[0] > limit:
                raise OSError(errno.ENOSPC, "No space left on device")
            return super().write(data)

    def fake_open(file: Any, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        if ("w" in mode or "a" in mode) and (not names or any(n in str(file) for n in names)):
            raw = Full(file, mode.replace("b", "").replace("t", "") or "w")
            return raw if "b" in mode else io.TextIOWrapper(io.BufferedWriter(raw), encoding="utf-8", newline="")
        return real_open(file, mode, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", fake_open)


@pytest.mark.parametrize("limit", [0, 300, 3000])
def test_a_full_disk_is_an_io_error_that_keeps_what_was_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, limit: int
) -> None:
    """A full disk used to end in `internal error: RuntimeError: [enforce fail at inline_container.cc:672]`."""
    spec = regression(tmp_path)
    out = tmp_path / "run"
    assert CliRunner().invoke(cli, ["train", str(spec), "--epochs", "1", "--out", str(out)]).exit_code == 0
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file() and not p.name.startswith("events.")}
    _full_after(limit, monkeypatch, names=(str(out),))
    result = CliRunner().invoke(cli, ["train", "--resume", str(out), "--epochs", "3"])
    monkeypatch.undo()
    assert result.exit_code == 2, result.output
    assert "error[io-error]: cannot write " in result.output and "No space left on device" in result.output
    assert "internal error" not in result.output and "Traceback" not in result.output
    checkpoint.load(out / "last.pt")  # intact
    checkpoint.load(out / "best.pt")
    assert not [p.name for p in out.iterdir() if p.name.endswith(".tmp")]
    if limit == 0:  # nothing could be written: every file is as it was
        after = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file() and not p.name.startswith("events.")}
        assert after == before


def test_a_full_disk_while_saving_a_checkpoint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    spec = netspec.load_spec(ROOT / "specs" / "lenet.yaml")
    state = netspec.build(spec).state_dict()
    path = tmp_path / "lenet.pt"
    checkpoint.save(path, spec=spec, model_state=state)
    before = path.read_bytes()
    _full_after(20_000, monkeypatch)
    with pytest.raises(netspec.SpecError) as e:
        checkpoint.save(path, spec=spec, model_state=state, epoch=2)
    monkeypatch.undo()
    [d] = e.value.diagnostics
    assert (d.code, d.message) == ("io-error", f"cannot write {path}: No space left on device")
    assert path.read_bytes() == before and [p.name for p in tmp_path.iterdir()] == ["lenet.pt"]


def test_tensorboards_writer_thread_on_a_full_disk(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    """Its thread printed a Traceback; its error now ends the run as an io-error."""
    pytest.importorskip("torch.utils.tensorboard")
    from netspec.training.run import EpochMetrics, Run

    run = Run(tmp_path)
    run.start(netspec.load_spec(regression(tmp_path)), [], tensorboard=True)
    assert run.writer is not None

    def full(*args: Any) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    run.writer.file_writer.event_writer._async_writer._writer.write = full  # the record writer its thread calls
    with pytest.raises(netspec.SpecError) as e:
        for epoch in range(1, 4):
            run.record(EpochMetrics(epoch, 1.0, None, 1.0, None, 0.1, 1.0))
    run.close(failed=True)
    assert e.value.diagnostics[0].code == "io-error"
    assert "No space left on device" in e.value.diagnostics[0].message
    assert "Traceback" not in capfd.readouterr().err


# -- outputs written whole ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "command",
    [
        ["export", str(ROOT / "specs" / "lenet.yaml"), "-o", "{out}"],
        ["schema", "-o", "{out}"],
        ["import", "{ckpt}", "-o", "{out}"],
    ],
)
def test_an_output_is_replaced_whole_or_not_at_all(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: list[str]
) -> None:
    """On a full disk an existing -o file was replaced by a truncated one."""
    spec = netspec.load_spec(ROOT / "specs" / "lenet.yaml")
    ckpt = tmp_path.parent / f"{tmp_path.name}-lenet.pt"
    checkpoint.save(ckpt, spec=spec, model_state=netspec.build(spec).state_dict())
    command = [c.format(out="{out}", ckpt=ckpt) for c in command]
    out = tmp_path / "out.txt"
    out.write_text("the old contents\n")
    _full_after(100, monkeypatch)
    result = CliRunner().invoke(cli, [c.format(out=out) for c in command])
    monkeypatch.undo()
    assert result.exit_code == 2, result.output
    assert f"error[io-error]: cannot write {out}: No space left on device" in result.output
    assert out.read_text() == "the old contents\n"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]
    result = CliRunner().invoke(cli, [c.format(out=out) for c in command])
    assert result.exit_code == 0, result.output
    assert out.stat().st_mode & 0o777 == 0o666 & ~_umask()  # as open() makes files, not mkstemp's 0600


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
