"""`--set train.optimizer.lr=3e-4` and the flags like `--epochs`: edits to a spec's data, re-validated. No torch."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from pydantic import BaseModel

from ..diagnostics import Diagnostic, SpecError
from ..diagnostics import Path as DocPath
from ..source import load_yaml
from ..spec import Spec, spec_from_data, spec_to_data
from .config import TrainConfig

# Where a bare string stands for a mapping: `optimizer: Adam` means `{type: Adam}`.
_SHORTHAND_KEY = {"dataset": "name", "optimizer": "type", "scheduler": "type", "transforms": "type", "loss": "type"}


@dataclass(frozen=True)
class Override:
    """One edit: the path it sets, the value, and how the user wrote it (shown in diagnostics)."""

    path: DocPath
    value: Any
    origin: str


def parse_assignment(text: str) -> Override:
    """`train.optimizer.lr=3e-4` -> Override(("train", "optimizer", "lr"), 0.0003); the value is read as YAML."""
    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise SpecError(
            [
                Diagnostic(
                    "invalid-value",
                    f"`--set {text}` is not KEY=VALUE",
                    source="--set",
                    help="write e.g. `--set train.optimizer.lr=3e-4`",
                )
            ]
        )
    value, _ = load_yaml(raw, f"--set {text}")  # the same safe loader as spec files: no tags, no objects
    return Override(key_path(key), value, f"--set {text}")


def key_path(key: str) -> DocPath:
    """`train.transforms.0.size` -> ("train", "transforms", 0, "size"): numbers index lists."""
    return tuple(int(p) if p.isascii() and p.isdigit() else p for p in key.strip().split("."))  # not "²"


def apply_overrides(spec: Spec, overrides: Sequence[Override]) -> Spec:
    """The spec with each override applied to its data, validated again; errors name the override."""
    if not overrides:
        return spec
    data = copy.deepcopy(spec_to_data(spec))
    if any(o.path[:1] == ("train",) for o in overrides):
        train = spec.train or TrainConfig()
        data["train"] = train.model_dump(mode="json", exclude_defaults=True)
        for name in type(train).model_fields:  # a defaulted optimizer is still `{type: Adam}`, for `optimizer.lr=`
            value = getattr(train, name)
            if isinstance(value, BaseModel):
                data["train"].setdefault(name, value.model_dump(mode="json", exclude_defaults=True))
    for o in overrides:
        _assign(data, o)
    try:
        new = spec_from_data(data)
    except SpecError as e:
        raise SpecError([_blame(d, overrides) for d in e.diagnostics]) from None
    if spec.source is not None:  # unchanged parts still point into the file; overridden ones no longer do
        changed = [o.path for o in overrides]

        def kept(p: DocPath) -> bool:
            return not any(p[: len(c)] == c for c in changed)

        smap = spec.source
        new._source = replace(
            smap,
            values={p: m for p, m in smap.values.items() if kept(p)},
            keys={p: m for p, m in smap.keys.items() if kept(p)},
        )
    return new


def locate(spec: Spec, error: SpecError) -> SpecError:
    """Diagnostics raised about a spec (by path) pointed at its file: the value, or the key of the closest parent."""
    smap = spec.source
    if smap is None:
        return error
    return SpecError(
        [
            spec.at(d.path, d, key=d.path not in smap.values) if d.span is None and d.source is None and d.path else d
            for d in error.diagnostics
        ]
    )


def _assign(data: dict[str, Any], o: Override) -> None:
    cur: Any = data
    for i, key in enumerate(o.path[:-1]):
        nxt = o.path[i + 1]
        if isinstance(cur, list):
            if not isinstance(key, int) or not 0 <= key < len(cur):
                raise _bad_path(o, i)
        elif not isinstance(cur, dict) or isinstance(key, int):
            raise _bad_path(o, i)
        child = cur.get(key) if isinstance(cur, dict) else cur[key]
        if isinstance(child, str) and isinstance(nxt, str):
            shorthand = _SHORTHAND_KEY.get(str(key)) or _SHORTHAND_KEY.get(str(o.path[i - 1]) if i else "")
            child = {shorthand or "type": child}  # `optimizer: Adam` becomes `{type: Adam}` to set its `lr`
        elif child is None:
            child = {}
        elif not isinstance(child, (dict, list)):
            raise _bad_path(o, i + 1)
        cur[key] = child
        cur = child
    last = o.path[-1]
    fits = isinstance(cur, dict) if isinstance(last, str) else isinstance(cur, list) and 0 <= last < len(cur)
    if not fits:
        raise _bad_path(o, len(o.path) - 1)
    cur[last] = o.value


def _bad_path(o: Override, i: int) -> SpecError:
    where = ".".join(str(p) for p in o.path[: i + 1])
    return SpecError(
        [
            Diagnostic(
                "invalid-value",
                f"`{where}` cannot be set: the spec has no mapping or list item there",
                source=o.origin,
                help="use a dotted path to a key, with numbers for list items: `train.transforms.0.size=28`",
            )
        ]
    )


def _blame(d: Diagnostic, overrides: Sequence[Override]) -> Diagnostic:
    """Point an error below an override's path at the override instead of a file position."""
    for o in reversed(overrides):
        if d.path[: len(o.path)] == o.path or o.path[: len(d.path)] == d.path:
            return replace(d, span=None, source=o.origin)
    return d
