"""Everything a user reads: diagnostics (full and concise), the layer table, and JSON."""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from .diagnostics import Diagnostic, Span, path_str
from .report import LayerReport, ReceptiveField, ShapeReport, numel
from .source import display_width

_MAX_LINE = 160  # longer source lines are shown as a window around the caret

# Terminal styles, as click writes them (click is not imported: `netspec check` starts faster without it).
_COLOURS = {"red": 31, "yellow": 33, "blue": 34}
_ANSI = re.compile(r"\033\[[;?0-9]*[a-zA-Z]")


def style(text: str, fg: str | None = None, bold: bool = False) -> str:
    """`text` coloured and/or bold for a terminal; `unstyle` takes it back off."""
    codes = (f"\033[{_COLOURS[fg]}m" if fg else "") + ("\033[1m" if bold else "")
    return f"{codes}{text}\033[0m" if codes else text


def unstyle(text: str) -> str:
    return _ANSI.sub("", text)


# -- diagnostics -------------------------------------------------------------------------


def diagnostic(d: Diagnostic) -> str:
    """rustc-style: header, location, the user's line with a caret, related places, notes and help."""
    colour = "red" if d.is_error else "yellow"
    header = style(f"{d.severity}[{d.code}]", fg=colour, bold=True) + style(f": {_escaped(d.message)}", bold=True)
    lines = [header]
    span = d.span
    spans = [s for s in (span, *(r.span for r in d.related)) if s is not None]
    gutter = max((len(str(s.line)) for s in spans), default=1)
    arrow = style(" " * gutter + "-->", fg="blue", bold=True)
    if span is not None:
        lines.append(f"{arrow} {span.source}:{span.line}:{span.col}")
        lines += _snippet(span, gutter, colour, "^")
    elif d.source is not None:
        where = f"{d.source}" + (f" ({path_str(d.path)})" if d.path else "")
        lines.append(f"{arrow} {where}")
    elif d.path:
        lines.append(f"{arrow} {path_str(d.path)}")
    for related in d.related:  # rustc's secondary locations: `:::` and a caret of their own
        other = related.span
        lines.append(style(" " * gutter + ":::", fg="blue", bold=True) + f" {other.source}:{other.line}:{other.col}")
        lines += _snippet(other, gutter, "blue", "-", _escaped(related.message))
    for note in d.notes:
        lines.append(f"{' ' * gutter} {style('=', fg='blue', bold=True)} note: {_escaped(note)}")
    if d.help:
        lines.append(f"{' ' * gutter} {style('=', fg='blue', bold=True)} help: {_escaped(d.help)}")
    return "\n".join(lines)


def printed(d: Diagnostic, fmt: str = "full") -> str:
    """A diagnostic as the command line prints it (before the newline): one line, or the full form and a blank line."""
    return concise(d) if fmt == "concise" else diagnostic(d) + "\n"


def _snippet(span: Span, gutter: int, colour: str, mark: str, label: str = "") -> list[str]:
    """The user's line and a caret (or underline) under the span, with an optional label after it."""
    bar = style(" " * gutter + " |", fg="blue", bold=True)
    text, start, width = _window(span.text, span.col - 1, span.end_col - span.col)
    number = style(f"{span.line:>{gutter}} |", fg="blue", bold=True)
    under = style(mark * width, fg=colour, bold=True) + (f" {label}" if label else "")
    return [bar, number + f" {text}".rstrip(), bar + " " + " " * start + under]


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
    """`path:line:col: severity[code]: message`, for editors and CI logs (gcc's shape, with the full header)."""
    if d.span is not None:
        where = f"{d.span.source}:{d.span.line}:{d.span.col}"
    else:
        where = f"{d.source or '<spec>'}:1:1"
    return f"{where}: {d.severity}[{d.code}]: {_escaped(d.message)}"


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


def _rf(rf: ReceptiveField | None) -> str:
    if rf is None:
        return "-"

    def axes(v: tuple[int, ...]) -> str:
        return f"{v[0]}" if len(set(v)) == 1 else "×".join(map(str, v))

    return f"{'×'.join(map(str, rf.size))} /{axes(rf.jump)}"


TABLE_HEAD = ("#", "layer", "type", "output", "params", "mult-adds", "rf /jump", "activations")
_RIGHT = {0, 4, 5, 7}  # right-aligned columns: numbers


def table(report: ShapeReport, depth: int | None = None, *, color: bool = False) -> str:
    """The per-layer table and totals that `netspec check` prints; blocks as indented rows with their subtotals.

    `depth`: show layers down to that depth only (0: the model's own layers), deeper ones counted in their block.
    `color`: bold the title, the header and the output shape with ANSI codes (the CLI's; click strips them
    when its output is not a terminal).
    """
    rows = table_rows(report, depth)
    widths = [max(len(r[i]) for r in (TABLE_HEAD, *rows)) for i in range(len(TABLE_HEAD))]

    def line(r: tuple[str, ...]) -> str:
        cells = [c.rjust(w) if i in _RIGHT else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths))]
        return "  ".join(cells).rstrip()

    title = style(report.name, bold=True) + (f"  ({report.source})" if report.source else "")
    out = [title, style(line(TABLE_HEAD), bold=True)]
    out += [line(r) for r in rows]
    out.append("")
    out.append(totals_line(report))
    out.append("output " + style(fmt_shape(report.output_shape), bold=True))
    text = "\n".join(out)
    return text if color else unstyle(text)


def table_rows(report: ShapeReport, depth: int | None = None) -> list[Row]:
    """The table's rows: the input, then every layer (blocks' layers indented under them) down to `depth`."""
    spatial = len(report.input_shape) == 4
    rows: list[Row] = [
        (
            "",
            "input",
            "",
            fmt_shape(report.input_shape),
            "",
            "",
            _rf(ReceptiveField((1, 1), (1, 1))) if spatial else "-",
            fmt_bytes(numel(report.input_shape) * 4),
        )
    ]
    for layer in report.layers:
        rows += _rows(layer, depth)
    return rows


def totals_line(report: ShapeReport) -> str:
    return (
        f"{fmt_int(report.total_params)} params ({fmt_bytes(report.param_bytes)} in float32), "
        f"{fmt_int(report.total_mult_adds)} mult-adds per sample, "
        f"{fmt_bytes(report.activation_bytes)} of activations per sample"
    )


def html_table(report: ShapeReport, depth: int | None = None) -> str:
    """The same table as HTML, for Jupyter: `ShapeReport._repr_html_`."""
    import html  # only for HTML output

    esc = html.escape

    def cells(row: tuple[str, ...], tag: str) -> str:
        return "".join(
            f'<{tag} style="text-align:{"right" if i in _RIGHT else "left"};white-space:pre">{esc(c)}</{tag}>'
            for i, c in enumerate(row)
        )

    source = f" <small>({esc(report.source)})</small>" if report.source else ""
    body = "".join(f"<tr>{cells(r, 'td')}</tr>" for r in table_rows(report, depth))
    return (
        f'<div class="netspec-report"><b>{esc(report.name)}</b>{source}'
        f"<table><thead><tr>{cells(TABLE_HEAD, 'th')}</tr></thead><tbody>{body}</tbody></table>"
        f"<p>{esc(totals_line(report))}<br>output <b>{esc(fmt_shape(report.output_shape))}</b></p></div>"
    )


Row = tuple[str, str, str, str, str, str, str, str]
_JOIN_SYMBOL = {"add": "+", "concatenate": "cat", "multiply": "×"}


def _rows(node: LayerReport, depth: int | None) -> list[Row]:
    """A node's row, then (for a block) its branches' rows, the join's and `after`'s, indented one level deeper."""
    pad = "  " * node.depth
    rows: list[Row] = [
        (
            str(node.index) if node.depth == 0 else "",
            pad + node.name,
            node.type,
            fmt_shape(node.output_shape),
            fmt_int(node.params),
            fmt_int(node.mult_adds),
            _rf(node.receptive_field),
            fmt_bytes(node.activation_bytes),
        )
    ]
    if not node.is_block or (depth is not None and node.depth >= depth):
        return rows
    inner = "  " * (node.depth + 1)
    for label, branch in zip(node.labels or ("",), node.branches):
        if node.join is not None:  # a row says where each branch starts, `identity` for an empty one
            rows.append(
                (
                    "",
                    f"{inner}{label.removeprefix('the ')}:",
                    "" if branch else "identity",
                    "" if branch else fmt_shape(node.input_shape),
                    "",
                    "",
                    "",
                    "",
                )
            )
        for child in branch:
            rows += _rows(child, depth)
    if node.join is not None and node.join_shape is not None:
        rows.append(("", f"{inner}({_JOIN_SYMBOL[node.join]})", node.join, fmt_shape(node.join_shape), "", "", "", ""))
        for child in node.after:
            rows += _rows(child, depth)
    return rows


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
        "layers": [node_json(layer) for layer in report.layers],
    }


def node_json(node: LayerReport) -> dict[str, Any]:
    """A node of the checked tree; a block's holds its branches (and its join) nested."""
    out: dict[str, Any] = {
        "index": node.index,
        "name": node.name,
        "key": node.key,
        "type": node.type,
        "kind": node.kind,
        "input_shape": list(node.input_shape),
        "output_shape": list(node.output_shape),
        "params": node.params,
        "mult_adds": node.mult_adds,
        "receptive_field": None
        if node.receptive_field is None
        else {"size": list(node.receptive_field.size), "jump": list(node.receptive_field.jump)},
        "activation_bytes": node.activation_bytes,
    }
    if node.is_block:
        out["branches"] = [
            {"label": label.removeprefix("the "), "layers": [node_json(c) for c in branch]}
            for label, branch in zip(node.labels or ("layers",), node.branches)
        ]
    if node.join is not None:
        out["join"] = {"op": node.join, "output_shape": list(node.join_shape or ())}
        out["after"] = [node_json(c) for c in node.after]
    return out
