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
from typing import TYPE_CHECKING, Any

from .diagnostics import Diagnostic, Fix
from .inputs import Tokens
from .kinds import params_of
from .values import ntuple, show

if TYPE_CHECKING:  # the records' types, for annotations: the checker itself never imports pydantic
    from . import layers as L

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
    code: str,
    message: str,
    at: str | None = None,
    help: str | None = None,
    severity: Any = "error",
    fixes: tuple[Fix, ...] = (),  # paths relative to the layer, as `at` is
) -> Diagnostic:
    return Diagnostic(code, message, severity=severity, path=(at,) if at else (), help=help, fixes=fixes)


def _mismatch(arg: str, declared: int, actual: int, what: str) -> Diagnostic:
    return _issue(
        "shape-mismatch",
        f"`{arg}` is {declared} but the incoming tensor has {actual} {what if actual != 1 else what[:-1]}",
        arg,
        help=f"set `{arg}: {actual}`, or remove it and netspec infers it",
        fixes=(
            Fix(f"set `{arg}: {actual}`", (arg,), "set", actual),
            Fix(f"remove `{arg}` (inferred)", (arg,), "remove"),
        ),
    )


def _rank(layer: L.LayerBase, x: Dims, expected: str, help: str) -> Outcome:
    return Outcome(
        None,
        issues=[_issue("rank-mismatch", f"{layer.type} expects a {expected} input but gets {fmt_shape(x)}", help=help)],
    )


# Per number of spatial axes: their names, the input a layer expects, and where such an input comes from
AXES = {1: ("length",), 2: ("height", "width"), 3: ("depth", "height", "width")}
_LAYOUT = {1: "(N, C, L)", 2: "(N, C, H, W)", 3: "(N, C, D, H, W)"}
_DECLARE = {1: "[C, L]", 2: "[C, H, W]", 3: "[C, D, H, W]"}
_SPATIAL_HELP = "put Flatten after the last spatial layer, or declare `input: [C, H, W]`"


def _spatial_help(n: int) -> str:
    return f"put Flatten after the last spatial layer, or declare `input: {_DECLARE[n]}`"


def _slide(
    sizes: tuple[Dim, ...],
    length: Callable[[int, Dim], Dim],
    padding: tuple[int, ...],
    k: tuple[int, ...],
    d: tuple[int, ...],
) -> tuple[list[Dim], list[Diagnostic]]:
    """A sliding window's output size per axis (`length(axis, size)`); sizes of 0 or less are errors."""
    out: list[Dim] = []
    empty = {}
    for i, (axis, n) in enumerate(zip(AXES[len(sizes)], sizes)):
        o = length(i, n)
        if o is not None and o <= 0:
            empty[axis] = (o, n or 0, padding[i], k[i], d[i])
            o = None  # unknown from here on: later layers are judged on what is still known
        out.append(o)
    return out, _empty(empty, len(sizes))


def _empty(axes: dict[str, tuple[int, int, int, int, int]], n: int = 2) -> list[Diagnostic]:
    """Outputs of 0 or less, by axis: (out, size, padding, kernel, dilation); one error when all shrink alike."""
    if not axes:  # the usual case, on the hot path
        return []
    alike = n > 1 and len(axes) == n and len(set(axes.values())) == 1

    def sq(v: int) -> str:  # a square input and kernel read as one: 4 × 4
        return " × ".join([str(v)] * n) if alike else str(v)

    found = [("", next(iter(axes.values())))] if alike else [(f" {a}", v) for a, v in axes.items()]
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


def _groups(cin: Dim, out: int, g: int) -> list[Diagnostic]:
    issues = []
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
    return issues


def _in_channels(layer: Any, x: Dims) -> tuple[Dim, list[Diagnostic]]:
    """The convolution's input channels: given (and checked) or inferred."""
    c = x[0]
    if layer.in_channels is not None and c is not None and c != layer.in_channels:
        issue = _mismatch("in_channels", layer.in_channels, c, "channels")
        if len(x) >= 3 and x[-1] == layer.in_channels:  # (H, W, C), as numpy and Keras write an image
            first = [x[-1], *x[:-1]]
            issue = replace(
                issue,
                help=f"the tensor looks channels last, (height, width, channels) = {fmt_shape(x)}: torch takes"
                f" channels first; if it is the spec's `input`, write `input: {first}`",
                fixes=(),
            )
        return layer.in_channels, [issue]
    return (layer.in_channels if layer.in_channels is not None else c), []


# -- convolution -------------------------------------------------------------------------


def _conv_len(n: Dim, k: int, s: int, lo: int, hi: int, d: int) -> Dim:
    # H_out = floor((H + pad_lo + pad_hi - d(k-1) - 1) / s) + 1
    return None if n is None else (n + lo + hi - d * (k - 1) - 1) // s + 1


def _conv(layer: Any, x: Dims, n: int) -> Outcome:
    """Conv1d, Conv2d, Conv3d: (N, C, *n sizes) -> (N, out_channels, *n sizes)."""
    if len(x) != n + 1:
        return _rank(layer, x, f"{n + 2}-D {_LAYOUT[n]}", _spatial_help(n))
    sizes = list(x[1:])  # (C, *sizes): the channels are _in_channels' to judge
    cin, issues = _in_channels(layer, x)
    out, g = layer.out_channels, layer.groups
    issues += _groups(cin, out, g)
    k, s, d = ntuple(layer.kernel_size, n), ntuple(layer.stride, n), ntuple(layer.dilation, n)
    if layer.padding == "same" and s != (1,) * n:
        # torch refuses 'same' with a stride; the padding that centres the kernel is d(k-1)/2 per side, and
        # the check carries on with it, so the next layers see what the fix gives
        half = tuple(d[i] * (k[i] - 1) // 2 for i in range(n))
        pads = tuple((h, h) for h in half)
        issues.append(_same_with_stride(layer, sizes, k, s, d, half))
    elif layer.padding == "same":
        # torch pads d(k-1) in total, the extra one (if odd) on the bottom/right
        pads = tuple((d[i] * (k[i] - 1) // 2, d[i] * (k[i] - 1) - d[i] * (k[i] - 1) // 2) for i in range(n))
    else:
        p = (0,) * n if isinstance(layer.padding, str) else ntuple(layer.padding, n)  # "valid" is no padding
        pads = tuple((p[i], p[i]) for i in range(n))
    if layer.padding_mode in ("reflect", "circular"):
        # non-zero modes pad with F.pad first: reflect needs pad < size, circular pad <= size
        for axis, size, (lo, hi) in zip(AXES[n], sizes, pads):
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
    outs, empty = _slide(
        tuple(sizes), lambda i, m: _conv_len(m, k[i], s[i], *pads[i], d[i]), tuple(sum(p) for p in pads), k, d
    )
    issues += empty
    params = 0
    if cin is not None:
        params = out * (cin // g) * math.prod(k) + (out if layer.bias else 0)
    return Outcome(
        (out, *outs),
        params=params,
        mult_adds=params * _positions(outs),  # torchinfo: params x output positions
        window=tuple((d[i] * (k[i] - 1) + 1, s[i]) for i in range(n)),
        issues=issues,
        inferred={"in_channels": cin},
    )


def _same_with_stride(
    layer: Any, sizes: list[Dim], k: tuple[int, ...], s: tuple[int, ...], d: tuple[int, ...], half: tuple[int, ...]
) -> Diagnostic:
    """`padding: same` with a stride: the explicit padding torch would take instead, and the size it gives."""
    value: Any = half[0] if len(set(half)) == 1 else list(half)
    dilated = any(x != 1 for x in d)
    rule = "dilation × (kernel_size − 1) / 2" if dilated else "(kernel_size − 1) / 2"
    outs = [_conv_len(m, k[i], s[i], half[i], half[i], d[i]) for i, m in enumerate(sizes)]
    gives = f", which gives {fmt_shape((layer.out_channels, *outs))}" if None not in outs else ""
    odd = any(d[i] * (k[i] - 1) % 2 for i in range(len(k)))
    uneven = " (an even kernel cannot be centred: torch's 'same' would pad one side more)" if odd else ""
    return _issue(
        "invalid-value",
        f"`padding: same` needs stride 1, but `stride` is {show(layer.stride)}",
        "padding",
        help=f"write the padding out: `padding: {show(value)}` ({rule}){gives}{uneven}",
        fixes=(Fix(f"set `padding: {show(value)}`", ("padding",), "set", value),),
    )


def _positions(sizes: list[Dim]) -> int:
    """Output positions, 0 while a size is unknown (after an error)."""
    return math.prod(v for v in sizes if v is not None) if None not in sizes else 0


def conv1d(layer: L.Conv1d, x: Dims) -> Outcome:
    return _conv(layer, x, 1)


def conv2d(layer: L.Conv2d, x: Dims) -> Outcome:
    return _conv(layer, x, 2)


def conv3d(layer: L.Conv3d, x: Dims) -> Outcome:
    return _conv(layer, x, 3)


def _conv_transpose(layer: Any, x: Dims, n: int) -> Outcome:
    """ConvTranspose1d/2d/3d: H_out = (H - 1) s - 2p + d(k - 1) + output_padding + 1."""
    if len(x) != n + 1:
        return _rank(layer, x, f"{n + 2}-D {_LAYOUT[n]}", _spatial_help(n))
    sizes = list(x[1:])  # (C, *sizes): the channels are _in_channels' to judge
    cin, issues = _in_channels(layer, x)
    out, g = layer.out_channels, layer.groups
    issues += _groups(cin, out, g)
    k, s, d = ntuple(layer.kernel_size, n), ntuple(layer.stride, n), ntuple(layer.dilation, n)
    p, op = ntuple(layer.padding, n), ntuple(layer.output_padding, n)
    for i in range(n):
        if op[i] >= s[i] and op[i] >= d[i]:  # torch's own check
            issues.append(
                _issue(
                    "invalid-value",
                    f"`output_padding` ({show(layer.output_padding)}) must be smaller than `stride`"
                    f" ({show(layer.stride)}) or `dilation` ({show(layer.dilation)})",
                    "output_padding",
                    help="output_padding picks one of the `stride` sizes a strided convolution maps to the same"
                    " output: use 0 to stride - 1",
                )
            )
            break

    def length(i: int, m: Dim) -> Dim:
        return None if m is None else (m - 1) * s[i] - 2 * p[i] + d[i] * (k[i] - 1) + op[i] + 1

    outs = [length(i, m) for i, m in enumerate(sizes)]
    for i, (axis, m, o) in enumerate(zip(AXES[n], sizes, outs)):
        if m is not None and o is not None and o <= 0:  # torch returns 0 as an empty tensor; netspec refuses it
            issues.append(_transposed_empty(layer, n, axis, m, o, (k[i], s[i], p[i], d[i], op[i])))
            outs[i] = None  # unknown from here on
            break
    params = 0
    if cin is not None:
        params = cin * (out // g) * math.prod(k) + (out if layer.bias else 0)
    return Outcome(
        (out, *outs),
        params=params,
        mult_adds=params * _positions(outs),  # torchinfo: params x output positions
        spatial=False,  # an upsampling: the receptive field is not followed through it
        issues=issues,
        inferred={"in_channels": cin},
    )


def conv_transpose1d(layer: L.ConvTranspose1d, x: Dims) -> Outcome:
    return _conv_transpose(layer, x, 1)


def conv_transpose2d(layer: L.ConvTranspose2d, x: Dims) -> Outcome:
    return _conv_transpose(layer, x, 2)


def conv_transpose3d(layer: L.ConvTranspose3d, x: Dims) -> Outcome:
    return _conv_transpose(layer, x, 3)


def _transposed_empty(layer: Any, n: int, axis: str, m: int, o: int, args: tuple[int, ...]) -> Diagnostic:
    """A transposed convolution's `padding` crops its output: the formula with the user's numbers, and the most
    padding this axis allows."""
    k, s, p, d, op = args
    grown = (m - 1) * s + d * (k - 1) + op  # the size before the crop, less one
    where = f" {axis}" if n > 1 else ""
    return _issue(
        "empty-output",
        f"the output{where} would be {o}: ({m} - 1) × stride {s} - 2 × padding {p} + dilation {d} × (kernel_size"
        f" {k} - 1) + output_padding {op} + 1 = {o}",
        "padding",
        help=f"a transposed convolution's `padding` removes size: use padding {grown // 2}"
        + (" or less" if grown // 2 else "")
        + ", or a larger `kernel_size` or `stride`",
    )


# -- pooling -----------------------------------------------------------------------------


def _pool_len(n: Dim, k: int, s: int, p: int, d: int, ceil: bool) -> Dim:
    if n is None:
        return None
    out = (n + 2 * p - d * (k - 1) - 1 + (s - 1 if ceil else 0)) // s + 1
    if ceil and (out - 1) * s >= n + p:
        out -= 1  # torch drops a last window that would start in the right padding
    return out


def _pool(layer: Any, x: Dims, dilation: int | tuple[int, ...], n: int, padding: Any = None) -> Outcome:
    """Max/avg/LP pooling over n axes: (N, C, *sizes), or unbatched (N, *sizes) as torch reads it."""
    if len(x) not in (n, n + 1):
        return _rank(layer, x, f"{n + 1}-D or {n + 2}-D {_LAYOUT[n]}", _spatial_help(n))
    lead, sizes = x[: len(x) - n], x[len(x) - n :]
    k = ntuple(layer.kernel_size, n)
    s = ntuple(layer.stride if layer.stride is not None else layer.kernel_size, n)
    p = ntuple(padding if padding is not None else 0, n)
    dil = ntuple(dilation, n)
    issues: list[Diagnostic] = []
    if any(p[i] > k[i] // 2 for i in range(n)):
        # torch compares with kernel_size // 2, ignoring dilation
        half = [v // 2 for v in k]
        issues.append(
            _issue(
                "padding-too-large",
                f"`padding` ({show(padding)}) must be at most half of `kernel_size` ({show(layer.kernel_size)}),"
                f" rounded down: {half[0] if len(set(half)) == 1 else show(half)}",
                "padding",
                help="use a smaller padding or a larger kernel_size",
            )
        )
    outs, empty = _slide(
        tuple(sizes),
        lambda i, m: _pool_len(m, k[i], s[i], p[i], dil[i], layer.ceil_mode),
        tuple(2 * v for v in p),
        k,
        dil,
    )
    window = tuple((dil[i] * (k[i] - 1) + 1, s[i]) for i in range(n))
    return Outcome((*lead, *outs), window=window, issues=issues + empty)


def max_pool(layer: L.MaxPool1d | L.MaxPool2d | L.MaxPool3d, x: Dims) -> Outcome:
    return _pool(layer, x, layer.dilation, layer.spatial, layer.padding)


def avg_pool(layer: L.AvgPool1d | L.AvgPool2d | L.AvgPool3d, x: Dims) -> Outcome:
    outcome = _pool(layer, x, 1, layer.spatial, layer.padding)
    if layer.spatial == 3 and outcome.dims is not None:
        # torch's avg_pool3d also wants every input size at least the kernel's, whatever the padding
        k = ntuple(layer.kernel_size, 3)
        for axis, size, kk in zip(AXES[3], x[-3:], k):
            if size is not None and size < kk and not any(d.code == "empty-output" for d in outcome.issues):
                outcome.issues.append(
                    _issue(
                        "empty-output",
                        f"AvgPool3d needs an input at least as large as its kernel, padding aside: the input {axis}"
                        f" {size} is smaller than the kernel ({kk})",
                        "kernel_size",
                        help="use a smaller `kernel_size`, or give the network a larger `input`",
                    )
                )
                outcome.dims = None
                break
    return outcome


def lp_pool(layer: L.LPPool1d | L.LPPool2d, x: Dims) -> Outcome:
    """LPPool: an avg_pool of x^p without padding (torch pads nothing), then the p-th root."""
    if len(x) not in (layer.spatial, layer.spatial + 1):
        return _rank(layer, x, f"{layer.spatial + 1}-D or {layer.spatial + 2}-D {_LAYOUT[layer.spatial]}", "")
    return _pool(layer, x, 1, layer.spatial)


def adaptive_pool(layer: Any, x: Dims) -> Outcome:
    n = layer.spatial
    target = ntuple(layer.output_size, n)
    # ATen averages to size 1 as a mean over the last n dims, whatever leads them (2-D and 3-D only)
    mean = layer.type in ("AdaptiveAvgPool2d", "AdaptiveAvgPool3d") and all(o == 1 for o in target)
    if len(x) not in (n, n + 1) and not (mean and len(x) > n):
        return _rank(layer, x, f"{n + 1}-D or {n + 2}-D {_LAYOUT[n]}", _spatial_help(n))
    lead, sizes = x[: len(x) - n], x[len(x) - n :]
    out = [m if o is None else o for m, o in zip(sizes, target)]  # null keeps the input size

    def window(m: Dim, o: Dim) -> tuple[int, int]:
        if m is None or o is None:
            return (1, 1)
        if m % o == 0:
            return (m // o, m // o)
        # uneven windows: the largest one, and the largest step between starts
        step = -(-m // o)
        return (min(m, step + 1), step)

    return Outcome((*lead, *out), window=tuple(window(m, o) for m, o in zip(sizes, out)))


# -- normalisation, reshaping, dense -----------------------------------------------------


def _channel_norm(layer: Any, x: Dims, given: str = "num_features") -> tuple[Dim, list[Diagnostic]]:
    """The channels (dim 1) a normalisation gets: its argument, checked, or inferred."""
    c = x[0]
    declared = getattr(layer, given)
    issues = []
    if declared is not None and c is not None and c != declared:
        issue = _mismatch(given, declared, c, "channels")
        if not getattr(layer, "affine", True) and not getattr(layer, "track_running_stats", False):
            # torch has no per-channel tensor to check against here, so it runs: warn, as it won't
            issue = replace(
                issue,
                severity="warning",
                message=issue.message + " (torch runs it: the layer has no per-channel weights or statistics to check)",
            )
        issues.append(issue)
    return (declared if declared is not None else c), issues


_BATCH_NORM_RANK = {
    1: ((1, 2), "2-D (N, C) or 3-D (N, C, L)", "BatchNorm1d normalises vectors and signals; for images, BatchNorm2d"),
    2: ((3,), "4-D (N, C, H, W)", "BatchNorm2d normalises images; for vectors, remove it"),
    3: ((4,), "5-D (N, C, D, H, W)", "BatchNorm3d normalises volumes; for images, BatchNorm2d"),
}


def batch_norm(layer: L.BatchNorm1d | L.BatchNorm2d | L.BatchNorm3d, x: Dims) -> Outcome:
    ranks, expected, help = _BATCH_NORM_RANK[layer.spatial]
    if len(x) not in ranks:
        return _rank(layer, x, expected, help)
    channels, issues = _channel_norm(layer, x)
    params = 2 * channels if layer.affine and channels is not None else 0  # weight and bias
    return Outcome(x, params=params, mult_adds=params, issues=issues, inferred={"num_features": channels})


def instance_norm(layer: L.InstanceNorm1d | L.InstanceNorm2d | L.InstanceNorm3d, x: Dims) -> Outcome:
    """Batched only: torch would read an (N, C) input to InstanceNorm1d as one unbatched (C, L) sample."""
    n = layer.spatial
    if len(x) != n + 1:
        return _rank(layer, x, f"{n + 2}-D {_LAYOUT[n]}", _spatial_help(n))
    channels, issues = _channel_norm(layer, x)
    if all(d is not None for d in x[1:]) and math.prod(d for d in x[1:] if d is not None) == 1:
        issues.append(
            _issue(
                "invalid-value",
                f"{layer.type} normalises each channel over its positions, but this {fmt_shape(x)} input has one",
                help="give it more than one position per channel (torch refuses one when it trains)",
            )
        )
    params = 2 * channels if layer.affine and channels is not None else 0
    return Outcome(x, params=params, mult_adds=params, issues=issues, inferred={"num_features": channels})


def layer_norm(layer: L.LayerNorm, x: Dims) -> Outcome:
    """Normalises over the last dims: `normalized_shape` must be their sizes (inferred: the last dim)."""
    if layer.normalized_shape is None:
        shape: tuple[Dim, ...] = (x[-1],)
    else:
        shape = (layer.normalized_shape,) if isinstance(layer.normalized_shape, int) else layer.normalized_shape
    issues = []
    if len(shape) > len(x):
        return _rank(layer, x, f"input with at least {len(shape)} dims after the batch", "check `normalized_shape`")
    tail = x[len(x) - len(shape) :]
    if all(t is not None for t in tail) and tail != shape:
        issues.append(
            _issue(
                "shape-mismatch",
                f"`normalized_shape` is {show(list(shape))} but the last dims of the incoming tensor are"
                f" {show(list(tail))}",
                "normalized_shape",
                help=f"set `normalized_shape: {show(list(tail)) if len(tail) > 1 else tail[0]}`, or remove it"
                " (netspec then normalises over the last dim)",
            )
        )
    size = math.prod(d for d in shape if d is not None) if None not in shape else None
    params = size * (2 if layer.bias else 1) if layer.elementwise_affine and size is not None else 0
    inferred = shape[0] if layer.normalized_shape is None else layer.normalized_shape
    return Outcome(x, params=params, mult_adds=params, issues=issues, inferred={"normalized_shape": inferred})


def group_norm(layer: L.GroupNorm, x: Dims) -> Outcome:
    channels, issues = _channel_norm(layer, x, "num_channels")
    g = layer.num_groups
    # torch divides both: `num_channels` when it makes the layer, the channels it gets when it runs
    for count in dict.fromkeys(c for c in (channels, x[0]) if c is not None):
        if count % g:
            divisors = [d for d in range(1, min(count, 64) + 1) if count % d == 0]
            issues.append(
                _issue(
                    "invalid-value",
                    f"`num_groups` ({g}) must divide the {count} channels",
                    "num_groups",
                    help=f"use a divisor of {count}: " + ", ".join(map(str, divisors)),
                )
            )
            break
    params = 2 * channels if layer.affine and channels is not None else 0
    return Outcome(x, params=params, mult_adds=params, issues=issues, inferred={"num_channels": channels})


def local_response_norm(layer: L.LocalResponseNorm, x: Dims) -> Outcome:
    if len(x) < 2:
        return _rank(layer, x, "3-D or larger (N, C, ...)", "LocalResponseNorm works across the channels of images")
    return Outcome(x)


def dropout1d(layer: L.Dropout1d, x: Dims) -> Outcome:
    """Drops whole channels of (N, C, L) (or of (N, C), which torch reads as one unbatched sample).

    Dropout2d and Dropout3d take any input, as torch does (with a deprecation warning of its own).
    """
    if len(x) not in (1, 2):
        return _rank(layer, x, "2-D or 3-D (N, C, L)", _spatial_help(1))
    return Outcome(x)


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
    whole = math.prod(d for d in x if d is not None) if None not in x else None
    if len(x) > 1 and layer.in_features is not None and layer.in_features == whole != x[-1]:
        return _unflattened(layer, x)
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
                fixes=(Fix("add `- Flatten` before it", (), "insert", "Flatten"),),
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


def _unflattened(layer: L.Linear, x: Dims) -> Outcome:
    """`in_features` equal to C × H × W of an unflattened input: the Flatten is missing, not the size wrong."""
    flat = " × ".join(str(d) for d in x)
    issue = _issue(
        "missing-flatten",
        f"a Flatten is missing: `in_features` is {layer.in_features} = {flat}, the whole {fmt_shape(x)} input,"
        f" but Linear acts on its last dimension ({x[-1]})",
        "in_features",
        help="add `- Flatten` before this layer",
        fixes=(Fix("add `- Flatten` before it", (), "insert", "Flatten"),),
    )
    params = layer.out_features * (layer.in_features or 0) + (layer.out_features if layer.bias else 0)
    # checking carries on as the fix would have it: (N, in_features) -> (N, out_features)
    return Outcome((layer.out_features,), params=params, mult_adds=params, spatial=False, issues=[issue], inferred={})


def softmax(layer: L.Softmax | L.Softmin | L.LogSoftmax, x: Dims) -> Outcome:
    rank = len(x) + 1
    if layer.dim is None:
        implicit = 0 if rank in (1, 3) else 1  # torch's legacy _get_softmax_dim
        over = "the batch dimension" if implicit == 0 else f"dim {implicit}"
        dim = -1 if rank == 3 else 1
        issue = _issue(
            "implicit-dim",
            f"{layer.type} without `dim` normalises over {over} of this {fmt_shape(x)} input"
            " (torch's implicit choice, deprecated)",
            severity="warning",
            help=f"set `dim: {dim}` explicitly",
            fixes=(Fix(f"set `dim: {dim}`", ("dim",), "set", dim),),
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


def _dim_index(layer: Any, x: Dims, arg: str = "dim") -> tuple[int | None, list[Diagnostic]]:
    """A `dim` argument against the tensor with its batch: out of range is a rank-mismatch."""
    rank = len(x) + 1
    v = getattr(layer, arg)
    if not -rank <= v < rank:
        return None, [
            _issue(
                "rank-mismatch",
                f"`{arg}` ({v}) is out of range for the {fmt_shape(x)} input, whose dims are {-rank} to {rank - 1}",
                arg,
            )
        ]
    return v + rank if v < 0 else v, []


def glu(layer: L.GLU, x: Dims) -> Outcome:
    """Halves `dim`: the first half gated by the sigmoid of the second."""
    d, issues = _dim_index(layer, x)
    if d is None:
        return Outcome(None, issues=issues)
    if d == 0:
        return Outcome(
            None,
            issues=[
                _issue(
                    "invalid-value",
                    "`dim: 0` would halve the batch",
                    "dim",
                    help="use `dim: -1` (the default, the features) or `dim: 1` (the channels)",
                )
            ],
        )
    size = x[d - 1]
    if size is not None and size % 2:
        return Outcome(
            None,
            issues=[
                _issue(
                    "invalid-value",
                    f"GLU halves dim {d}, but it has {size} values, an odd number",
                    "dim",
                    help="give that dim an even size (e.g. the layer before it twice as many outputs as GLU's)",
                )
            ],
        )
    out = (*x[: d - 1], None if size is None else size // 2, *x[d:])
    return Outcome(out, spatial=d == 1)


def prelu(layer: L.PReLU, x: Dims) -> Outcome:
    """One slope, or one per channel (dim 1)."""
    c = x[0]
    n = layer.num_parameters
    issues = []
    if n != 1 and c is not None and n != c:
        issues.append(
            _issue(
                "shape-mismatch",
                f"`num_parameters` is {n} but the incoming tensor has {c} channels (dim 1)",
                "num_parameters",
                help=f"set `num_parameters: {c}` (a slope per channel), or 1 (one slope for all)",
            )
        )
    return Outcome(x, params=n, mult_adds=n, issues=issues)


def hardtanh(layer: L.Hardtanh, x: Dims) -> Outcome:
    if layer.max_val <= layer.min_val:
        return Outcome(
            None,
            issues=[
                _issue(
                    "invalid-value",
                    f"`max_val` ({layer.max_val:g}) must be greater than `min_val` ({layer.min_val:g})",
                    "max_val",
                )
            ],
        )
    return Outcome(x)


# -- resizing and reshaping ----------------------------------------------------------------------------

_MODE_RANK = {"linear": 1, "bilinear": 2, "bicubic": 2, "trilinear": 3}  # the spatial axes each mode needs
_INTERPOLATING = ("linear", "bilinear", "bicubic", "trilinear")


def upsample(layer: L.Upsample, x: Dims) -> Outcome:
    """F.interpolate: a given `size`, or floor(size × scale_factor) per spatial axis."""
    n = len(x) - 1  # spatial axes
    if n not in (1, 2, 3):
        return _rank(layer, x, "3-D, 4-D or 5-D (N, C, L), (N, C, H, W) or (N, C, D, H, W)", _spatial_help(2))
    if (layer.size is None) == (layer.scale_factor is None):
        return _bad("size", "give `size` or `scale_factor`, not " + ("both" if layer.size is not None else "neither"))
    need = _MODE_RANK.get(layer.mode)
    if need is not None and need != n:
        right = next(m for m, k in _MODE_RANK.items() if k == n) if n in _MODE_RANK.values() else "nearest"
        return _bad(
            "mode", f"`mode: {layer.mode}` needs {need} spatial axes, but the input has {n}", f"use `mode: {right}`"
        )
    if layer.align_corners is not None and layer.mode not in _INTERPOLATING:
        return _bad(
            "align_corners",
            "`align_corners` applies to the interpolating modes (linear, bilinear, bicubic, trilinear),"
            f" not {layer.mode}",
            "remove `align_corners`",
        )
    if layer.recompute_scale_factor and layer.size is not None:
        return _bad("recompute_scale_factor", "`recompute_scale_factor` has no meaning with a `size`")
    spatial = x[1:]
    if layer.size is not None:
        if isinstance(layer.size, tuple) and len(layer.size) != n:
            return _bad("size", f"`size` gives {len(layer.size)} sizes for an input of {n} spatial axes")
        outs: list[Dim] = list(ntuple(layer.size, n))
    else:
        scale = layer.scale_factor
        assert scale is not None  # one of size and scale_factor, checked above
        if isinstance(scale, tuple) and len(scale) != n:
            return _bad("scale_factor", f"`scale_factor` gives {len(scale)} factors for an input of {n} spatial axes")
        factors = scale if isinstance(scale, tuple) else (scale,) * n
        # in double precision, as torch computes it
        outs = [None if m is None else math.floor(float(m) * f) for m, f in zip(spatial, factors)]
        for axis, m, o in zip(AXES[n], spatial, outs):
            if o is not None and o <= 0:
                return _bad(
                    "scale_factor",
                    f"the output {axis} would be {o}: {m} × {show(scale)} rounds down to nothing",
                    "use a larger `scale_factor`",
                )
    return Outcome((x[0], *outs), spatial=False)


def _bad(arg: str, message: str, help: str | None = None) -> Outcome:
    return Outcome(None, issues=[_issue("invalid-value", message, arg, help=help)])


def pixel_shuffle(layer: L.PixelShuffle, x: Dims) -> Outcome:
    """(N, C·r², H, W) -> (N, C, H·r, W·r)."""
    if len(x) < 3:
        return _rank(layer, x, "4-D (N, C, H, W)", _spatial_help(2))
    r = layer.upscale_factor
    *lead, c, h, w = x
    if c is not None and c % (r * r):
        return _bad(
            "upscale_factor",
            f"PixelShuffle({r}) needs channels divisible by {r * r} (upscale_factor squared), but gets {c}",
            f"give the layer before it a multiple of {r * r} channels",
        )
    out = (*lead, None if c is None else c // (r * r), None if h is None else h * r, None if w is None else w * r)
    return Outcome(out, spatial=False)


def pixel_unshuffle(layer: L.PixelUnshuffle, x: Dims) -> Outcome:
    """(N, C, H·r, W·r) -> (N, C·r², H, W)."""
    if len(x) < 3:
        return _rank(layer, x, "4-D (N, C, H, W)", _spatial_help(2))
    r = layer.downscale_factor
    *lead, c, h, w = x
    for axis, size in (("height", h), ("width", w)):
        if size is not None and size % r:
            return _bad(
                "downscale_factor",
                f"PixelUnshuffle({r}) needs a {axis} divisible by {r}, but gets {size}",
                "resize or pad the input to a multiple of the factor",
            )
    out = (*lead, None if c is None else c * r * r, None if h is None else h // r, None if w is None else w // r)
    return Outcome(out, window=((r, r), (r, r)))


def unflatten(layer: L.Unflatten, x: Dims) -> Outcome:
    d, issues = _dim_index(layer, x)
    if d is None:
        return Outcome(None, issues=issues)
    if d == 0:
        return _bad("dim", "`dim: 0` would split the batch", "use `dim: 1`: netspec keeps dim 0 as the batch")
    size = x[d - 1]
    sizes = layer.unflattened_size
    known = math.prod(v for v in sizes if v != -1)
    if size is not None:
        fits = size % known == 0 if -1 in sizes else size == known
        if not fits:
            return _bad(
                "unflattened_size",
                f"`unflattened_size` {show(list(sizes))} does not multiply up to dim {d}'s {size} values",
                f"give sizes whose product is {size}",
            )
    filled = tuple(None if v == -1 and size is None else (size // known if v == -1 and size else v) for v in sizes)
    return Outcome((*x[: d - 1], *filled, *x[d:]), spatial=False)


def elementwise(layer: L.LayerBase, x: Dims) -> Outcome:
    return Outcome(x)


# -- padding layers ----------------------------------------------------------------------


def pad2d(layer: Any, x: Dims) -> Outcome:
    """Pads the last two dims: of (N, C, H, W) or (N, H, W); constant padding of any larger tensor too."""
    constant = layer.type in ("ZeroPad2d", "ConstantPad2d")
    if len(x) < 2 or (not constant and len(x) > 3):
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


# -- sequences: (N, L) token ids -> (N, L, F) features -> recurrent and attention layers ----------------


def embedding(layer: L.Embedding, x: Dims) -> Outcome:
    """Token ids (*dims) below the input's vocabulary -> (*dims, embedding_dim): a row of the table per id."""
    vocab = x.vocab if isinstance(x, Tokens) else None
    issues: list[Diagnostic] = []
    rows = layer.num_embeddings if layer.num_embeddings is not None else vocab
    if layer.num_embeddings is not None and vocab is not None and vocab > layer.num_embeddings:
        issues.append(
            _issue(
                "shape-mismatch",
                f"`num_embeddings` is {layer.num_embeddings:,} but the input's token ids go up to {vocab - 1:,}"
                f" (`tokens: {vocab}`)",
                "num_embeddings",
                help=f"set `num_embeddings: {vocab}`, or remove it and netspec infers it",
                fixes=(
                    Fix(f"set `num_embeddings: {vocab}`", ("num_embeddings",), "set", vocab),
                    Fix("remove `num_embeddings` (inferred)", ("num_embeddings",), "remove"),
                ),
            )
        )
    pad = layer.padding_idx
    if pad is not None and rows is not None and not -rows <= pad < rows:
        issues.append(
            _issue(
                "invalid-value",
                f"`padding_idx` ({pad}) must be a row of the table: {-rows} to {rows - 1}",
                "padding_idx",
                help="use the id of the padding token, usually 0",
            )
        )
    params = rows * layer.embedding_dim if rows is not None else 0
    # torchinfo counts the table once per sample (its weight, not a multiply)
    return Outcome(
        (*x, layer.embedding_dim),
        params=params,
        mult_adds=params,
        spatial=False,
        issues=issues,
        inferred={"num_embeddings": rows},
    )


_SEQUENCE_HELP = (
    "a sequence layer reads (N, L, F): declare `input: {shape: [L, F], dims: [L, F]}`, or put an Embedding before it"
)
_GATES = {"RNN": 1, "GRU": 3, "LSTM": 4}  # weight blocks per layer: gates stacked in one matrix


def _batch_first(layer: Any) -> Diagnostic:
    return _issue(
        "invalid-value",
        f"`batch_first: false` (torch's default) makes {layer.type} read dim 0, the batch, as the steps",
        "batch_first",
        help="set `batch_first: true`: netspec's tensors carry the batch first, (N, L, F)",
        fixes=(Fix("set `batch_first: true`", ("batch_first",), "set", True),),
    )


def _features(layer: Any, arg: str, f: Dim) -> tuple[Dim, list[Diagnostic]]:
    declared = getattr(layer, arg)
    if declared is not None and f is not None and declared != f:
        return declared, [_mismatch(arg, declared, f, "features")]
    return (declared if declared is not None else f), []


def recurrent(layer: L.RNN | L.LSTM | L.GRU, x: Dims) -> Outcome:
    """(N, L, F) -> (N, L, D·H) for `output: sequence`, or the top layer's final state (N, D·H) for `last`."""
    if len(x) != 2:
        return _rank(layer, x, "3-D (N, L, F)", _SEQUENCE_HELP)
    steps, f = x
    fin, issues = _features(layer, "input_size", f)
    if not layer.batch_first:
        issues.append(_batch_first(layer))
    h = layer.hidden_size
    proj = getattr(layer, "proj_size", 0)
    if proj >= h:
        issues.append(
            _issue(
                "invalid-value",
                f"`proj_size` ({proj}) must be smaller than `hidden_size` ({h})",
                "proj_size",
                help="project the hidden state to fewer features, or set `proj_size: 0` (no projection)",
            )
        )
    out = proj or h  # each direction's output features
    directions = 2 if layer.bidirectional else 1
    gates = _GATES[layer.type] * h
    params = 0
    if fin is not None:
        for i in range(layer.num_layers):
            size = fin if i == 0 else directions * out  # a stacked layer reads both directions of the one below
            per = gates * size + gates * out + (2 * gates if layer.bias else 0) + (out * h if proj else 0)
            params += directions * per
    dims: Dims = (steps, directions * out) if layer.output == "sequence" else (directions * out,)
    return Outcome(
        dims,
        params=params,
        mult_adds=params * (steps or 0),  # torchinfo: every weight once per step
        spatial=False,
        issues=issues,
        inferred={"input_size": fin},
    )


def _encoder_layer(layer: L.TransformerEncoderLayer, x: Dims) -> Outcome:
    """(N, L, d_model) -> (N, L, d_model): self-attention and a feed-forward Linear pair, each with a LayerNorm."""
    if len(x) != 2:
        return _rank(layer, x, "3-D (N, L, d_model)", _SEQUENCE_HELP)
    d, issues = _features(layer, "d_model", x[-1])
    if not layer.batch_first:
        issues.append(_batch_first(layer))
    if d is not None and d % layer.nhead:
        divisors = [v for v in range(1, min(d, 64) + 1) if d % v == 0]
        issues.append(
            _issue(
                "invalid-value",
                f"`d_model` ({d}) must be divisible by `nhead` ({layer.nhead}): each head attends over d_model / nhead"
                " features",
                "nhead",
                help=f"use an `nhead` that divides {d}: " + ", ".join(map(str, divisors)),
            )
        )
    if d is None:
        return Outcome(x, spatial=False, issues=issues)
    ff, b = layer.dim_feedforward, int(layer.bias)
    attention = 3 * d * d + 3 * d * b + d * d + d * b  # in_proj (q, k, v) and out_proj
    linears = ff * d + ff * b + d * ff + d * b  # linear1, linear2
    norms = 2 * (d + d * b)  # norm1, norm2
    steps = x[0] or 0
    return Outcome(
        (x[0], d),
        params=attention + linears + norms,
        # torchinfo: the Linears at every step, the LayerNorms once; the attention, not a leaf module, counts nothing
        mult_adds=linears * steps + norms,
        spatial=False,
        issues=issues,
        inferred={"d_model": d},
    )


def transformer_encoder_layer(layer: L.TransformerEncoderLayer, x: Dims) -> Outcome:
    return _encoder_layer(layer, x)


def transformer_encoder(layer: L.TransformerEncoder, x: Dims) -> Outcome:
    """`num_layers` copies of `encoder_layer`, then `norm`: (N, L, d_model) throughout."""
    if len(x) != 2:
        return _rank(layer, x, "3-D (N, L, d_model)", _SEQUENCE_HELP)
    inner = _encoder_layer(layer.encoder_layer, x)
    issues = [_within("encoder_layer", d) for d in inner.issues]
    if inner.dims is None:
        return Outcome(None, issues=issues)
    args = {**params_of(layer.encoder_layer), **inner.inferred}
    params, mult_adds = layer.num_layers * inner.params, layer.num_layers * inner.mult_adds
    norm = None
    if layer.norm is not None:
        after = layer_norm(layer.norm, inner.dims)
        issues += [_within("norm", d) for d in after.issues]
        params, mult_adds = params + after.params, mult_adds + after.mult_adds
        norm = {**params_of(layer.norm), **after.inferred}
    return Outcome(
        inner.dims,
        params=params,
        mult_adds=mult_adds,
        spatial=False,
        issues=issues,
        inferred={"encoder_layer": args, "norm": norm},
    )


def _within(arg: str, d: Diagnostic) -> Diagnostic:
    """A diagnostic of a nested record, placed under the argument that holds it."""
    return replace(d, path=(arg, *d.path), fixes=tuple(replace(f, path=(arg, *f.path)) for f in d.fixes))


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
        help, fix = (
            _shortcut(x, a) if identity_shortcut else (f"make {label} give {fmt_shape(a)}, as {first} does", None)
        )
        return a, [_issue("branch-mismatch", message, help=help, fixes=(fix,) if fix else ())]
    return _merge([a, *(b for _, b in rest)]), []


def _shortcut(x: Dims, body: Dims) -> tuple[str, Fix | None]:
    """The torchvision downsample that makes an identity shortcut match the body: a 1×1 Conv2d and a BatchNorm2d
    (the help, and the fix that adds it)."""
    if len(x) == 3 and len(body) == 3 and None not in x and None not in body:
        _, h, w = x
        out, oh, ow = body
        assert h is not None and w is not None and out is not None
        stride = next((s for s in range(1, max(h, w) + 1) if ((h - 1) // s + 1, (w - 1) // s + 1) == (oh, ow)), None)
        if stride is not None:
            conv = f"{{type: Conv2d, out_channels: {out}, kernel_size: 1" + (
                f", stride: {stride}" if stride > 1 else ""
            )
            strided = {"stride": stride} if stride > 1 else {}
            layers = [
                {"type": "Conv2d", "out_channels": out, "kernel_size": 1, **strided, "bias": False},
                "BatchNorm2d",
            ]
            return (
                f"give the block a shortcut that matches: `shortcut: [{conv}, bias: false}}, BatchNorm2d]`",
                Fix("add the shortcut (a 1×1 Conv2d and a BatchNorm2d)", ("shortcut",), "set", layers),
            )
    return f"give the block a `shortcut` whose output is {fmt_shape(body)}, as the body's is", None


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

# One rule per kind, by the spec's `type`: the records may be pydantic's (layers.py) or the fast path's.
RULES: dict[str, Rule] = {
    "Conv1d": conv1d,
    "Conv2d": conv2d,
    "Conv3d": conv3d,
    "ConvTranspose1d": conv_transpose1d,
    "ConvTranspose2d": conv_transpose2d,
    "ConvTranspose3d": conv_transpose3d,
    "MaxPool1d": max_pool,
    "MaxPool2d": max_pool,
    "MaxPool3d": max_pool,
    "AvgPool1d": avg_pool,
    "AvgPool2d": avg_pool,
    "AvgPool3d": avg_pool,
    "LPPool1d": lp_pool,
    "LPPool2d": lp_pool,
    "AdaptiveAvgPool1d": adaptive_pool,
    "AdaptiveAvgPool2d": adaptive_pool,
    "AdaptiveAvgPool3d": adaptive_pool,
    "AdaptiveMaxPool1d": adaptive_pool,
    "AdaptiveMaxPool2d": adaptive_pool,
    "AdaptiveMaxPool3d": adaptive_pool,
    "Upsample": upsample,
    "PixelShuffle": pixel_shuffle,
    "PixelUnshuffle": pixel_unshuffle,
    "Flatten": flatten,
    "Unflatten": unflatten,
    "ZeroPad2d": pad2d,
    "ConstantPad2d": pad2d,
    "ReflectionPad2d": pad2d,
    "ReplicationPad2d": pad2d,
    "BatchNorm1d": batch_norm,
    "BatchNorm2d": batch_norm,
    "BatchNorm3d": batch_norm,
    "InstanceNorm1d": instance_norm,
    "InstanceNorm2d": instance_norm,
    "InstanceNorm3d": instance_norm,
    "LayerNorm": layer_norm,
    "GroupNorm": group_norm,
    "LocalResponseNorm": local_response_norm,
    "Dropout1d": dropout1d,
    "Linear": linear,
    "PReLU": prelu,
    "Hardtanh": hardtanh,
    "GLU": glu,
    "Softmax": softmax,
    "Softmin": softmax,
    "LogSoftmax": softmax,
    "Embedding": embedding,
    "RNN": recurrent,
    "LSTM": recurrent,
    "GRU": recurrent,
    "TransformerEncoderLayer": transformer_encoder_layer,
    "TransformerEncoder": transformer_encoder,
    **{
        kind: elementwise
        for kind in (
            "Dropout",
            "Dropout2d",
            "Dropout3d",
            "AlphaDropout",
            "Identity",
            "ReLU",
            "ReLU6",
            "LeakyReLU",
            "ELU",
            "CELU",
            "SELU",
            "GELU",
            "SiLU",
            "Mish",
            "Hardswish",
            "Hardsigmoid",
            "Softplus",
            "Sigmoid",
            "Tanh",
        )
    },
}
