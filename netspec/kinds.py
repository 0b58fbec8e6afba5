"""What netspec knows about layer kinds besides their fields: names, aliases, block structure, naming.

No pydantic here: the checker (shapes.py, report.py) and the fast path read records through these
helpers, whether pydantic made them (layers.py) or the fast path did (fastpath.py). The records
themselves, with their fields and types, are in layers.py.
"""

from __future__ import annotations

import keyword
import re
from collections.abc import Sequence
from typing import Any

from .values import custom_error, invalid

# The one table of layer kinds, in the order the schema lists them: a spec's `type` is looked up here and
# nowhere else. Each kind has a record in layers.py (its arguments) and a rule in shapes.py (its shapes).
LAYER_KINDS = (
    # convolution
    "Conv1d",
    "Conv2d",
    "Conv3d",
    "ConvTranspose1d",
    "ConvTranspose2d",
    "ConvTranspose3d",
    # pooling
    "MaxPool1d",
    "MaxPool2d",
    "MaxPool3d",
    "AvgPool1d",
    "AvgPool2d",
    "AvgPool3d",
    "LPPool1d",
    "LPPool2d",
    "AdaptiveAvgPool1d",
    "AdaptiveAvgPool2d",
    "AdaptiveAvgPool3d",
    "AdaptiveMaxPool1d",
    "AdaptiveMaxPool2d",
    "AdaptiveMaxPool3d",
    # resizing and reshaping
    "Upsample",
    "PixelShuffle",
    "PixelUnshuffle",
    "Flatten",
    "Unflatten",
    "ZeroPad2d",
    "ConstantPad2d",
    "ReflectionPad2d",
    "ReplicationPad2d",
    # normalisation and regularisation
    "BatchNorm1d",
    "BatchNorm2d",
    "BatchNorm3d",
    "InstanceNorm1d",
    "InstanceNorm2d",
    "InstanceNorm3d",
    "LayerNorm",
    "GroupNorm",
    "LocalResponseNorm",
    "Dropout",
    "Dropout1d",
    "Dropout2d",
    "Dropout3d",
    "AlphaDropout",
    # dense
    "Linear",
    "Identity",
    # sequences
    "Embedding",
    "RNN",
    "LSTM",
    "GRU",
    "TransformerEncoderLayer",
    "TransformerEncoder",
    # activations
    "ReLU",
    "ReLU6",
    "LeakyReLU",
    "PReLU",
    "ELU",
    "CELU",
    "SELU",
    "GELU",
    "SiLU",
    "Mish",
    "Hardswish",
    "Hardsigmoid",
    "Hardtanh",
    "Softplus",
    "Sigmoid",
    "Tanh",
    "GLU",
    "Softmax",
    "Softmin",
    "LogSoftmax",
    # blocks
    "Sequential",
    "Residual",
    "Concat",
    "Multiply",
)

# The block kinds: layers whose arguments hold layer lists.
BLOCK_NAMES = ("Sequential", "Residual", "Concat", "Multiply")

# Names users bring from Keras or from torch classes netspec does not support.
ALIASES: dict[str, str] = {
    "Dense": "Linear",
    "Conv1D": "Conv1d",
    "Conv3D": "Conv3d",
    "Conv2DTranspose": "ConvTranspose2d",
    "UpSampling2D": "Upsample",
    "LayerNormalization": "LayerNorm",
    "Conv2D": "Conv2d",
    "Convolution2D": "Conv2d",
    "MaxPooling2D": "MaxPool2d",
    "AveragePooling2D": "AvgPool2d",
    "GlobalAveragePooling2D": "AdaptiveAvgPool2d",
    "BatchNormalization": "BatchNorm2d",
    "Swish": "SiLU",
    "Softmax2d": "Softmax",
    "Add": "Residual",
    "Concatenate": "Concat",
    "Cat": "Concat",
    "Mul": "Multiply",
    "ModuleList": "Sequential",
}


# The fields of each block kind that hold one branch, and those that hold a list of branches, as a spec writes them.
BRANCH_FIELDS: dict[str, tuple[str, ...]] = {
    "Sequential": ("layers",),
    "Residual": ("body", "shortcut", "after"),
    "Concat": ("after",),
    "Multiply": ("after",),
}
BRANCH_LISTS: dict[str, str] = {"Concat": "branches", "Multiply": "branches"}


def branches_of(layer: Any) -> list[tuple[tuple[str | int, ...], Sequence[Any]]]:
    """A block's layer lists, in the order they run, each with its path below the block (`after` last)."""
    kind = layer.type
    if kind == "Sequential":
        return [(("layers",), layer.layers)]
    if kind == "Residual":
        return [(("body",), layer.body), (("shortcut",), layer.shortcut), (("after",), layer.after)]
    if kind in ("Concat", "Multiply"):
        return [*((("branches", i), b) for i, b in enumerate(layer.branches)), (("after",), layer.after)]
    return []


def first_duplicate(layers: Sequence[Any]) -> tuple[tuple[Any, ...], tuple[Any, ...], tuple[Any, ...], str] | None:
    """Two layers of one scope with one name, as (the scope's path, the first's path, the second's, the name).

    Names are unique within each scope: the top level, each Sequential, each block (all its branches).
    """
    scopes: list[tuple[tuple[Any, ...], Any]] = [((), [((), layers)])]  # (where, the scope's layer lists)
    while scopes:
        where, lists = scopes.pop()
        seen: dict[str, tuple[Any, ...]] = {}
        for sub, children in lists:
            for i, layer in enumerate(children):
                if layer.name is not None:
                    if layer.name in seen:
                        return where, (*where, *seen[layer.name]), (*where, *sub, i), layer.name
                    seen[layer.name] = (*sub, i)
                if layer.type in BLOCK_NAMES:  # a block is a scope of its own: all its branches' layers
                    scopes.append(((*where, *sub, i), branches_of(layer)))
    return None


def kind_names(items: list[tuple[str, str | None]]) -> list[str]:
    """Names in a block's scope: each item's own `name`, else the next free `<prefix><n>` (`conv1`, `relu2`)."""
    taken = {name for _, name in items if name}
    counters: dict[str, int] = {}
    names = []
    for prefix, name in items:
        if name:
            names.append(name)
            continue
        while True:
            counters[prefix] = counters.get(prefix, 0) + 1
            candidate = f"{prefix}{counters[prefix]}"
            if candidate not in taken:
                break
        taken.add(candidate)
        names.append(candidate)
    return names


def index_names(items: list[tuple[str, str | None]]) -> list[str]:
    """Names in a Sequential: each item's own `name`, else its position, as torch's nn.Sequential names them."""
    return [name or str(i) for i, (_, name) in enumerate(items)]


def prefix_of(layer: Any) -> str:
    return str(layer.prefix or layer.type.lower())


def params_of(layer: Any) -> dict[str, Any]:
    """The torch constructor arguments a layer record holds (no `type`, `name` or netspec extras)."""
    names = _ARGUMENTS.get(type(layer))
    if names is None:  # once per kind: pydantic's `model_fields` is a slow property
        own = ("type", "name", "init") if layer.weight_init else ("type", "name")  # PReLU's `init` is torch's
        # a fast-path record lists its fields; a pydantic record has them in model_fields
        fields = getattr(type(layer), "field_names", None) or type(layer).model_fields
        names = tuple(k for k in fields if k not in own)
        _ARGUMENTS[type(layer)] = names
    return {k: getattr(layer, k) for k in names}


def has_init(layer: Any) -> bool:
    """Whether the kind takes netspec's `init` (convolutions and Linear, whose weights netspec can initialise)."""
    return bool(layer.weight_init)


_ARGUMENTS: dict[type, tuple[str, ...]] = {}


# -- shorthands and names, run before a record validates (pydantic's BeforeValidators, and the fast path's) --


def bare_layer(v: Any) -> Any:
    """`- ReLU` is shorthand for `- {type: ReLU}`; a mapping with `layers` and no `type` is a Sequential."""
    if isinstance(v, str):
        return {"type": v}
    if isinstance(v, dict) and "type" not in v and "layers" in v:
        return {"type": "Sequential", **v}
    return v


def branch(v: Any) -> Any:
    """`shortcut: {type: Sequential, ...}` and `after: ReLU` are lists of one; `null` is the empty list."""
    if v is None:
        return []
    return [v] if isinstance(v, (dict, str)) else v


def layer_norm_shorthand(v: Any) -> Any:
    """`norm: LayerNorm` is shorthand for `norm: {type: LayerNorm}`."""
    return {"type": v} if isinstance(v, str) else v


# Public attributes of nn.Sequential: a layer with one of these names could not be
# registered as a submodule (`add_module` refuses them). A test compares this with torch.
RESERVED_NAMES = frozenset(
    [
        "T_destination",  # a TypeVar on nn.Module, public by its spelling
        "add_module",
        "append",
        "apply",
        "bfloat16",
        "buffers",
        "call_super_init",
        "children",
        "compile",
        "cpu",
        "cuda",
        "double",
        "dump_patches",
        "eval",
        "extend",
        "extra_repr",
        "float",
        "forward",
        "get_buffer",
        "get_extra_state",
        "get_parameter",
        "get_submodule",
        "half",
        "insert",
        "ipu",
        "load_state_dict",
        "modules",
        "mtia",
        "named_buffers",
        "named_children",
        "named_modules",
        "named_parameters",
        "parameters",
        "pop",
        "register_backward_hook",
        "register_buffer",
        "register_forward_hook",
        "register_forward_pre_hook",
        "register_full_backward_hook",
        "register_full_backward_pre_hook",
        "register_load_state_dict_post_hook",
        "register_load_state_dict_pre_hook",
        "register_module",
        "register_parameter",
        "register_state_dict_post_hook",
        "register_state_dict_pre_hook",
        "requires_grad_",
        "set_extra_state",
        "set_submodule",
        "share_memory",
        "state_dict",
        "to",
        "to_empty",
        "train",
        "training",
        "type",
        "xpu",
        "zero_grad",
    ]
)
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")


def layer_name(v: Any) -> str:
    if not isinstance(v, str) or not _NAME.fullmatch(v) or keyword.iskeyword(v):
        raise invalid("a Python identifier such as `conv1` (letters, digits and _)", v)
    if v in RESERVED_NAMES:
        raise invalid(f"a name that nn.Module does not use itself (`{v}` is an attribute of nn.Sequential)", v)
    return v


# Init.type -> the torch.nn.init function that applies it and the Init fields it takes, in torch's order:
# what `builder.initialise` calls and `netspec export` writes out
INIT_FUNCTIONS: dict[str, tuple[str | None, tuple[str, ...]]] = {
    "default": (None, ()),  # torch's own initialisation (what you get without `init`)
    "kaiming_normal": ("kaiming_normal_", ("a", "mode", "nonlinearity")),
    "kaiming_uniform": ("kaiming_uniform_", ("a", "mode", "nonlinearity")),
    "xavier_normal": ("xavier_normal_", ("gain",)),
    "xavier_uniform": ("xavier_uniform_", ("gain",)),
    "normal": ("normal_", ("mean", "std")),
    "zeros": ("zeros_", ()),
}


# Init's fields besides `type` (tests/test_registry.py holds this to the record)
INIT_FIELDS = ("nonlinearity", "mode", "a", "gain", "mean", "std")


def init_shorthand(v: Any) -> Any:
    """`init: kaiming_normal` is shorthand for `init: {type: kaiming_normal}`; arguments must fit the type."""
    if isinstance(v, str):
        return {"type": v}
    if isinstance(v, dict) and isinstance(v.get("type"), str) and v["type"] in INIT_FUNCTIONS:
        allowed = INIT_FUNCTIONS[v["type"]][1]
        for key in v:
            if key != "type" and key in INIT_FIELDS and key not in allowed:
                raise custom_error(
                    "invalid-value",
                    "`{key}` does not apply to `{kind}` initialisation{fits}",
                    {
                        "key": key,
                        "kind": v["type"],
                        "at": (key,),
                        "fits": f" (it takes {', '.join(allowed)})" if allowed else " (it takes no arguments)",
                    },
                )
    return v
