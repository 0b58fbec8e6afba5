"""The JSON Schema of the spec format, in draft-07 (what the YAML language server reads), from the pydantic model.

Everything comes from `Spec.model_json_schema()`, so sections added to the model appear here
by themselves. Two netspec conventions are added on top: in every discriminated union (layers,
and the `train:` section's optimizers, schedulers, datasets and transforms) the tag is required
and a bare tag stands for a member with its defaults (`- ReLU`, `optimizer: Adam`); and `init`
may be just its type (`init: kaiming_normal`).
"""

from __future__ import annotations

import copy
import json
from typing import Any, get_args

from pydantic import TypeAdapter

from .kinds import BRANCH_FIELDS, BRANCH_LISTS
from .layers import BLOCK_TYPES, KINDS, LAYER_TYPES, Init, Layer
from .spec import Spec
from .training.config import TrainConfig

DRAFT = "http://json-schema.org/draft-07/schema#"
_DOCS = "https://docs.pytorch.org/docs/stable/generated/torch.nn.{}.html"


def json_schema() -> dict[str, Any]:
    """The schema as a dict; `netspec schema` prints it and schema/netspec.schema.json holds it."""
    raw = Spec.model_json_schema(mode="validation")
    definitions = raw.pop("$defs", {})
    # the spec refers to `Layer` and `TrainConfig`, which it validates through lookups built on first use
    for name, model in (("Layer", TypeAdapter(Layer)), ("TrainConfig", TypeAdapter(TrainConfig))):
        part = model.json_schema(mode="validation")
        definitions.update(part.pop("$defs", {}))
        definitions[name] = part
    for node in _nodes([raw, definitions]):  # the markers LayerItem and the `train:` field leave
        if "x-netspec-definition" in node:
            node["$ref"] = "#/$defs/" + node.pop("x-netspec-definition")
    for node in _nodes([raw, definitions]):
        if "discriminator" in node:
            _tagged_union(node, definitions)
    _nested_records(definitions)
    for name in LAYER_TYPES:  # the records have no docstrings: their documentation is torch's
        definitions[name].setdefault("description", f"torch.nn.{name}, with torch's arguments: {_DOCS.format(name)}")
    _one_layer_definition(raw, definitions)
    schema: dict[str, Any] = _init_shorthand(
        {"$schema": DRAFT, **_draft7(raw), "title": "netspec spec", "definitions": _draft7(definitions)}
    )
    return schema


def _nested_records(definitions: dict[str, Any]) -> None:
    """A TransformerEncoder's `encoder_layer` and `norm` are records whose `type` may be left out (`norm: LayerNorm`
    names one with its defaults)."""

    def untyped(kind: str) -> dict[str, Any]:
        member: dict[str, Any] = copy.deepcopy(definitions[kind])
        member["required"] = [r for r in member.get("required", []) if r != "type"]
        if not member["required"]:
            del member["required"]
        return member

    properties = definitions["TransformerEncoder"]["properties"]
    properties["encoder_layer"] = untyped("TransformerEncoderLayer")
    properties["norm"] = {
        "anyOf": [
            {"enum": ["LayerNorm"], "description": "a LayerNorm with its defaults"},
            untyped("LayerNorm"),
            {"type": "null"},
        ],
        "default": None,
    }


_LAYER_REF = {"$ref": "#/$defs/Layer"}


def _one_layer_definition(raw: dict[str, Any], definitions: dict[str, Any]) -> None:
    """Every list of layers (the spec's, a Sequential's, a block's branches) refers to one `Layer` definition.

    It also takes what netspec expands before validating: an instance of a block the spec defines under
    `blocks` (a `type` that is not one of netspec's kinds), and a Sequential written without `type`.
    A branch may be one layer instead of a list.
    """
    union = definitions["Layer"]
    union["oneOf"] = [
        *union["oneOf"],
        {
            "type": "object",
            "description": "an instance of a block defined under `blocks`: its `type` and parameters",
            "required": ["type"],
            "properties": {"type": {"type": "string", "not": {"enum": list(KINDS)}}},
        },
        {
            "type": "object",
            "description": "a Sequential, written without `type`",
            "required": ["layers"],
            "not": {"required": ["type"]},
        },
    ]
    for kind in KINDS:  # expanded before validation (blocks.py), so no record has them, but every layer may
        properties = definitions[kind]["properties"]
        properties["repeat"] = {
            "anyOf": [{"type": "integer", "minimum": 1}, {"type": "string", "pattern": r"^\$"}],
            "description": "this many copies in its place (`$i` is the copy's index)",
        }
        properties["when"] = {
            "anyOf": [{"type": "boolean"}, {"type": "string", "pattern": r"^\$"}],
            "description": "the layer exists only when this is true (`${stride != 1}`)",
        }
    for kind, fields in BRANCH_FIELDS.items():  # `shortcut: {type: Sequential, ...}`, `after: ReLU`: one layer
        properties = definitions[kind]["properties"]
        for name in fields:
            if kind != "Sequential" or name != "layers":
                properties[name] = {"anyOf": [properties[name], _LAYER_REF]}
    for kind, name in BRANCH_LISTS.items():
        branches = definitions[kind]["properties"][name]
        branches["items"] = {"anyOf": [branches["items"], _LAYER_REF]}
    _strict_without_blocks(raw, definitions)


def _strict_without_blocks(raw: dict[str, Any], definitions: dict[str, Any]) -> None:
    """In a spec without `blocks`, every `type` must be one of netspec's kinds: `type: Dense` is an error there.

    JSON Schema cannot look up the spec's own block names, so the lenient `Layer` (which takes any other
    type as an instance) applies only when `blocks` is present; otherwise `layers` refers to strict copies
    of the layer and block definitions.
    """

    def strict(node: Any) -> Any:
        if isinstance(node, list):
            return [strict(v) for v in node]
        if not isinstance(node, dict):
            return node
        out = {k: strict(v) for k, v in node.items()}
        ref = out.get("$ref", "")
        if ref.rsplit("/", 1)[-1] in (*BLOCK_TYPES, "Layer"):
            out["$ref"] = ref + "Strict"
        return out

    layer = strict(definitions["Layer"])
    layer["oneOf"] = layer["oneOf"][:-2]  # without the block-instance and untyped-Sequential alternatives
    definitions["LayerStrict"] = layer
    for kind in BLOCK_TYPES:
        definitions[f"{kind}Strict"] = strict(definitions[kind])
    raw["if"] = {"not": {"required": ["blocks"]}}
    raw["then"] = {"properties": {"layers": {"items": {"$ref": "#/$defs/LayerStrict"}}}}


def schema_text() -> str:
    """The schema as the committed file holds it: indented JSON and a final newline."""
    return json.dumps(json_schema(), indent=2, ensure_ascii=False) + "\n"


def _nodes(node: Any) -> list[dict[str, Any]]:
    """Every mapping in a JSON tree."""
    if isinstance(node, list):
        return [n for v in node for n in _nodes(v)]
    if isinstance(node, dict):
        return [node, *(n for v in node.values() for n in _nodes(v))]
    return []


def _tagged_union(node: dict[str, Any], definitions: dict[str, Any]) -> None:
    """Require the tag in each member, and accept a bare tag for the members that need nothing else."""
    key = node["discriminator"]["propertyName"]
    bare = []
    for tag, ref in node["discriminator"]["mapping"].items():
        member = definitions[ref.rsplit("/", 1)[-1]]
        member["required"] = [key, *(r for r in member.get("required", []) if r != key)]
        if member["required"] == [key]:
            bare.append(tag)
    if bare:
        node["oneOf"] = [{"enum": bare, "description": f"shorthand for {{{key}: ...}} with defaults"}, *node["oneOf"]]


def _draft7(node: Any) -> Any:
    """Pydantic writes draft 2020-12; rewrite what draft-07 spells differently."""
    if isinstance(node, list):
        return [_draft7(v) for v in node]
    if not isinstance(node, dict):
        return node
    out = {k: _draft7(v) for k, v in node.items() if k != "discriminator"}  # not draft-07, and its refs go stale
    if "$ref" in out:
        out["$ref"] = out["$ref"].replace("#/$defs/", "#/definitions/")
        if len(out) > 1:  # draft-07 ignores whatever sits beside a $ref
            out = {"allOf": [{"$ref": out.pop("$ref")}], **out}
    if "prefixItems" in out:  # a fixed-length tuple: the array form of `items`
        out["items"] = out.pop("prefixItems")
        out["additionalItems"] = False
    if isinstance(out.get("pattern"), str) and not out["pattern"].startswith("^"):
        out["pattern"] = f"^(?:{out['pattern']})$"  # JSON Schema searches; netspec's names must match whole
    return out


def _init_shorthand(node: Any) -> Any:
    """`init: kaiming_normal` stands for `init: {type: kaiming_normal}` wherever an Init goes."""
    if isinstance(node, list):
        return [_init_shorthand(v) for v in node]
    if not isinstance(node, dict):
        return node
    out = {k: _init_shorthand(v) for k, v in node.items()}
    if out.get("$ref") == f"#/definitions/{Init.__name__}":
        kinds = list(get_args(Init.model_fields["type"].annotation))
        return {"anyOf": [{"enum": kinds, "description": "shorthand for {type: ...} with defaults"}, out]}
    return out
