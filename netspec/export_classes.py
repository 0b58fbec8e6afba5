"""The classes `netspec export --format python` writes for blocks: one per kind of block, its varying sizes parameters.

Blocks with the same structure (the same layers, names, kinds and arguments, whatever their
values) share a class. An argument whose value differs between them becomes a constructor
parameter (one parameter for arguments that are equal in every instance, such as a block's width
in its convolutions and BatchNorms); the rest are written as constants. A block's blocks are
planned first (by height in the tree), so a class calls its inner blocks' classes with arguments.
"""

from __future__ import annotations

import keyword
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .report import LayerReport

Slot = tuple[str, str]  # (child, argument): where a value sits in a block
_BASE = {"Sequential": "Group", "Residual": "Residual", "Concat": "Concat", "Multiply": "Multiply"}


@dataclass
class BlockClass:
    """A class for blocks of one structure: its name, its parameters and the instances that use it."""

    name: str
    instances: list[LayerReport]
    slots: list[Slot]  # every value the class's layers and inner blocks take, in order
    constants: dict[Slot, Any] = field(default_factory=dict)  # slot -> the value every instance has
    params: dict[Slot, str] = field(default_factory=dict)  # a varying slot -> the parameter giving it
    param_names: list[str] = field(default_factory=list)  # in order

    def arguments(self, node: LayerReport, values: Callable[[LayerReport], dict[Slot, Any]]) -> dict[str, Any]:
        """The keyword arguments that make `node` an instance of this class."""
        own = values(node)
        out: dict[str, Any] = {}
        for slot, name in self.params.items():
            out.setdefault(name, own[slot])
        return {name: out[name] for name in self.param_names}


def needs_class(node: LayerReport) -> bool:
    """Joins, and Sequentials whose layers have names of their own (torch's `0`, `1` need no class)."""
    if not node.is_block:
        return False
    return node.join is not None or any(child.name != str(i) for i, child in enumerate(node.branches[0]))


def _height(node: LayerReport) -> int:
    return 1 + max((_height(c) for c in node.children), default=0) if node.is_block else 0


class Planner:
    """Assigns every block that needs a class to one, bottom-up."""

    def __init__(self, roots: tuple[LayerReport, ...], taken: set[str]) -> None:
        self.of: dict[str, BlockClass] = {}  # node key -> its class
        self.classes: list[BlockClass] = []  # in the order they must be defined (inner ones first)
        blocks = [n for root in roots for n in root.walk() if needs_class(n)]
        by_height: dict[int, list[LayerReport]] = {}
        for node in blocks:
            by_height.setdefault(_height(node), []).append(node)
        for height in sorted(by_height):
            groups: dict[Any, list[LayerReport]] = {}
            for node in by_height[height]:
                groups.setdefault(self._skeleton(node), []).append(node)
            for nodes in groups.values():
                base = _identifier(nodes[0].type if nodes[0].type != nodes[0].kind else _BASE[nodes[0].kind])
                name, n = base, 1
                while name in taken:  # BasicBlock, BasicBlock2 (another structure, such as with a downsample)
                    n += 1
                    name = f"{base}{n}"
                taken.add(name)
                cls = self._plan(name, nodes)
                self.classes.append(cls)
                for node in nodes:
                    self.of[node.key] = cls

    # -- structure and values -------------------------------------------------------------------------------

    def _child_skeleton(self, child: LayerReport) -> Any:
        if not child.is_block:
            return ("layer", child.kind, tuple(child.args))
        if child.key in self.of:
            cls = self.of[child.key]
            return ("class", cls.name, tuple(cls.param_names))
        return ("seq", tuple((c.name, self._child_skeleton(c)) for c in child.branches[0]))

    def _skeleton(self, node: LayerReport) -> Any:
        children = tuple((c.name, self._child_skeleton(c)) for c in node.children)
        shape = tuple(len(b) for b in node.branches)
        return (node.kind, node.type, shape, len(node.after), tuple(sorted(node.args.items())), children)

    def values(self, node: LayerReport) -> dict[Slot, Any]:
        """Every value a block's layers and inner blocks take, by slot."""
        out: dict[Slot, Any] = {}
        for child in node.children:
            self._child_values(child, child.name, out)
        return out

    def _child_values(self, child: LayerReport, prefix: str, out: dict[Slot, Any]) -> None:
        if not child.is_block:
            for arg, value in child.args.items():
                out[(prefix, arg)] = value
        elif child.key in self.of:
            for arg, value in self.of[child.key].arguments(child, self.values).items():
                out[(prefix, arg)] = value
        else:  # a plain nn.Sequential inside: its layers' values, under their positions
            for c in child.branches[0]:
                self._child_values(c, f"{prefix}.{c.name}", out)

    def _plan(self, name: str, nodes: list[LayerReport]) -> BlockClass:
        vectors = [self.values(n) for n in nodes]
        slots = list(vectors[0])
        cls = BlockClass(name, nodes, slots)
        varying: dict[tuple[Any, ...], list[Slot]] = {}  # the values across instances -> the slots that have them
        for slot in slots:
            column = tuple(_key(v[slot]) for v in vectors)
            if len(set(column)) == 1:
                cls.constants[slot] = vectors[0][slot]
            else:
                varying.setdefault(column, []).append(slot)
        used: set[str] = {"self"}
        for group in varying.values():
            child, arg = group[0]
            candidates = [arg, f"{child.replace('.', '_')}_{arg}"]
            param = next(
                (c for c in candidates if c not in used and c.isidentifier() and not keyword.iskeyword(c)), None
            )
            n = 2
            while param is None:
                trial = f"{arg}_{n}"
                param = trial if trial not in used else None
                n += 1
            used.add(param)
            cls.param_names.append(param)
            for slot in group:
                cls.params[slot] = param
        return cls


def _key(value: Any) -> Any:
    """A value as a dict key that tells 1 from True and 1.0."""
    return (type(value).__name__, value)


def _identifier(name: str) -> str:
    """A class name from a block's name: CamelCase kept, anything else made an identifier."""
    name = re.sub(r"\W", "_", name)
    return name if name[:1].isalpha() else "Block" + name
