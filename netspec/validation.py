"""Pydantic's validation errors as netspec diagnostics: one per offending value, positioned, with a fix.

Pydantic reports a `loc` path through the validators (union tags included); this module walks
it through the user's data to the YAML node, names the mapping that owns it (a layer, the
spec, a `train:` section), and words the message and help the way netspec's other errors are.
"""

from __future__ import annotations

import re
from typing import Any, Literal, get_args, get_origin

from pydantic import BaseModel, ValidationError

from .blocks import Origins
from .diagnostics import Diagnostic, Fix, did_you_mean, path_str
from .diagnostics import Path as DocPath
from .expr import ExprError, evaluate
from .kinds import ALIASES, BRANCH_FIELDS, BRANCH_LISTS
from .layers import KINDS
from .source import SourceMap, at
from .values import show

# -- pydantic errors -> diagnostics -------------------------------------------------------


def _data_path(data: Any, loc: tuple[Any, ...]) -> DocPath:
    """Follow pydantic's `loc` through the data, skipping union tags it inserts."""
    path: list[str | int] = []
    cur = data
    for item in loc:
        if (isinstance(cur, dict) and item in cur) or (
            isinstance(cur, list) and isinstance(item, int) and 0 <= item < len(cur)
        ):
            cur = cur[item]
            path.append(item)
    return tuple(path)


def _lookup(data: Any, path: DocPath) -> Any:
    for item in path:
        data = data[item]
    return data


def is_layer(data: Any, path: DocPath) -> bool:
    """Whether the value at `path` is a layer: an item of `layers`, of a Sequential, or of a block's branch."""
    cur, what = data, "spec"  # what `cur` is: the spec, a layer, a list of layers, a list of branches, or other
    for item in path:
        if isinstance(cur, dict) and item in cur and what in ("spec", "layer"):
            nxt = cur[item]
            kind = cur.get("type", "Sequential" if "layers" in cur else None) if what == "layer" else None
            if (what == "spec" and item == "layers") or item in BRANCH_FIELDS.get(str(kind), ()):
                what = "list" if isinstance(nxt, list) else "layer"  # a branch may be written as one layer
            elif what == "layer" and item == BRANCH_LISTS.get(str(kind)):
                what = "branches"
            else:
                what = "other"
            cur = nxt
        elif isinstance(cur, list) and isinstance(item, int) and 0 <= item < len(cur) and what in ("list", "branches"):
            cur = cur[item]
            what = "layer" if what == "list" or not isinstance(cur, list) else "list"
        else:
            return False
    return what == "layer" and bool(path)


def _model_at(data: Any, path: DocPath, root: type[BaseModel]) -> type[BaseModel]:
    """The model class validating the mapping at `path` (a layer, the spec, or a section)."""
    if is_layer(data, path):
        item = _lookup(data, path)
        kind = item.get("type") if isinstance(item, dict) else item
        if isinstance(kind, str) and kind in KINDS:
            return KINDS[kind]
    return _model_in(_annotation_at(data, path, root), _lookup(data, path)) or root


def _annotation_at(data: Any, path: DocPath, root: type[BaseModel]) -> Any:
    """The type annotation of the value at `path`, following fields, list items and tagged unions."""
    annotation: Any = root
    cur = data
    for item in path:
        if isinstance(item, str):
            model = _model_in(annotation, cur)
            field = model.model_fields.get(item) if model is not None else None
            if field is None:
                return None
            # a section whose model is imported on first use (the spec's `train:`) carries it in its metadata
            lazy = next((m for m in field.metadata if hasattr(m, "model") and hasattr(m, "module")), None)
            annotation = lazy.model() if lazy is not None else field.annotation
        if isinstance(cur, dict):
            cur = cur.get(item)
        else:
            cur = cur[item] if isinstance(cur, list) and isinstance(item, int) else None
    return annotation


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in getattr(annotation, "__args__", ()) or () for m in _models_in(arg)]


def _model_in(annotation: Any, value: Any = None) -> type[BaseModel] | None:
    """The model for `value` among those `annotation` allows: the union member its `type`/`name` tag picks."""
    models = _models_in(annotation)
    if isinstance(value, dict):
        for model in models:
            if any(value.get(key) in _tags(model, key) for key in ("type", "name")):
                return model
    return models[0] if models else None


def _tags(model: type[BaseModel], key: str) -> tuple[Any, ...]:
    field = model.model_fields.get(key)
    annotation = field.annotation if field is not None else None
    return get_args(annotation) if get_origin(annotation) is Literal else ()


def _owner(data: Any, path: DocPath) -> str:
    """How to name the mapping at `path` in a message: `Conv2d`, the spec, `train`."""
    if is_layer(data, path):
        item = _lookup(data, path)
        kind = item.get("type", "Sequential" if "layers" in item else None) if isinstance(item, dict) else item
        return f"`{kind}`" if isinstance(kind, str) else f"layer {path[-1]}"
    if not path:
        return "the spec"
    return f"`{path_str(path)}`"


_EXPECTED = {
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "int_type": "an integer",
    "int_parsing": "an integer",
    "float_type": "a number",
    "float_parsing": "a number",
    "string_type": "a string",
    "list_type": "a list",
    "tuple_type": "a list",
    "dict_type": "a mapping",
    "model_type": "a mapping",
    "model_attributes_type": "a mapping",
}


def translate(
    err: ValidationError, data: Any, smap: SourceMap | None, root: type[BaseModel], origins: Origins | None = None
) -> list[Diagnostic]:
    """Pydantic's errors as netspec diagnostics, one per offending value, in file order."""
    out: dict[tuple[DocPath, str], Diagnostic] = {}
    typos: set[tuple[DocPath, str]] = set()  # (mapping, the field an unknown argument's did-you-mean names)
    missing: dict[tuple[DocPath, str], tuple[DocPath, str]] = {}
    errors = err.errors(include_url=False)
    # each unknown kind's rank-aware guess checks the layers before it: a few are cheap, thousands are not
    ranked = sum(e["type"] == "union_tag_invalid" for e in errors) <= MAX_RANKED
    for e in errors:
        kind, loc, ctx = e["type"], tuple(e["loc"]), e.get("ctx") or {}
        path = _data_path(data, loc)
        if kind == "invalid_key":  # YAML made a key a number, bool or null: pydantic's loc holds it as text
            path = (*_data_path(data, loc[:-1]), e["input"])
        if "at" in ctx:  # a custom error that knows the exact place below `loc`
            path = (*path, *ctx["at"])
        d, key = _diagnostic(kind, loc, ctx, e, path, data, root, ranked)
        if d is None:
            continue
        if kind == "extra_forbidden" and d.fixes:
            typos.add((path[:-1], str(d.fixes[0].value)))
        mapping = path
        layer_error = kind in ("missing", "union_tag_invalid") and is_layer(data, path)
        if layer_error and isinstance(_lookup(data, path), dict):
            path = (*path, "type")  # point at the layer's type rather than its whole mapping
        elif kind == "union_tag_invalid" and isinstance(_lookup(data, path), dict):
            path = (*path, str(ctx.get("discriminator")).strip("'"))  # at `type: Adamw`, not the whole mapping
        # a union reports each branch and the first says enough; each missing field is its own error
        slot = (path, str(loc[-1]) if kind == "missing" else "")
        if kind == "missing":
            missing[slot] = (mapping, str(loc[-1]))
        if slot not in out:
            out[slot] = at(smap, path, d, key=key, origins=origins)
    for slot, (mapping, field) in missing.items():
        if (mapping, field) in typos:
            del out[slot]  # `kernal_size: 5` already says what is wrong; "needs `kernel_size`" adds nothing
    return sorted(out.values(), key=lambda d: (d.span.line, d.span.col) if d.span else (0, 0))


def _diagnostic(
    kind: str,
    loc: tuple[Any, ...],
    ctx: dict[str, Any],
    e: Any,
    path: DocPath,
    data: Any,
    root: type[BaseModel],
    ranked: bool = True,
) -> tuple[Diagnostic | None, bool]:
    field = loc[-1] if loc and isinstance(loc[-1], str) else None
    value = e.get("input")
    if kind == "missing":
        owner = _owner(data, path)
        return Diagnostic("missing-field", f"{owner} needs `{field}`", help=_missing_help(str(field), owner)), False
    if kind == "extra_forbidden":
        parent = path[:-1]
        owner = _owner(data, parent)
        model = _model_at(data, parent, root)
        choices = [f for f in model.model_fields if f != "type"]
        word = str(path[-1])
        if word == "activation" and is_layer(data, parent):
            return _activation(data, path, owner), True
        note = _keras_note(word, choices)
        if note is not None and is_layer(data, parent):
            remove = (Fix(f"remove `{word}`", path, "remove"),)
            return Diagnostic("unknown-field", f"{owner} has no argument `{word}`", help=note, fixes=remove), True
        keras = next((f for f in KERAS_ARGS.get(word, ()) if f in choices), None)
        guess = keras or did_you_mean(word, choices)
        if keras == "input":  # Keras's input_shape is channels-last, a spec's channels-first
            value = _lookup(data, path)
            last = isinstance(value, list) and len(value) == 3 and value[-1] in (1, 3, 4) and value[0] not in (1, 3, 4)
            first = f"`input: {[value[-1], *value[:-1]]}`" if last else "[C, H, W]"
            help = f"`input_shape` is Keras's name: a spec calls it `input`, with the channels first: {first}"
        elif keras == "init" and _lookup(data, path) in KERAS_INITS:  # the value has a torch name too
            value = KERAS_INITS[_lookup(data, path)]
            help = f"`{word}: {_lookup(data, path)}` is Keras's: torch's {owner.strip('`')} takes `init: {value}`"
            return Diagnostic("unknown-field", f"{owner} has no argument `{word}`", help=help), True
        elif keras:
            help = f"`{word}` is Keras's name: torch's {owner.strip('`')} calls it `{keras}`"
        elif guess:
            help = f"did you mean `{guess}`?"
        else:
            help = f"{owner} takes: " + ", ".join(f"`{c}`" for c in choices)
        return Diagnostic(
            "unknown-field", f"{owner} has no argument `{path[-1]}`", help=help, fixes=_rename(data, path, guess)
        ), True
    if kind in ("union_tag_invalid", "union_tag_not_found") and not is_layer(data, path):
        return _section_tag(kind, ctx, path, data, root), False
    if kind == "invalid_key":
        owner = _owner(data, path[:-1])
        return Diagnostic(
            "unknown-field",
            f"{owner} has no argument `{show(value)}`",
            help="argument names are words such as `kernel_size` (YAML reads this key as a number, boolean or null)",
        ), True
    if kind == "union_tag_invalid":
        tag = str(ctx.get("tag"))
        own = list(data.get("blocks") or {}) if isinstance(data, dict) and isinstance(data.get("blocks"), dict) else []
        guess = did_you_mean(tag, [*KINDS, *own], ALIASES)
        guess = _by_rank(guess, tag, data, path) if ranked else guess
        help = f"did you mean `{guess}`?" if guess else "netspec knows: " + ", ".join([*KINDS, *own])
        where = (*path, "type") if isinstance(_lookup(data, path), dict) else path  # `- Dense` is the type itself
        retype = (Fix(f"change the type to `{guess}`", where, "set", guess),) if guess else ()
        return Diagnostic("unknown-layer", f"unknown layer type `{tag}`", help=help, fixes=retype), False
    if kind == "union_tag_not_found" or (kind in ("model_attributes_type", "model_type") and is_layer(data, path)):
        item = value
        if isinstance(item, dict):
            return Diagnostic(
                "missing-field",
                "this layer has no `type`",
                help="add `type:` with a torch.nn class name, e.g. `type: Conv2d`",
            ), False
        return Diagnostic(
            "invalid-value",
            f"a layer must be a layer name or a mapping with `type`, got {show(item)}",
            help="write e.g. `- ReLU` or `- {type: Linear, out_features: 10}`",
        ), False
    if kind == "invalid-value":
        message = str(e["msg"])
        if field and message.startswith("must"):  # "must be ..." reads as the end of a sentence about the field
            message = f"`{field}` {message}"
        wants_int = "integer" in message or not isinstance(value, float)  # `lr: -1.0` needs no advice to write -1
        hint = _value_help(str(field), value) if wants_int else None
        integer: tuple[Fix, ...] = ()
        if hint is not None and path and _lookup(data, path) is value:  # the value itself, written as an integer
            product = arithmetic(value)
            number = product if product is not None else int(value) if isinstance(value, float) else int(str(value))
            integer = (Fix(f"write `{field}: {number}`", path, "set", number),)
        return Diagnostic("invalid-value", message, help=hint, fixes=integer), False
    if kind == "duplicate-name":
        return Diagnostic("duplicate-name", e["msg"], help="give each layer a unique `name`, or drop it"), False
    if kind == "literal_error":
        choices = re.findall(r"'([^']*)'", str(ctx.get("expected", "")))
        guess = did_you_mean(str(value), choices, KERAS_INITS) if isinstance(value, str) else None
        hint = f"did you mean `{guess}`?" if guess else None
        if isinstance(value, str) and value in KERAS_INITS and guess in choices:
            hint = f"`{value}` is Keras's name: torch's is `{guess}`"
        name = path[-1] if path and isinstance(path[-1], str) else field  # `init: foo` names `init`, not `type`
        choice = (Fix(f"change it to `{guess}`", path, "set", guess),) if guess and _lookup(data, path) == value else ()
        return Diagnostic(
            "invalid-value",
            f"`{name}` must be one of {ctx.get('expected')}, got {show(value)}",
            help=hint,
            fixes=choice,
        ), False
    if kind == "too_short" and field == "layers":
        return _no_layers(), False
    if field == "layers" and value is None and kind in _EXPECTED:  # `layers:` with nothing under it
        return _no_layers(), False
    if kind in _EXPECTED:
        what = f"`{field}`" if field else "this value"
        return Diagnostic("invalid-value", f"{what} must be {_EXPECTED[kind]}, got {show(value)}"), False
    what = f"`{field}`: " if field else ""
    return Diagnostic("invalid-value", what + str(e["msg"])[:1].lower() + str(e["msg"])[1:]), False


def _section_tag(kind: str, ctx: dict[str, Any], path: DocPath, data: Any, root: type[BaseModel]) -> Diagnostic:
    """A tagged mapping outside `layers` (an optimizer, a dataset, a transform) with a wrong or no tag."""
    key = str(ctx.get("discriminator")).strip("'")
    mapping = path[:-1] if kind == "union_tag_invalid" and path[-1:] == (key,) else path
    choices = [str(t) for m in _models_in(_annotation_at(data, mapping, root)) for t in _tags(m, key)]
    listed = ", ".join(f"`{c}`" for c in choices)
    if kind == "union_tag_not_found":
        return Diagnostic(
            "missing-field", f"{_owner(data, mapping)} needs `{key}`", help=f"add `{key}:`, one of {listed}"
        )
    tag = str(ctx.get("tag"))
    guess = did_you_mean(tag, choices)
    what = next((p for p in reversed(mapping) if isinstance(p, str)), "value")
    where = (*mapping, key) if isinstance(_lookup(data, mapping), dict) else mapping  # `optimizer: Adamw` is the tag
    return Diagnostic(
        "invalid-value",
        f"unknown `{what}` {key} `{tag}`",
        help=f"did you mean `{guess}`?" if guess else f"netspec knows: {listed}",
        fixes=(Fix(f"change it to `{guess}`", where, "set", guess),) if guess else (),
    )


def _rename(data: Any, path: DocPath, guess: str | None) -> tuple[Fix, ...]:
    """The fix for a misspelt key: rename it to the guess, unless the mapping already has that key."""
    mapping = _lookup(data, path[:-1])
    if guess is None or not isinstance(mapping, dict) or guess in mapping:
        return ()
    return (Fix(f"rename to `{guess}`", path, "rename", guess),)


def _missing_help(field: str, owner: str) -> str:
    examples = {
        "input": "add `input: [1, 28, 28]` (channels, height, width of one sample) or `input: [features]`",
        "layers": "add `layers:` followed by a list such as `- {type: Conv2d, out_channels: 6, kernel_size: 5}`",
        "out_channels": "add `out_channels:` with the number of filters, e.g. `out_channels: 16`",
        "kernel_size": "add `kernel_size:`, e.g. `kernel_size: 3` or `kernel_size: [3, 5]`",
        "out_features": "add `out_features:`, e.g. `out_features: 10` for 10 classes",
        "output_size": "add `output_size:`, e.g. `output_size: 1` for global pooling",
        "padding": "add `padding:` as an int or `[left, right, top, bottom]`",
    }
    return examples.get(field, f"add `{field}:` to {owner}")


def _value_help(field: str, value: Any) -> str | None:
    product = arithmetic(value)
    if product is not None:
        return f"YAML does no arithmetic: `{value.strip()}` is read as text; write `{field}: {product}`"
    if isinstance(value, float) and value.is_integer():
        return f"write `{field}: {int(value)}` (an integer)"
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return f"write `{field}: {value.strip()}` without quotes"
    return None


def _no_layers() -> Diagnostic:
    return Diagnostic(
        "missing-field",
        "`layers` is empty: a network needs at least one layer",
        help="list the layers under `layers:`, one per line, indented and each starting with `- `,"
        " e.g. `  - {type: Linear, out_features: 10}`",
    )


_ARITHMETIC = re.compile(r"[\d\s*+\-/()]+")


def arithmetic(value: Any) -> int | None:
    """The integer a text such as "16*5*5" (YAML reads it as a string) stands for, or None."""
    if not isinstance(value, str) or not _ARITHMETIC.fullmatch(value) or not re.search(r"\d\s*[*+\-/]", value):
        return None
    try:
        result = evaluate(re.sub(r"/+", "//", value), {})  # sizes divide exactly
    except ExprError:
        return None
    return result if isinstance(result, int) and not isinstance(result, bool) else None


# Keras's argument names, and torch's for the same thing (the first a layer takes is proposed)
KERAS_ARGS: dict[str, tuple[str, ...]] = {
    "units": ("out_features",),
    "filters": ("out_channels",),
    "rate": ("p",),
    "strides": ("stride",),
    "pool_size": ("kernel_size",),
    "use_bias": ("bias",),
    "epsilon": ("eps",),
    "axis": ("dim",),
    "dilation_rate": ("dilation",),
    "kernel_initializer": ("init",),
    "input_shape": ("input",),
    "input_dim": ("in_features", "num_embeddings"),
    "output_dim": ("embedding_dim",),
    "size": ("scale_factor",),
}


def _keras_note(word: str, choices: list[str]) -> str | None:
    """What torch does instead of a Keras argument that has no torch name of its own."""
    if word.endswith("_regularizer"):
        return "torch layers take no regularizer: weight decay is `train.optimizer.weight_decay`, for all layers"
    if word == "data_format":
        return "torch layers are channels first, (C, H, W): write the spec's `input` that way"
    if word in ("center", "scale") and "affine" in choices:
        return f"`{word}` is Keras's: torch's `affine` (default true) learns both the scale and the shift"
    if word == "bias_initializer":
        return "torch starts biases as its own layers do; `init` chooses the weights' initialisation"
    return None


# Keras's initializer names and torch's (netspec's `init` types)
KERAS_INITS = {
    "he_normal": "kaiming_normal",
    "he_uniform": "kaiming_uniform",
    "glorot_normal": "xavier_normal",
    "glorot_uniform": "xavier_uniform",
    "random_normal": "normal",
}

# Keras's `activation:` values and the torch layer that does the same
_ACTIVATIONS: dict[str, Any] = {
    "relu": "ReLU",
    "sigmoid": "Sigmoid",
    "tanh": "Tanh",
    "softmax": {"type": "Softmax", "dim": 1},
    "log_softmax": {"type": "LogSoftmax", "dim": 1},
    "elu": "ELU",
    "selu": "SELU",
    "gelu": "GELU",
    "silu": "SiLU",
    "swish": "SiLU",
    "softplus": "Softplus",
    "leaky_relu": "LeakyReLU",
    "relu6": "ReLU6",
    "mish": "Mish",
    "hard_sigmoid": "Hardsigmoid",
}


def _activation(data: Any, path: DocPath, owner: str) -> Diagnostic:
    """Keras's `activation:` argument: in torch an activation is a layer of its own, after this one."""
    value = _lookup(data, path)
    layer = _ACTIVATIONS.get(str(value).lower()) if isinstance(value, str) else None
    if value is None or (isinstance(value, str) and value.lower() in ("linear", "none")):
        help = "torch layers take no activation: remove `activation` (a linear activation is none at all)"
    elif layer is not None:
        written = layer if isinstance(layer, str) else "{" + ", ".join(f"{k}: {v}" for k, v in layer.items()) + "}"
        help = f"torch layers take no activation: remove `activation` and add `- {written}` after this layer"
    else:
        help = "torch layers take no activation: remove `activation` and add the activation as the next layer"
    return Diagnostic(
        "unknown-field",
        f"{owner} has no argument `activation`",
        help=help,
        fixes=(Fix("remove `activation`", path, "remove"),),
    )


MAX_RANKED = 8  # unknown kinds in one spec that get a guess by the incoming rank
_FAMILY = re.compile(r"(.+)([123])d")  # BatchNorm2d, Conv1d, MaxPool3d, Dropout2d, ...


def _by_rank(guess: str | None, tag: str, data: Any, path: DocPath) -> str | None:
    """A guess from a family of 1-d/2-d/3-d kinds (`Batchnorm` -> BatchNorm3d by spelling) turned into the member
    the incoming tensor's rank asks for, when the word names no member itself and the layer is a top-level one."""
    family = _FAMILY.fullmatch(guess or "")
    if family is None or re.search(r"[123]\s*d", tag, re.IGNORECASE) or len(path) != 2 or path[0] != "layers":
        return guess
    rank = _rank_before(data, int(path[1]))
    if rank is None:
        return guess
    member = f"{family.group(1)}{min(max(rank - 1, 1), 3)}d"  # (C, L) -> 1d, (C, H, W) -> 2d, (F,) -> BatchNorm1d
    return member if member in KINDS and rank <= 4 else guess


def _rank_before(data: Any, index: int) -> int | None:
    """The rank of one sample reaching top-level layer `index`, from checking the layers before it, or None."""
    from .report import check  # the checker imports this module through spec.py
    from .spec import spec_from_data

    try:
        if index == 0:
            shape = data["input"]["shape"] if isinstance(data["input"], dict) else data["input"]
            return len(shape) if isinstance(shape, list) else None
        # an earlier unknown kind (most are norms, pools and activations) stands in as Identity: it keeps the rank
        before = [item if _kind_of(item) in KINDS else "Identity" for item in data["layers"][:index]]
        prefix = {k: v for k, v in data.items() if k != "train"}  # the train section's own errors do not matter
        dims = check(spec_from_data({**prefix, "layers": before})).output_shape
    except Exception:  # the layers before it have errors of their own, or `input` is not yet a shape
        return None
    return len(dims) - 1  # without N


def _kind_of(item: Any) -> Any:
    return item.get("type", "Sequential" if "layers" in item else None) if isinstance(item, dict) else item
