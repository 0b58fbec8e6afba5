"""Where the checked tree is written: each node's place in the document, and what hints and hovers say there.

A node's place is its path in the spec (`node.path`) taken back to where the user wrote it (`spec.origins`), then
to a line through the source map, as diagnostics are positioned (`validation.at`). Several nodes can share a place:
the copies of a `repeat`, and every instance of a block's template, whose lines the instances share. The call of a
block of the spec's own (`- {type: BasicBlock, width: 64}`) is the place of its instances too.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ..diagnostics import Path
from ..layers import KINDS
from ..render import fmt_int, fmt_shape
from ..report import LayerReport, ReceptiveField, ShapeReport
from ..spec import Spec
from . import docs
from .written import Pos, Written

MAX_SHAPES = 4  # distinct output shapes a template's hint lists
MAX_ROWS = 12  # instances a hover lists


@dataclass(frozen=True)
class Place:
    """A layer as written (a line of the document) and the checked nodes written there, in the order they run."""

    path: Path  # its written path: ("layers", 3) or, in a block's template, ("blocks", "BasicBlock", "layer", ...)
    nodes: tuple[LayerReport, ...]
    start: Pos
    end: Pos

    @property
    def template(self) -> str | None:
        """The block kind whose definition holds this place: its lines are shared by that block's instances."""
        return str(self.path[1]) if len(self.path) > 1 and self.path[0] == "blocks" else None

    @property
    def line(self) -> int:
        return self.start[0]


def places(report: ShapeReport, spec: Spec, doc: Written) -> list[Place]:
    """Every written layer with its nodes, in document order."""
    origins = spec.origins
    found: dict[Path, list[LayerReport]] = {}
    for node in report.walk():
        site = origins.instances.get(node.path)
        if site is not None:  # an instance of a block of the spec's own: also at its call
            found.setdefault(site[1], []).append(node)
        found.setdefault(origins.written(node.path), []).append(node)
    out = []
    for path, nodes in found.items():
        if not doc.has(path):
            continue
        start = doc.start(path)
        if len(path) == 2 and path[0] == "blocks" and path in doc.smap.keys:
            start = doc.key_start(path)  # a block of `layers:`: its definition's own line, `Stage:`
        out.append(Place(path, tuple(nodes), start, doc.end(path)))
    return sorted(out, key=lambda p: p.start)


def line_places(all_places: Iterable[Place]) -> dict[int, Place]:
    """The place whose hint ends each line: the outermost layer starting there (a block rather than its layers
    written on the same line), the last one where several sit side by side (`layers: [ReLU, Flatten]`)."""
    best: dict[int, Place] = {}
    for place in all_places:
        current = best.get(place.line)
        if current is None or (len(place.path), -place.start[1]) <= (len(current.path), -current.start[1]):
            best[place.line] = place
    return best


def hint(place: Place) -> str:
    """The inlay hint at the end of a layer's line: `→ (N, 16, 10, 10) · 2,416 params`."""
    nodes = place.nodes
    params = [n.params for n in nodes]
    if place.template and len(nodes) > 1:  # shared lines: every instance's shape, counted
        shapes: dict[str, int] = {}
        for n in nodes:
            key = fmt_shape(n.output_shape)
            shapes[key] = shapes.get(key, 0) + 1
        listed = [f"{s} ×{c}" if len(shapes) > 1 else s for s, c in list(shapes.items())[:MAX_SHAPES]]
        more = ", …" if len(shapes) > MAX_SHAPES else ""
        each = f" · {fmt_int(params[0])} params each" if len(set(params)) == 1 and params[0] else ""
        return f"→ {', '.join(listed)}{more}{each} ({len(nodes)} instances)"
    total = sum(params)
    text = f"→ {fmt_shape(nodes[-1].output_shape)}"  # a repeat's line gives its last copy's output
    if total:
        text += f" · {fmt_int(total)} params"
    return text + (f" (×{len(nodes)})" if len(nodes) > 1 else "")


def at(all_places: Iterable[Place], pos: Pos) -> Place | None:
    """The innermost layer written around a position."""
    inside = [p for p in all_places if p.start <= pos <= p.end]
    return max(inside, key=lambda p: (len(p.path), p.start), default=None)


def hover(place: Place, doc: Written, pos: Pos) -> str:
    """Markdown for a layer: its shapes and counts, torch's word on its kind and on the argument under the cursor."""
    nodes = place.nodes
    node = nodes[0]
    lines: list[str] = []
    if len(nodes) == 1:
        lines += _card(node)
    else:
        where = f"block `{place.template}`'s definition, shared by" if place.template else "this line, written for"
        lines.append(f"**{node.type}** · {where} {len(nodes)} {'instances' if place.template else 'copies'}")
        lines.append("")
        lines += [
            f"- `{n.key}` {fmt_shape(n.input_shape)} → {fmt_shape(n.output_shape)}"
            + (f" · {fmt_int(n.params)} params" if n.params else "")
            for n in nodes[:MAX_ROWS]
        ]
        if len(nodes) > MAX_ROWS:
            lines.append(f"- … and {len(nodes) - MAX_ROWS} more")
    lines += ["", *_documentation(node, place, doc, pos)]
    return "\n".join(lines).strip()


def _card(node: LayerReport) -> list[str]:
    kind = f"{node.type} ({node.kind})" if node.type != node.kind else node.type
    out = [f"**`{node.key}`** · {kind}", "", f"{fmt_shape(node.input_shape)} → {fmt_shape(node.output_shape)}", ""]
    counts = [f"{fmt_int(node.params)} params", f"{fmt_int(node.mult_adds)} mult-adds"]
    if node.receptive_field is not None:
        counts.append(f"receptive field {_rf(node.receptive_field)}")
    out.append(" · ".join(counts))
    call = _constructor(node)
    if call:
        out += ["", f"`{call}`"]
    return out


def _rf(rf: ReceptiveField) -> str:
    jump = str(rf.jump[0]) if len(set(rf.jump)) == 1 else "×".join(map(str, rf.jump))
    return f"{'×'.join(map(str, rf.size))} /{jump}"


def _constructor(node: LayerReport) -> str | None:
    """The torch module the builder makes: `nn.Conv2d(in_channels=64, out_channels=64, kernel_size=3, ...)`,
    arguments at torch's defaults left out, inferred sizes in."""
    record = KINDS.get(node.kind)
    if record is None or node.is_block:
        return None
    fields = record.model_fields
    shown = []
    for name, value in node.args.items():
        default = fields[name].default if name in fields else None
        if value != default or name in record.input_sizes:
            shown.append(f"{name}={value!r}")
    # a recurrent layer is netspec's subclass of torch's, which returns one tensor (it takes `output`)
    where = "netspec.modules" if node.kind in ("RNN", "LSTM", "GRU") else "nn"
    return f"{where}.{node.kind}({', '.join(shown)})"


def _documentation(node: LayerReport, place: Place, doc: Written, pos: Pos) -> list[str]:
    out = []
    summary = docs.summary(node.kind)
    link = docs.url(node.kind)
    if node.type != node.kind:  # a block of the spec's own
        definition = doc.lookup(("blocks", node.type))
        described = definition.get("description") if isinstance(definition, dict) else None
        out.append(
            f"`{node.type}`: a block of this spec, defined under `blocks:`" + (f": {described}" if described else "")
        )
    if summary:
        name = f"[torch.nn.{node.kind}]({link})" if link else f"`{node.kind}`"
        out.append(f"{name}: {summary}")
    argument = _argument_at(place, doc, pos)
    if argument is not None:
        text = docs.argument(node.kind, argument)
        if text:
            out += ["", f"`{argument}`: {text}"]
    return out


def _argument_at(place: Place, doc: Written, pos: Pos) -> str | None:
    """The argument whose key or value is under the cursor, in the layer's own mapping."""
    mapping = doc.lookup(place.path)
    if not isinstance(mapping, dict):
        return None
    for key in mapping:
        path = (*place.path, key)
        if not isinstance(key, str) or path not in doc.smap.values:
            continue
        if doc.key_start(path) <= pos <= doc.end(path):
            return key
    return None
