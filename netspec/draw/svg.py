"""A laid-out diagram written as SVG text: frames, then edges, then boxes, then the caption; numbers rounded to
tenths, so the same spec and options give the same bytes."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from .layout import FONT_SIZE, LINE_H, PAD_X, PAD_Y, Box, Edge, Frame, Item, Rect, text_size

MARGIN = 16
CAPTION_GAP = 14
FONT = "DejaVu Sans Mono, Menlo, Consolas, Liberation Mono, monospace"
BASELINE = 12  # from the top of a line of text to its baseline, at 12 px

STYLE = """\
.frame rect{fill:#f7f8fa;stroke:#9aa3ad;stroke-width:1}
.frame.failed rect{fill:#fff5f5;stroke:#c0392b;stroke-dasharray:4 3}
.frame text{fill:#4b5563}
.edge{fill:none;stroke:#4b5563;stroke-width:1.3;marker-end:url(#arrow)}
.edge.skip{stroke:#c77d10;marker-end:url(#arrow-skip)}
.node rect{stroke:#4b5563;stroke-width:1}
.node text{fill:#111827}
.node .head{font-weight:bold}
.conv rect{fill:#dbe8f7}.pool rect{fill:#f6dcd7}.linear rect{fill:#dcefd8}
.norm rect{fill:#ece4f5}.act rect{fill:#fdf3d3}.other rect{fill:#eceff1}.block rect{fill:#e3f1f0}
.input rect{fill:#ffffff}
.join rect{fill:#fff1cc;stroke:#c77d10}
.failed rect{fill:#fde2e0;stroke:#c0392b;stroke-width:2}
.failed text{fill:#9b1c1c}
.unknown rect{fill:#ffffff;stroke:#9aa3ad;stroke-dasharray:4 3}
.caption{fill:#374151}
"""

DEFS = (
    '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7"'
    ' orient="auto-start-reverse"><path d="M0 0L10 5L0 10z" fill="#4b5563"/></marker>'
    '<marker id="arrow-skip" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7"'
    ' orient="auto-start-reverse"><path d="M0 0L10 5L0 10z" fill="#c77d10"/></marker></defs>'
)


@dataclass(frozen=True)
class XY:
    """A rectangle in pixels."""

    x: float
    y: float
    w: float
    h: float


def escape(text: str) -> str:
    """Text as XML character data (xml.sax.saxutils would cost 10 ms of imports at every start)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def num(v: float) -> str:
    """A coordinate with at most one decimal, `-0` written `0`: the same number always gives the same text."""
    text = f"{v:.1f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


class Writer:
    def __init__(self, lr: bool) -> None:
        self.lr = lr

    def xy(self, r: Rect, dx: float, dy: float) -> XY:
        if self.lr:
            return XY(r.m + dx, r.c + dy, r.ml, r.cl)
        return XY(r.c + dx, r.m + dy, r.cl, r.ml)

    def point(self, p: tuple[float, float], dx: float, dy: float) -> tuple[float, float]:
        m, c = p
        return (m + dx, c + dy) if self.lr else (c + dx, m + dy)

    def bounds(self, items: Iterable[Item]) -> tuple[float, float, float, float]:
        xs: list[float] = []
        ys: list[float] = []
        for item in items:
            if isinstance(item, Edge):
                for p in item.points:
                    x, y = self.point(p, 0, 0)
                    xs.append(x)
                    ys.append(y)
                continue
            for r in (item.rect, item.text):
                b = self.xy(r, 0, 0)
                xs += [b.x, b.x + b.w]
                ys += [b.y, b.y + b.h]
        return min(xs), min(ys), max(xs), max(ys)

    def write(self, items: Sequence[Item], caption: Sequence[str], name: str) -> str:
        x0, y0, x1, y1 = self.bounds(items)
        dx, dy = MARGIN - x0, MARGIN - y0
        cw, ch = text_size(caption) if caption else (0.0, 0.0)
        cy = y1 + dy + CAPTION_GAP
        width = max(x1 - x0, cw) + 2 * MARGIN
        height = y1 - y0 + 2 * MARGIN + (CAPTION_GAP + ch if caption else 0)
        out = [
            f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {num(width)} {num(height)}"'
            f' width="{num(width)}" height="{num(height)}" font-family="{FONT}" font-size="{FONT_SIZE}">',
            f"<title>{escape(name)}</title>",
            f"<style>\n{STYLE}</style>",
            DEFS,
            f'<rect class="background" width="{num(width)}" height="{num(height)}" fill="#ffffff"/>',
        ]
        for item in items:
            if isinstance(item, Frame):
                out.append(self.frame(item, dx, dy))
        edges = [item for item in items if isinstance(item, Edge)]
        for item in sorted(edges, key=lambda e: not e.skip):  # skips first: a trunk they share is drawn over
            if isinstance(item, Edge):
                d = "M" + "L".join(f"{num(x)} {num(y)}" for x, y in (self.point(p, dx, dy) for p in item.points))
                out.append(f'<path class="edge{" skip" if item.skip else ""}" d="{d}"/>')
        for item in items:
            if isinstance(item, Box):
                out.append(self.box(item, dx, dy))
        if caption:
            out.append('<g class="caption">')
            out.extend(self.lines(caption, XY(MARGIN - PAD_X, cy, cw, ch), centre=False, cls="caption"))
            out.append("</g>")
        out.append("</svg>")
        return "\n".join(out) + "\n"

    def frame(self, item: Frame, dx: float, dy: float) -> str:
        r = self.xy(item.rect, dx, dy)
        t = self.xy(item.text, dx, dy)
        return (
            f'<g class="frame{" failed" if item.kind == "failed" else ""}">'
            f'<rect x="{num(r.x)}" y="{num(r.y)}" width="{num(r.w)}" height="{num(r.h)}" rx="6"/>'
            + "".join(self.lines(item.lines, t, centre=False))
            + "</g>"
        )

    def box(self, item: Box, dx: float, dy: float) -> str:
        r = self.xy(item.rect, dx, dy)
        t = self.xy(item.text, dx, dy)
        classes = " ".join(c for c in ("node", item.kind, item.tint) if c)
        rx = 10 if item.kind == "join" else 3
        return (
            f'<g class="{classes}"><title>{escape(item.title)}</title>'
            f'<rect x="{num(r.x)}" y="{num(r.y)}" width="{num(r.w)}" height="{num(r.h)}" rx="{rx}"/>'
            + "".join(self.lines(item.lines, t, centre=True, head=True))
            + "</g>"
        )

    def lines(self, lines: Sequence[str], t: XY, centre: bool, head: bool = False, cls: str = "") -> list[str]:
        """Each line of text at its baseline: centred in `t`, or from its left with the padding."""
        x = t.x + t.w / 2 if centre else t.x + PAD_X
        anchor = ' text-anchor="middle"' if centre else ""
        out = []
        for i, line in enumerate(lines):
            y = t.y + PAD_Y + i * LINE_H + BASELINE
            klass = ' class="head"' if head and i == 0 else ""
            out.append(f'<text x="{num(x)}" y="{num(y)}"{anchor}{klass}>{escape(line)}</text>')
        return out
