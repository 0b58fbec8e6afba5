"""Which input sizes a spec accepts: each axis swept over a range, and the accepted sizes said as a rule.

    H: 32 ≤ H ≤ 35                      LeNet: its first Linear takes exactly 400 features
    H: H = 16k for k ≥ 1                a 4-level U-Net, whose skip connections must align
    L: L ≥ 3                            a Conv1d with a kernel of 3

Each axis other than the channels is varied alone (the others as the spec declares them), and
all of them together when there are several (H = W); every size is a full static check, so the
answer is exact within the range. No torch.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

from .diagnostics import SpecError
from .report import check
from .spec import Spec

MIN_UP_TO = 64  # the range reaches at least this far, and twice the declared size


@dataclass(frozen=True)
class AxisSizes:
    """The sizes from 1 to `up_to` that check, for one axis (or several varied together)."""

    axis: str  # the dim's name, `H`; `H = W` when the axes vary together
    dims: tuple[int, ...]  # their positions in `input`
    declared: int
    up_to: int
    accepted: tuple[int, ...]

    @property
    def rule(self) -> str:
        return describe(self.accepted, self.up_to, self.axis)


def input_sizes(spec: Spec, up_to: int | None = None) -> list[AxisSizes]:
    """For each axis of the input but the channels, the sizes from 1 to `up_to` at which `spec` checks."""
    dims = spec.input.dims
    varied = [i for i, name in enumerate(dims) if name != "C"]
    rows = [_sweep(spec, (i,), dims[i], up_to) for i in varied]
    if len(varied) > 1:
        rows.append(_sweep(spec, tuple(varied), " = ".join(dims[i] for i in varied), up_to))
    return rows


def _sweep(spec: Spec, axes: tuple[int, ...], name: str, up_to: int | None) -> AxisSizes:
    declared = max(spec.input[i] for i in axes)
    limit = up_to if up_to is not None else max(MIN_UP_TO, 2 * declared)
    accepted = []
    for size in range(1, limit + 1):
        shape = tuple(size if i in axes else d for i, d in enumerate(spec.input))
        try:
            check(spec.with_input(shape))
        except SpecError:
            continue
        accepted.append(size)
    return AxisSizes(name, axes, declared, limit, tuple(accepted))


def describe(sizes: tuple[int, ...], up_to: int, x: str = "H") -> str:
    """The sizes from 1 to `up_to` as a rule: a range, an arithmetic progression, or the runs listed."""
    if not sizes:
        return f"no {x} from 1 to {up_to}"
    first, last = sizes[0], sizes[-1]
    if len(sizes) == 1:
        return f"{x} = {first} only"
    step = math.gcd(*(b - a for a, b in itertools.pairwise(sizes)))
    if sizes == tuple(range(first, last + 1, step)):
        to_end = last + step > up_to  # the progression runs to the end of the range
        if step == 1:
            return f"{x} ≥ {first}" if to_end else f"{first} ≤ {x} ≤ {last}"
        k0, rest = divmod(first, step)
        term = f"{step}k" + (f" + {rest}" if rest else "")
        ks = f"k ≥ {k0}" if to_end else f"{k0} ≤ k ≤ {(last - rest) // step}"
        return f"{x} = {term} for {ks} ({', '.join(map(str, sizes[:3]))}, …)"
    runs: list[tuple[int, int]] = []
    for s in sizes:
        if runs and s == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], s)
        else:
            runs.append((s, s))
    shown = [f"{a}" if a == b else f"{a}–{b}" for a, b in runs[:6]]
    more = f", … ({len(sizes)} sizes in all)" if len(runs) > 6 else ""
    return f"{x} in " + ", ".join(shown) + more


def render(rows: list[AxisSizes]) -> str:
    """The lines `netspec check --sizes` prints under a spec."""
    if not rows:
        return "input sizes: the input has only channels"
    lines = ["input sizes that check (each axis alone, the others as declared; then together):"]
    for r in rows:
        lines.append(f"  {r.rule}   (declared {r.declared}; checked 1 to {r.up_to})")
    return "\n".join(lines)
