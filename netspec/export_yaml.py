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
    lines = [MODELINE.format(schema)] if schema else []
    lines += ["# " + line if line.strip() else "#" for line in header.strip().splitlines()]
    for key, value in data.items():
        if key == "layers":
            lines.append("layers:")
            for layer, info in zip(value, report.layers):
                item = f"  - {_layer(layer)}"
                if info.output_shape != info.input_shape:  # the lines that change the shape, as in specs/
                    item = f"{item.ljust(_COMMENT_COLUMN - 2)}  # {fmt_shape(info.output_shape)}"
                lines.append(item)
        else:
            lines += _entry(key, value, 0)
    return "\n".join(lines) + "\n"


def _layer(layer: dict[str, Any]) -> str:
    """`ReLU`, or `{type: Conv2d, out_channels: 6, kernel_size: 5, name: c1}` with the name last, as specs/ write it."""
    args = {k: v for k, v in layer.items() if k != "name"}
    if "name" in layer:
        args["name"] = layer["name"]
    return layer["type"] if len(args) == 1 else _flow(args)


def _entry(key: str, value: Any, indent: int) -> list[str]:
    """`key: value`, in block style for a mapping that holds mappings (such as a `train:` section)."""
    pad = " " * indent
    if isinstance(value, dict) and any(isinstance(v, dict) for v in value.values()):
        return [f"{pad}{key}:", *(line for k, v in value.items() for line in _entry(k, v, indent + 2))]
    if isinstance(value, dict) and set(value) == {"type"}:  # `init: kaiming_normal` for `{type: kaiming_normal}`
        return [f"{pad}{key}: {_scalar(value['type'])}"]
    return [f"{pad}{key}: {_flow(value)}"]


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
