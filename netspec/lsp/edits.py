"""A diagnostic's fixes (`netspec.diagnostics.Fix`: an operation on a path of the document) as text edits.

The checker says what to change by path; this module finds where that is in the text the user wrote and writes
the change in the style already there: a key added to a flow mapping `{type: Linear, ...}` goes before its `}`, one
added to a block mapping gets a line of its own at its keys' indentation, a layer inserted into a block list gets
its own `- ` line. A fix whose place the document no longer has (it changed since the check) gives no edit.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import yaml

from ..diagnostics import Fix, Path
from .written import MISSING, Pos, Written


@dataclass(frozen=True)
class TextEdit:
    """Replace the text from `start` to `end` (exclusive) with `text`."""

    start: Pos
    end: Pos
    text: str


def edits_for(doc: Written, fix: Fix) -> list[TextEdit] | None:
    """The text edits that apply `fix` to the document, or None where it does not fit the document."""
    if not fix.path:
        return None
    if fix.op == "set":
        return _set(doc, fix.path, fix.value)
    if fix.op == "rename":
        return _rename(doc, fix.path, fix.value)
    if fix.op == "remove":
        return _remove(doc, fix.path)
    return _insert(doc, fix.path, fix.value)


def _set(doc: Written, path: Path, value: Any) -> list[TextEdit] | None:
    if doc.has(path):
        return [TextEdit(doc.start(path), doc.end(path), flow(value))]
    parent, key = path[:-1], path[-1]
    container = doc.lookup(parent)
    if container is MISSING or parent not in doc.smap.values:
        return None
    entry = f"{flow(key)}: {flow(value)}"
    if isinstance(container, str):  # a layer written as its type alone (`- Softmax`) becomes a mapping
        return [TextEdit(doc.start(parent), doc.end(parent), f"{{type: {flow(container)}, {entry}}}")]
    if not isinstance(container, dict):
        return None
    children = doc.children(parent)
    if doc.is_flow(parent):
        if not children:  # `{}`
            line, col = doc.start(parent)
            return [TextEdit((line, col + 1), (line, col + 1), entry)]
        end = max(doc.end(child) for child in children)
        return [TextEdit(end, end, ", " + entry)]
    if not children:
        return None
    indent = min(doc.key_start(child) for child in children)[1]
    at = doc.line_end(max(doc.end(child) for child in children)[0])  # after the mapping's last line and its comment
    return [TextEdit(at, at, "\n" + " " * indent + entry)]


def _rename(doc: Written, path: Path, name: Any) -> list[TextEdit] | None:
    mapping = doc.lookup(path[:-1])
    mark = doc.smap.keys.get(path)
    if not isinstance(mapping, dict) or path[-1] not in mapping or name in mapping or mark is None:
        return None
    return [TextEdit((mark[0], mark[1]), (mark[2], mark[3]), flow(name))]


def _remove(doc: Written, path: Path) -> list[TextEdit] | None:
    parent = path[:-1]
    if not isinstance(doc.lookup(parent), dict) or not doc.has(path) or path not in doc.smap.keys:
        return None
    entries = sorted((c for c in doc.children(parent) if c in doc.smap.keys), key=doc.key_start)
    i = entries.index(path)
    if i + 1 < len(entries):  # up to the next key: `in_features: 256, ` or the key's line and the next's indentation
        return [TextEdit(doc.key_start(path), doc.key_start(entries[i + 1]), "")]
    if i > 0:  # the last entry: from the end of the one before it
        before = doc.end(entries[i - 1])
        if doc.is_flow(parent):
            return [TextEdit(before, doc.end(path), "")]
        return [TextEdit(doc.line_end(before[0]), doc.line_end(doc.end(path)[0]), "")]
    return [TextEdit(doc.key_start(path), doc.end(path), "{}")]  # its only entry


def _insert(doc: Written, path: Path, layer: Any) -> list[TextEdit] | None:
    parent, index = path[:-1], path[-1]
    text = flow(layer)
    if isinstance(doc.lookup(parent), list) and isinstance(index, int) and doc.has(path):
        start = doc.start(path)
        if doc.is_flow(parent):
            return [TextEdit(start, start, text + ", ")]
        before = doc.line(start[0])[: start[1]].rstrip()
        if not before.endswith("-"):
            return None
        dash = len(before) - 1  # a line of its own, at the item's dash: `  - Flatten`
        return [TextEdit((start[0], dash), (start[0], dash), f"- {text}\n" + " " * dash)]
    if doc.has(path) and isinstance(doc.lookup(path), (str, dict)):  # a branch written as one layer: `after: ReLU`
        start, end = doc.start(path), doc.end(path)
        if start[0] == end[0]:
            original = doc.line(start[0])[start[1] : end[1]]
            return [TextEdit(start, end, f"[{text}, {original}]")]
    return None


_PLAIN = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]*")


def flow(value: Any) -> str:
    """A value as YAML in flow style, on one line: `{type: Conv2d, kernel_size: 1, bias: false}`."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        if _PLAIN.fullmatch(value) and yaml.safe_load(value) == value:  # `Conv2d`, not `true`, `null` or `a: b`
            return value
        return json.dumps(value, ensure_ascii=False)  # a JSON string is a double-quoted YAML scalar
    if isinstance(value, dict):
        return "{" + ", ".join(f"{flow(k)}: {flow(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(flow(v) for v in value) + "]"
    raise TypeError(f"not plain data: {value!r}")
