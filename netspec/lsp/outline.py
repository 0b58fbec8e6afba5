"""Document symbols: the spec's layers as a tree, as written (blocks with their branches, block definitions with their
templates), named as the checked tree names them (`conv1`, `layer1`) where the spec checks."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from ..diagnostics import Path
from ..kinds import BRANCH_FIELDS, BRANCH_LISTS
from ..render import fmt_shape
from ..report import LayerReport
from .written import Pos, Written

SymbolKind = Literal["layer", "block", "branch", "definition"]


@dataclass(frozen=True)
class Symbol:
    name: str
    detail: str
    kind: SymbolKind
    start: Pos
    end: Pos
    select_start: Pos  # what an editor highlights: the layer's type, a definition's name
    select_end: Pos
    children: tuple[Symbol, ...] = ()


def outline(doc: Written, nodes_at: Mapping[Path, Sequence[LayerReport]]) -> list[Symbol]:
    """The block definitions and the layers, in document order; `nodes_at` gives the checked nodes by written path."""
    symbols: list[Symbol] = []
    blocks = doc.lookup(("blocks",))
    if isinstance(blocks, dict):
        for name, definition in blocks.items():
            path = ("blocks", name)
            if not isinstance(definition, dict) or not doc.has(path) or path not in doc.smap.keys:
                continue
            template = [*_layers(doc, (*path, "layers"), nodes_at), *_layers(doc, (*path, "layer"), nodes_at)]
            key = doc.smap.keys[path]
            symbols.append(
                Symbol(
                    str(name),
                    "block definition",
                    "definition",
                    doc.key_start(path),
                    doc.end(path),
                    (key[0], key[1]),
                    (key[2], key[3]),
                    tuple(template),
                )
            )
    symbols += _layers(doc, ("layers",), nodes_at)
    return sorted(symbols, key=lambda s: s.start)


def _layers(doc: Written, path: Path, nodes_at: Mapping[Path, Sequence[LayerReport]]) -> list[Symbol]:
    """The symbols of a list of layers at `path` (or of one layer written alone in its place)."""
    value = doc.lookup(path)
    items = [(*path, i) for i in range(len(value))] if isinstance(value, list) else [path]
    return [symbol for item in items if (symbol := _layer(doc, item, nodes_at)) is not None]


def _layer(doc: Written, path: Path, nodes_at: Mapping[Path, Sequence[LayerReport]]) -> Symbol | None:
    value = doc.lookup(path)
    if not doc.has(path) or not isinstance(value, (str, dict)):
        return None
    kind = value if isinstance(value, str) else value.get("type", "Sequential" if "layers" in value else None)
    if not isinstance(kind, str):
        return None
    nodes = nodes_at.get(path, ())
    shared = len(nodes) > 1 and path[0] == "blocks"  # a template's layer: one symbol for every instance
    if len(nodes) == 1:
        name = nodes[0].name
    elif nodes and not shared:
        name = f"{nodes[0].name} … {nodes[-1].name}"  # a repeat
    else:
        name = kind
    shapes = {fmt_shape(n.output_shape) for n in nodes}
    detail = kind + (f" → {shapes.pop()}" if len(shapes) == 1 else f" ({len(nodes)} instances)" if shared else "")
    select = (*path, "type") if isinstance(value, dict) and doc.has((*path, "type")) else path
    children: list[Symbol] = []
    if isinstance(value, dict):
        for field in BRANCH_FIELDS.get(kind, ()):
            if kind == "Sequential":
                children += _layers(doc, (*path, field), nodes_at)
            elif doc.has((*path, field)):
                children.append(_branch(doc, (*path, field), field, _layers(doc, (*path, field), nodes_at)))
        lists = BRANCH_LISTS.get(kind)
        branches = value.get(lists) if lists else None
        if lists and isinstance(branches, list):
            for i in range(len(branches)):
                branch = (*path, lists, i)
                if doc.has(branch):
                    children.append(_branch(doc, branch, f"branch {i + 1}", _layers(doc, branch, nodes_at)))
    return Symbol(
        name,
        detail,
        "block" if children else "layer",
        doc.start(path),
        doc.end(path),
        doc.start(select),
        doc.end(select),
        tuple(sorted(children, key=lambda s: s.start)),
    )


def _branch(doc: Written, path: Path, label: str, layers: list[Symbol]) -> Symbol:
    """A block's branch (`body`, `shortcut`, `branch 2`): its key, and its layers as children."""
    key = doc.smap.keys.get(path)
    start = doc.key_start(path)
    select_end = (key[2], key[3]) if key else doc.end(path)
    return Symbol(label, "", "branch", start, doc.end(path), start, select_end, tuple(layers))
