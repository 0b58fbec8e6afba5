"""Spec -> an ONNX file through `torch.onnx`, with a dynamic batch dimension. Needs the `onnx` extra."""

from __future__ import annotations

import contextlib
import importlib
import io
import os
import re
import warnings
from pathlib import Path

import torch
from torch import nn

from .diagnostics import Diagnostic, SpecError, cannot_write
from .render import fmt_shape
from .report import ShapeReport, check
from .spec import Spec
from .verify import example_input, label

# What torch's ONNX exporter (the torch.export-based one, torch's default since 2.9) imports.
REQUIRED = ("onnx", "onnxscript")
# Protobuf caps one file at 2 GiB: larger weights go to an external data file beside the model.
EXTERNAL_DATA_BYTES = 1 << 30
INPUT_NAME, OUTPUT_NAME = "input", "output"


def require_onnx() -> None:
    """Raise a `missing-dependency` diagnostic unless the packages torch.onnx needs can be imported."""
    missing = [name for name in REQUIRED if not _importable(name)]
    if missing:
        raise SpecError(
            [
                Diagnostic(
                    "missing-dependency",
                    f"ONNX export needs {' and '.join(missing)}, which {'is' if len(missing) == 1 else 'are'}"
                    " not installed",
                    help="pip install 'netspec[onnx]' (or: pip install onnx onnxscript)",
                )
            ]
        )


def _importable(name: str) -> bool:
    try:
        importlib.import_module(name)
    except ImportError:  # not installed, or installed without what it needs itself
        return False
    return True


def to_onnx(spec: Spec, path: str | os.PathLike[str], *, model: nn.Module | None = None) -> Path:
    """Write `model` (by default `netspec.build(spec)`) to `path` as ONNX, input `input`, output `output`."""
    require_onnx()
    from .builder import build

    report = check(spec)
    _refuse_mistranslations(spec, report)
    model = (model if model is not None else build(spec, report=report)).eval()  # Dropout off, BatchNorm statistics
    # Batch 2, not 1: torch.export specialises a dimension whose example size is 1, and the batch must stay dynamic.
    weight = next(model.parameters(), None)  # the example lives where the weights do
    example = example_input(
        report, 2, weight.device if weight is not None else None, weight.dtype if weight is not None else None
    )  # (2, C, H, W), (2, F), (2, L) token ids, ...
    # the exporter prints progress lines and warns about its internals: neither is the user's business
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            program = torch.onnx.export(
                model,
                (example,),
                input_names=[INPUT_NAME],
                output_names=[OUTPUT_NAME],
                dynamic_shapes=({0: torch.export.Dim("batch")},),
                verbose=False,
                dynamo=True,
            )
        except Exception as e:  # the exporter's errors are pages long: name the operator and the layer
            raise _failure(e, spec, report) from None
    assert program is not None  # the torch.export-based exporter always returns the program
    target = Path(path)
    try:  # written apart from the translation, so a bad path is an io-error, not a failed export
        target.parent.mkdir(parents=True, exist_ok=True)
        program.save(target, external_data=report.param_bytes >= EXTERNAL_DATA_BYTES)
    except OSError as e:
        raise cannot_write(target, e) from None
    return target


def _refuse_mistranslations(spec: Spec, report: ShapeReport) -> None:
    """`export-failed` for what the exporter translates without error but wrongly (onnxruntime disagrees with torch)."""
    for info in report.leaves():
        if info.kind == "LSTM" and info.args.get("proj_size"):
            # ONNX's LSTM has no projection: the export runs, and onnxruntime refuses the state's shape
            raise SpecError(
                [
                    spec.at(
                        (*info.path, "proj_size"),
                        Diagnostic(
                            "export-failed",
                            f"ONNX's LSTM has no projection, so torch.onnx cannot translate `proj_size`"
                            f" (={info.args['proj_size']}) of {label(info)}",
                            help="remove `proj_size` (or add a Linear after the LSTM), or export --format python",
                        ),
                    )
                ]
            )
        divisor = info.args.get("divisor_override")
        if divisor is None:
            continue
        # onnxscript's avg_pool2d ignores the argument ("TODO: if want to support divisor_override ...")
        path = (*info.path, "divisor_override")
        raise SpecError(
            [
                spec.at(
                    path,
                    Diagnostic(
                        "export-failed",
                        f"torch.onnx drops `divisor_override` (={divisor}) of {label(info)}:"
                        " the ONNX model would divide by the window size instead",
                        help="remove `divisor_override` (and scale the next layer), or export --format python",
                    ),
                )
            ]
        )


def _failure(error: Exception, spec: Spec, report: ShapeReport) -> SpecError:
    """An `export-failed` diagnostic pointing at the layer whose torch operator has no ONNX translation."""
    text = str(error)
    op = re.search(r"op='aten\.(\w+)'", text)
    summary = re.search(r"<class '[\w.]*?(\w+)'>: ([^\n]+)", text)
    cause = f"{summary[1]}: {summary[2]}" if summary else f"{type(error).__name__}: {text.strip()[:300]}"
    layer = next((info for info in report.leaves() if op and _snake(info.kind) == op[1]), None)
    if op is None or layer is None:
        return SpecError([Diagnostic("export-failed", f"torch.onnx cannot export `{spec.name}`: {cause}", help=_HELP)])
    path = (*layer.path, "type")
    return SpecError(
        [
            spec.at(
                path,
                Diagnostic(
                    "export-failed",
                    f"torch.onnx has no ONNX translation for `aten.{op[1]}`, which {label(layer)}"
                    f" uses with input {fmt_shape(layer.input_shape)}",
                    notes=(cause,),
                    help=_HELP,
                ),
            )
        ]
    )


_HELP = "replace the layer with one ONNX supports, change the input size, or export --format python"


def _snake(kind: str) -> str:
    """`AdaptiveMaxPool2d` -> `adaptive_max_pool2d`, the name of the aten operator the layer calls."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", kind).lower()
