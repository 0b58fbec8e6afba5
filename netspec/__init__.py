"""netspec: a declarative model-spec compiler and exact static shape checker for PyTorch.

spec = netspec.load_spec("specs/lenet.yaml")   # YAML -> validated Spec
report = netspec.check(spec)                   # shapes, params, mult-adds; no torch
model = netspec.build(spec)                    # -> torch.nn.Sequential (imports torch)
"""

from __future__ import annotations

from .diagnostics import Diagnostic, Span, SpecError
from .export_yaml import to_yaml
from .report import LayerReport, ReceptiveField, ShapeReport, check
from .schema import json_schema
from .spec import Spec, load_spec, parse_spec, spec_from_data

__version__ = "0.1.0"

# Names that need torch are imported on first use, so `import netspec` and `netspec check` stay torch-free.
_LAZY = {
    "build": "netspec.builder",
    "load_model": "netspec.checkpoint",
    "train": "netspec.training.trainer",
    "to_onnx": "netspec.export_onnx",
    "to_python": "netspec.export_python",
    "from_module": "netspec.from_torch",
}


def __getattr__(name: str) -> object:
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value  # later lookups find it without coming here
        return value
    raise AttributeError(f"module 'netspec' has no attribute {name!r}")


__all__ = [
    "Diagnostic",
    "LayerReport",
    "ReceptiveField",
    "ShapeReport",
    "Span",
    "Spec",
    "SpecError",
    "build",
    "check",
    "from_module",
    "json_schema",
    "load_model",
    "load_spec",
    "parse_spec",
    "spec_from_data",
    "to_onnx",
    "to_python",
    "to_yaml",
    "train",
]
