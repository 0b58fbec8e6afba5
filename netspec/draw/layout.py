"""Where every box, frame and edge of a diagram goes: one pass over the checked tree, no shape derived again.

Pieces are laid out on two axes: `main`, the way data flows (down for TB, right for LR), and `cross`. Every piece
enters and leaves on the line cross == 0, so a chain of pieces lines up on it; a join forks its branches side by
side, draws a skip connection in a lane beside them (never through a box), and merges into its join node on the line.
Text is measured with a fixed advance per character: the diagrams use a monospace font, so the estimate holds.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field

from ..render import fmt_bytes, fmt_int, fmt_shape
from ..report import LayerReport, Shape

FONT_SIZE = 12
CHAR_W = 7.4  # DejaVu Sans Mono's advance is 0.602 em (7.2 px at 12 px); a little more for other monospace fonts
LINE_H = 16
PAD_X, PAD_Y = 9, 5  # text inside a box
GAP = 26  # between pieces of a chain: room for an edge and its arrow head
FORK = 14  # from a join's entry to its fork line, from the fork line to the branches, and the same at the merge
BRANCH_GAP = 22
LANE = 22  # a skip connection's lane beside the branches
FRAME_PAD = 10
TITLE_GAP = 8  # a frame's title keeps this far from the line the edges run on
LABEL_GAP = 6  # blocks style: the label beside its box
MAX_LINE = 60  # characters; longer text (a long name, a diagnostic) is cut with an ellipsis
JOIN_WORDS = {"add": "add", "concatenate": "concat", "multiply": "multiply"}

Point = tuple[float, float]  # (main, cross)
Path = list[Point]
Entry = tuple[Path, bool]  # a path into a piece, and whether it is a skip connection


@dataclass(frozen=True)
class Options:
    direction: str = "TB"  # TB: top to bottom; LR: left to right
    style: str = "boxes"  # boxes: text in boxes; blocks: boxes sized by tensor, text beside them
    expand: bool = False  # draw repeated blocks once each, not once with ×n
    depth: int | None = None  # blocks this many levels down are drawn as one box each (0: the model's own layers)


@dataclass(frozen=True)
class Rect:
    """A rectangle in (main, cross) coordinates."""

    m: float
    c: float
    ml: float
    cl: float

    def moved(self, dm: float, dc: float) -> Rect:
        return Rect(self.m + dm, self.c + dc, self.ml, self.cl)


@dataclass(frozen=True)
class Box:
    """A node: a layer, the input, a join; `text` is where its lines go (the box itself, or beside it)."""

    rect: Rect
    kind: str  # layer, input, join, failed, unknown
    lines: tuple[str, ...]
    text: Rect
    title: str = ""  # a tooltip: the layer's key
    tint: str = ""  # what sort of layer, for its colour: conv, pool, linear, norm, act, other


@dataclass(frozen=True)
class Frame:
    """A block drawn as a region around its layers, its title in a strip of its own."""

    rect: Rect
    kind: str  # block, failed
    lines: tuple[str, ...]
    text: Rect


@dataclass(frozen=True)
class Edge:
    points: tuple[Point, ...]
    skip: bool = False  # a skip connection (an identity branch), drawn in its lane


Item = Box | Frame | Edge


@dataclass
class Laid:
    """A laid-out piece in its own coordinates: main from 0 to `main`, cross from -before to after.

    `entries` are paths from (0, 0) to the border of a box inside (each marked when it is a skip connection);
    `exits` are paths from a box's border to (main, 0).
    None: nothing inside to enter or leave (an empty branch), so edges pass straight through.
    """

    items: list[Item] = field(default_factory=list)
    main: float = 0.0
    before: float = 0.0
    after: float = 0.0
    entries: list[Entry] | None = None
    exits: list[Path] | None = None


def _moved_path(path: Path, dm: float, dc: float) -> Path:
    return [(m + dm, c + dc) for m, c in path]


def _moved(item: Item, dm: float, dc: float) -> Item:
    if isinstance(item, Edge):
        return Edge(tuple((m + dm, c + dc) for m, c in item.points), item.skip)
    if isinstance(item, Box):
        return Box(item.rect.moved(dm, dc), item.kind, item.lines, item.text.moved(dm, dc), item.title, item.tint)
    return Frame(item.rect.moved(dm, dc), item.kind, item.lines, item.text.moved(dm, dc))


def simplify(points: Sequence[Point]) -> tuple[Point, ...]:
    """Drop repeated points and the middle of three in a line, so each edge is its corners only."""
    out: list[Point] = []
    for p in points:
        if out and math.isclose(out[-1][0], p[0]) and math.isclose(out[-1][1], p[1]):
            continue
        if len(out) >= 2:
            (m0, c0), (m1, c1) = out[-2], out[-1]
            if (math.isclose(m0, m1) and math.isclose(m1, p[0])) or (math.isclose(c0, c1) and math.isclose(c1, p[1])):
                out[-1] = p
                continue
        out.append(p)
    return tuple(out)


def clip(text: str, limit: int = MAX_LINE) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def text_size(lines: Sequence[str]) -> tuple[float, float]:
    """(width, height) in pixels of lines of text with a box's padding around them."""
    return max(len(line) for line in lines) * CHAR_W + 2 * PAD_X, len(lines) * LINE_H + 2 * PAD_Y


def tensor_text(shape: Shape) -> str:
    """`64×56×56` for (N, 64, 56, 56): the blocks style's short form of a shape."""
    return "×".join(str(d) for d in shape[1:]) or "scalar"


class Layout:
    """Lays out a checked tree; `failed` holds the paths of layers whose output could not be judged."""

    def __init__(self, options: Options, failed: Mapping[tuple[str | int, ...], str] | None = None) -> None:
        self.options = options
        self.failed = failed or {}
        self.lr = options.direction == "LR"

    def span(self, w: float, h: float) -> tuple[float, float]:
        """A width and height in pixels as (main, cross) lengths."""
        return (w, h) if self.lr else (h, w)

    # -- chains ------------------------------------------------------------------------------------------------

    def chain(self, nodes: Sequence[LayerReport], head: Laid | None = None) -> Laid:
        """Nodes one after another along the main axis, an edge from each to the next; `head` (the input) first."""
        pieces = [head] if head is not None else []
        for group in runs(nodes, self.options, self.failed):
            pieces.append(self.node(group[0], len(group), group[-1]))
        out = Laid()
        pending: list[Path] | None = None  # open paths from the last box so far, ending on the line at `m`
        m = 0.0
        for i, piece in enumerate(pieces):
            if i:
                m += GAP
            if piece.entries is not None:  # else an empty piece: the edges pass straight through it
                entries = [(_moved_path(e, m, 0), skip) for e, skip in piece.entries]
                if pending is None:
                    if out.entries is None:
                        out.entries = [([(0.0, 0.0), *e], skip) for e, skip in entries]
                else:
                    out.items.extend(Edge(simplify(p + e), skip) for p in pending for e, skip in entries)
                # what leaves it, if anything: nothing flows on from a layer without an output
                pending = None if piece.exits is None else [_moved_path(e, m, 0) for e in piece.exits]
            out.items.extend(_moved(item, m, 0) for item in piece.items)
            out.before = max(out.before, piece.before)
            out.after = max(out.after, piece.after)
            m += piece.main
        out.main = m
        if pending is not None:
            out.exits = [[*p, (m, 0.0)] for p in pending]
        return out

    # -- nodes -------------------------------------------------------------------------------------------------

    def node(self, node: LayerReport, times: int = 1, last: LayerReport | None = None) -> Laid:
        name = node.name if times == 1 or last is None else f"{node.name}–{last.name}"
        folded = self.options.depth is not None and node.depth >= self.options.depth
        if node.is_block and not (folded and node.output_shape and node.path not in self.failed):
            inner = self.join(node) if node.join else self.chain(node.branches[0] if node.branches else ())
            return self.frame(inner, node, name, times)
        head = f"{name} · {node.type}" + (f" ×{times}" if times > 1 else "")
        code = self.failed.get(node.path)
        if code is not None or not node.output_shape:
            shown = fmt_shape(node.output_shape) if node.output_shape else f"gets {fmt_shape(node.input_shape)}"
            failed = self.box("failed", (head, shown, f"error[{code or 'unknown'}]"), node)
            if not node.output_shape:
                failed.exits = None  # nothing flows on from a layer without an output
            return failed
        lines = [head, fmt_shape(node.output_shape)]
        if node.params:
            lines.append(f"{fmt_int(node.params)} params" + (" each" if times > 1 else ""))
        if self.options.style == "blocks":
            short = node.type + (f" ×{times}" if times > 1 else "")  # papers name kinds, not submodules
            return self.block("layer", (short, tensor_text(node.output_shape)), node.output_shape, node)
        return self.box("layer", tuple(lines), node)

    def input(self, shape: Shape) -> Laid:
        if self.options.style == "blocks":
            return self.block("input", ("input", tensor_text(shape)), shape, None)
        return self.box("input", ("input", fmt_shape(shape)), None)

    def box(self, kind: str, lines: tuple[str, ...], node: LayerReport | None) -> Laid:
        lines = tuple(clip(line) for line in lines)
        ml, cl = self.span(*text_size(lines))
        rect = Rect(0, -cl / 2, ml, cl)
        tinted = ("block" if node.is_block else tint(node.kind)) if node else ""
        box = Box(rect, kind, lines, rect, node.key if node else "input", tinted)
        return Laid([box], ml, cl / 2, cl / 2, [([(0.0, 0.0)], False)], [[(ml, 0.0)]])

    def block(self, kind: str, lines: tuple[str, ...], shape: Shape, node: LayerReport | None) -> Laid:
        """The blocks style: a box whose thickness grows with the channels and length with the spatial size
        (log scale, clamped), its text beside it."""
        lines = tuple(clip(line) for line in lines)
        dims = [max(d, 0) for d in shape[1:] if isinstance(d, int)]  # never below 0, even after an error
        channels, spatial = (dims[0], dims[1:]) if len(dims) >= 2 else (1, dims)
        side = math.prod(spatial) ** (1 / len(spatial)) if spatial else 1
        thick = min(max(4 * math.log2(1 + channels), 6), 44)
        length = min(max(14 * math.log2(1 + side), 14), 120)
        tw, th = text_size(lines)
        tml, tcl = self.span(tw, th)
        ml = max(thick, tml)
        rect = Rect((ml - thick) / 2, -length / 2, thick, length)
        text = Rect((ml - tml) / 2, length / 2 + LABEL_GAP, tml, tcl)
        tinted = ("block" if node.is_block else tint(node.kind)) if node else ""
        box = Box(rect, kind, lines, text, node.key if node else "input", tinted)
        top, bottom = rect.m, rect.m + thick
        return Laid(
            [box], ml, length / 2, length / 2 + LABEL_GAP + tcl, [([(0.0, 0.0), (top, 0.0)], False)], [[(bottom, 0.0)]]
        )

    # -- blocks --------------------------------------------------------------------------------------------------

    def frame(self, inner: Laid, node: LayerReport, name: str, times: int) -> Laid:
        """A block's region around its layers, titled with its name, kind and parameters."""
        code = self.failed.get(node.path)
        failed = code is not None or not node.output_shape
        head = f"{name} · {node.type}" + (f" ×{times}" if times > 1 else "")
        lines = [clip(head)]
        if code is not None and not node.join:
            lines.append(f"error[{code}]")
        elif not node.output_shape:
            lines.append("stops at an error")
        elif node.params:
            lines.append(f"{fmt_int(node.params)} params" + (" each" if times > 1 else ""))
        tw, th = text_size(lines)
        tml, tcl = self.span(tw, th)
        before, after = inner.before + FRAME_PAD, inner.after + FRAME_PAD
        top: float
        if self.lr:  # the title above the layers: the edges run through the middle, below it
            top = FRAME_PAD
            before += tcl + 4
            main = max(top + inner.main + FRAME_PAD, tml + 2 * FRAME_PAD)
            text = Rect(FRAME_PAD, -before + 4, tml, tcl)
        else:  # the title in a strip at the top, beside the line the edges run on, on the side that needs less room
            top = 4 + tml + 4
            main = top + inner.main + FRAME_PAD
            need = TITLE_GAP + tcl + FRAME_PAD / 2
            if max(0.0, need - before) <= max(0.0, need - after):
                before = max(before, need)
                text = Rect(4, -TITLE_GAP - tcl, tml, tcl)
            else:
                after = max(after, need)
                text = Rect(4, TITLE_GAP, tml, tcl)
        rect = Rect(0, -before, main, before + after)
        items: list[Item] = [Frame(rect, "failed" if failed else "block", tuple(lines), text)]
        items.extend(_moved(item, top, 0) for item in inner.items)
        entries = None
        if inner.entries is not None:
            entries = [([(0.0, 0.0), *_moved_path(e, top, 0)], skip) for e, skip in inner.entries]
        exits = None if inner.exits is None else [[*_moved_path(e, top, 0), (main, 0.0)] for e in inner.exits]
        return Laid(items, main, before, after, entries, exits)

    def join(self, node: LayerReport) -> Laid:
        """Branches side by side, empty ones as skip lanes beside them, merged into the join node, then `after`."""
        assert node.join is not None
        laid = [self.chain(branch) for branch in node.branches]
        filled = [piece for piece in laid if piece.entries is not None]
        lanes = len(laid) - len(filled)
        # where each filled branch sits across: a residual's body on the line, its shortcut beside it; other
        # joins' branches centred on the line together
        offsets: list[float] = []
        if node.kind == "Residual":
            edge = -filled[0].before if filled else 0.0
        else:
            edge = -(sum(p.before + p.after for p in filled) + BRANCH_GAP * (len(filled) - 1)) / 2
        for piece in filled:
            offsets.append(edge + piece.before)
            edge += piece.before + piece.after + BRANCH_GAP
        top = 2 * FORK
        bottom = top + max((p.main for p in filled), default=0.0)
        merge = bottom + FORK
        word = JOIN_WORDS[node.join]
        reached = node.join_shape is not None
        code = self.failed.get(node.path)
        lines: tuple[str, ...]
        if code is not None:  # the join itself: branches that do not fit
            shown = fmt_shape(node.join_shape) if node.join_shape else "no output"
            kind, lines = "failed", (word, shown, f"error[{code}]")
        elif reached:
            kind, lines = "join", (word, fmt_shape(node.join_shape or ()))
        else:
            kind, lines = "unknown", (word, "not reached")
        if self.options.style == "blocks" and reached and code is None:
            lines = (word,)
        jml, jcl = self.span(*text_size(lines))
        jm = merge + FORK
        join_rect = Rect(jm, -jcl / 2, jml, jcl)
        right = max([o + p.after for o, p in zip(offsets, filled)] + [jcl / 2])
        lane_at = [right + LANE * (k + 1) for k in range(lanes)]
        items: list[Item] = []
        entries: list[Entry] = []
        for piece, c in zip(filled, offsets):
            items.extend(_moved(item, top, c) for item in piece.items)
            fork: Path = [(0.0, 0.0), (FORK, 0.0), (FORK, c)]
            entries.extend((fork + _moved_path(e, top, c), skip) for e, skip in piece.entries or ())
            for e in piece.exits or ():
                items.append(Edge(simplify([*_moved_path(e, top, c), (merge, c), (merge, 0.0), (jm, 0.0)])))
        for c in lane_at:  # the skip connection: out to its lane, along it, into the join node's side
            mid = jm + jml / 2
            entries.append(([(0.0, 0.0), (FORK, 0.0), (FORK, c), (mid, c), (mid, jcl / 2)], True))
        items.append(Box(join_rect, kind, lines, join_rect, node.key))
        main = jm + jml
        exits: list[Path] | None = [[(main, 0.0)]] if reached else None
        before = max([p.before - o for o, p in zip(offsets, filled)] + [jcl / 2])
        after = max([right, *(c + 4 for c in lane_at)])
        if node.after:
            tail = self.chain(node.after)
            start = main + GAP
            if tail.entries is not None:
                items.extend(Edge(simplify([(main, 0.0), *_moved_path(e, start, 0)]), s) for e, s in tail.entries)
            items.extend(_moved(item, start, 0) for item in tail.items)
            exits = None if tail.exits is None else [_moved_path(e, start, 0) for e in tail.exits]
            main = start + tail.main
            before, after = max(before, tail.before), max(after, tail.after)
        return Laid(items, main, before, after, entries, exits)


def tint(kind: str) -> str:
    """The colour group of a torch.nn class: convolutions, pooling, linear maps, normalisation, activations."""
    if "Conv" in kind:
        return "conv"
    if "Pool" in kind or kind in ("Upsample", "PixelShuffle", "PixelUnshuffle"):
        return "pool"
    if kind in ("Linear", "Bilinear", "Embedding", "LSTM", "GRU", "RNN", "MultiheadAttention"):
        return "linear"
    if "Norm" in kind:
        return "norm"
    if kind in ("Flatten", "Unflatten", "Dropout", "Dropout2d", "Dropout1d", "Dropout3d", "Identity"):
        return "other"
    return "act"


def runs(nodes: Sequence[LayerReport], options: Options, failed: Collection[object]) -> list[list[LayerReport]]:
    """Consecutive nodes that are the same layer or block (shapes, parameters, contents) as one run each, drawn
    once with ×n; every node its own run with `--expand`, and a failed one always."""
    out: list[list[LayerReport]] = []
    last = None
    for node in nodes:
        sig = None if options.expand or node.path in failed else signature(node)
        if out and sig is not None and sig == last:
            out[-1].append(node)
        else:
            out.append([node])
        last = sig
    return out


def signature(node: LayerReport) -> tuple[object, ...]:
    """What makes two nodes the same drawing: everything but their names."""
    return (
        node.type,
        node.kind,
        node.input_shape,
        node.output_shape,
        node.join_shape,
        node.params,
        node.labels,
        tuple(tuple(signature(n) for n in branch) for branch in node.branches),
        tuple(signature(n) for n in node.after),
    )


def totals(name: str, params: int, mult_adds: int, output: Shape) -> tuple[str, ...]:
    """The caption under a diagram: the model's name and totals, as `netspec check` gives them."""
    return (
        f"{name}: {fmt_int(params)} params ({fmt_bytes(params * 4)} in float32)",
        f"{fmt_int(mult_adds)} mult-adds per sample, output {fmt_shape(output)}",
    )
