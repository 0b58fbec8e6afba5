"""The document as written: its loaded YAML values and where each one is, by path (for edits, hints and outlines).

Positions are 0-based (line, column) in characters of the text, as netspec's SourceMap records them; the server
converts them to the editor's units.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..diagnostics import Path
from ..source import SourceMap

Pos = tuple[int, int]  # (line, column), 0-based, in characters
MISSING = object()  # what `lookup` gives for a path the document does not have


@dataclass(frozen=True)
class Written:
    """One version of a document: its text, its values as loaded (before blocks are expanded), and its source map."""

    text: str
    data: Any
    smap: SourceMap

    def line(self, n: int) -> str:
        return self.smap.line(n)

    def lookup(self, path: Path) -> Any:
        """The value at `path`, or `MISSING`."""
        cur = self.data
        for item in path:
            in_list = isinstance(cur, list) and isinstance(item, int) and 0 <= item < len(cur)
            if not in_list and not (isinstance(cur, dict) and item in cur):
                return MISSING
            cur = cur[item]
        return cur

    def has(self, path: Path) -> bool:
        return self.lookup(path) is not MISSING and path in self.smap.values

    def start(self, path: Path) -> Pos:
        line, col, _, _ = self.smap.values[path]
        return (line, col)

    def key_start(self, path: Path) -> Pos:
        mark = self.smap.keys.get(path) or self.smap.values[path]
        return (mark[0], mark[1])

    def is_flow(self, path: Path) -> bool:
        """Whether the collection at `path` is written in flow style (`[...]`, `{...}`) rather than as a block."""
        line, col = self.start(path)
        return self.line(line)[col : col + 1] in ("[", "{")

    def end(self, path: Path) -> Pos:
        """Where the value at `path` ends: a scalar's or a flow collection's last character, a block collection's
        last value (the parser ends a block at the next token, which may be lines further on)."""
        value = self.lookup(path)
        _, _, end_line, end_col = self.smap.values[path]
        if isinstance(value, (dict, list)) and value and not self.is_flow(path) and self._is_node(path):
            ends = [self.end(child) for child in self.children(path)]
            if ends:
                return max(ends)
        return (end_line, end_col)

    def children(self, path: Path) -> list[Path]:
        """The paths of a collection's items (or a mapping's values) that have positions, in document order."""
        value = self.lookup(path)
        keys: list[Any] = (
            list(range(len(value))) if isinstance(value, list) else list(value) if isinstance(value, dict) else []
        )
        found = [(*path, k) for k in keys if (*path, k) in self.smap.values]
        return sorted(found, key=lambda p: self.smap.values[p][:2])

    def _is_node(self, path: Path) -> bool:
        """Whether the value was written here rather than copied by an alias (`*base` is one token)."""
        line, col = self.start(path)
        return self.line(line)[col : col + 1] != "*"

    def line_end(self, line: int) -> Pos:
        return (line, len(self.line(line)))
