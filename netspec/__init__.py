"""netspec: a declarative model-spec compiler and exact static shape checker for PyTorch.

spec = netspec.load_spec("specs/lenet.yaml")   # YAML -> validated Spec
report = netspec.check(spec)                   # shapes, params, mult-adds; no torch
model = netspec.build(spec)                    # -> torch.nn.Sequential (imports torch)
"""

from __future__ import annotations

from .diagnostics import Diagnostic, Span, SpecError
from .report import LayerReport, ReceptiveField, ShapeReport, check
from .spec import Spec, load_spec, parse_spec, spec_from_data

__version__ = "0.1.0"

# Names that need torch are imported on first use, so `import netspec` and `netspec check` stay torch-free.
_LAZY = {"build": "netspec.build"}


def __getattr__(name: str) -> object:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
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
    "load_spec",
    "parse_spec",
    "spec_from_data",
]
