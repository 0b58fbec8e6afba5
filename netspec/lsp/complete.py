"""Completion: layer kinds where a layer's type goes, and a kind's arguments (with their defaults) where a key goes.

The kinds and arguments come from the tables the schema is made from (`netspec.layers.KINDS`: each record's fields
and defaults) and from the spec's own `blocks:` (each block's parameters). The place is read from the text around
the cursor, not from a parse: the document is usually unfinished while completing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from ..layers import KINDS, LAYER_TYPES
from . import docs
from .edits import flow
from .written import Pos

LAYER_LISTS = ("layers", "body", "shortcut", "after", "branches", "layer")  # keys whose value is layers
EXTRAS = ("name", "repeat", "when")  # what every layer may carry besides its arguments
_WORD = r"[A-Za-z0-9_]*"
_TYPE_VALUE = re.compile(rf"(?:^|[\s{{,])type[ \t]*:[ \t]*({_WORD})$")
_BRANCH_VALUE = re.compile(rf"^\s*(?:-\s+)?(?:{'|'.join(LAYER_LISTS)})[ \t]*:[ \t]*({_WORD})$")
_ITEM = re.compile(rf"^(\s*)-[ \t]+(?:-[ \t]+)*({_WORD})$")
_KEY_POSITION = re.compile(rf"^(\s*)({_WORD})$")
_KEY_LINE = re.compile(r"^(\s*)((?:-[ \t]+)*)([A-Za-z0-9_\"']+)[ \t]*:(?:[ \t]+(.*?))?[ \t]*(?:#.*)?$")


@dataclass(frozen=True)
class BlockKind:
    """A block of the spec's own, as completion offers it."""

    params: tuple[tuple[str, Any], ...]  # (name, default), `REQUIRED` for none
    description: str | None = None


REQUIRED = object()


@dataclass(frozen=True)
class Item:
    label: str
    kind: Literal["layer", "block", "argument"]
    detail: str
    documentation: str | None
    insert: str
    start: int  # the column where the word being completed starts, on the cursor's line


def spec_blocks(data: Any) -> dict[str, BlockKind]:
    """The block kinds a spec's data defines under `blocks:`, with their parameters."""
    raw = data.get("blocks") if isinstance(data, dict) else None
    out: dict[str, BlockKind] = {}
    if not isinstance(raw, dict):
        return out
    for name, definition in raw.items():
        if not isinstance(name, str) or not isinstance(definition, dict):
            continue
        params: list[tuple[str, Any]] = []
        for item in definition.get("params") or []:
            if isinstance(item, str):
                params.append((item, REQUIRED))
            elif isinstance(item, dict) and len(item) == 1:
                [(key, default)] = item.items()
                params.append((str(key), default))
        described = definition.get("description")
        out[name] = BlockKind(tuple(params), described if isinstance(described, str) else None)
    return out


def complete(text: str, pos: Pos, blocks: Mapping[str, BlockKind]) -> list[Item]:
    """What may be written at the cursor: layer kinds, or the arguments of the layer being written."""
    lines = text.split("\n")
    if not 0 <= pos[0] < len(lines):
        return []
    before = lines[pos[0]][: pos[1]]
    if re.search(r"(?:^|\s)#", before):
        return []  # in a comment
    match = _TYPE_VALUE.search(before) or _BRANCH_VALUE.match(before)
    if match:
        return _kinds(blocks, pos[1] - len(match.group(1)))
    match = _ITEM.match(before)
    if match and _list_key(lines, pos[0], len(match.group(1))) in LAYER_LISTS:
        return _kinds(blocks, pos[1] - len(match.group(2)))
    flow_items = _in_flow(text, lines, pos, blocks)
    if flow_items is not None:
        return flow_items
    match = _KEY_POSITION.match(before)
    if match:
        keys = _block_mapping(lines, pos[0], len(match.group(1)))
        return _arguments(keys, blocks, pos[1] - len(match.group(2)))
    return []


def _kinds(blocks: Mapping[str, BlockKind], start: int) -> list[Item]:
    items = [Item(kind, "layer", _kind_detail(kind), docs.summary(kind), kind, start) for kind in KINDS]
    items += [
        Item(name, "block", "a block of this spec", block.description, name, start) for name, block in blocks.items()
    ]
    return items


def _kind_detail(kind: str) -> str:
    required = [name for name, f in KINDS[kind].model_fields.items() if f.is_required() and name != "type"]
    what = f"torch.nn.{kind}" if kind in LAYER_TYPES else "a netspec block"
    return what + (f", needs {', '.join(required)}" if required else "")


def _arguments(keys: dict[str, str], blocks: Mapping[str, BlockKind], start: int) -> list[Item]:
    """The arguments of the layer whose keys (and `type`) are given, less those it already has."""
    kind = keys.get("type") or ("Sequential" if "layers" in keys else None)
    if kind in KINDS:
        record = KINDS[kind]
        items = []
        for name, field in record.model_fields.items():
            if name in ("type", "name") or name in keys:
                continue
            if field.is_required():
                detail = "required"
            elif name in record.input_sizes:
                detail = "inferred from the incoming tensor when left out"
            elif field.default is None:
                detail = "optional"
            else:
                detail = f"default {flow(field.default)}"
            items.append(Item(name, "argument", detail, docs.argument(kind, name), f"{name}: ", start))
        return items + _extras(keys, start)
    if kind is not None and kind in blocks:
        items = [
            Item(
                name,
                "argument",
                "required" if default is REQUIRED else f"default {flow(default)}",
                f"a parameter of `{kind}`",
                f"{name}: ",
                start,
            )
            for name, default in blocks[kind].params
            if name not in keys
        ]
        return items + _extras(keys, start)
    return []


def _extras(keys: dict[str, str], start: int) -> list[Item]:
    return [
        Item(name, "argument", "netspec", docs.NETSPEC_ARGS[name], f"{name}: ", start)
        for name in EXTRAS
        if name not in keys
    ]


# -- reading the text around the cursor ----------------------------------------------------------------------------


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _blank(line: str) -> bool:
    stripped = line.strip()
    return not stripped or stripped.startswith("#")


def _list_key(lines: list[str], row: int, dash: int) -> str | None:
    """The key whose value is the block list that a `- ` at column `dash` on line `row` belongs to."""
    for line in reversed(lines[:row]):
        if _blank(line):
            continue
        indent = _indent(line)
        if indent < dash or (indent == dash and not line.lstrip().startswith("-")):
            match = _KEY_LINE.match(line)
            return match.group(3).strip("\"'") if match and not match.group(4) else None
    return None


def _content_column(line: str) -> int:
    """Where a line's key starts: after its indentation and any `- `."""
    match = _KEY_LINE.match(line)
    return _indent(line) + len(match.group(2)) if match else _indent(line)


def _block_mapping(lines: list[str], row: int, col: int) -> dict[str, str]:
    """The keys (and their one-line values) of the block mapping whose keys start at column `col` around `row`."""
    keys: dict[str, str] = {}

    def take(line: str) -> None:
        match = _KEY_LINE.match(line)
        if match:
            keys[match.group(3).strip("\"'")] = (match.group(4) or "").strip()

    for line in reversed(lines[:row]):  # up to the item's `- ` line or the mapping's parent
        if _blank(line):
            continue
        if _content_column(line) == col:
            take(line)
            if line.lstrip().startswith("-"):
                break
        elif _indent(line) < col:
            break
    for line in lines[row + 1 :]:  # down to the next item or the end of the mapping
        if _blank(line):
            continue
        if _indent(line) == col and not line.lstrip().startswith("-"):
            take(line)
        elif _indent(line) <= col:
            break
    return keys


_MAX_BACK = 4000  # characters scanned back for an open `[` or `{`


def _in_flow(text: str, lines: list[str], pos: Pos, blocks: Mapping[str, BlockKind]) -> list[Item] | None:
    """Completions inside `[...]` (layer kinds in a list of layers) or `{...}` (a layer's arguments); None when the
    cursor is not inside a flow collection."""
    offset = sum(len(line) + 1 for line in lines[: pos[0]]) + pos[1]
    depth = 0
    opener = -1
    for i in range(offset - 1, max(-1, offset - _MAX_BACK), -1):
        ch = text[i]
        if ch in "]}":
            depth += 1
        elif ch in "[{":
            if depth == 0:
                opener = i
                break
            depth -= 1
        elif ch == "\n" and text[i + 1 : offset].lstrip().startswith("#"):
            return None
    if opener < 0:
        return None
    segment = text[opener + 1 : offset]
    last = re.split(r"[,\[{]", segment)[-1]
    word = re.fullmatch(rf"\s*({_WORD})", last)
    if word is None:
        return [] if text[opener] == "{" and ":" in last else None
    start = pos[1] - len(word.group(1))
    if text[opener] == "[":
        key = re.search(r"(\w+)[ \t]*:[ \t]*$", text[max(0, opener - 200) : opener])
        return _kinds(blocks, start) if key and key.group(1) in LAYER_LISTS else []
    close = _closing(text, opener)
    inside = text[opener + 1 : close]
    keys = {m.group(1): m.group(2).strip() for m in re.finditer(r"(?:^|[{,])\s*(\w+)\s*:\s*([^,{}\[\]]*)", inside)}
    keys.pop(word.group(1), None)  # the word being typed is not a key yet
    return _arguments(keys, blocks, start)


def _closing(text: str, opener: int) -> int:
    """The index of the bracket that closes the one at `opener`, or the end of its line when it is not closed."""
    depth = 0
    for i in range(opener, min(len(text), opener + _MAX_BACK)):
        if text[i] in "[{":
            depth += 1
        elif text[i] in "]}":
            depth -= 1
            if depth == 0:
                return i
    end = text.find("\n", opener)
    return end if end >= 0 else len(text)
