"""Spec -> YAML text in the compact style of specs/: one flow mapping per layer, shape comments aligned."""

from __future__ import annotations

import json
import re
from typing import Any

import yaml

from .render import fmt_shape
from .report import check
from .spec import Spec, spec_to_data

# The modeline that points the YAML language server at the schema (VS Code completes and validates with it).
MODELINE = "# yaml-language-server: $schema={}"
_PLAIN = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*")
_COMMENT_COLUMN = 72  # shape comments start here, or two spaces after a longer line


def to_yaml(spec: Spec, *, header: str = "", schema: str | None = None) -> str:
    """The spec as YAML that reads back to an equal Spec; `header` becomes comments, `schema` the modeline."""
    report = check(spec)
    data = spec_to_data(spec)
    # the shape after each written top-level layer (after its last copy, for a repeated one)
    shapes: dict[int, Any] = {}
    for node in report.layers:
        written = spec.origins.written(node.path)
        if len(written) == 2 and written[0] == "layers" and isinstance(written[1], int):
            shapes[written[1]] = (
                node.input_shape if written[1] not in shapes else shapes[written[1]][0],
                node.output_shape,
            )
    lines = [MODELINE.format(schema)] if schema else []
    lines += ["# " + line if line.strip() else "#" for line in header.strip().splitlines()]
    if "blocks" in data:  # definitions before their uses
        data = {k: data[k] for k in sorted(data, key=lambda k: k == "layers")}
    for key, value in data.items():
        if key == "layers":
            lines.append("layers:")
            for i, layer in enumerate(value):
                item = _item(layer, 2)
                shape = shapes.get(i)
                if shape is not None and shape[1] != shape[0]:  # the lines that change the shape, as in specs/
                    item[-1] = f"{item[-1].ljust(_COMMENT_COLUMN - 2)}  # {fmt_shape(shape[1])}"
                lines += item
        elif key == "blocks":
            lines.append("blocks:")
            for name, definition in value.items():
                lines += _entry(name, definition, 2)
        else:
            lines += _entry(key, value, 0)
    return "\n".join(lines) + "\n"


def _item(layer: Any, indent: int) -> list[str]:
    """A list item: one line (`- ReLU`, `- {type: Conv2d, ...}`), or a block's mapping in block style."""
    pad = " " * indent
    if not isinstance(layer, dict):
        return [f"{pad}- {_flow(layer)}"]
    if not _nested(layer):
        return [f"{pad}- {_layer(layer)}"]
    inner = _mapping(_named_first(layer), indent + 2)
    return [f"{pad}- {inner[0].lstrip()}", *inner[1:]]


def _nested(value: Any) -> bool:
    """Whether a mapping holds layers (a list of mappings, or a mapping): such blocks are written in block style."""
    return any(
        isinstance(v, dict) or (isinstance(v, list) and any(isinstance(x, (dict, list)) for x in v))
        for v in value.values()
    )


def _mapping(value: dict[str, Any], indent: int) -> list[str]:
    return [line for k, v in value.items() for line in _entry(k, v, indent)]


def _layer(layer: dict[str, Any]) -> str:
    """`ReLU`, or `{type: Conv2d, out_channels: 6, kernel_size: 5, name: c1}` with the name last, as specs/ write it."""
    args = _named_last(layer)
    return layer["type"] if list(args) == ["type"] else _flow(args)


def _named_last(layer: dict[str, Any]) -> dict[str, Any]:
    args = {k: v for k, v in layer.items() if k != "name"}
    if "name" in layer:
        args["name"] = layer["name"]
    return args


def _named_first(layer: dict[str, Any]) -> dict[str, Any]:
    """A block written in block style reads type, name, then its layers."""
    head: dict[str, Any] = {k: layer[k] for k in ("type", "name") if k in layer}
    return {**head, **{k: v for k, v in layer.items() if k not in head}}


def _entry(key: str, value: Any, indent: int) -> list[str]:
    """`key: value`, in block style for a mapping that holds mappings and for lists of layers."""
    pad = " " * indent
    if isinstance(value, dict) and set(value) == {"type"} and key != "layers":  # `init: kaiming_normal`
        return [f"{pad}{_scalar(key)}: {_scalar(value['type'])}"]
    if isinstance(value, dict) and _nested(value):
        return [f"{pad}{_scalar(key)}:", *_mapping(value, indent + 2)]
    if isinstance(value, list) and any(isinstance(v, dict) for v in value):
        return [f"{pad}{_scalar(key)}:", *(line for v in value for line in _item(v, indent + 2))]
    if (
        isinstance(value, list)
        and value
        and all(isinstance(v, list) for v in value)
        and any(isinstance(x, dict) for v in value for x in v)
    ):  # a list of branches
        lines = [f"{pad}{_scalar(key)}:"]
        for branch in value:
            items = [line for v in branch for line in _item(v, indent + 4)]
            lines += [f"{pad}  -", *items] if items else [f"{pad}  - []"]
        return lines
    return [f"{pad}{_scalar(key)}: {_flow(value)}"]


def _flow(value: Any) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_scalar(k)}: {_flow(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_flow(v) for v in value) + "]"
    return _scalar(value)


def _scalar(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        text = repr(value)
        # YAML 1.1 (PyYAML) reads `1e-05` as a string: its floats need a dot in the mantissa
        return text.replace("e", ".0e", 1) if "e" in text and "." not in text else text
    if isinstance(value, int):
        return str(value)
    text = str(value)
    if _PLAIN.fullmatch(text) and yaml.safe_load(text) == text:  # `yes`, `null` and `1.0` need quotes
        return text
    quoted = json.dumps(text, ensure_ascii=False)  # a JSON string is a YAML double-quoted scalar
    return "".join(c if c.isprintable() else json.dumps(c)[1:-1] for c in quoted)
