"""The sequence specs train from generated `tensors` files: int64 token ids for text-lstm, float waveforms for M5."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

import netspec

from .conftest import ROOT, run_python

torch = pytest.importorskip("torch")


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """examples/make_sequence_data.py's files, small: 64 texts and 175 clips (five per class: one validates)."""
    folder = tmp_path_factory.mktemp("sequences")
    run = run_python([str(ROOT / "examples" / "make_sequence_data.py"), "--texts", "64", "--clips", "175"], folder)
    assert run.returncode == 0, run.stderr
    assert "wrote data/text-tokens.npz: x (64, 64) int64" in run.stdout
    return folder / "data"


@pytest.mark.parametrize(("spec", "file"), [("text-lstm", "text-tokens.npz"), ("m5-audio", "audio.npz")])
def test_sequence_specs_train_an_epoch(spec: str, file: str, data: Path, tmp_path: Path) -> None:
    with np.load(data / file) as f:
        assert f["x"].dtype == (np.int64 if spec == "text-lstm" else np.float32)
    result = netspec.train(
        ROOT / "specs" / f"{spec}.yaml",
        epochs=1,
        out=tmp_path / "run",
        overrides={"train.dataset.path": str(data / file)},
        quiet=True,
    )
    [epoch] = result.history
    assert math.isfinite(epoch.train_loss) and epoch.val_acc is not None
    model = netspec.load_model(tmp_path / "run" / "last.pt")  # the checkpoint rebuilds and takes its samples
    x = torch.from_numpy(np.load(data / file)["x"][:2])
    with torch.no_grad():
        assert model(x).shape == (2, 4 if spec == "text-lstm" else 35)


def _spec(path: Path) -> str:
    return (
        "input: {shape: [6], tokens: 10}\n"
        "layers: [{type: Embedding, embedding_dim: 4}, {type: GRU, hidden_size: 4, batch_first: true, output: last},"
        " {type: Linear, out_features: 2}]\n"
        f"train: {{dataset: {{name: tensors, path: {path}}}, epochs: 1}}\n"
    )


@pytest.mark.parametrize(
    ("x", "message", "help"),
    [
        (np.zeros((8, 6), dtype=np.float32), "holds float32 values, but the spec's input is token ids", "integers"),
        (
            np.full((8, 6), 10),
            "holds the token id 10, but the spec's input takes ids from 0 to 9 (`tokens: 10`)",
            "`tokens: 11`",
        ),
        (
            np.full((8, 6), -1),
            "holds the token id -1, but the spec's input takes ids from 0 to 9 (`tokens: 10`)",
            "from 0",
        ),
    ],
)
def test_token_files_need_integer_ids_below_the_vocabulary(
    x: np.ndarray, message: str, help: str, tmp_path: Path
) -> None:
    path = tmp_path / "d.npz"
    np.savez(path, x=x, y=np.arange(8) % 2)
    with pytest.raises(netspec.SpecError) as info:
        netspec.train(netspec.parse_spec(_spec(path)), out=tmp_path / "run", quiet=True)
    [d] = info.value.diagnostics
    assert d.code == "dataset-shape"
    assert d.message == f"`x` in {path} {message}"
    assert d.help is not None and help in d.help
