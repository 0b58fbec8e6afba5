"""`netspec draw`'s pictures of a checked spec: SVG written directly, Graphviz DOT text, and PNG from the SVG.

Everything drawn comes from the checked report (its shapes, names, counts and branches); nothing is derived again.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ..diagnostics import Diagnostic
from ..report import Partial, ShapeReport
from .dot import write_dot
from .layout import Layout, Options, clip, totals
from .svg import Writer

__all__ = ["Options", "dot", "png", "svg"]

CAPTION_LINE = 110  # characters
MAX_ERRORS = 3  # diagnostics named in a failing diagram's caption; stderr has them all


def svg(report: ShapeReport | Partial, options: Options | None = None) -> str:
    """The diagram of a checked spec (or of the part of one that checks) as SVG text, the same bytes every time."""
    options = options or Options()
    report, failed, errors = _parts(report)
    layout = Layout(options, failed)
    body = layout.chain(report.layers, head=layout.input(report.input_shape))
    return Writer(options.direction == "LR").write(body.items, _caption(report, errors), report.name)


def dot(report: ShapeReport | Partial, options: Options | None = None) -> str:
    """The same graph as Graphviz DOT text, blocks as clusters, for those who lay it out with Graphviz."""
    options = options or Options()
    report, failed, _ = _parts(report)
    return write_dot(report, options, failed)


def png(svg_text: str, scale: float = 2.0) -> bytes:
    """The SVG rasterised by resvg (the `draw` extra: `pip install netspec[draw]`); ImportError without it."""
    import resvg_py  # a wheel with resvg inside: no system library

    data = resvg_py.svg_to_bytes(svg_string=svg_text, zoom=scale, background="#ffffff")
    return bytes(data)


def _parts(
    report: ShapeReport | Partial,
) -> tuple[ShapeReport, Mapping[tuple[str | int, ...], str], tuple[Diagnostic, ...]]:
    if isinstance(report, Partial):
        return report.report, report.failed, tuple(d for d in report.diagnostics if d.is_error)
    return report, {}, ()


def _caption(report: ShapeReport, errors: Sequence[Diagnostic]) -> tuple[str, ...]:
    if not errors:
        return totals(report.name, report.total_params, report.total_mult_adds, report.output_shape)
    lines = [f"{report.name}: {len(errors)} error{'s' if len(errors) > 1 else ''}, drawn up to where shapes are known"]
    lines += [clip(f"error[{d.code}]: {d.message}", CAPTION_LINE) for d in errors[:MAX_ERRORS]]
    if len(errors) > MAX_ERRORS:
        lines.append(f"... and {len(errors) - MAX_ERRORS} more (see `netspec check`)")
    return tuple(lines)
