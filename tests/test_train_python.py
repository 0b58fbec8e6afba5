"""netspec from Python and notebooks: data as tensors, Datasets and DataLoaders; the report and errors as text."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset, TensorDataset

import netspec
from netspec.render import table_rows

from .conftest import ROOT

MLP = "name: mlp\ninput: [4]\nlayers: [{type: Linear, out_features: 8}, ReLU, {type: Linear, out_features: 3}]\n"
SPEC = MLP + "train: {epochs: 2, batch_size: 16, optimizer: {type: Adam, lr: 0.01}}\n"


def _xy(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 4, generator=g)
    return x, x[:, :3].argmax(1)  # (n, 4), (n,) labels 0-2


class Counting(Dataset[tuple[torch.Tensor, torch.Tensor]]):
    """A map-style Dataset that counts its reads (no `targets`, so netspec reads labels item by item)."""

    def __init__(self, x: torch.Tensor, y: torch.Tensor) -> None:
        self.x, self.y, self.reads = x, y, 0

    def __len__(self) -> int:
        return len(self.y)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        self.reads += 1
        return self.x[i], self.y[i]


def test_tensors_train_and_validate(tmp_path: Path) -> None:
    x, y = _xy(96, 0)
    vx, vy = _xy(40, 1)
    spec = netspec.parse_spec(SPEC)
    result = netspec.train(spec, data=(x.numpy(), y.numpy()), val_data=(vx, vy), out=tmp_path / "run", quiet=True)
    model = netspec.load_model(tmp_path / "run" / "last.pt").eval()
    with torch.no_grad():
        logits = model(vx)
    final = result.final
    assert final is not None
    assert final.val_loss == pytest.approx(F.cross_entropy(logits, vy).item(), rel=1e-5)
    assert final.val_acc == (logits.argmax(1) == vy).sum().item() / 40
    assert "name: python" in (tmp_path / "run" / "spec.yaml").read_text()


def test_without_val_data_a_stratified_fifth_is_held_out(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    x, y = _xy(100, 0)
    netspec.train(netspec.parse_spec(SPEC), data=(x, y), epochs=1, out=tmp_path / "run")
    held = sum(round(int(c) * 0.2) for c in torch.bincount(y))  # a fifth of each class
    assert f"{100 - held} training and {held} validation samples" in capsys.readouterr().out


def test_a_dataset_and_a_dataloader_train_like_the_same_tensors(tmp_path: Path) -> None:
    """The same samples in the same seeded order: the same losses, whichever form they come in."""
    x, y = _xy(96, 0)
    vx, vy = _xy(40, 1)
    spec = netspec.parse_spec(SPEC)
    as_tensors = netspec.train(spec, data=(x, y), val_data=(vx, vy), out=tmp_path / "a", quiet=True)
    counting = Counting(x, y)
    as_dataset = netspec.train(spec, data=counting, val_data=TensorDataset(vx, vy), out=tmp_path / "b", quiet=True)
    assert counting.reads >= 2 * 96  # read every epoch, not copied once
    loader = DataLoader(TensorDataset(x, y), batch_size=16, shuffle=True)
    as_loader = netspec.train(spec, data=loader, val_data=(vx, vy), out=tmp_path / "c", quiet=True)
    for other in (as_dataset, as_loader):
        assert [m.train_loss for m in other.history] == pytest.approx([m.train_loss for m in as_tensors.history])
        assert [m.val_loss for m in other.history] == pytest.approx([m.val_loss for m in as_tensors.history])


def test_a_dataloaders_batch_size_is_used(tmp_path: Path) -> None:
    x, y = _xy(96, 0)
    loader = DataLoader(TensorDataset(x, y), batch_size=32)
    netspec.train(netspec.parse_spec(MLP), data=loader, epochs=1, out=tmp_path / "run", quiet=True)
    assert "batch_size: 32" in (tmp_path / "run" / "spec.yaml").read_text()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ((torch.zeros(10, 4),), "`data` is a tuple of 1 item, not (x, y)"),
        ("data.npz", "`data` is a str, not tensors, a Dataset with a length, or a DataLoader of one"),
        ((torch.zeros(10, 4), torch.zeros(5, dtype=torch.int64)), "`data` has 10 samples in x but 5 in y"),
        ((torch.zeros(10, 4), -torch.ones(10, dtype=torch.int64)), "integer y of `data` must be (N,) class indices"),
    ],
)
def test_data_that_is_not_samples(data: Any, message: str, tmp_path: Path) -> None:
    with pytest.raises(netspec.SpecError) as info:
        netspec.train(netspec.parse_spec(SPEC), data=data, out=tmp_path / "run", quiet=True)
    [d] = info.value.diagnostics
    assert d.message.startswith(message)
    assert not (tmp_path / "run").exists()


def test_data_of_the_wrong_shape_is_the_usual_diagnostic(tmp_path: Path) -> None:
    with pytest.raises(netspec.SpecError) as info:
        netspec.train(netspec.parse_spec(SPEC), data=(np.zeros((20, 5)), np.arange(20) % 3), quiet=True)
    assert info.value.diagnostics[0].message == "training samples are 5 but the spec takes 4"


def test_a_run_on_python_data_needs_the_data_again(tmp_path: Path) -> None:
    x, y = _xy(60, 0)
    netspec.train(netspec.parse_spec(SPEC), data=(x, y), epochs=1, out=tmp_path / "run", quiet=True)
    with pytest.raises(netspec.SpecError) as info:
        netspec.train(tmp_path / "run" / "spec.yaml", epochs=1, out=tmp_path / "again", quiet=True)
    [d] = info.value.diagnostics
    assert d.code == "dataset-missing" and d.path == ("train", "dataset")
    again = netspec.train(tmp_path / "run" / "spec.yaml", data=(x, y), epochs=1, out=tmp_path / "again", quiet=True)
    assert len(again.history) == 1


# -- the report and errors in a notebook ----------------------------------------------------------


def test_print_report_is_the_plain_table(capsys: pytest.CaptureFixture[str]) -> None:
    report = netspec.check(netspec.load_spec(ROOT / "specs" / "lenet.yaml"))
    print(report)
    out = capsys.readouterr().out
    assert "\x1b[" not in out  # captured stdout is not a terminal
    assert out == netspec.table(report) + "\n"
    assert out.splitlines()[0] == "lenet  (" + str(report.source) + ")"
    assert "61,706 params" in out and out.rstrip().endswith("output (N, 10)")
    assert "\x1b[1m" in netspec.table(report, color=True)


class _Cells(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self.cell: str | None = None

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self.cell = ""

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self.cell is not None:
            self.rows[-1].append(self.cell)
            self.cell = None

    def handle_data(self, data: str) -> None:
        if self.cell is not None:
            self.cell += data


def test_the_report_renders_as_html_in_jupyter() -> None:
    spec = netspec.load_spec(ROOT / "specs" / "lenet.yaml")
    report = netspec.check(spec)
    parser = _Cells()
    parser.feed(report._repr_html_())
    head, *rows = parser.rows
    assert head[:4] == ["#", "layer", "type", "output"]
    assert len(rows) == 1 + len(spec.layers)  # the input row, then one per layer
    assert rows[1][1:4] == ["conv1", "Conv2d", "(N, 6, 28, 28)"]
    assert [tuple(r) for r in rows] == table_rows(report)


def test_html_escapes_what_it_shows() -> None:
    report = netspec.check(netspec.parse_spec(MLP, source="<b>.yaml"))  # a name as a source may hold anything
    assert "<small>(&lt;b&gt;.yaml)</small>" in report._repr_html_()


def test_str_of_a_spec_error_has_the_help() -> None:
    with pytest.raises(netspec.SpecError) as info:
        netspec.parse_spec("input: [4]\nlayers: [{type: Linear, out_feature: 2}]\n", source="s.yaml")
    text = str(info.value)
    first, help_line = text.splitlines()
    assert first.startswith("s.yaml:2:") and "out_feature" in first
    d = info.value.diagnostics[0]
    assert d.help and help_line == f"  help: {d.help}"
