"""Checkpoints: the spec and the weights (plus whatever a trainer adds) in one torch file.

Files hold only tensors and plain Python values, so `torch.load(path, weights_only=True)`
reads them; they are written atomically (a temp file, then a rename) so an interrupted
save never leaves a half-written checkpoint behind. Reading never unpickles arbitrary objects.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import torch
from torch import nn

from . import __version__
from .builder import build
from .devices import ensure_fits, resolve_device
from .diagnostics import Diagnostic, SpecError
from .files import write_with
from .report import check
from .spec import Spec, spec_from_data, spec_to_data
from .verify import verify_model

FORMAT = "netspec-checkpoint"
VERSION = 2  # 2: a digest of the payload, checked on every load
ZIP_MAGIC = b"PK\x03\x04"  # torch.save writes a zip archive
BUILD_BEFORE_COMPARING = 256 * 2**20  # bytes of weights
_FROM = "netspec checkpoints come from `netspec build --save` and `netspec train`"


@dataclass
class Checkpoint:
    """What `load` returns: the spec, the model's state_dict, and everything else the file holds."""

    spec: Spec
    model_state: dict[str, torch.Tensor]
    extra: dict[str, Any] = field(default_factory=dict)  # optimizer, epoch, RNG states, ... from the trainer


def save(path: str | os.PathLike[str], *, spec: Spec, model_state: dict[str, torch.Tensor], **extra: Any) -> None:
    """Write a checkpoint atomically; SpecError `io-error` when the file cannot be written."""
    target = Path(path)
    payload = {
        "format": FORMAT,
        "version": VERSION,
        "netspec_version": __version__,
        "spec": spec_to_data(spec),
        "model": model_state,
        **extra,
    }
    payload["digest"] = digest(payload)
    write_with(target, lambda f: _torch_save(payload, f, target))


def _torch_save(payload: dict[str, Any], f: BinaryIO, target: Path) -> None:
    """torch.save, with the OSError of a failed write (a full disk) kept: torch reports it as a RuntimeError."""
    failed: list[OSError] = []

    class Writer:
        def write(self, data: bytes) -> int:
            try:
                return f.write(data)
            except OSError as e:
                failed.append(e)
                raise

        def flush(self) -> None:
            f.flush()

    try:
        torch.save(payload, Writer())  # type: ignore[arg-type]  # torch takes any object with write and flush
    except RuntimeError:
        if failed:
            raise failed[0] from None
        raise


def digest(payload: dict[str, Any]) -> str:
    """SHA-256s of a payload but its digest: `sha256:<structure>:<data>`, tensors' bytes in the second alone.

    The structure covers every value and each tensor's dtype and shape, so a file loaded onto the meta
    device (no bytes) still has it checked.
    """
    structure, data = hashlib.sha256(), hashlib.sha256()
    _feed(structure, data, {k: v for k, v in payload.items() if k != "digest"})
    return f"sha256:{structure.hexdigest()}:{data.hexdigest()}"


def _feed(structure: Any, data: Any, value: Any) -> None:
    if isinstance(value, dict):
        structure.update(b"{%d" % len(value))
        for k, v in value.items():
            _feed(structure, data, k)
            _feed(structure, data, v)
    elif isinstance(value, (list, tuple)):  # the same digest whichever of the two the loader gives back
        structure.update(b"[%d" % len(value))
        for v in value:
            _feed(structure, data, v)
    elif isinstance(value, torch.Tensor):
        structure.update(f"T{value.dtype}{tuple(value.shape)}{value.layout};".encode())
        if value.layout == torch.strided and not value.is_meta and value.numel():
            data.update(value.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy())
    else:  # str, int, float (repr round-trips), bool, None, bytes, torch.dtype ...
        structure.update(f"{type(value).__name__}:{value!r};".encode())


def _intact(payload: dict[str, Any]) -> bool:
    """Whether the payload matches its saved digest (only its structure when loaded without bytes, on meta)."""
    saved = payload.get("digest")
    if not isinstance(saved, str):
        return False
    try:
        now = digest(payload)
    except RecursionError:  # nesting no netspec checkpoint has
        return False
    meta = any(isinstance(t, torch.Tensor) and t.is_meta for t in _tensors(payload))
    return saved.rsplit(":", 1)[0] == now.rsplit(":", 1)[0] if meta else saved == now


def _tensors(value: Any) -> Iterator[torch.Tensor]:
    if isinstance(value, torch.Tensor):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _tensors(v)
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from _tensors(v)


def load(path: str | os.PathLike[str], map_location: str | torch.device = "cpu") -> Checkpoint:
    """Read a checkpoint written by `save`; raises SpecError (code `checkpoint`, or `io-error` for a missing file)."""
    p = Path(path)
    return from_payload(_read(p, map_location), p)


def from_payload(payload: Any, p: Path) -> Checkpoint:
    """The checkpoint in what `torch.load` read from `p` (named in the diagnostics); SpecError `checkpoint`."""
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise _error(p, f"{p} is a torch file but not a netspec checkpoint", help=_FROM)
    if payload.get("version") != VERSION:
        raise _error(
            p,
            f"{p} has checkpoint format version {payload.get('version')!r}, but this netspec reads version {VERSION}",
            help=f"load it with the netspec that wrote it ({payload.get('netspec_version', 'unknown')})",
        )
    if not _intact(payload):
        raise _error(
            p,
            f"{p} is damaged: its contents do not match the digest saved with them",
            help="the file changed after netspec wrote it (a disk error, a partial copy, an edit); use another copy",
        )
    state = payload.get("model")
    if not isinstance(state, dict) or not all(isinstance(k, str) for k in state):
        raise _error(p, f"{p} holds no model weights", help=_FROM)
    try:
        spec = spec_from_data(payload.get("spec"))
    except SpecError as e:
        raise _error(p, f"the spec stored in {p} is not valid: {e.summary()}", help=_FROM) from None
    extra = {k: v for k, v in payload.items() if k not in ("format", "version", "spec", "model", "digest")}
    return Checkpoint(spec=spec, model_state=state, extra=extra)


def load_model(path: str | os.PathLike[str], *, device: torch.device | str | None = None) -> nn.Sequential:
    """Rebuild a checkpoint's model from its spec and load its weights; refuses weights that don't fit."""
    return restore(load(path), path, device=device)


def restore(
    ckpt: Checkpoint, path: str | os.PathLike[str], *, device: torch.device | str | None = None
) -> nn.Sequential:
    """The model of a loaded checkpoint: its spec built, given the stored weights, and verified."""
    p = Path(path)
    target = resolve_device(device)
    try:
        report = check(ckpt.spec)
    except SpecError as e:
        raise _error(p, f"the spec stored in {p} does not check: {e.summary()}", help=_FROM) from None
    # The weights' own dtype: load_state_dict copies into the model's, so a float32 model would round float64
    # weights and double bfloat16 ones. Others (float8, ...) load as float32: layers cannot run in them.
    stored = next(
        (t.dtype for t in ckpt.model_state.values() if isinstance(t, torch.Tensor) and t.is_floating_point()), None
    )
    dtype = stored if stored in (torch.float16, torch.bfloat16, torch.float32, torch.float64) else torch.float32
    # Real modules, not meta ones: meta construction runs torch's Python meta kernels, whose first
    # use costs about a second; the fresh initialisation is overwritten by the stored weights.
    values = sum(t.numel() for t in ckpt.model_state.values() if isinstance(t, torch.Tensor))
    # A small file whose spec wants gigabytes is refused before they are allocated; smaller misfits are
    # built and named key by key (check_fits)
    if report.total_params > values and report.param_bytes > BUILD_BEFORE_COMPARING:
        raise _error(
            p,
            f"the weights in {p} do not fit its spec: it stores {values:,} values but the spec has"
            f" {report.total_params:,} parameters",
            help="the checkpoint was edited or written for another spec; save it again from the spec",
        )
    model = build(ckpt.spec, dtype=dtype, report=report, verify=False)
    check_fits(model, ckpt.model_state, p)
    model.load_state_dict(ckpt.model_state)
    verify_model(model, report, torch.device("cpu"), dtype)
    if target.type == "cuda":
        ensure_fits(report, dtype, target)
    return model.to(target)


def check_fits(model: nn.Module, state: dict[str, Any], path: Path) -> None:
    """Raise a `checkpoint` diagnostic naming every key, shape and kind of value that differs from the model's."""
    expected = model.state_dict()
    problems = [f"`{k}` is missing" for k in expected if k not in state]
    problems += [f"`{k}` is not in the spec" for k in state if k not in expected]
    for k, want in expected.items():
        got = state.get(k)
        if k not in state:
            continue
        if not isinstance(got, torch.Tensor):
            problems.append(f"`{k}` is a {type(got).__name__}, not a tensor")
        elif got.shape != want.shape:
            problems.append(f"`{k}` has shape {tuple(got.shape)} but the spec makes {tuple(want.shape)}")
        elif got.dtype.is_floating_point != want.dtype.is_floating_point:
            problems.append(f"`{k}` holds {got.dtype} values but the spec makes {want.dtype}")
        elif got.is_meta:
            problems.append(f"`{k}` holds no data (a meta tensor)")
        elif got.layout != torch.strided:
            problems.append(f"`{k}` is a {got.layout} tensor, not a dense one")
    if problems:
        shown = "; ".join(problems[:5]) + (f"; and {len(problems) - 5} more" if len(problems) > 5 else "")
        raise _error(
            path,
            f"the weights in {path} do not fit its spec: {shown}",
            help="the checkpoint was edited or written for another spec; save it again from the spec",
        )


def _read(p: Path, map_location: str | torch.device) -> Any:
    """torch.load with weights_only=True, every way a file can be wrong turned into one diagnostic."""
    try:
        with p.open("rb") as f:
            head = f.read(len(ZIP_MAGIC))
    except FileNotFoundError:
        raise _io_error(p, f"no such file: {p}") from None
    except IsADirectoryError:
        raise _io_error(p, f"{p} is a directory, not a checkpoint file") from None
    except OSError as e:
        raise _io_error(p, f"cannot read {p}: {e.strerror or e}") from None
    if not head:
        raise _error(p, f"{p} is empty", help=_FROM)
    if head != ZIP_MAGIC:
        raise _error(p, f"{p} is not a torch checkpoint (torch.save writes a zip archive)", help=_FROM)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch warns about pickle protocols before refusing or reading
            return torch.load(p, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as e:
        found = re.search(r"GLOBAL (\S+)", str(e))
        what = f"`{found.group(1)}`" if found else "Python objects"
        raise _error(
            p,
            f"{p} holds {what}, not only tensors and plain values, so netspec refuses to load it",
            help="unpickling arbitrary objects can run code; netspec checkpoints hold only tensors and plain data",
        ) from None
    except Exception as e:  # a truncated or damaged archive: torch raises RuntimeError, EOFError, ...
        reason = (str(e).splitlines() or [type(e).__name__])[0][:200]
        raise _error(p, f"{p} is damaged or truncated: {reason}", help="save it again, or use another copy") from None


def _error(path: Path, message: str, help: str | None = None) -> SpecError:
    return SpecError([Diagnostic("checkpoint", message, source=str(path), help=help)])


def _io_error(path: Path, message: str) -> SpecError:
    return SpecError(
        [Diagnostic("io-error", message, source=str(path), help="pass a .pt file written by `netspec build --save`")]
    )
