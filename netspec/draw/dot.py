"""The checked tree as Graphviz DOT text: a node per layer, a cluster per block, a node per join."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ..render import fmt_int, fmt_shape
from ..report import LayerReport, ShapeReport
from .layout import JOIN_WORDS, Options, runs

Failed = Mapping[tuple[str | int, ...], str]


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


class _Dot:
    def __init__(self, options: Options, failed: Failed) -> None:
        self.options = options
        self.failed = failed
        self.lines: list[str] = []
        self.count = 0

    def new(self, label: str, indent: str, attrs: str = "") -> str:
        self.count += 1
        name = f"n{self.count}"
        self.lines.append(f"{indent}{name} [label={_quote(label)}{attrs}];")
        return name

    def edges(self, sources: Sequence[str], target: str, indent: str, skip: bool = False) -> None:
        style = ' [style=dashed, color="#c77d10"]' if skip else ""
        self.lines.extend(f"{indent}{s} -> {target}{style};" for s in sources)

    def chain(self, nodes: Sequence[LayerReport], prev: list[str], indent: str) -> list[str]:
        for run in runs(nodes, self.options, self.failed):
            prev = self.node(run[0], len(run), run[-1], prev, indent)
            if not prev:
                break
        return prev

    def node(self, node: LayerReport, times: int, last: LayerReport, prev: list[str], indent: str) -> list[str]:
        name = node.name if times == 1 else f"{node.name}–{last.name}"
        head = f"{name} · {node.type}" + (f" ×{times}" if times > 1 else "")
        code = self.failed.get(node.path)
        failed = code is not None or not node.output_shape
        folded = self.options.depth is not None and node.depth >= self.options.depth and not failed
        if not node.is_block or folded:
            lines = [head, fmt_shape(node.output_shape) if node.output_shape else "no output"]
            if code is not None:
                lines.append(f"error[{code}]")
            elif node.params:
                lines.append(f"{fmt_int(node.params)} params")
            attrs = ', color="#c0392b", penwidth=2' if failed else ""
            me = self.new("\n".join(lines), indent, attrs)
            self.edges(prev, me, indent)
            return [me] if node.output_shape else []
        self.count += 1
        inner = indent + "  "
        title = head + (f"\n{fmt_int(node.params)} params" if node.params else "")
        self.lines.append(f"{indent}subgraph cluster_{self.count} {{")
        self.lines.append(f"{inner}label={_quote(title)};")
        if failed:
            self.lines.append(f'{inner}color="#c0392b";')
        if not node.join:
            out = self.chain(node.branches[0] if node.branches else (), prev, inner)
        else:
            ends: list[str] = []
            skips: list[str] = []
            for branch in node.branches:
                if branch:
                    ends += self.chain(branch, prev, inner)
                else:
                    skips += prev
            word = JOIN_WORDS[node.join]
            shape = fmt_shape(node.join_shape) if node.join_shape else "no output"
            error = f"\nerror[{self.failed[node.path]}]" if node.path in self.failed else ""
            join = self.new(f"{word}\n{shape}{error}", inner, ", shape=oval")
            self.edges(ends, join, inner)
            self.edges(skips, join, inner, skip=True)
            out = self.chain(node.after, [join], inner) if node.join_shape else []
        self.lines.append(f"{indent}}}")
        return out if node.output_shape else []


def write_dot(report: ShapeReport, options: Options, failed: Failed) -> str:
    d = _Dot(options, failed)
    first = d.new(f"input\n{fmt_shape(report.input_shape)}", "  ")
    d.chain(report.layers, [first], "  ")
    head = [
        f"digraph {_quote(report.name)} {{",
        f"  rankdir={options.direction};",
        '  node [shape=box, style=rounded, fontname="DejaVu Sans Mono", fontsize=10];',
        '  edge [color="#4b5563"];',
    ]
    return "\n".join([*head, *d.lines, "}"]) + "\n"
