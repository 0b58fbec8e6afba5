"""Load a spec, check it without torch, and print its figures."""

import sys
from pathlib import Path

import netspec

path = sys.argv[1] if len(sys.argv) > 1 else Path(__file__).resolve().parent.parent / "specs" / "lenet.yaml"
spec = netspec.load_spec(path)  # YAML -> a validated netspec.Spec
report = netspec.check(spec)  # shapes, parameters and mult-adds; raises netspec.SpecError if they don't fit

print(f"{report.name}: {len(report.layers)} layers, input {report.input_shape} -> output {report.output_shape}")
print(f"{report.total_params:,} trainable parameters ({report.param_bytes / 1024:.1f} KiB in float32)")
print(f"{report.total_mult_adds:,} mult-adds per sample")
print(f"{report.activation_bytes / 1024:.1f} KiB of activations per sample")
for warning in report.warnings:
    print(f"warning[{warning.code}]: {warning.message}")
