"""`netspec train`, resume, `build` and `evaluate` driven with random flags, edited checkpoints and malformed data.

Any outcome is fine but one: an internal error or a traceback. Runs are tiny (the 128-sample set of
test_train_runs.py, one or two epochs), so an example costs well under a second.
"""

from __future__ import annotations

import os
import shutil
import signal
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from netspec import checkpoint
from netspec.cli import cli
from netspec.training.config import TrainConfig

from .test_fuzz import SCALARS, VALUES
from .test_train_runs import small

pytestmark = pytest.mark.slow
FUZZ = settings(
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", 25)), deadline=None, suppress_health_check=list(HealthCheck)
)


def clean(result: Any) -> None:
    """The only outcome a fuzzer must never see, whatever the exit status."""
    assert result.exit_code in (0, 1, 2, 130), result.output
    assert "internal error" not in result.output and "Traceback" not in result.output, result.output
    if result.exit_code not in (0, 130):
        assert "error[" in result.output or "Error:" in result.output, result.output


@pytest.fixture(scope="module")
def base(tmp_path_factory: Any) -> tuple[Path, Path]:
    """A spec and a finished one-epoch run of it, copied before each example uses it."""
    folder = tmp_path_factory.mktemp("base")
    spec = small(folder)
    run = folder / "run"
    clean(CliRunner().invoke(cli, ["train", str(spec), "--out", str(run)]))
    return spec, run


@pytest.fixture(scope="module")
def stopped(base: tuple[Path, Path], tmp_path_factory: Any) -> Path:
    """A 3-epoch OneCycleLR run stopped by Ctrl-C after its first epoch."""
    from netspec.training.overrides import parse_assignment
    from netspec.training.trainer import run_training

    def echo(line: str) -> None:
        if line.startswith("epoch 1,"):
            os.kill(os.getpid(), signal.SIGINT)  # the trainer's handler: stop after this batch

    run = tmp_path_factory.mktemp("stopped") / "run"
    sets = [parse_assignment("train.scheduler=OneCycleLR"), parse_assignment("train.epochs=3")]
    result = run_training(base[0], sets, out=run, resume=None, echo=echo, progress=False)
    assert result.interrupted is not None
    return run


# Flags as a user types them: sensible, near-misses and junk. Never many epochs: the run must stay short.
FLAG = st.one_of(
    st.tuples(st.just("--epochs"), st.sampled_from(["0", "-1", "1", "2", "x", "1e3", str(2**64)])),
    st.tuples(st.just("--batch-size"), st.sampled_from(["0", "1", "7", "16", "1000", "-3", "nan"])),
    st.tuples(st.just("--lr"), st.sampled_from(["0.01", "0", "-1", "nan", "inf", "1e308", "3e-4", "abc"])),
    st.tuples(st.just("--seed"), st.sampled_from(["0", "-1", str(2**64), "7"])),
    st.tuples(st.just("--device"), st.sampled_from(["cpu", "gpu", "cuda:9", "", "meta", "auto"])),
    st.tuples(
        st.just("--set"),
        st.builds(
            lambda key, value: f"train.{key}={value}",
            st.sampled_from(sorted(set(TrainConfig.model_fields) - {"epochs"}))
            | st.sampled_from(["optimizer.type", "optimizer.lr", "optimizer.momentum", "scheduler.type", "x", "²"])
            | st.sampled_from(["scheduler.pct_start", "dataset.val_fraction", "transforms.0", "optimizer.betas"]),
            st.sampled_from(
                ["null", "SGD", "Adam", "AdamW", "OneCycleLR", "StepLR", "CosineAnnealingLR", "1", "0", "1.0", "-1"]
            )
            | st.sampled_from(["[0.9, 0.99]", "{type: StepLR, step_size: 1}", "[]", "{}", "'a: b'", "[[[", "~"]),
        ),
    ),
)
# What a user means to do on a resume, valid more often than not, so that runs also continue and train.
SENSIBLE = st.sampled_from(
    [
        ("--epochs", "2"),
        ("--epochs", "3"),
        ("--lr", "0.001"),
        ("--batch-size", "8"),
        ("--seed", "3"),
        ("--set", "train.optimizer.type=SGD"),
        ("--set", "train.optimizer={type: SGD, lr: 0.1, momentum: 0.9}"),
        ("--set", "train.optimizer.weight_decay=0.01"),
        ("--set", "train.scheduler=OneCycleLR"),
        ("--set", "train.scheduler={type: StepLR, step_size: 1}"),
        ("--set", "train.scheduler=CosineAnnealingLR"),
        ("--set", "train.scheduler=null"),
        ("--set", "train.loss=MSELoss"),
        ("--set", "train.drop_last=true"),
        ("--set", "train.transforms=[{type: Pad, padding: 0}]"),
    ]
)
FLAGS = st.lists(st.one_of(SENSIBLE, SENSIBLE, SENSIBLE, FLAG), max_size=4).map(
    lambda pairs: [part for pair in pairs for part in pair]
)


@FUZZ
@given(flags=FLAGS)
def test_random_flags_on_a_new_run(base: tuple[Path, Path], tmp_path_factory: Any, flags: list[str]) -> None:
    spec, _ = base
    out = tmp_path_factory.mktemp("new") / "run"
    clean(CliRunner().invoke(cli, ["train", str(spec), "--out", str(out), *flags]))


@FUZZ
@given(flags=FLAGS, with_spec=st.booleans(), interrupted=st.booleans())
def test_random_flags_on_a_resume(
    base: tuple[Path, Path], stopped: Path, tmp_path_factory: Any, flags: list[str], with_spec: bool, interrupted: bool
) -> None:
    """train → stop (Ctrl-C, or the end) → resume with any flags: refused or continued, never an internal error."""
    spec, run = base
    run = stopped if interrupted else run
    copy = tmp_path_factory.mktemp("resume") / "run"
    shutil.copytree(run, copy)
    before = (copy / "metrics.csv").read_text()
    result = CliRunner().invoke(cli, ["train", *([str(spec)] if with_spec else []), "--resume", str(copy), *flags])
    clean(result)
    after = (copy / "metrics.csv").read_text()
    assert after.startswith(before)  # the rows of the run are kept, whatever happened


# -- edited checkpoints ---------------------------------------------------------------------------------------

KEYS = ["epoch", "history", "position", "rng", "optimizer", "scheduler", "scaler", "classes", "model", "spec"]


@FUZZ
@given(key=st.sampled_from(KEYS), value=VALUES | st.just("delete"), reseal=st.booleans())
@example(key="optimizer", value=None, reseal=True)  # CI found it: `optimizer: None` reached torch's load_state_dict
def test_edited_checkpoints(base: tuple[Path, Path], tmp_path_factory: Any, key: str, value: Any, reseal: bool) -> None:
    _, run = base
    copy = tmp_path_factory.mktemp("edited") / "run"
    shutil.copytree(run, copy)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        raw = torch.load(copy / "last.pt", weights_only=True)
    if value == "delete":
        raw.pop(key, None)
    else:
        raw[key] = value
    raw.pop("digest", None)
    if reseal:  # a deliberate edit, sealed as netspec would; else it is damage and must be refused as such
        raw["digest"] = checkpoint.digest(raw)
    torch.save(raw, copy / "last.pt")
    for command in (
        ["train", "--resume", str(copy), "--epochs", "2"],
        ["build", str(copy / "last.pt")],
        ["evaluate", str(copy / "last.pt")],
    ):
        result = CliRunner().invoke(cli, command)
        clean(result)
        if not reseal:
            assert result.exit_code == 1 and "error[checkpoint]" in result.output


# -- malformed datasets ----------------------------------------------------------------------------------------

DTYPES = [np.float16, np.float32, np.float64, np.int8, np.uint8, np.int64, np.uint16, np.uint64, np.bool_]


@st.composite
def datasets(draw: Any) -> tuple[np.ndarray, np.ndarray]:
    n = draw(st.integers(0, 40))
    shape = draw(st.sampled_from([(n, 1, 8, 8), (n, 64), (n, 8, 8), (n, 1, 8, 8, 1), (n,), (n, 3, 8, 8)]))
    x = np.random.default_rng(0).normal(size=shape) * draw(st.sampled_from([1.0, 1e6, 1e40]))
    with np.errstate(all="ignore"):  # 1e40 as float16 is inf, as an integer anything: junk is the point
        x = x.astype(draw(st.sampled_from(DTYPES)))
    if x.size and draw(st.booleans()) and x.dtype.kind == "f":
        x.flat[draw(st.integers(0, x.size - 1))] = draw(st.sampled_from([np.nan, np.inf, -np.inf]))
    y_kind = draw(st.sampled_from(["labels", "floats", "wide", "short"]))
    y_dtype = draw(st.sampled_from(DTYPES))
    labels = draw(st.lists(SCALARS.filter(lambda v: isinstance(v, int) and not isinstance(v, bool)), max_size=3))
    y = (np.arange(n) % 3).astype(np.int64)
    for i, label in enumerate(labels[:n]):
        y[i] = max(min(label, 2**62), -(2**62))
    if y_kind == "floats":
        y = y.astype(np.float32)
    elif y_kind == "wide":
        y = np.stack([y, y], axis=1)
    elif y_kind == "short":
        y = y[: max(n - 1, 0)]
    with np.errstate(all="ignore"):
        return x, y.astype(y_dtype) if y_dtype != np.bool_ else y.astype(bool)


@FUZZ
@given(data=datasets())
def test_malformed_datasets(base: tuple[Path, Path], tmp_path_factory: Any, data: tuple[Any, Any]) -> None:
    spec, _ = base
    folder = tmp_path_factory.mktemp("data")
    x, y = data
    np.savez(folder / "d.npz", x=x, y=y)
    dataset = f"train.dataset.path={folder / 'd.npz'}"
    clean(CliRunner().invoke(cli, ["train", str(spec), "--set", dataset, "--out", str(folder / "run")]))
