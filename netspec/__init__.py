"""netspec: a declarative model-spec compiler and exact static shape checker for PyTorch.

spec = netspec.load_spec("specs/lenet.yaml")   # YAML -> validated Spec
report = netspec.check(spec)                   # shapes, params, mult-adds; no torch
model = netspec.build(spec)                    # -> torch.nn.Sequential (imports torch)
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

__version__ = "0.1.0"

# Every public name is imported on first use: `import netspec` costs nothing, the checker's names
# never pull in torch, and the CLI can configure its process before the schema models are built.
_LAZY = {
    "Diagnostic": "netspec.diagnostics",
    "Span": "netspec.diagnostics",
    "SpecError": "netspec.diagnostics",
    "LayerReport": "netspec.report",
    "ReceptiveField": "netspec.report",
    "ShapeReport": "netspec.report",
    "check": "netspec.report",
    "input_sizes": "netspec.sizes",
    "Spec": "netspec.spec",
    "load_spec": "netspec.spec",
    "parse_spec": "netspec.spec",
    "spec_from_data": "netspec.spec",
    "to_yaml": "netspec.export_yaml",
    "json_schema": "netspec.schema",
    # these need torch
    "build": "netspec.builder",
    "load_model": "netspec.checkpoint",
    "train": "netspec.training.trainer",
    "to_onnx": "netspec.export_onnx",
    "to_python": "netspec.export_python",
    "from_module": "netspec.from_torch",
}

if TYPE_CHECKING:
    from .builder import build
    from .checkpoint import load_model
    from .diagnostics import Diagnostic, Span, SpecError
    from .export_onnx import to_onnx
    from .export_python import to_python
    from .export_yaml import to_yaml
    from .from_torch import from_module
    from .report import LayerReport, ReceptiveField, ShapeReport, check
    from .schema import json_schema
    from .sizes import input_sizes
    from .spec import Spec, load_spec, parse_spec, spec_from_data
    from .training.trainer import train


def __getattr__(name: str) -> object:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value  # later lookups find it without coming here
        return value
    raise AttributeError(f"module 'netspec' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])


__all__ = [  # the same names as _LAZY (a test keeps them in step)
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
    "input_sizes",
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
