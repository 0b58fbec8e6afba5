"""Everything a user reads: diagnostics (full and concise), the layer table, and JSON."""

from __future__ import annotations

import unicodedata
from typing import Any

import click

from .diagnostics import Diagnostic, path_str
from .report import LayerReport, ShapeReport
from .source import display_width

_MAX_LINE = 160  # longer source lines are shown as a window around the caret


# -- diagnostics -------------------------------------------------------------------------


def diagnostic(d: Diagnostic) -> str:
    """rustc-style: header, location, the user's line with a caret, notes and help."""
    colour = "red" if d.is_error else "yellow"
    header = click.style(f"{d.severity}[{d.code}]", fg=colour, bold=True) + click.style(
        f": {_escaped(d.message)}", bold=True
    )
    lines = [header]
    span = d.span
    gutter = len(str(span.line)) if span else 1
    bar = click.style(" " * gutter + " |", fg="blue", bold=True)
    arrow = click.style(" " * gutter + "-->", fg="blue", bold=True)
    if span is not None:
        lines.append(f"{arrow} {span.source}:{span.line}:{span.col}")
        text, start, width = _window(span.text, span.col - 1, span.end_col - span.col)
        lines.append(bar)
        lines.append(click.style(f"{span.line} |", fg="blue", bold=True) + f" {text}".rstrip())
        lines.append(bar + " " + " " * start + click.style("^" * width, fg=colour, bold=True))
    elif d.source is not None:
        where = f"{d.source}" + (f" ({path_str(d.path)})" if d.path else "")
        lines.append(f"{arrow} {where}")
    elif d.path:
        lines.append(f"{arrow} {path_str(d.path)}")
    for note in d.notes:
        lines.append(f"{' ' * gutter} {click.style('=', fg='blue', bold=True)} note: {_escaped(note)}")
    if d.help:
        lines.append(f"{' ' * gutter} {click.style('=', fg='blue', bold=True)} help: {_escaped(d.help)}")
    return "\n".join(lines)


def _window(text: str, col: int, length: int) -> tuple[str, int, int]:
    """The displayed line, the caret's display column and its display width."""
    if len(text) > _MAX_LINE:
        lo = max(0, col - _MAX_LINE // 2)
        hi = min(len(text), lo + _MAX_LINE)
        prefix = "…" if lo > 0 else ""
        text = prefix + text[lo:hi] + ("…" if hi < len(text) else "")
        col = col - lo + len(prefix)
        length = min(length, hi - (col - len(prefix) + lo))
    start = display_width(_visible(text[:col]))
    width = max(1, display_width(_visible(text[col : col + max(length, 1)])))
    return _visible(text), start, width


def _escaped(text: str) -> str:
    """Control characters in a message (quoted from the user's file) as escapes such as \\x1b, never raw."""
    return "".join(
        ch.encode("unicode_escape").decode() if unicodedata.category(ch) in ("Cc", "Cf") else ch for ch in text
    )


def _visible(text: str) -> str:
    """Tabs as spaces, control characters as �: a binary file's line must not drive the terminal."""
    return "".join(
        "    " if ch == "\t" else "\ufffd" if unicodedata.category(ch) in ("Cc", "Cf") else ch for ch in text
    )


def concise(d: Diagnostic) -> str:
    """`path:line:col: code message`, for editors and CI logs."""
    if d.span is not None:
        where = f"{d.span.source}:{d.span.line}:{d.span.col}"
    else:
        where = f"{d.source or '<spec>'}:1:1"
    return f"{where}: {d.code} {_escaped(d.message)}"


# -- the layer table ---------------------------------------------------------------------


def fmt_int(n: int) -> str:
    return f"{n:,}"


def fmt_bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if abs(n) < 1024 or unit == "PiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    raise AssertionError("unreachable")


def fmt_shape(shape: tuple[Any, ...]) -> str:
    return "(" + ", ".join(str(d) for d in shape) + ")"


def _rf(layer: LayerReport) -> str:
    rf = layer.receptive_field
    if rf is None:
        return "-"

    def two(v: tuple[int, int]) -> str:
        return f"{v[0]}" if v[0] == v[1] else f"{v[0]}×{v[1]}"

    size = f"{rf.size[0]}×{rf.size[1]}"
    return f"{size} /{two(rf.jump)}"


def table(report: ShapeReport) -> str:
    """The per-layer table and totals that `netspec check` prints."""
    head = ("#", "layer", "type", "output", "params", "mult-adds", "rf /jump", "activations")
    rows = [
        (
            "",
            "input",
            "",
            fmt_shape(report.input_shape),
            "",
            "",
            "1×1 /1" if len(report.input_shape) == 4 else "-",
            fmt_bytes(_numel(report.input_shape) * 4),
        )
    ]
    for layer in report.layers:
        rows.append(
            (
                str(layer.index),
                layer.name,
                layer.type,
                fmt_shape(layer.output_shape),
                fmt_int(layer.params),
                fmt_int(layer.mult_adds),
                _rf(layer),
                fmt_bytes(layer.activation_bytes),
            )
        )
    widths = [max(len(r[i]) for r in (head, *rows)) for i in range(len(head))]
    right = {0, 4, 5, 7}

    def line(r: tuple[str, ...]) -> str:
        cells = [c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths))]
        return "  ".join(cells).rstrip()

    title = click.style(report.name, bold=True) + (f"  ({report.source})" if report.source else "")
    out = [title, click.style(line(head), bold=True)]
    out += [line(r) for r in rows]
    out.append("")
    out.append(
        f"{fmt_int(report.total_params)} params ({fmt_bytes(report.param_bytes)} in float32), "
        f"{fmt_int(report.total_mult_adds)} mult-adds per sample, "
        f"{fmt_bytes(report.activation_bytes)} of activations per sample"
    )
    out.append("output " + click.style(fmt_shape(report.output_shape), bold=True))
    return "\n".join(out)


def _numel(shape: tuple[Any, ...]) -> int:
    n = 1
    for d in shape:
        if isinstance(d, int):
            n *= d
    return n


def summary_line(report: ShapeReport) -> str:
    """One line per valid spec for `--format concise`."""
    return (
        f"{report.source or report.name}: ok, {fmt_int(report.total_params)} params,"
        f" {fmt_int(report.total_mult_adds)} mult-adds, output {fmt_shape(report.output_shape)}"
    )


# -- JSON --------------------------------------------------------------------------------


def diagnostic_json(d: Diagnostic) -> dict[str, Any]:
    out: dict[str, Any] = {
        "code": d.code,
        "severity": d.severity,
        "message": d.message,
        "path": path_str(d.path) or None,
        "file": d.span.source if d.span else d.source,
    }
    if d.span is not None:
        out.update(line=d.span.line, column=d.span.col, end_line=d.span.end_line, end_column=d.span.end_col)
    out["notes"] = list(d.notes)
    out["help"] = d.help
    return out


def report_json(report: ShapeReport) -> dict[str, Any]:
    return {
        "name": report.name,
        "input_shape": list(report.input_shape),
        "output_shape": list(report.output_shape),
        "total_params": report.total_params,
        "total_mult_adds": report.total_mult_adds,
        "param_bytes": report.param_bytes,
        "activation_bytes": report.activation_bytes,
        "layers": [
            {
                "index": layer.index,
                "name": layer.name,
                "type": layer.type,
                "input_shape": list(layer.input_shape),
                "output_shape": list(layer.output_shape),
                "params": layer.params,
                "mult_adds": layer.mult_adds,
                "receptive_field": None
                if layer.receptive_field is None
                else {"size": list(layer.receptive_field.size), "jump": list(layer.receptive_field.jump)},
                "activation_bytes": layer.activation_bytes,
            }
            for layer in report.layers
        ],
    }
