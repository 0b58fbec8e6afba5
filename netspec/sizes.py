"""Which input sizes a spec accepts: each axis of `input` varied alone, the others as declared.

    H  32 ≤ H ≤ 35                 LeNet: its first Linear fixes 16 × 5 × 5 = 400 features
    H  H = 16k, 16 ≤ H ≤ 512       a 4-level U-Net: every skip must meet its upsampled twin
    H  H ≥ 29 (tried up to 448)    a ResNet: adaptive pooling takes any size from its smallest

The answer is exact within the range tried: every candidate size is checked by the same checker as
`netspec check` (no torch), so it holds for precisely the sizes listed, and the rule only names them.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise
from math import gcd

from .diagnostics import SpecError
from .report import check
from .spec import Spec

MAX_TRIES = 4096  # sizes tried per axis at most: a range wider than this is refused, not truncated


@dataclass(frozen=True)
class AxisSizes:
    """The sizes of one axis of `input` that check, from `low` to `high`, with the others as declared."""

    axis: str  # its name: C, H, W, L, F, ...; `H = W` for the spatial axes varied together
    dims: tuple[int, ...]  # its positions in `input`
    declared: int
    low: int
    high: int
    fits: tuple[int, ...]  # in increasing order

    @property
    def rule(self) -> str:
        """The set as a reader wants it: an interval, a lattice (`H = 16k`), periodic, or the sizes themselves."""
        return describe(self.axis, self.fits, self.low, self.high)


def input_sizes(spec: Spec, low: int = 1, high: int | None = None) -> list[AxisSizes]:
    """Every axis of the spec's input: the sizes from `low` to `high` (default: twice the declared size, at
    least 16) that pass `check`, the other axes as declared; then, where there are several spatial axes
    (H and W), those together, as a square image grows. Raises ValueError for a range that is empty or
    wider than MAX_TRIES."""
    names = spec.input.dims
    groups: list[tuple[int, ...]] = [(i,) for i in range(len(names))]
    spatial = tuple(i for i, name in enumerate(names) if name != "C") if names[0] == "C" else ()
    if len(spatial) > 1:
        groups.append(spatial)
    out = []
    for dims in groups:
        declared = max(spec.input[i] for i in dims)
        top = high if high is not None else max(2 * declared, 16)
        if low < 1 or top < low:
            raise ValueError(f"the range {low}:{top} holds no positive size")
        if top - low + 1 > MAX_TRIES:
            raise ValueError(f"the range {low}:{top} holds {top - low + 1:,} sizes; at most {MAX_TRIES:,} are tried")
        fits = tuple(n for n in range(low, top + 1) if _fits(spec, dims, n))
        out.append(AxisSizes(" = ".join(names[i] for i in dims), dims, declared, low, top, fits))
    return out


def text(spec: Spec, axes: list[AxisSizes]) -> str:
    """The answer as `netspec check --sizes` prints it: one line per axis."""
    head = f"{spec.name}{f'  ({spec.source.source})' if spec.source else ''}: the input sizes that check"
    lines = [head + " (each axis alone, the others as declared)"]
    width = max(len(a.axis) for a in axes)
    for a in axes:
        lines.append(
            f"  {a.axis:<{width}}  {a.rule:<40}  declared {a.declared}"
            + ("" if a.declared in a.fits else ", which does not fit")
        )
    return "\n".join(lines)


def as_json(axes: list[AxisSizes]) -> list[dict[str, object]]:
    return [
        {
            "axis": a.axis,
            "dims": list(a.dims),
            "declared": a.declared,
            "low": a.low,
            "high": a.high,
            "fits": list(a.fits),
            "rule": a.rule,
        }
        for a in axes
    ]


def _fits(spec: Spec, dims: tuple[int, ...], size: int) -> bool:
    shape = [size if i in dims else n for i, n in enumerate(spec.input)]
    try:
        check(spec.model_copy(update={"input": spec.input.resized(tuple(shape))}))
    except SpecError:
        return False
    return True


def describe(axis: str, fits: tuple[int, ...], low: int, high: int) -> str:
    """`32 ≤ H ≤ 35`, `H ≥ 29 (tried up to 448)`, `H = 16k, 16 ≤ H ≤ 512`, `H mod 4 in {0, 1}, H ≥ 8`."""
    if not fits:
        return f"no size from {low} to {high}"
    first, last = fits[0], fits[-1]
    bounds = _bounds(axis, first, last, low, high)
    if len(fits) == 1:
        return f"{axis} = {first}"
    if len(fits) == last - first + 1:  # every size between
        return bounds
    step = 0
    for a, b in pairwise(fits):
        step = gcd(step, b - a)
    if fits == tuple(range(first, last + 1, step)):  # every step-th size
        offset = first % step
        lattice = f"{step}k" + (f" + {offset}" if offset else "")
        return f"{axis} = {lattice}, {bounds}"
    period = _period(set(fits), first, last)
    if period is not None:
        residues = sorted({n % period for n in fits})
        return f"{axis} mod {period} in {{{', '.join(map(str, residues))}}}, {bounds}"
    shown = ", ".join(map(str, fits[:12])) + (", ..." if len(fits) > 12 else "")
    return f"{axis} in {{{shown}}}"


def _bounds(axis: str, first: int, last: int, low: int, high: int) -> str:
    if last == high:  # it may go on past the range: say where the trying stopped
        return f"any {axis} (tried up to {high})" if first == 1 else f"{axis} ≥ {first} (tried up to {high})"
    return f"{axis} ≤ {last}" if first == 1 else f"{first} ≤ {axis} ≤ {last}"


def _period(fits: set[int], first: int, last: int) -> int | None:
    """The smallest period p (up to 64) with which membership repeats from `first` to `last`, if at least two
    whole periods are seen."""
    for p in range(2, 65):
        if last - first + 1 < 2 * p:
            return None
        if all((n in fits) == (n + p in fits) for n in range(first, last + 1 - p)):
            return p
    return None
