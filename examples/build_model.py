"""Build a spec into a torch model, run it, save a checkpoint and load it back (the Python API of `netspec build`)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import torch

import netspec
from netspec.checkpoint import save

SPECS = Path(__file__).resolve().parent.parent / "specs"

spec = netspec.load_spec(SPECS / "lenet.yaml").model_copy(update={"seed": 0})  # a seed: the same weights every run
report = netspec.check(spec)  # static: shapes, params, mult-adds; no torch
model = netspec.build(spec, report=report)  # nn.Sequential, verified against the report on the meta device
print(f"{spec.name}: {sum(p.numel() for p in model.parameters()):,} parameters, output {report.output_shape}")

x = torch.randn(4, *spec.input)  # (4, 1, 32, 32)
model.eval()
with torch.no_grad():
    y = model(x)  # (4, 10)
print(f"forward: {tuple(x.shape)} -> {tuple(y.shape)}")

with tempfile.TemporaryDirectory() as tmp:
    path = Path(tmp) / "lenet.pt"
    save(path, spec=spec, model_state=model.state_dict())
    loaded = netspec.load_model(path).eval()  # rebuilt from the stored spec; the weights must fit it
    with torch.no_grad():
        assert torch.equal(loaded(x), y)
print("the reloaded model gives the same outputs")
