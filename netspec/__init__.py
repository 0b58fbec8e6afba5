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

__all__ = [
    "Diagnostic",
    "LayerReport",
    "ReceptiveField",
    "ShapeReport",
    "Span",
    "Spec",
    "SpecError",
    "check",
    "load_spec",
    "parse_spec",
    "spec_from_data",
]
