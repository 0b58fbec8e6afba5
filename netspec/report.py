"""`check`: run the shape rules over a spec and collect the per-layer report."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import NamedTuple

from .diagnostics import Diagnostic, SpecError
from .layers import module_names
from .shapes import RULES, Dim, Dims, fmt_shape
from .spec import Spec

Shape = tuple[int | str, ...]  # ("N", 6, 28, 28): the batch stays symbolic
FLOAT32_BYTES = 4


@dataclass(frozen=True)
class ReceptiveField:
    """How much of the input one output position sees (size) and how far apart neighbours are (jump)."""

    size: tuple[int, int]
    jump: tuple[int, int]


@dataclass(frozen=True)
class LayerReport:
    index: int
    name: str  # the submodule name in the built nn.Sequential
    type: str
    input_shape: Shape
    output_shape: Shape
    params: int  # trainable parameters
    mult_adds: int  # per sample, torchinfo's convention
    receptive_field: ReceptiveField | None  # None once the output is no longer an image
    activation_bytes: int  # the output of one sample in float32


@dataclass(frozen=True)
class ShapeReport:
    name: str
    source: str | None
    input_shape: Shape
    layers: tuple[LayerReport, ...]
    warnings: tuple[Diagnostic, ...] = ()

    @property
    def output_shape(self) -> Shape:
        return self.layers[-1].output_shape if self.layers else self.input_shape

    @property
    def total_params(self) -> int:
        return sum(layer.params for layer in self.layers)

    @property
    def total_mult_adds(self) -> int:
        return sum(layer.mult_adds for layer in self.layers)

    @property
    def param_bytes(self) -> int:
        return self.total_params * FLOAT32_BYTES

    @property
    def activation_bytes(self) -> int:
        """Input plus every layer's output, one sample, float32.

        Not torchinfo's "forward/backward pass size", which counts only layers with parameters, twice.
        """
        return _numel(self.input_shape) * FLOAT32_BYTES + sum(layer.activation_bytes for layer in self.layers)


def _numel(shape: Shape) -> int:
    return math.prod(d for d in shape if isinstance(d, int))


def _shape(dims: Dims) -> Shape:
    return ("N", *(d if d is not None else 0 for d in dims))


def check(spec: Spec) -> ShapeReport:
    """Every layer's shapes, parameters, mult-adds and receptive field; raises SpecError on any error."""
    smap = spec.source
    names = module_names(spec.layers)
    dims: Dims = tuple(spec.input)
    rf: ReceptiveField | None = ReceptiveField((1, 1), (1, 1)) if len(dims) == 3 else None
    # (name, type, output dims, how it was computed) per layer so far: notes are formatted from
    # it only when a diagnostic needs them, keeping the happy path free of string work
    history: list[_Step] = [_Step("input", "", dims, "")]
    reports: list[LayerReport] = []
    diagnostics: list[Diagnostic] = []

    for i, layer in enumerate(spec.layers):
        outcome = RULES[type(layer)](layer, dims)
        for d in outcome.issues:
            d = _context(d, i, names[i], layer.type, dims, history)
            path = ("layers", i, *(d.path or ("type",)))
            span = smap.span(path) if smap is not None else None
            diagnostics.append(replace(d, path=path, span=span, source=smap.source if smap else None))
        if outcome.dims is None:
            break  # nothing after this can be judged
        out = outcome.dims
        if rf is not None and outcome.window is not None and len(out) == 3 and outcome.spatial:
            (kh, sh), (kw, sw) = outcome.window
            rf = ReceptiveField(
                (rf.size[0] + (kh - 1) * rf.jump[0], rf.size[1] + (kw - 1) * rf.jump[1]),
                (rf.jump[0] * sh, rf.jump[1] * sw),
            )
        elif not outcome.spatial or len(out) != 3:
            rf = None
        reports.append(
            LayerReport(
                index=i,
                name=names[i],
                type=layer.type,
                input_shape=_shape(dims),
                output_shape=_shape(out),
                params=outcome.params,
                mult_adds=outcome.mult_adds,
                receptive_field=rf,
                activation_bytes=(math.prod(d or 0 for d in out)) * FLOAT32_BYTES,
            )
        )
        history.append(_Step(names[i], layer.type, out, outcome.explain))
        dims = out

    if any(d.is_error for d in diagnostics):
        raise SpecError(diagnostics)
    return ShapeReport(
        name=spec.name,
        source=smap.source if smap else None,
        input_shape=_shape(tuple(spec.input)),
        layers=tuple(reports),
        warnings=tuple(diagnostics),
    )


class _Step(NamedTuple):
    name: str
    type: str
    dims: Dims
    explain: str


def _context(d: Diagnostic, i: int, name: str, kind: str, dims: Dims, history: list[_Step]) -> Diagnostic:
    """Add the notes a reader needs: which layer, what it got, and where that came from."""
    if d.code in ("shape-mismatch", "rank-mismatch", "missing-flatten"):
        if i == 0:
            d = d.with_note(f"the spec's `input` is {fmt_shape(dims)}")
        else:
            prev = history[-1]
            note = (
                f"layer {i - 1} ({prev.name}: {prev.type}) turns {fmt_shape(history[-2].dims)} into {fmt_shape(dims)}"
            )
            d = d.with_note(note + (f": {prev.explain}" if prev.explain else ""))
    else:
        d = d.with_note(f"layer {i} ({name}: {kind}) gets {fmt_shape(dims)}")
    if d.code == "empty-output" and len(dims) >= 2:
        # "size" when both axes shrank alike and one message covers them
        axis = "height" if "height" in d.message else "width" if "width" in d.message else "size"
        pos = -2 if axis == "height" else -1
        trail: list[str] = []
        last: Dim = None
        for s in history:  # only the layers that changed the size: 32 (input) → 28 (conv1) → 14 (pool1)
            if len(s.dims) >= 2 and s.dims[pos] is not None and s.dims[pos] != last:
                trail.append(f"{s.dims[pos]} ({s.name})")
                last = s.dims[pos]
        if len(trail) > 1:
            d = d.with_note(f"the {axis} shrinks: " + " → ".join(trail))
    return d
