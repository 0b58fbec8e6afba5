"""Checkpoints: what `save` writes, torch.load reads it safely, and every bad file is one clear diagnostic."""

from __future__ import annotations

import os
import pickle
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch
from click.testing import CliRunner

import netspec
from netspec import checkpoint
from netspec.cli import cli
from netspec.diagnostics import SpecError
from netspec.spec import spec_to_data

from .conftest import ROOT

LENET = ROOT / "specs/lenet.yaml"


@pytest.fixture(scope="module")
def lenet() -> tuple[netspec.Spec, torch.nn.Sequential]:
    spec = netspec.load_spec(LENET)
    return spec, netspec.build(spec)


def payload(spec: netspec.Spec, state: dict[str, Any] | None, /, **changes: Any) -> dict[str, Any]:
    """A checkpoint's contents as the README documents them, written by hand and sealed with a matching digest."""
    data = {"format": "netspec-checkpoint", "version": 2, "spec": spec_to_data(spec), "model": state, **changes}
    if state is None:
        del data["model"]
    return {**data, "digest": checkpoint.digest(data)}


def test_save_then_load_round_trips_spec_weights_and_extras(tmp_path: Path, lenet: Any) -> None:
    spec, model = lenet
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    model(torch.randn(2, 1, 32, 32)).sum().backward()
    optimizer.step()  # momentum buffers: tensors in a nested dict, as a trainer stores them
    path = tmp_path / "run" / "last.pt"
    checkpoint.save(path, spec=spec, model_state=model.state_dict(), optimizer=optimizer.state_dict(), epoch=3)
    loaded = checkpoint.load(path)
    assert loaded.spec == spec
    assert list(loaded.model_state) == list(model.state_dict())
    assert all(torch.equal(loaded.model_state[k], v) for k, v in model.state_dict().items())
    assert loaded.extra["epoch"] == 3
    momentum = loaded.extra["optimizer"]["state"][0]["momentum_buffer"]
    assert torch.equal(momentum, optimizer.state_dict()["state"][0]["momentum_buffer"])
    raw = torch.load(path, weights_only=True)  # plain torch reads it without unpickling code
    assert raw["format"] == "netspec-checkpoint" and raw["spec"]["layers"][0] == {
        "type": "Conv2d",
        "in_channels": 1,
        "out_channels": 6,
        "kernel_size": 5,
    }
    assert [p.name for p in path.parent.iterdir()] == ["last.pt"]  # no temp file left behind


def test_load_model_gives_identical_outputs(tmp_path: Path, lenet: Any) -> None:
    spec, model = lenet
    path = tmp_path / "lenet.pt"
    checkpoint.save(path, spec=spec, model_state=model.state_dict())
    loaded = netspec.load_model(path, device="cpu")
    assert isinstance(loaded, torch.nn.Sequential)
    x = torch.randn(3, 1, 32, 32)
    with torch.no_grad():
        assert torch.equal(loaded.eval()(x), model.eval()(x))
    assert all(p.requires_grad and not p.is_meta for p in loaded.parameters())


@pytest.mark.parametrize("dtype", [torch.float64, torch.bfloat16, torch.float16])
def test_load_model_keeps_the_weights_dtype(tmp_path: Path, lenet: Any, dtype: torch.dtype) -> None:
    """Loaded into a float32 model, float64 weights would be rounded and bfloat16 ones take twice the memory."""
    spec, _ = lenet
    model = netspec.build(spec, dtype=dtype)
    with torch.no_grad():
        model.fc3.bias.fill_(1 / 3)  # a value each dtype rounds differently
    checkpoint.save(tmp_path / "lenet.pt", spec=spec, model_state=model.state_dict())
    loaded = netspec.load_model(tmp_path / "lenet.pt")
    assert {p.dtype for p in loaded.parameters()} == {dtype}
    for key, value in model.state_dict().items():
        assert torch.equal(loaded.state_dict()[key], value), key
    x = torch.randn(2, 1, 32, 32, dtype=dtype)
    with torch.no_grad():
        assert torch.equal(loaded.eval()(x), model.eval()(x))


def test_a_failed_save_keeps_the_old_file(tmp_path: Path, lenet: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    spec, model = lenet
    path = tmp_path / "lenet.pt"
    checkpoint.save(path, spec=spec, model_state=model.state_dict())
    before = path.read_bytes()

    def interrupted(obj: Any, f: Any) -> None:
        f.write(b"PK\x03\x04 half a file")
        raise KeyboardInterrupt

    monkeypatch.setattr(torch, "save", interrupted)
    with pytest.raises(KeyboardInterrupt):
        checkpoint.save(path, spec=spec, model_state={})
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["lenet.pt"]


def test_save_where_it_cannot_write(tmp_path: Path, lenet: Any) -> None:
    spec, model = lenet
    (tmp_path / "file").write_text("not a folder")
    with pytest.raises(SpecError) as e:
        checkpoint.save(tmp_path / "file" / "lenet.pt", spec=spec, model_state=model.state_dict())
    [d] = e.value.diagnostics
    assert (d.code, d.message) == (
        "io-error",
        f"cannot write {tmp_path / 'file' / 'lenet.pt'}: {tmp_path / 'file'} is a file, not a folder",
    )
    assert d.help is None  # not the help for reading one ("pass a .pt file written by `netspec build --save`")


class Evil:
    """Unpickling this would create a folder: proof that code ran."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Callable[..., Any], tuple[str]]:
        return (os.mkdir, (str(self.marker),))


def _write(path: Path, spec: netspec.Spec, state: dict[str, Any], /, **changes: Any) -> None:
    torch.save(payload(spec, state, **changes), path)


def _edited(change: Callable[[dict[str, Any]], None]) -> Callable[[Path, netspec.Spec, dict[str, Any]], None]:
    def write(path: Path, spec: netspec.Spec, state: dict[str, Any]) -> None:
        state = dict(state)
        change(state)
        _write(path, spec, state)

    return write


def _truncated(path: Path, spec: netspec.Spec, state: dict[str, Any]) -> None:
    _write(path, spec, state)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


BAD_FILES: dict[str, tuple[Callable[[Path, netspec.Spec, dict[str, Any]], None], str, str]] = {
    # name: (how to write it, code, message with {p} for the path)
    "truncated": (
        _truncated,
        "checkpoint",
        "{p} is damaged or truncated: ",  # then torch's reason: test_a_damaged_checkpoint_quotes_torchs_reason
    ),
    "random-bytes": (
        lambda p, spec, state: p.write_bytes(b"\x00" + random.Random(0).randbytes(4096)),
        "checkpoint",
        "{p} is not a torch checkpoint (torch.save writes a zip archive)",
    ),
    "empty": (lambda p, spec, state: p.write_bytes(b""), "checkpoint", "{p} is empty"),
    "plain-pickle": (
        lambda p, spec, state: p.write_bytes(pickle.dumps({"model": {}})),
        "checkpoint",
        "{p} is not a torch checkpoint (torch.save writes a zip archive)",
    ),
    "plain-torch-dict": (
        lambda p, spec, state: torch.save({"fc1.weight": torch.ones(2, 2)}, p),
        "checkpoint",
        "{p} is a torch file but not a netspec checkpoint",
    ),
    "arbitrary-object": (
        lambda p, spec, state: _write(p, spec, state, note=Evil(p.parent / "pwned")),
        "checkpoint",
        "{p} holds `posix.mkdir`, not only tensors and plain values, so netspec refuses to load it",
    ),
    "key-removed": (
        _edited(lambda s: s.pop("fc3.bias")),
        "checkpoint",
        "the weights in {p} do not fit its spec: `fc3.bias` is missing",
    ),
    "shape-changed": (
        _edited(lambda s: s.update({"fc1.weight": torch.zeros(120, 300)})),
        "checkpoint",
        "the weights in {p} do not fit its spec: `fc1.weight` has shape (120, 300) but the spec makes (120, 400)",
    ),
    "key-added": (
        _edited(lambda s: s.update({"fc4.weight": torch.zeros(2, 10)})),
        "checkpoint",
        "the weights in {p} do not fit its spec: `fc4.weight` is not in the spec",
    ),
    "integer-weights": (
        _edited(lambda s: s.update({"fc3.weight": torch.zeros(10, 84, dtype=torch.int64)})),
        "checkpoint",
        "the weights in {p} do not fit its spec:"
        " `fc3.weight` holds torch.int64 values but the spec makes torch.float32",
    ),
    "not-a-tensor": (
        _edited(lambda s: s.update({"fc3.bias": [0.0] * 10})),
        "checkpoint",
        "the weights in {p} do not fit its spec: `fc3.bias` is a list, not a tensor",
    ),
    "several-problems": (
        _edited(lambda s: [s.pop(k) for k in list(s)[:7]]),
        "checkpoint",
        "the weights in {p} do not fit its spec: `conv1.weight` is missing; `conv1.bias` is missing;"
        " `conv2.weight` is missing; `conv2.bias` is missing; `fc1.weight` is missing; and 2 more",
    ),
    "no-weights": (
        lambda p, spec, state: torch.save(payload(spec, None), p),
        "checkpoint",
        "{p} holds no model weights",
    ),
    "future-version": (
        lambda p, spec, state: _write(p, spec, state, version=99),
        "checkpoint",
        "{p} has checkpoint format version 99, but this netspec reads version 2",
    ),
    "invalid-spec": (
        lambda p, spec, state: _write(p, spec, state, spec={"input": [1, 32, 32], "layers": []}),
        "checkpoint",
        "the spec stored in {p} is not valid: missing-field: `layers` is empty: a network needs at least one layer",
    ),
    "spec-that-does-not-check": (
        lambda p, spec, state: _write(
            p, spec, state, spec={"input": [3], "layers": [{"type": "Linear", "in_features": 5, "out_features": 2}]}
        ),
        "checkpoint",
        "the spec stored in {p} does not check: shape-mismatch: `in_features` is 5",
    ),
    "directory": (lambda p, spec, state: p.mkdir(), "io-error", "{p} is a directory, not a checkpoint file"),
    "missing": (lambda p, spec, state: None, "io-error", "no such file: {p}"),
}


@pytest.mark.parametrize("case", BAD_FILES)
def test_a_bad_checkpoint_is_one_clear_diagnostic(tmp_path: Path, lenet: Any, case: str) -> None:
    spec, model = lenet
    write, code, message = BAD_FILES[case]
    path = tmp_path / "model.pt"
    write(path, spec, model.state_dict())
    expected = message.format(p=path)

    with pytest.raises(SpecError) as e:
        netspec.load_model(path)
    [d] = e.value.diagnostics
    assert d.code == code
    assert d.message.startswith(expected), d.message
    assert d.help and d.source == str(path)

    result = CliRunner().invoke(cli, ["build", str(path)])
    assert result.exit_code == (2 if code == "io-error" else 1)
    assert f"error[{code}]: {expected}" in result.stderr
    assert "Traceback" not in result.output and result.stdout == ""
    assert not (tmp_path / "pwned").exists()  # nothing in the file ran


def test_a_damaged_checkpoint_quotes_torchs_reason(tmp_path: Path, lenet: Any) -> None:
    """netspec quotes torch's reason on purpose; torch rewords it between releases, so it is read from torch here."""
    spec, model = lenet
    path = tmp_path / "model.pt"
    _truncated(path, spec, model.state_dict())
    with pytest.raises(Exception) as torch_error:
        torch.load(path, weights_only=True)
    reason = str(torch_error.value).splitlines()[0]
    assert reason
    with pytest.raises(SpecError) as e:
        netspec.load_model(path)
    [d] = e.value.diagnostics
    assert (d.code, d.message) == ("checkpoint", f"{path} is damaged or truncated: {reason[:200]}")
    assert d.help == "save it again, or use another copy"


def test_map_location_and_input_refused_for_checkpoints(tmp_path: Path, lenet: Any) -> None:
    spec, model = lenet
    path = tmp_path / "lenet.pt"
    checkpoint.save(path, spec=spec, model_state=model.state_dict())
    assert checkpoint.load(path, map_location="meta").model_state["fc1.weight"].is_meta
    result = CliRunner().invoke(cli, ["build", str(path), "--input", "1,28,28"])
    assert result.exit_code == 2
    assert "--input applies to specs: a checkpoint's weights fix its input" in result.stderr


def test_every_bit_flip_is_refused_or_changes_nothing(tmp_path: Path, lenet: Any) -> None:
    """zip CRCs are not checked by torch.load: the digest is what catches a flipped bit in the weights."""
    spec, model = lenet
    path = tmp_path / "lenet.pt"
    checkpoint.save(path, spec=spec, model_state=model.state_dict(), epoch=3)
    data = path.read_bytes()
    rng = random.Random(0)
    refused = 0
    for _ in range(60):
        flipped = bytearray(data)
        at = rng.randrange(len(flipped))
        flipped[at] ^= 1 << rng.randrange(8)
        path.write_bytes(bytes(flipped))
        try:
            loaded = checkpoint.load(path)
        except SpecError as e:
            [d] = e.diagnostics
            assert d.code == "checkpoint", d.message
            refused += 1
            continue
        # a flip in the archive's bookkeeping (a CRC, a name's padding) that left every value as it was
        assert loaded.extra["epoch"] == 3
        assert all(torch.equal(loaded.model_state[k], v) for k, v in model.state_dict().items())
    assert refused >= 50


@pytest.mark.parametrize("where", ["weights", "epoch", "digest-removed"])
def test_an_edit_without_a_new_digest_is_damage(tmp_path: Path, lenet: Any, where: str) -> None:
    spec, model = lenet
    path = tmp_path / "lenet.pt"
    checkpoint.save(path, spec=spec, model_state=model.state_dict(), epoch=3)
    raw = torch.load(path, weights_only=True)
    if where == "weights":
        raw["model"]["fc3.bias"][0] += 1
    elif where == "epoch":
        raw["epoch"] = 4
    else:
        del raw["digest"]
    torch.save(raw, path)
    message = f"{path} is damaged: its contents do not match the digest saved with them"
    with pytest.raises(SpecError) as e:
        checkpoint.load(path)
    assert [(d.code, d.message) for d in e.value.diagnostics] == [("checkpoint", message)]
    for command in (["build", str(path)], ["export", str(path), "-o", str(tmp_path / "m.py")]):
        result = CliRunner().invoke(cli, command)
        assert result.exit_code == 1 and f"error[checkpoint]: {message}" in result.stderr, result.output
    if where == "weights":  # on the meta device only the structure can be checked: bytes are not read
        assert checkpoint.load(path, map_location="meta").model_state["fc3.bias"].is_meta
    else:
        with pytest.raises(SpecError):
            checkpoint.load(path, map_location="meta")
