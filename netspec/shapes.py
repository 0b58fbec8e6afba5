"""The shape core: one pure rule per layer kind, with PyTorch's exact arithmetic and checks.

A rule takes a layer record and the per-sample input dims (the batch stays symbolic) and
returns an Outcome: output dims, parameters, mult-adds, the window it slides (for receptive
fields), the input sizes it inferred (the constructor arguments the builder fills in) and any
diagnostics. Beside the layer rules are the join rules of blocks (add, concatenate, multiply).
Nothing here imports torch. A dim is None when an earlier error left it unknown; rules then
judge what they still can, as a compiler recovers. Diagnostic paths are relative to the layer:
("in_features",) points at that argument.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from . import layers as L
from .diagnostics import Diagnostic
from .fields import pair, show

Dim = int | None
Dims = tuple[Dim, ...]  # one sample: (C, H, W) or (F,); the batch N is implicit
Window = tuple[tuple[int, int], ...]  # (kernel extent, stride) per spatial axis: for H, for W


@dataclass
class Outcome:
    dims: Dims | None  # None: the output cannot be judged, so checking stops here
    params: int = 0
    mult_adds: int = 0
    window: Window | None = None  # None: an elementwise layer, the receptive field is unchanged
    spatial: bool = True  # False: the output's positions no longer map to image regions
    explain: str = ""  # how the output was computed, quoted when the next layer disagrees
    issues: list[Diagnostic] = field(default_factory=list)
    inferred: dict[str, Any] = field(default_factory=dict)  # input sizes left out: {"in_channels": 3}


def fmt_shape(dims: Dims) -> str:
    return "(" + ", ".join(["N", *("?" if d is None else str(d) for d in dims)]) + ")"


def _issue(
    code: str, message: str, at: str | None = None, help: str | None = None, severity: Any = "error"
) -> Diagnostic:
    return Diagnostic(code, message, severity=severity, path=(at,) if at else (), help=help)


def _mismatch(arg: str, declared: int, actual: int, what: str) -> Diagnostic:
    return _issue(
        "shape-mismatch",
        f"`{arg}` is {declared} but the incoming tensor has {actual} {what if actual != 1 else what[:-1]}",
        arg,
        help=f"set `{arg}: {actual}`, or remove it and netspec infers it",
    )


def _rank(layer: L.LayerBase, x: Dims, expected: str, help: str) -> Outcome:
    return Outcome(
        None,
        issues=[_issue("rank-mismatch", f"{layer.type} expects a {expected} input but gets {fmt_shape(x)}", help=help)],
    )


_SPATIAL_HELP = "put Flatten after the last spatial layer, or declare `input: [C, H, W]`"


def _slide(
    sizes: tuple[Dim, Dim],
    length: Callable[[int, Dim], Dim],
    padding: tuple[int, int],
    k: tuple[int, int],
    d: tuple[int, int],
) -> tuple[Dim, Dim, list[Diagnostic]]:
    """A sliding window's output height and width (`length(axis, size)`); sizes of 0 or less are errors."""
    out: list[Dim] = []
    empty = {}
    for i, (axis, n) in enumerate(zip(("height", "width"), sizes)):
        o = length(i, n)
        if o is not None and o <= 0:
            empty[axis] = (o, n or 0, padding[i], k[i], d[i])
            o = None  # unknown from here on: later layers are judged on what is still known
        out.append(o)
    return out[0], out[1], _empty(empty)


def _empty(axes: dict[str, tuple[int, int, int, int, int]]) -> list[Diagnostic]:
    """Outputs of 0 or less, by axis: (out, size, padding, kernel, dilation); one error when both shrink alike."""
    if not axes:  # the usual case, on the hot path
        return []
    both = len(axes) == 2 and len(set(axes.values())) == 1

    def sq(v: int) -> str:  # a square input and kernel read as one: 4 × 4
        return f"{v} × {v}" if both else str(v)

    found = [("", next(iter(axes.values())))] if both else [(f" {a}", v) for a, v in axes.items()]
    issues = []
    for axis, (out, size, padding, k, d) in found:
        if d == 1:
            kernel = f"the kernel ({sq(k)})"
        else:
            kernel = f"the dilated kernel, which spans {sq(d * (k - 1) + 1)} (kernel {k}, dilation {d})"
        padded = f"{sq(size)} plus padding {padding}" if padding else sq(size)
        issues.append(
            _issue(
                "empty-output",
                f"the output{axis} would be {sq(out)}: the input{axis} {padded} is smaller than {kernel}",
                "kernel_size",
                help="use a smaller `kernel_size` or more `padding`, or give the network a larger `input`",
            )
        )
    return issues


# -- convolution -------------------------------------------------------------------------


def _conv_len(n: Dim, k: int, s: int, lo: int, hi: int, d: int) -> Dim:
    # H_out = floor((H + pad_lo + pad_hi - d(k-1) - 1) / s) + 1
    return None if n is None else (n + lo + hi - d * (k - 1) - 1) // s + 1


def conv2d(layer: L.Conv2d, x: Dims) -> Outcome:
    if len(x) != 3:
        return _rank(layer, x, "4-D (N, C, H, W)", _SPATIAL_HELP)
    c, h, w = x
    issues: list[Diagnostic] = []
    if layer.in_channels is not None and c is not None and c != layer.in_channels:
        issues.append(_mismatch("in_channels", layer.in_channels, c, "channels"))
    cin = layer.in_channels if layer.in_channels is not None else c
    out, g = layer.out_channels, layer.groups
    for arg, value in (("in_channels", cin), ("out_channels", out)):
        if value is not None and value % g:
            issues.append(
                _issue(
                    "invalid-value",
                    f"`{arg}` (={value}) must be divisible by `groups` (={g})",
                    "groups",
                    help="use a `groups` that divides both channel counts, e.g. 1",
                )
            )
    k, s, d = pair(layer.kernel_size), pair(layer.stride), pair(layer.dilation)
    if layer.padding == "same":
        if s != (1, 1):
            issues.append(
                _issue(
                    "invalid-value",
                    f"`padding: same` needs stride 1, but `stride` is {show(layer.stride)}",
                    "padding",
                    help=f"write the padding out, e.g. `padding: {k[0] // 2}`",
                )
            )
        # torch pads d(k-1) in total, the extra one (if odd) on the bottom/right
        pads = tuple((d[i] * (k[i] - 1) // 2, d[i] * (k[i] - 1) - d[i] * (k[i] - 1) // 2) for i in (0, 1))
    else:
        p = (0, 0) if isinstance(layer.padding, str) else pair(layer.padding)  # "valid" is no padding
        pads = ((p[0], p[0]), (p[1], p[1]))
    if layer.padding_mode in ("reflect", "circular"):
        # non-zero modes pad with F.pad first: reflect needs pad < size, circular pad <= size
        for axis, size, (lo, hi) in (("height", h, pads[0]), ("width", w, pads[1])):
            limit_ok = size is None or (max(lo, hi) < size if layer.padding_mode == "reflect" else max(lo, hi) <= size)
            if not limit_ok:
                bound = "smaller than" if layer.padding_mode == "reflect" else "at most"
                issues.append(
                    _issue(
                        "padding-too-large",
                        f"`padding_mode: {layer.padding_mode}` needs padding {bound} the input {axis},"
                        f" but the padding is {max(lo, hi)} and the input {axis} is {size}",
                        "padding",
                        help="use a smaller padding, or `padding_mode: zeros` or `replicate`",
                    )
                )
    oh, ow, empty = _slide(
        (h, w), lambda i, n: _conv_len(n, k[i], s[i], *pads[i], d[i]), (sum(pads[0]), sum(pads[1])), k, d
    )
    issues += empty
    params = 0
    if cin is not None:
        params = out * (cin // g) * k[0] * k[1] + (out if layer.bias else 0)
    return Outcome(
        (out, oh, ow),
        params=params,
        mult_adds=params * oh * ow if oh is not None and ow is not None else 0,  # torchinfo: params x positions
        window=((d[0] * (k[0] - 1) + 1, s[0]), (d[1] * (k[1] - 1) + 1, s[1])),
        issues=issues,
        inferred={"in_channels": cin},
    )


# -- pooling -----------------------------------------------------------------------------


def _pool_len(n: Dim, k: int, s: int, p: int, d: int, ceil: bool) -> Dim:
    if n is None:
        return None
    out = (n + 2 * p - d * (k - 1) - 1 + (s - 1 if ceil else 0)) // s + 1
    if ceil and (out - 1) * s >= n + p:
        out -= 1  # torch drops a last window that would start in the right padding
    return out


def _pool(layer: Any, x: Dims, dilation: tuple[int, int]) -> Outcome:
    if len(x) not in (2, 3):
        return _rank(layer, x, "3-D or 4-D (N, C, H, W)", _SPATIAL_HELP)
    *lead, h, w = x
    k = pair(layer.kernel_size)
    s = pair(layer.stride if layer.stride is not None else layer.kernel_size)
    p = pair(layer.padding)
    issues: list[Diagnostic] = []
    if p[0] > k[0] // 2 or p[1] > k[1] // 2:
        # torch compares with kernel_size // 2, ignoring dilation
        issues.append(
            _issue(
                "padding-too-large",
                f"`padding` ({show(layer.padding)}) must be at most half of `kernel_size` ({show(layer.kernel_size)}),"
                f" rounded down: {k[0] // 2 if k[0] == k[1] else show([k[0] // 2, k[1] // 2])}",
                "padding",
                help="use a smaller padding or a larger kernel_size",
            )
        )
    oh, ow, empty = _slide(
        (h, w),
        lambda i, n: _pool_len(n, k[i], s[i], p[i], dilation[i], layer.ceil_mode),
        (2 * p[0], 2 * p[1]),
        k,
        dilation,
    )
    window = ((dilation[0] * (k[0] - 1) + 1, s[0]), (dilation[1] * (k[1] - 1) + 1, s[1]))
    return Outcome((*lead, oh, ow), window=window, issues=issues + empty)


def max_pool2d(layer: L.MaxPool2d, x: Dims) -> Outcome:
    return _pool(layer, x, pair(layer.dilation))


def avg_pool2d(layer: L.AvgPool2d, x: Dims) -> Outcome:
    return _pool(layer, x, (1, 1))


def adaptive_pool2d(layer: L.AdaptiveAvgPool2d | L.AdaptiveMaxPool2d, x: Dims) -> Outcome:
    if len(x) not in (2, 3):
        return _rank(layer, x, "3-D or 4-D (N, C, H, W)", _SPATIAL_HELP)
    *lead, h, w = x
    target = pair(layer.output_size)
    out = [n if o is None else o for n, o in zip((h, w), target)]  # null keeps the input size

    def window(n: Dim, o: Dim) -> tuple[int, int]:
        if n is None or o is None:
            return (1, 1)
        if n % o == 0:
            return (n // o, n // o)
        # uneven windows: the largest one, and the largest step between starts
        step = -(-n // o)
        return (min(n, step + 1), step)

    return Outcome((*lead, *out), window=(window(h, out[0]), window(w, out[1])))


# -- normalisation, reshaping, dense -----------------------------------------------------


def batch_norm2d(layer: L.BatchNorm2d, x: Dims) -> Outcome:
    if len(x) != 3:
        return _rank(layer, x, "4-D (N, C, H, W)", "BatchNorm2d normalises images; for vectors, remove it")
    issues = []
    c = x[0]
    if layer.num_features is not None and c is not None and c != layer.num_features:
        issue = _mismatch("num_features", layer.num_features, c, "channels")
        if not layer.affine and not layer.track_running_stats:
            # torch has no per-channel tensor to check against here, so it runs: warn, as it won't
            issue = replace(
                issue,
                severity="warning",
                message=issue.message + " (torch runs it: the layer has no per-channel weights or statistics to check)",
            )
        issues.append(issue)
    channels = layer.num_features if layer.num_features is not None else c
    params = 2 * channels if layer.affine and channels is not None else 0  # weight and bias
    return Outcome(x, params=params, mult_adds=params, issues=issues, inferred={"num_features": channels})


def flatten(layer: L.Flatten, x: Dims) -> Outcome:
    rank = len(x) + 1
    issues: list[Diagnostic] = []
    ends = []
    for arg in ("start_dim", "end_dim"):
        v = getattr(layer, arg)
        n = v + rank if v < 0 else v
        if not 0 <= n < rank:
            issues.append(
                _issue(
                    "rank-mismatch",
                    f"`{arg}` ({v}) is out of range for the {fmt_shape(x)} input, whose dims are {-rank} to {rank - 1}",
                    arg,
                )
            )
        ends.append(n)
    if issues:
        return Outcome(None, issues=issues)
    start, end = ends
    if start > end:
        return Outcome(
            None,
            issues=[
                _issue(
                    "invalid-value",
                    f"`start_dim` ({layer.start_dim}) comes after `end_dim` ({layer.end_dim}) for a {rank}-D input",
                    "start_dim",
                )
            ],
        )
    if start == 0 and end > 0:
        return Outcome(
            None,
            issues=[
                _issue(
                    "invalid-value",
                    "`start_dim: 0` would merge the batch dimension into the features",
                    "start_dim",
                    help="use `start_dim: 1` (the default): netspec keeps dim 0 as the batch",
                )
            ],
        )
    if start == end:
        return Outcome(x)
    merged = x[start - 1 : end]
    size = None if None in merged else math.prod(d for d in merged if d is not None)
    explain = " × ".join("?" if d is None else str(d) for d in merged) + f" = {'?' if size is None else size}"
    return Outcome((*x[: start - 1], size, *x[end:]), explain=explain, spatial=len(x) - len(merged) + 1 == 3)


def linear(layer: L.Linear, x: Dims) -> Outcome:
    issues = []
    f = x[-1]
    if layer.in_features is not None and f is not None and f != layer.in_features:
        issues.append(_mismatch("in_features", layer.in_features, f, "features"))
    if len(x) > 1:  # the checker keeps this warning only where positions are still spatial (not a sequence)
        flat = " × ".join("?" if d is None else str(d) for d in x)
        issues.append(
            _issue(
                "missing-flatten",
                f"Linear acts on the last dimension of this {fmt_shape(x)} input,"
                f" giving {fmt_shape((*x[:-1], layer.out_features))}",
                severity="warning",
                help=f"add `- Flatten` before it to feed it all {flat} values per sample, if that was the intent",
            )
        )
    fin = layer.in_features if layer.in_features is not None else f
    params = layer.out_features * fin + (layer.out_features if layer.bias else 0) if fin is not None else 0
    # applied at every position of the leading dims: (N, L, F) costs L × params per sample
    positions = math.prod(d or 0 for d in x[:-1])
    return Outcome(
        (*x[:-1], layer.out_features),
        params=params,
        mult_adds=params * positions,
        spatial=False,
        issues=issues,
        inferred={"in_features": fin},
    )


def softmax(layer: L.Softmax | L.LogSoftmax, x: Dims) -> Outcome:
    rank = len(x) + 1
    if layer.dim is None:
        implicit = 0 if rank in (1, 3) else 1  # torch's legacy _get_softmax_dim
        over = "the batch dimension" if implicit == 0 else f"dim {implicit}"
        issue = _issue(
            "implicit-dim",
            f"{layer.type} without `dim` normalises over {over} of this {fmt_shape(x)} input"
            " (torch's implicit choice, deprecated)",
            severity="warning",
            help=f"set `dim: {-1 if rank == 3 else 1}` explicitly",
        )
        return Outcome(x, issues=[issue])
    if not -rank <= layer.dim < rank:
        return Outcome(
            None,
            issues=[
                _issue(
                    "rank-mismatch",
                    f"`dim` ({layer.dim}) is out of range for the {fmt_shape(x)} input,"
                    f" whose dims are {-rank} to {rank - 1}",
                    "dim",
                )
            ],
        )
    return Outcome(x)


def elementwise(layer: L.LayerBase, x: Dims) -> Outcome:
    return Outcome(x)


# -- padding layers ----------------------------------------------------------------------


def pad2d(layer: Any, x: Dims) -> Outcome:
    if len(x) not in (2, 3):
        return _rank(layer, x, "3-D or 4-D (N, C, H, W)", "padding layers pad images; " + _SPATIAL_HELP)
    *lead, h, w = x
    p = layer.padding
    left, right, top, bottom = (p, p, p, p) if isinstance(p, int) else p
    issues: list[Diagnostic] = []
    if layer.type == "ReflectionPad2d":
        for axis, size, amounts in (("height", h, (top, bottom)), ("width", w, (left, right))):
            if size is not None and max(amounts) >= size:
                issues.append(
                    _issue(
                        "padding-too-large",
                        f"ReflectionPad2d needs padding smaller than the input {axis}, but the"
                        f" padding is {max(amounts)} and the input {axis} is {size}",
                        "padding",
                        help="use a smaller padding, or ReplicationPad2d or ZeroPad2d",
                    )
                )
    return Outcome(
        (*lead, None if h is None else h + top + bottom, None if w is None else w + left + right),
        window=((1, 1), (1, 1)),
        issues=issues,
    )


# -- joins: where a block's branches meet ------------------------------------------------------
#
# Each join takes the block's input and its branches' outputs, labelled as a message names them
# ("the body", "branch 2"), and returns the joined dims; a mismatch is an error at the block, and
# checking goes on with the dims the join would give once the branches agree.

Labelled = list[tuple[str, Dims]]
_AXES = {1: ("features",), 2: ("channels", "length"), 3: ("channels", "height", "width")}


def _axis(rank: int, i: int) -> str:
    """`dim 1 (channels)`: dim i of (N, *dims), counted as torch counts, batch included."""
    names = _AXES.get(rank - 1)
    return f"dim {i}" + (f" ({names[i - 1]})" if names and 1 <= i <= rank else "")


def _agree(a: Dim, b: Dim) -> bool:
    return a is None or b is None or a == b


def _merge(dims: list[Dims]) -> Dims:
    """Per axis, the size any branch knows."""
    return tuple(next((d[i] for d in dims if d[i] is not None), None) for i in range(len(dims[0])))


def add(x: Dims, branches: Labelled, identity_shortcut: bool) -> tuple[Dims, list[Diagnostic]]:
    """Residual: body(x) + shortcut(x). The shapes must be equal: netspec does not broadcast a skip connection."""
    (first, a), *rest = branches
    for label, b in rest:
        if len(a) == len(b) and all(_agree(p, q) for p, q in zip(a, b)):
            continue
        message = f"{first} gives {fmt_shape(a)} but {label} gives {fmt_shape(b)}: a residual adds tensors of one shape"
        return a, [
            _issue(
                "branch-mismatch",
                message,
                help=_shortcut_help(x, a)
                if identity_shortcut
                else f"make {label} give {fmt_shape(a)}, as {first} does",
            )
        ]
    return _merge([a, *(b for _, b in rest)]), []


def _shortcut_help(x: Dims, body: Dims) -> str:
    """The torchvision downsample that makes an identity shortcut match the body: a 1×1 Conv2d and a BatchNorm2d."""
    if len(x) == 3 and len(body) == 3 and None not in x and None not in body:
        _, h, w = x
        out, oh, ow = body
        assert h is not None and w is not None and out is not None
        stride = next((s for s in range(1, max(h, w) + 1) if ((h - 1) // s + 1, (w - 1) // s + 1) == (oh, ow)), None)
        if stride is not None:
            conv = f"{{type: Conv2d, out_channels: {out}, kernel_size: 1" + (
                f", stride: {stride}" if stride > 1 else ""
            )
            return f"give the block a shortcut that matches: `shortcut: [{conv}, bias: false}}, BatchNorm2d]`"
    return f"give the block a `shortcut` whose output is {fmt_shape(body)}, as the body's is"


def concat(x: Dims, branches: Labelled, dim: int) -> tuple[Dims | None, list[Diagnostic], str | None]:
    """torch.cat along `dim`: every other dim must agree. Returns the dims, issues, and the argument at fault."""
    (first, a), *_ = branches
    rank = len(a) + 1
    for label, b in branches[1:]:
        if len(b) != len(a):
            return (
                None,
                [
                    _issue(
                        "branch-mismatch",
                        f"{first} gives {fmt_shape(a)} but {label} gives {fmt_shape(b)}:"
                        " Concat joins tensors with the same number of dims",
                    )
                ],
                None,
            )
    if not -rank <= dim < rank:
        return (
            None,
            [
                _issue(
                    "rank-mismatch",
                    f"`dim` ({dim}) is out of range for the {fmt_shape(a)} branches,"
                    f" whose dims are {-rank} to {rank - 1}",
                )
            ],
            "dim",
        )
    d = dim + rank if dim < 0 else dim
    if d == 0:
        return (
            None,
            [
                _issue(
                    "invalid-value",
                    f"`dim: {dim}` would concatenate along the batch dimension",
                    help="use `dim: 1` (the default, channels): netspec keeps dim 0 as the batch",
                )
            ],
            "dim",
        )
    for label, b in branches[1:]:
        bad = next((i for i in range(1, rank) if i != d and not _agree(a[i - 1], b[i - 1])), None)
        if bad is not None:
            what = _axis(rank, bad)
            spatial = rank == 4 and bad >= 2
            return (
                None,
                [
                    _issue(
                        "branch-mismatch",
                        f"{first} gives {fmt_shape(a)} but {label} gives {fmt_shape(b)}:"
                        f" Concat joins along {_axis(rank, d)}, so {what} must agree",
                        help="give every branch the same stride, and the padding that keeps the size"
                        " (e.g. `padding: 1` for a 3×3 kernel)"
                        if spatial
                        else f"make the branches agree on {what}",
                    )
                ],
                None,
            )
    sizes = [b[d - 1] for _, b in branches]
    joined = None if None in sizes else sum(s for s in sizes if s is not None)
    return (*_merge([b for _, b in branches])[: d - 1], joined, *_merge([b for _, b in branches])[d:]), [], None


def multiply(x: Dims, branches: Labelled) -> tuple[Dims | None, list[Diagnostic]]:
    """Element-wise product with torch's broadcasting (a size of 1 stretches); branches of one rank."""
    (first, out), *rest = branches
    for label, b in rest:
        if len(b) != len(out):
            return None, [
                _issue(
                    "branch-mismatch",
                    f"{first} gives {fmt_shape(out)} but {label} gives {fmt_shape(b)}:"
                    " Multiply needs branches with the same number of dims",
                    help="keep the dims, e.g. AdaptiveAvgPool2d(1) instead of Flatten for a gate",
                )
            ]
        joined: list[Dim] = []
        for i, (p, q) in enumerate(zip(out, b)):
            if p is None or q is None:
                joined.append(None if p != 1 and q != 1 else (q if p == 1 else p))
            elif p == q or q == 1:
                joined.append(p)
            elif p == 1:
                joined.append(q)
            else:
                return None, [
                    _issue(
                        "branch-mismatch",
                        f"{first} gives {fmt_shape(out)} and {label} gives {fmt_shape(b)}, which do not broadcast:"
                        f" {_axis(len(out) + 1, i + 1)} is {p} and {q}",
                        help="sizes must be equal, or 1 to stretch (a gate of (N, C, 1, 1) scales (N, C, H, W))",
                    )
                ]
        out = tuple(joined)
    return out, []


Rule = Callable[[Any, Dims], Outcome]

RULES: dict[type[L.LayerBase], Rule] = {
    L.Conv2d: conv2d,
    L.MaxPool2d: max_pool2d,
    L.AvgPool2d: avg_pool2d,
    L.AdaptiveAvgPool2d: adaptive_pool2d,
    L.AdaptiveMaxPool2d: adaptive_pool2d,
    L.BatchNorm2d: batch_norm2d,
    L.Flatten: flatten,
    L.Linear: linear,
    L.Softmax: softmax,
    L.LogSoftmax: softmax,
    L.ZeroPad2d: pad2d,
    L.ConstantPad2d: pad2d,
    L.ReflectionPad2d: pad2d,
    L.ReplicationPad2d: pad2d,
    **{
        cls: elementwise
        for cls in (
            L.Dropout,
            L.Dropout2d,
            L.Identity,
            L.ReLU,
            L.ReLU6,
            L.LeakyReLU,
            L.Sigmoid,
            L.Tanh,
            L.GELU,
            L.ELU,
            L.SiLU,
            L.Hardswish,
        )
    },
}
