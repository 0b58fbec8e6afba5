"""Checkpoints: the spec and the weights (plus whatever a trainer adds) in one torch file.

Files hold only tensors and plain Python values, so `torch.load(path, weights_only=True)`
reads them; they are written atomically (a temp file, then a rename) so an interrupted
save never leaves a half-written checkpoint behind.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from . import __version__
from .diagnostics import Diagnostic, SpecError
from .spec import Spec, spec_from_data, spec_to_data

FORMAT = "netspec-checkpoint"
VERSION = 1


@dataclass
class Checkpoint:
    spec: Spec
    model_state: dict[str, torch.Tensor]
    extra: dict[str, Any] = field(default_factory=dict)  # optimizer, epoch, RNG states, ... from the trainer


def save(path: str | os.PathLike[str], *, spec: Spec, model_state: dict[str, torch.Tensor], **extra: Any) -> None:
    """Write a checkpoint atomically."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "format": FORMAT,
        "version": VERSION,
        "netspec_version": __version__,
        "spec": spec_to_data(spec),
        "model": model_state,
        **extra,
    }
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(payload, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _error(path: Path, message: str, help: str | None = None) -> SpecError:
    return SpecError([Diagnostic("checkpoint", message, source=str(path), help=help)])


def load(path: str | os.PathLike[str], map_location: str | torch.device = "cpu") -> Checkpoint:
    """Read a checkpoint written by `save`; raises SpecError (code `checkpoint` or `io-error`)."""
    p = Path(path)
    if not p.is_file():
        what = "a directory, not a checkpoint file" if p.is_dir() else "not found"
        raise SpecError(
            [
                Diagnostic(
                    "io-error",
                    f"{p} is {what}",
                    source=str(p),
                    help="pass a .pt file written by `netspec build --save` or `netspec train`",
                )
            ]
        )
    try:
        payload = torch.load(p, map_location=map_location, weights_only=True)
    except Exception as e:  # a truncated, foreign or tampered file: torch raises many kinds
        raise _error(
            p,
            f"cannot read {p} as a checkpoint ({type(e).__name__}: {str(e).splitlines()[0][:200]})",
            help="the file is damaged or not a netspec checkpoint",
        ) from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise _error(
            p,
            f"{p} is a torch file but not a netspec checkpoint",
            help="netspec checkpoints come from `netspec build --save` and `netspec train`",
        )
    if payload.get("version") != VERSION:
        raise _error(p, f"{p} has checkpoint format version {payload.get('version')}, this netspec reads {VERSION}")
    try:
        spec = spec_from_data(payload["spec"])
    except SpecError as e:
        raise _error(p, f"the spec stored in {p} is not valid: {e.summary()}") from None
    extra = {k: v for k, v in payload.items() if k not in ("format", "version", "spec", "model")}
    return Checkpoint(spec=spec, model_state=payload["model"], extra=extra)


def load_model(path: str | os.PathLike[str], *, device: torch.device | str | None = None) -> nn.Sequential:
    """Rebuild a checkpoint's model from its spec and load its weights; refuses weights that don't fit."""
    from .build import build

    ckpt = load(path)
    model = build(ckpt.spec)
    check_fits(model, ckpt.model_state, Path(path))
    model.load_state_dict(ckpt.model_state)
    return model.to(device) if device is not None else model


def check_fits(model: nn.Module, state: dict[str, Any], path: Path) -> None:
    """Raise a `checkpoint` diagnostic naming every key and shape that differs between model and weights."""
    expected = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    got = {k: tuple(v.shape) for k, v in state.items() if isinstance(v, torch.Tensor)}
    problems = [f"`{k}` is missing" for k in expected if k not in got]
    problems += [f"`{k}` is not in the spec" for k in got if k not in expected]
    problems += [
        f"`{k}` has shape {got[k]} but the spec makes {expected[k]}"
        for k in expected
        if k in got and got[k] != expected[k]
    ]
    if problems:
        shown = "; ".join(problems[:5]) + (f"; and {len(problems) - 5} more" if len(problems) > 5 else "")
        raise _error(
            path,
            f"the weights in {path} do not fit its spec: {shown}",
            help="the checkpoint was edited or built from another spec; rebuild it from the spec",
        )
