"""Export a spec as PyTorch code and ONNX, and turn an nn.Sequential back into a spec (`netspec export`/`import`)."""

from __future__ import annotations

import importlib.util
import tempfile
from pathlib import Path

import torch
from torch import nn

import netspec

SPECS = Path(__file__).resolve().parent.parent / "specs"

spec = netspec.load_spec(SPECS / "lenet.yaml")
built = netspec.build(spec)

with tempfile.TemporaryDirectory() as tmp:
    # 1. The spec as a plain PyTorch file: one nn.Module class with the same submodules as netspec.build's.
    path = Path(tmp) / "lenet_model.py"
    path.write_text(netspec.to_python(spec), encoding="utf-8")
    module_spec = importlib.util.spec_from_file_location("lenet_model", path)
    assert module_spec is not None and module_spec.loader is not None
    generated = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(generated)
    model = generated.Lenet()  # no arguments: every size is written out
    model.load_state_dict(built.state_dict())  # the same keys and shapes, so the weights load as they are
    x = torch.randn(2, *spec.input)  # (2, 1, 32, 32)
    with torch.no_grad():
        same = torch.equal(model(x), built(x))
    print(f"exported class Lenet: {sum(p.numel() for p in model.parameters()):,} parameters, same outputs: {same}")

    # 2. ONNX, when the `onnx` extra is installed (pip install 'netspec[onnx]'); else a missing-dependency error.
    try:
        onnx_path = netspec.to_onnx(spec, Path(tmp) / "lenet.onnx")
        print(f"wrote {onnx_path.name}: input `input` (batch, 1, 32, 32), output `output` (batch, 10)")
    except netspec.SpecError as e:
        print(f"no ONNX export: {e.diagnostics[0].message} ({e.diagnostics[0].help})")

# 3. Back from PyTorch: an nn.Sequential you already have becomes a spec, checked against the input you give.
net = nn.Sequential(
    nn.Conv2d(3, 16, 3, padding=1),
    nn.BatchNorm2d(16),
    nn.ReLU(),
    nn.MaxPool2d(2),
    nn.Flatten(),
    nn.Linear(16 * 16 * 16, 10),
)
imported = netspec.from_module(net, (3, 32, 32), name="small-cnn")
report = netspec.check(imported)
print(f"imported {imported.name}: {len(imported.layers)} layers, {report.total_params:,} params")
print(netspec.to_yaml(imported, header="From examples/export_and_import.py."), end="")
