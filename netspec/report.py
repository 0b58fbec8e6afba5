"""`check`: run the shape rules over a spec's tree of layers and collect the checked report.

The report is a tree of LayerReport nodes, one per layer or block, which every consumer walks
(the table, JSON, the builder, the exporters): nothing downstream derives a shape, a name or a
constructor argument again.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, NamedTuple

from . import shapes
from .blocks import Origins
from .diagnostics import Diagnostic, Path, Related, SpecError
from .inputs import Tokens
from .kinds import BLOCK_NAMES, branches_of, has_init, index_names, kind_names, params_of, prefix_of
from .shapes import RULES, Dim, Dims, fmt_shape
from .source import gc_paused

if TYPE_CHECKING:  # a spec and its records may be pydantic's or the fast path's (fastpath.py): read alike
    from .layers import Concat, Init, LayerBase, Multiply, Residual
    from .spec import Spec

Shape = tuple[int | str, ...]  # ("N", 6, 28, 28): the batch stays symbolic
FLOAT32_BYTES = 4
JOINS = {"Residual": "add", "Concat": "concatenate", "Multiply": "multiply"}


@dataclass(frozen=True)
class ReceptiveField:
    """How much of the input one output position sees (size) and how far apart neighbours are (jump), per axis."""

    size: tuple[int, ...]
    jump: tuple[int, ...]


@dataclass(frozen=True)
class LayerReport:
    """One node of the checked tree: a layer, or a block whose branches hold nodes of their own."""

    index: int  # its position in the list that holds it (for top-level layers: in `layers`)
    name: str  # its submodule name in the block (or model) that holds it
    type: str  # as the spec writes it: `Conv2d`, `Residual`, or a block of the spec's own such as `BasicBlock`
    input_shape: Shape
    output_shape: Shape
    params: int  # trainable parameters (a block's: all of its layers')
    mult_adds: int  # per sample, torchinfo's convention (a block's: all of its layers')
    receptive_field: ReceptiveField | None  # None once the output is no longer an image
    activation_bytes: int  # its outputs, one sample in float32 (a block's: every tensor it makes)
    key: str = ""  # its dotted path in the built model, the state_dict prefix: `layer1.0.conv1`
    kind: str = ""  # what it is: the torch.nn class, or Sequential / Residual / Concat / Multiply
    path: Path = ()  # where it is in the spec: ("layers", 4, "layers", 0, "body", 1)
    depth: int = 0  # 0 for the model's own layers
    args: Mapping[str, Any] = field(default_factory=dict)  # a layer's torch constructor arguments, inferred included
    init: Init | None = None  # how its weight is initialised (a layer with `init`, or the spec's)
    branches: tuple[tuple[LayerReport, ...], ...] = ()  # a Sequential's layers; a join's branches, in order
    labels: tuple[str, ...] = ()  # what each branch is called: `body`, `shortcut`, `branch 1`, ...
    after: tuple[LayerReport, ...] = ()  # a join's layers after the join
    join_shape: Shape | None = None  # a join's output, before `after`

    @property
    def is_block(self) -> bool:
        return self.kind in BLOCK_NAMES

    @property
    def join(self) -> str | None:
        """`add`, `concatenate` or `multiply` for a join block; None for a layer or a Sequential."""
        return JOINS.get(self.kind)

    @property
    def children(self) -> tuple[LayerReport, ...]:
        return (*(node for branch in self.branches for node in branch), *self.after)

    def walk(self) -> Iterator[LayerReport]:
        """This node, then every node below it, in the order they run."""
        yield self
        for child in self.children:
            yield from child.walk()


@dataclass(frozen=True)
class ShapeReport:
    name: str
    source: str | None
    input_shape: Shape
    layers: tuple[LayerReport, ...]  # the model's own layers; blocks hold theirs
    warnings: tuple[Diagnostic, ...] = ()
    tokens: int | None = None  # the input is token ids (int64) below this, not a float tensor

    @property
    def output_shape(self) -> Shape:
        return self.layers[-1].output_shape if self.layers else self.input_shape

    @property
    def total_params(self) -> int:
        return sum(layer.params for layer in self.layers)

    @property
    def total_mult_adds(self) -> int:
        return sum(layer.mult_adds for layer in self.layers)

    @property
    def param_bytes(self) -> int:
        return self.total_params * FLOAT32_BYTES

    @property
    def activation_bytes(self) -> int:
        """Input plus every tensor the layers and joins make, one sample, float32.

        Not torchinfo's "forward/backward pass size", which counts only layers with parameters, twice.
        """
        return numel(self.input_shape) * FLOAT32_BYTES + sum(layer.activation_bytes for layer in self.layers)

    def walk(self) -> Iterator[LayerReport]:
        """Every node, depth first, in the order they run."""
        for layer in self.layers:
            yield from layer.walk()

    def leaves(self) -> Iterator[LayerReport]:
        """The layers that are torch.nn modules of their own (not blocks)."""
        return (node for node in self.walk() if not node.is_block)

    def __str__(self) -> str:
        """`print(report)`: the table `netspec check` prints, bold only when stdout is a terminal."""
        import sys

        from .render import table

        return table(self, color=sys.stdout.isatty())

    def _repr_html_(self) -> str:
        """Jupyter shows the table as HTML."""
        from .render import html_table

        return html_table(self)


def numel(shape: Shape) -> int:
    return math.prod(d for d in shape if isinstance(d, int))


def _shape(dims: Dims) -> Shape:
    if None in dims:  # an unknown size, after an error: shown as 0
        return ("N", *(d if d is not None else 0 for d in dims))
    return ("N", *dims)  # type: ignore[arg-type]  # no None in it


def check(spec: Spec) -> ShapeReport:
    """Every layer's shapes, parameters, mult-adds and receptive field; raises SpecError on any error."""
    with gc_paused():
        report, checker = _check(spec, partial=False)
    if any(d.is_error for d in checker.diagnostics):
        raise SpecError(checker.diagnostics)
    return report


class Partial(NamedTuple):
    """What `check` knows of a spec that may have errors: the tree up to where shapes are known, and why it stops.

    `failed` maps each layer (or join) with an error to the code of its first error. A layer whose output cannot be
    judged is in the tree with `output_shape == ()`, and a block that stops holds the layers it checked up to there
    (so `netspec draw` can show where a spec breaks).
    """

    report: ShapeReport
    diagnostics: tuple[Diagnostic, ...]
    failed: Mapping[Path, str]


def check_partial(spec: Spec) -> Partial:
    """`check` that never raises: the known part of the tree, every diagnostic, and the layers that failed."""
    with gc_paused():
        report, checker = _check(spec, partial=True)
    return Partial(report, tuple(checker.diagnostics), checker.failed)


def _check(spec: Spec, partial: bool) -> tuple[ShapeReport, _Checker]:
    checker = _Checker(spec, partial)
    dims: Dims = tuple(spec.input)
    given = spec.input
    spatial = len(given) >= 2 and given.tokens is None and given.dims[0] == "C"  # (C, L), (C, H, W), (C, D, H, W)
    rf = ReceptiveField((1,) * (len(dims) - 1), (1,) * (len(dims) - 1)) if spatial else None
    if given.tokens is not None:
        dims = Tokens(dims, given.tokens)
    names = checker.scope(spec.layers, [("layers", i) for i in range(len(spec.layers))], index=False)
    nodes, _, _ = checker.chain(spec.layers, ("layers",), names, dims, rf, _Step("input", "", dims, None), "", 0)
    smap = spec.source
    report = ShapeReport(
        name=spec.name,
        source=smap.source if smap else None,
        input_shape=_shape(tuple(spec.input)),
        layers=tuple(nodes),
        warnings=tuple(checker.diagnostics),
        tokens=spec.input.tokens,
    )
    return report, checker


class _Label(NamedTuple):
    """How notes name a layer, formatted only when a diagnostic needs it (the happy path does no string work)."""

    position: int
    name: str
    type: str
    key: str
    depth: int
    join: str = ""

    def __str__(self) -> str:  # `layer 6 (flatten1: Flatten)`, `` `layer1.0.conv2` (Conv2d) ``
        text = f"layer {self.position} ({self.name}: {self.type})" if self.depth == 0 else f"`{self.key}` ({self.type})"
        return f"the {self.join} of {text}" if self.join else text


class _Step(NamedTuple):
    """What made a tensor, linked to what came before."""

    name: _Label | str  # the layer, or "input"
    explain: str
    dims: Dims
    prev: _Step | None
    shape: Shape = ()  # dims as a report writes them, when already made


class _Checker:
    def __init__(self, spec: Spec, partial: bool = False) -> None:
        self.spec = spec
        self.origins: Origins = spec.origins
        self.diagnostics: list[Diagnostic] = []
        self.partial = partial  # keep the failing layers in the tree (check_partial), not only their diagnostics
        self.failed: dict[Path, str] = {}  # the layers with errors, each with its first error's code
        self.stash: dict[Path, dict[str, Any]] = {}  # a failing block's checked contents, by its path

    def scope(self, layers: Sequence[LayerBase], paths: list[Path], *, index: bool) -> list[tuple[str, str]]:
        """Each layer's submodule name in one scope (by position in a Sequential, by kind, `conv1`, in a block or
        the model) and its type as written (a block of the spec's own, or the record's)."""
        if self.origins.instances:
            types = [self.origins.block_of(path) or layer.type for layer, path in zip(layers, paths)]
            prefixes = [t.lower() if t != layer.type else prefix_of(layer) for t, layer in zip(types, layers)]
        else:
            types = [layer.type for layer in layers]
            prefixes = [prefix_of(layer) for layer in layers]
        items = [(prefix, layer.name) for prefix, layer in zip(prefixes, layers)]
        return list(zip(index_names(items) if index else kind_names(items), types))

    # -- chains and nodes -------------------------------------------------------------------------------------

    def chain(
        self,
        layers: Sequence[LayerBase],
        path: Path,
        names: list[tuple[str, str]],
        dims: Dims,
        rf: ReceptiveField | None,
        step: _Step,
        key: str,
        depth: int,
    ) -> tuple[list[LayerReport], Dims | None, ReceptiveField | None]:
        """Layers run in order from `dims`; stops at the first whose output cannot be judged."""
        nodes: list[LayerReport] = []
        out: Dims | None = dims
        for i, layer in enumerate(layers):
            assert out is not None
            name, kind_type = names[i]
            node, step = self.node(layer, (*path, i), i, name, kind_type, out, rf, step, key, depth)
            if node is None:
                if self.partial:
                    nodes.append(self._failed(layer, (*path, i), i, name, kind_type, out, key, depth))
                return nodes, None, rf
            nodes.append(node)
            out, rf = step.dims, node.receptive_field
        return nodes, out, rf

    def node(
        self,
        layer: LayerBase,
        path: Path,
        index: int,
        name: str,
        kind_type: str,
        dims: Dims,
        rf: ReceptiveField | None,
        step: _Step,
        key: str,
        depth: int,
    ) -> tuple[LayerReport | None, _Step]:
        full_key = f"{key}.{name}" if key else name
        label = _Label(index, name, kind_type, full_key, depth)
        rule = RULES.get(layer.type)
        if rule is None:  # a block
            base: dict[str, Any] = dict(
                index=index,
                name=name,
                type=kind_type,
                key=full_key,
                kind=layer.type,
                path=path,
                depth=depth,
                input_shape=_shape(dims),
            )
            if layer.type == "Sequential":
                return self._sequential(layer, base, dims, rf, step, label)
            assert layer.type in JOINS
            return self._join(layer, base, dims, rf, step, label)
        if isinstance(dims, Tokens) != layer.takes_tokens:
            self._report(_dtype_issue(layer, dims), path, dims, step, label)
            return None, step
        outcome = rule(layer, dims)
        for d in outcome.issues:
            if d.code == "missing-flatten" and not d.is_error and rf is None:
                continue  # Linear on a sequence (L, F) acts on each step's features, as intended
            self._report(d, path, dims, step, label)
        if outcome.dims is None:
            return None, step  # nothing after this can be judged
        out = outcome.dims
        node = LayerReport(
            index=index,
            name=name,
            type=kind_type,
            key=full_key,
            kind=layer.type,
            path=path,
            depth=depth,
            input_shape=step.shape if step.shape and step.dims is dims else _shape(dims),
            output_shape=_shape(out),
            params=outcome.params,
            mult_adds=outcome.mult_adds,
            receptive_field=_slide(rf, outcome, out),
            activation_bytes=math.prod(d or 0 for d in out) * FLOAT32_BYTES,
            args={**params_of(layer), **outcome.inferred},
            init=(getattr(layer, "init", None) or self.spec.init) if has_init(layer) else None,
        )
        return node, _Step(label, outcome.explain, out, step, node.output_shape)

    def _sequential(
        self, layer: Any, base: dict[str, Any], dims: Dims, rf: ReceptiveField | None, step: _Step, label: _Label
    ) -> tuple[LayerReport | None, _Step]:
        path = (*base["path"], "layers")
        names = self.scope(layer.layers, [(*path, i) for i in range(len(layer.layers))], index=True)
        nodes, out, rf = self.chain(layer.layers, path, names, dims, rf, step, base["key"], base["depth"] + 1)
        if out is None:
            self._keep(base["path"], branches=(tuple(nodes),))
            return None, step
        node = LayerReport(
            **base, output_shape=_shape(out), receptive_field=rf, branches=(tuple(nodes),), **_sums(nodes)
        )
        return node, _Step(label, "", out, step)

    def _join(
        self,
        layer: Any,  # a Residual, Concat or Multiply record (pydantic's or the fast path's)
        base: dict[str, Any],
        dims: Dims,
        rf: ReceptiveField | None,
        step: _Step,
        label: _Label,
    ) -> tuple[LayerReport | None, _Step]:
        path, depth, key = base["path"], base["depth"] + 1, base["key"]
        lists = branches_of(layer)
        # one scope for all the block's layers, in the order they run: `conv1`, `bn1`, ..., `downsample`, `relu3`
        flat = [(child, (*path, *sub, i)) for sub, items in lists for i, child in enumerate(items)]
        names = iter(self.scope([child for child, _ in flat], [p for _, p in flat], index=False))
        branch_nodes: list[tuple[LayerReport, ...]] = []
        outs: list[tuple[str, Dims | None, ReceptiveField | None]] = []
        labels: list[str] = []
        for sub, items in lists[:-1]:  # the branches; `after` runs on the join's output
            label_b = _branch_label(layer, sub)
            chain_names = [next(names) for _ in items]
            nodes, out, rf_b = self.chain(items, (*path, *sub), chain_names, dims, rf, step, key, depth)
            branch_nodes.append(tuple(nodes))
            labels.append(label_b)
            outs.append((label_b, out, rf_b if items else rf))
        known = [(lab, d) for lab, d, _ in outs if d is not None]
        if len(known) < len(outs) and not (layer.type == "Residual" and known):
            self._keep(path, branches=tuple(branch_nodes), labels=tuple(labels))
            return None, step  # a branch failed: the join cannot be judged (a residual goes on with the other)
        issue: Diagnostic | None = None
        arg: str | None = None
        joined: Dims | None
        if layer.type == "Residual":
            joined, issues = shapes.add(dims, known, identity_shortcut=not layer.shortcut)
        elif layer.type == "Concat":
            joined, issues, arg = shapes.concat(dims, known, layer.dim)
        else:
            joined, issues = shapes.multiply(dims, known)
        for issue in issues:
            self._report(issue, path, dims, step, label, arg=arg, related=self._related(path, layer, outs))
        if joined is None:
            self._keep(path, branches=tuple(branch_nodes), labels=tuple(labels))
            return None, step
        join_rf = _widest([r for _, _, r in outs])
        join_step = _Step(label._replace(join=JOINS[layer.type]), "", joined, step)
        after_names = [next(names) for _ in layer.after]
        after, out, rf_out = self.chain(
            layer.after, (*path, "after"), after_names, joined, join_rf, join_step, key, depth
        )
        if out is None:
            kept = {"branches": tuple(branch_nodes), "labels": tuple(labels), "after": tuple(after)}
            self._keep(path, join_shape=_shape(joined), **kept)
            return None, step
        nodes = [n for b in branch_nodes for n in b] + after
        sums = _sums(nodes)
        sums["activation_bytes"] += math.prod(d or 0 for d in joined) * FLOAT32_BYTES  # the join makes a tensor
        node = LayerReport(
            **base,
            output_shape=_shape(out),
            receptive_field=rf_out,
            args={"dim": layer.dim} if layer.type == "Concat" else {},  # what the join takes besides its layers
            branches=tuple(branch_nodes),
            labels=tuple(labels),
            after=tuple(after),
            join_shape=_shape(joined),
            **sums,
        )
        return node, _Step(label, "", out, step)

    # -- what a failing spec keeps (check_partial) ----------------------------------------------------------------

    def _keep(self, path: Path, **contents: Any) -> None:
        if self.partial:
            self.stash[path] = contents

    def _failed(
        self, layer: LayerBase, path: Path, index: int, name: str, kind_type: str, dims: Dims, key: str, depth: int
    ) -> LayerReport:
        """The layer whose output cannot be judged: its input, no output, and what a block checked inside it."""
        contents = self.stash.pop(path, {})
        return LayerReport(
            index=index,
            name=name,
            type=kind_type,
            key=f"{key}.{name}" if key else name,
            kind=layer.type,
            path=path,
            depth=depth,
            input_shape=_shape(dims),
            output_shape=(),
            params=0,
            mult_adds=0,
            receptive_field=None,
            activation_bytes=0,
            **contents,
        )

    # -- diagnostics --------------------------------------------------------------------------------------------

    def _related(
        self, path: Path, layer: Residual | Concat | Multiply, outs: list[tuple[str, Dims | None, Any]]
    ) -> tuple[Related, ...]:
        """Each written branch, with the shape it gives: the second caret in the terminal, related info in editors."""
        related = []
        for (sub, items), (label, out, _) in zip(branches_of(layer), outs):
            if not items or out is None:
                continue
            d = self.spec.at((*path, *sub), Diagnostic("branch-mismatch", ""), key=True)
            if d.span is not None:
                related.append(Related(d.span, f"{label} gives {fmt_shape(out)}"))
        return tuple(related)

    def _report(
        self,
        d: Diagnostic,
        path: Path,
        dims: Dims,
        step: _Step,
        label: _Label,
        arg: str | None = None,
        related: tuple[Related, ...] = (),
    ) -> None:
        d = _context(d, label, dims, step)
        if d.is_error:
            self.failed.setdefault(path, d.code)
        where = (*path, *(d.path or ((arg,) if arg else ("type",))))
        fixes = tuple(replace(f, path=(*path, *f.path)) for f in d.fixes)  # a rule's fixes are relative to the layer
        d = replace(d, related=(*d.related, *related), fixes=fixes)
        self.diagnostics.append(self.spec.at(where, d))


def _dtype_issue(layer: LayerBase, dims: Dims) -> Diagnostic:
    """A layer given token ids that takes floats, or an Embedding given floats."""
    if isinstance(dims, Tokens):
        return Diagnostic(
            "rank-mismatch",
            f"{layer.type} takes a float tensor, but gets token ids {fmt_shape(dims)} (int64, below {dims.vocab:,})",
            help="put an Embedding first: `- {type: Embedding, embedding_dim: 64}`",
        )
    return Diagnostic(
        "rank-mismatch",
        f"{layer.type} takes token ids (int64), but gets a float tensor {fmt_shape(dims)}",
        help="declare token ids as the input: `input: {shape: [L], tokens: <vocabulary size>}`",
    )


def _branch_label(layer: LayerBase, sub: tuple[str | int, ...]) -> str:
    if layer.type == "Residual":
        return f"the {sub[0]}"
    return f"branch {int(sub[1]) + 1}"


def _sums(nodes: list[LayerReport]) -> dict[str, Any]:
    return {
        "params": sum(n.params for n in nodes),
        "mult_adds": sum(n.mult_adds for n in nodes),
        "activation_bytes": sum(n.activation_bytes for n in nodes),
    }


def _slide(rf: ReceptiveField | None, outcome: shapes.Outcome, out: Dims) -> ReceptiveField | None:
    """The receptive field after a layer: `r + (k - 1) j` and `j s` per axis for a sliding window."""
    if rf is None or not outcome.spatial or len(out) != len(rf.size) + 1:
        return None
    if outcome.window is None:
        return rf
    lead = len(rf.size) - len(outcome.window)  # a 2-D window on a volume (ZeroPad2d) slides over H and W only
    if lead < 0:
        return None
    return ReceptiveField(
        rf.size[:lead] + tuple(r + (k - 1) * j for r, j, (k, _) in zip(rf.size[lead:], rf.jump[lead:], outcome.window)),
        rf.jump[:lead] + tuple(j * s for j, (_, s) in zip(rf.jump[lead:], outcome.window)),
    )


def _widest(fields: list[ReceptiveField | None]) -> ReceptiveField | None:
    """Where branches join, the largest field and jump per axis (an upper bound when they differ)."""
    if not fields or any(f is None for f in fields):
        return None
    known = [f for f in fields if f is not None]
    if len({len(f.size) for f in known}) > 1:  # branches of different ranks: the join's own check reports it
        return None
    return ReceptiveField(
        tuple(max(f.size[i] for f in known) for i in range(len(known[0].size))),
        tuple(max(f.jump[i] for f in known) for i in range(len(known[0].jump))),
    )


def _context(d: Diagnostic, label: _Label, dims: Dims, step: _Step) -> Diagnostic:
    """Add the notes a reader needs: which layer, what it got, and where that came from."""
    if d.code in ("shape-mismatch", "rank-mismatch", "missing-flatten"):
        if step.prev is None:
            d = d.with_note(f"the spec's `input` is {fmt_shape(dims)}")
        else:
            note = f"{step.name} turns {fmt_shape(step.prev.dims)} into {fmt_shape(dims)}"
            d = d.with_note(note + (f": {step.explain}" if step.explain else ""))
    else:
        d = d.with_note(f"{label} gets {fmt_shape(dims)}")
    if d.code == "empty-output" and len(dims) >= 2:
        # "size" when both axes shrank alike and one message covers them
        axis = "height" if "height" in d.message else "width" if "width" in d.message else "size"
        pos = -2 if axis == "height" else -1
        trail: list[str] = []
        last: Dim = None
        steps = []
        s: _Step | None = step
        while s is not None:
            steps.append(s)
            s = s.prev
        for s in reversed(steps):  # only the layers that changed the size: 32 (input) → 28 (conv1) → 14 (pool1)
            if len(s.dims) >= 2 and s.dims[pos] is not None and s.dims[pos] != last:
                trail.append(f"{s.dims[pos]} ({s.name if isinstance(s.name, str) else s.name.name})")
                last = s.dims[pos]
        if len(trail) > 1:
            d = d.with_note(f"the {axis} shrinks: " + " → ".join(trail))
    return d
