"""Block templates, `repeat` and `when`: expanded on the spec's plain data before the schema sees it.

    blocks:
      BasicBlock:                        # a block kind of the spec's own, used like a layer kind
        params: [channels, stride: 1]    # a bare name is required; `name: default` is optional
        layer:                           # what one instance is (`layers: [...]` is a Sequential)
          type: Residual
          body:
            - {type: Conv2d, out_channels: $channels, kernel_size: 3, stride: $stride, padding: 1}
            ...
          shortcut:
            when: ${stride != 1}         # the shortcut exists only for some instances
            ...
    layers:
      - {type: BasicBlock, channels: 64, repeat: 2}

Every layer may carry `repeat: n` (n copies in its place; `$i` is the copy's index from 0) and
`when: condition` (dropped when false). Expressions are `expr.py`'s closed language. The result is
plain data again, plus `Origins`: where each expanded layer was written, so that diagnostics point
at the template's line and name the instances it came through.
"""

from __future__ import annotations

import keyword
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .diagnostics import Diagnostic, Fix, Path, SpecError, did_you_mean
from .expr import ExprError, is_template, substitute
from .kinds import ALIASES, BLOCK_NAMES, BRANCH_FIELDS, BRANCH_LISTS, LAYER_KINDS
from .values import show

MAX_LAYERS = 100_000  # layers in a spec once its blocks and repeats are expanded
MAX_VALUES = 4_000_000  # values (numbers, strings, lists, mappings) the expansion may write, all layers together
_BLOCK_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_INSTANCE_KEYS = ("type", "name", "repeat", "when")  # what an instance takes besides its block's parameters
REPEAT_INDEX = "i"
# In an instance's scope: for each parameter, the blocks being expanded where its value was written. A layer
# passed in by the caller is expanded as the caller's text, so a U-Net level may take a level as its `inner`;
# only a block whose own definition leads back to itself is recursion. (A space: never a parameter's name.)
_WRITTEN_IN = " written in"
_WHOLE_NAME = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)\Z")


@dataclass(frozen=True)
class BlockDef:
    name: str
    params: dict[str, Any]  # name -> default; _REQUIRED when it has none
    layer: Any  # the template: one layer as written (a `layers:` list is a Sequential)
    path: Path  # where the template's layer is written: ("blocks", name, "layer")


_REQUIRED = object()


@dataclass
class Origins:
    """Where the layers of an expanded spec were written: the map from its paths to the written file's paths."""

    moved: dict[Path, Path] = field(default_factory=dict)  # an expanded path -> the written path it came from
    instances: dict[Path, tuple[str, Path]] = field(default_factory=dict)  # expanded path -> (block, the call's path)

    def written(self, path: Path) -> Path:
        """The written path of an expanded one: its longest moved prefix, translated."""
        for n in range(len(path), 0, -1):
            origin = self.moved.get(path[:n])
            if origin is not None:
                return origin + path[n:]
        return path

    def calls(self, path: Path) -> list[tuple[str, Path]]:
        """The instances an expanded path lies in, innermost first: (block name, where the instance is written)."""
        return [self.instances[path[:n]] for n in range(len(path), 0, -1) if path[:n] in self.instances]

    def block_of(self, path: Path) -> str | None:
        """The block kind whose instance is the layer at `path`, if it is one."""
        site = self.instances.get(path)
        return site[0] if site else None

    def __bool__(self) -> bool:
        return bool(self.moved or self.instances)


def expand(data: dict[str, Any]) -> tuple[dict[str, Any], Origins]:
    """The spec's data with its blocks instantiated, repeats and conditions applied; SpecError on a bad template.

    Diagnostics carry written paths (positioned by the caller's SourceMap).
    """
    raw_blocks = data.get("blocks")
    layers = data.get("layers")
    if raw_blocks is None and not _needs_expansion(layers):
        return data, Origins()
    blocks = _definitions(raw_blocks) if raw_blocks is not None else {}
    expander = _Expander(blocks)
    out = dict(data)
    if isinstance(layers, list):
        out["layers"] = expander.items(layers, ("layers",), ("layers",), {}, ())
    if expander.errors:
        raise SpecError(expander.errors)
    return out, expander.origins


def _needs_expansion(value: Any) -> bool:
    """Whether any layer carries `repeat`, `when` or a `$`, or a block has a branch written as one layer
    (a spec without blocks usually has none: a cheap walk)."""
    stack = [value]
    while stack:
        v = stack.pop()
        if isinstance(v, dict):
            if "repeat" in v or "when" in v:
                return True
            kind = str(v.get("type", "Sequential" if "layers" in v else None))
            if any(k in v and not isinstance(v[k], list) for k in BRANCH_FIELDS.get(kind, ())):
                return True
            branches = v.get(BRANCH_LISTS.get(kind, ""))
            if isinstance(branches, list) and not all(isinstance(b, list) for b in branches):
                return True
            stack.extend(v.values())
        elif isinstance(v, list):
            stack.extend(v)
        elif is_template(v):
            return True
    return False


def _error(path: Path, code: str, message: str, help: str | None = None, fixes: tuple[Fix, ...] = ()) -> Diagnostic:
    return Diagnostic(code, message, path=path, help=help, fixes=fixes)


def _rename(path: Path, guess: str | None, mapping: Mapping[Any, Any]) -> tuple[Fix, ...]:
    """The fix for a misspelt key: rename it to the guess, unless the mapping already has that key."""
    return (Fix(f"rename to `{guess}`", path, "rename", guess),) if guess and guess not in mapping else ()


def _definitions(raw: Any) -> dict[str, BlockDef]:
    if not isinstance(raw, dict):
        raise SpecError(
            [
                _error(
                    ("blocks",),
                    "invalid-value",
                    f"`blocks` must be a mapping of block names to definitions, got {show(raw)}",
                    help="write `blocks:` then e.g. `BasicBlock: {params: [channels], layers: [...]}`",
                )
            ]
        )
    errors: list[Diagnostic] = []
    blocks: dict[str, BlockDef] = {}
    for name, definition in raw.items():
        where: Path = ("blocks", name)
        if not isinstance(name, str) or not _BLOCK_NAME.fullmatch(name) or keyword.iskeyword(name):
            errors.append(
                _error(
                    where,
                    "invalid-value",
                    f"a block's name must be an identifier such as `BasicBlock`, got {show(name)}",
                )
            )
            continue
        if name in LAYER_KINDS:
            errors.append(
                _error(
                    where,
                    "invalid-value",
                    f"`{name}` is a layer kind of netspec's own: a block cannot take its name",
                    help=f"call the block something else, e.g. `My{name}`",
                )
            )
            continue
        if not isinstance(definition, dict):
            errors.append(
                _error(
                    where,
                    "invalid-value",
                    f"block `{name}` must be a mapping with `params` and `layer` (or `layers`), got {show(definition)}",
                )
            )
            continue
        unknown = [k for k in definition if k not in ("params", "layer", "layers", "description")]
        for key in unknown:
            guess = did_you_mean(str(key), ["params", "layer", "layers", "description"])
            errors.append(
                _error(
                    (*where, key),
                    "unknown-field",
                    f"block `{name}` has no field `{key}`",
                    help=f"did you mean `{guess}`?"
                    if guess
                    else "a block takes `params`, `layer` or `layers`, and `description`",
                    fixes=_rename((*where, key), guess, definition),
                )
            )
        has = [k for k in ("layer", "layers") if k in definition]
        if len(has) != 1:
            errors.append(
                _error(
                    where if not has else (*where, has[1]),
                    "missing-field" if not has else "invalid-value",
                    f"block `{name}` needs `layer` (one layer) or `layers` (a list, run as a Sequential)"
                    if not has
                    else f"block `{name}` has both `layer` and `layers`: give one",
                )
            )
            continue
        key = has[0]
        layer = definition[key]
        if key == "layers":
            if not isinstance(layer, list) or not layer:
                errors.append(
                    _error((*where, key), "invalid-value", f"`layers` of block `{name}` must be a non-empty list")
                )
                continue
            layer = {"type": "Sequential", "layers": layer}
        elif not isinstance(layer, (dict, str)):
            errors.append(
                _error(
                    (*where, key), "invalid-value", f"`layer` of block `{name}` must be one layer, got {show(layer)}"
                )
            )
            continue
        elif isinstance(layer, dict) and ("repeat" in layer or "when" in layer):
            errors.append(
                _error(
                    (*where, key, "repeat" if "repeat" in layer else "when"),
                    "invalid-value",
                    f"the layer of block `{name}` cannot have `repeat` or `when`",
                    help="put them on the block's instances, or on layers inside it",
                )
            )
            continue
        params = _params(name, definition.get("params", []), (*where, "params"), errors)
        blocks[name] = BlockDef(name, params, layer, (*where, key) if key == "layer" else where)
    if errors:
        raise SpecError(errors)
    return blocks


def _params(block: str, raw: Any, where: Path, errors: list[Diagnostic]) -> dict[str, Any]:
    """`[channels, stride: 1]`: a bare name is required, a one-key mapping gives a default."""
    if raw is None:
        return {}
    if not isinstance(raw, list):
        errors.append(
            _error(
                where,
                "invalid-value",
                f"`params` of block `{block}` must be a list such as `[channels, stride: 1]`, got {show(raw)}",
            )
        )
        return {}
    params: dict[str, Any] = {}
    for i, item in enumerate(raw):
        if isinstance(item, str):
            name, default = item, _REQUIRED
        elif isinstance(item, dict) and len(item) == 1:
            [(name, default)] = item.items()
        else:
            errors.append(
                _error(
                    (*where, i),
                    "invalid-value",
                    f"a parameter is a name (required) or `name: default`, got {show(item)}",
                )
            )
            continue
        if not isinstance(name, str) or not _BLOCK_NAME.fullmatch(name) or keyword.iskeyword(name):
            errors.append(
                _error((*where, i), "invalid-value", f"a parameter's name must be an identifier, got {show(name)}")
            )
        elif name in (*_INSTANCE_KEYS, REPEAT_INDEX):
            errors.append(
                _error(
                    (*where, i),
                    "invalid-value",
                    f"`{name}` cannot be a parameter: "
                    + ("`$i` is the index of a repeated copy" if name == REPEAT_INDEX else f"every layer has `{name}`"),
                    help="choose another name",
                )
            )
        elif name in params:
            errors.append(_error((*where, i), "invalid-value", f"block `{block}` declares `{name}` twice"))
        else:
            params[name] = default
    return params


class _Expander:
    def __init__(self, blocks: dict[str, BlockDef]) -> None:
        self.blocks = blocks
        self.origins = Origins()
        self.errors: list[Diagnostic] = []
        self.layers = 0
        self.values = 0

    # -- budget: a spec that expands without end is refused, never computed --------------------------------

    def _spend(self, layers: int, values: int, where: Path) -> None:
        self.layers += layers
        self.values += values
        if self.layers > MAX_LAYERS or self.values > MAX_VALUES:
            what = f"{MAX_LAYERS:,} layers" if self.layers > MAX_LAYERS else f"{MAX_VALUES:,} values"
            raise SpecError(
                [
                    *self.errors,
                    _error(
                        where,
                        "too-many-layers",
                        f"the spec expands to more than {what} (its blocks and repeats multiply)",
                        help="check the `repeat` counts and how blocks use each other",
                    ),
                ]
            )

    # -- layer lists ------------------------------------------------------------------------------------------

    def items(
        self, items: list[Any], written: Path, at: Path, env: Mapping[str, Any], stack: tuple[str, ...]
    ) -> list[Any]:
        """A layer list: each item kept, dropped (`when`), copied (`repeat`) or instantiated."""
        out: list[Any] = []
        for k, item in enumerate(items):
            w = (*written, k)
            for copy_env in self._copies(item, w, env):
                e = (*at, len(out))
                layer = self.item(item, w, e, copy_env, stack)
                if layer is not None:
                    out.append(layer)
        return out

    def _copies(self, item: Any, written: Path, env: Mapping[str, Any]) -> list[Mapping[str, Any]]:
        """The environments of an item's copies: none when its `when` is false, n for `repeat: n`."""
        if not isinstance(item, dict):
            return [env]
        if "when" in item and not self._condition(item["when"], (*written, "when"), env):
            return []
        if "repeat" not in item:
            return [env]
        n = self._value(item["repeat"], (*written, "repeat"), env)
        if not isinstance(n, int) or isinstance(n, bool) or not 1 <= n <= MAX_LAYERS:
            bound = n if isinstance(n, int) and not isinstance(n, bool) and n > MAX_LAYERS else None
            self.errors.append(
                _error(
                    (*written, "repeat"),
                    "too-many-layers" if bound else "invalid-value",
                    f"`repeat` must be an integer from 1 to {MAX_LAYERS:,}, got {show(n)}",
                    help="use `when:` to drop a layer, e.g. `when: ${blocks > 1}`"
                    if n == 0
                    else "a spec expands to at most 100,000 layers",
                )
            )
            return []
        self._spend(0, n, (*written, "repeat"))  # before the copies: `repeat: 10**12` costs nothing
        return [{**env, REPEAT_INDEX: i} for i in range(n)]

    def item(self, item: Any, written: Path, at: Path, env: Mapping[str, Any], stack: tuple[str, ...]) -> Any:
        """One layer, with its `$` parts filled in and its branches expanded; None when it cannot be read."""
        kind = item if isinstance(item, str) else item.get("type") if isinstance(item, dict) else None
        whole = _WHOLE_NAME.match(item) if isinstance(item, str) else None
        if whole is not None and whole.group(1) in env.get(_WRITTEN_IN, {}):  # a layer the caller passed in
            stack = env[_WRITTEN_IN][whole.group(1)]
        if isinstance(kind, str) and is_template(kind):
            kind = self._value(kind, (*written, "type") if isinstance(item, dict) else written, env)
            if isinstance(item, dict):
                item = {**item, "type": kind}
            else:
                item = kind
                if isinstance(item, dict):  # `- $inner`: a whole layer, perhaps an instance of a block
                    kind = item.get("type")
        if isinstance(kind, str) and kind in self.blocks:
            return self._instance(self.blocks[kind], item, written, at, env, stack)
        if written != at:
            self.origins.moved[at] = written
        self._spend(1, 1, written)
        if not isinstance(item, dict):
            return self._value(item, written, env) if is_template(item) else item
        out: dict[str, Any] = {}
        block = item.get("type", "Sequential" if "layers" in item else None)
        for key, value in item.items():
            if key in ("repeat", "when"):
                continue
            w, e = (*written, key), (*at, key)
            if block in BLOCK_NAMES and key in BRANCH_FIELDS.get(str(block), ()):
                out[key] = self.branch(value, w, e, env, stack)
            elif block in BLOCK_NAMES and key == BRANCH_LISTS.get(str(block)) and isinstance(value, list):
                out[key] = [self.branch(b, (*w, j), (*e, j), env, stack) for j, b in enumerate(value)]
            else:
                out[key] = self.value(value, w, env)
        return out

    def branch(self, value: Any, written: Path, at: Path, env: Mapping[str, Any], stack: tuple[str, ...]) -> Any:
        """A branch, as a list of layers: one layer written alone is a list of one (none when its `when` is false),
        so that the expanded spec's paths are the paths of its records."""
        if isinstance(value, list):
            return self.items(value, written, at, env, stack)
        if value is None:
            return []
        out: list[Any] = []
        for copy_env in self._copies(value, written, env):
            layer = self.item(value, written, (*at, len(out)), copy_env, stack)
            if layer is not None:
                out.append(layer)
        return out

    # -- instances --------------------------------------------------------------------------------------------

    def _instance(
        self, block: BlockDef, item: Any, written: Path, at: Path, env: Mapping[str, Any], stack: tuple[str, ...]
    ) -> Any:
        if block.name in stack:
            chain = " → ".join([*stack[stack.index(block.name) :], block.name])
            self.errors.append(
                _error(
                    (*written, "type") if isinstance(item, dict) else written,
                    "invalid-value",
                    f"block `{block.name}` uses itself ({chain}), which would never end",
                    help="a block may use other blocks, but not itself, directly or through others",
                )
            )
            return None
        args = item if isinstance(item, dict) else {"type": item}
        bound: dict[str, Any] = {}
        guessed: set[str] = set()  # parameters a did-you-mean already names: "needs `width`" would add nothing
        ok = True
        for key, value in args.items():
            if key in _INSTANCE_KEYS:
                continue
            if key not in block.params:
                guess = did_you_mean(str(key), list(block.params))
                guessed.update([guess] if guess else [])
                listed = ", ".join(f"`{p}`" for p in block.params) or "none"
                self.errors.append(
                    _error(
                        (*written, key),
                        "unknown-field",
                        f"block `{block.name}` has no parameter `{key}`",
                        help=f"did you mean `{guess}`?" if guess else f"its parameters: {listed}",
                        fixes=_rename((*written, key), guess, args),
                    )
                )
                ok = False
                continue
            bound[key] = self.value(value, (*written, key), env)
        for name, default in block.params.items():
            if name not in bound and default is _REQUIRED and name not in guessed:
                self.errors.append(
                    _error(
                        written,
                        "missing-field",
                        f"`{block.name}` needs `{name}`",
                        help=f"add `{name}:` to this {block.name}",
                    )
                )
                ok = False
        if not ok:
            return None
        # defaults may use the parameters before them: `params: [width, out: ${width * 4}]`
        scope: dict[str, Any] = {}
        for i, (name, default) in enumerate(block.params.items()):
            if name in bound:
                scope[name] = bound[name]
            else:
                scope[name] = self.value(default, (*block.path[:2], "params", i, name), scope)
        # a value given here was written where this instance is (the caller's stack); a default, in this block
        scope[_WRITTEN_IN] = {name: stack if name in bound else (*stack, block.name) for name in block.params}
        self.origins.instances[at] = (block.name, written)
        template = {"type": block.layer} if isinstance(block.layer, str) else block.layer
        expanded = self.item(template, block.path, at, scope, (*stack, block.name))
        if isinstance(expanded, dict) and "name" in args:  # the instance's name names the block's module
            expanded["name"] = self.value(args["name"], (*written, "name"), env)
            self.origins.moved[(*at, "name")] = (*written, "name")
        return expanded

    # -- values -----------------------------------------------------------------------------------------------

    def value(self, value: Any, written: Path, env: Mapping[str, Any]) -> Any:
        """An argument's value with its `$` parts filled in (in lists and mappings too)."""
        self._spend(0, 1, written)
        if is_template(value):
            return self._value(value, written, env)
        if isinstance(value, list):
            return [self.value(v, (*written, i), env) for i, v in enumerate(value)]
        if isinstance(value, dict):
            return {k: self.value(v, (*written, k), env) for k, v in value.items()}
        return value

    def _value(self, value: Any, written: Path, env: Mapping[str, Any]) -> Any:
        if not is_template(value):
            return value
        try:
            return substitute(value, env)
        except ExprError as e:
            self.errors.append(_error(written, "invalid-value", str(e), help=e.help))
            return None

    def _condition(self, value: Any, written: Path, env: Mapping[str, Any]) -> bool:
        result = self._value(value, written, env)
        if isinstance(result, bool):
            return result
        if result is not None or not is_template(value):
            self.errors.append(
                _error(
                    written,
                    "invalid-value",
                    f"`when` must be true or false, got {show(result)}",
                    help="e.g. `when: ${stride != 1}`",
                )
            )
        return False


def unknown_block_help(kind: str, blocks: Mapping[str, Any]) -> str | None:
    """did-you-mean over layer kinds and the spec's own blocks (for unknown-layer)."""
    return did_you_mean(kind, [*LAYER_KINDS, *blocks], ALIASES)
