"""The layer records: one frozen model per supported torch.nn class, with torch's argument names.

Input sizes (`in_channels`, `in_features`, `num_features`) are optional: the checker infers
them from the incoming tensor, and checks them when they are given. Defaults are torch's.
Adding a layer kind means a record here (in the `Layer` union) and a rule in `shapes.py`; the
builder makes `torch.nn.<type>` from the arguments the rule returns. Tests fail if a kind lacks
either, or if torch has no class of that name.

Blocks (`Sequential`, `Residual`, `Concat`, `Multiply`) are records whose arguments hold layer lists,
so a spec is a tree; `blocks.py` expands user-defined block kinds into them before validation.
"""

from __future__ import annotations

import keyword
import re
from collections.abc import Sequence
from typing import Annotated, Any, ClassVar, Literal, Union, get_args

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field
from pydantic_core import PydanticCustomError

from .fields import (
    Bool,
    ConvPadding,
    Dim,
    OutputSize,
    Pad2,
    Pad4,
    PositiveInt,
    PositiveReal,
    Probability,
    Real,
    Size2,
    invalid,
)

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


def _layer_name(v: Any) -> str:
    if not isinstance(v, str) or not _NAME.fullmatch(v) or keyword.iskeyword(v):
        raise invalid("a Python identifier such as `conv1` (letters, digits and _)", v)
    if v in RESERVED_NAMES:
        raise invalid(f"a name that nn.Module does not use itself (`{v}` is an attribute of nn.Sequential)", v)
    return v


LayerName = Annotated[str, Field(pattern=_NAME.pattern), BeforeValidator(_layer_name)]


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


def _init_shorthand(v: Any) -> Any:
    """`init: kaiming_normal` is shorthand for `init: {type: kaiming_normal}`; arguments must fit the type."""
    if isinstance(v, str):
        return {"type": v}
    if isinstance(v, dict) and v.get("type") in INIT_FUNCTIONS:
        allowed = INIT_FUNCTIONS[v["type"]][1]
        for key in v:
            if key != "type" and key in Init.model_fields and key not in allowed:
                raise PydanticCustomError(
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


class Init(BaseModel):
    """How to initialise a layer's weight; biases then start at zero. Absent: torch's default."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    type: Literal["default", "kaiming_normal", "kaiming_uniform", "xavier_normal", "xavier_uniform", "normal", "zeros"]
    nonlinearity: Literal["relu", "leaky_relu", "linear", "sigmoid", "tanh", "selu"] = "relu"  # kaiming
    mode: Literal["fan_in", "fan_out"] = "fan_in"  # kaiming
    a: Real = 0.0  # kaiming: the negative slope for leaky_relu
    gain: PositiveReal = 1.0  # xavier
    mean: Real = 0.0  # normal
    std: PositiveReal = 0.01  # normal


InitArg = Annotated[Init, BeforeValidator(_init_shorthand)]


class LayerBase(BaseModel):
    """Fields every layer has."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    type: str  # each record narrows this to its own Literal, the union's discriminator
    name: LayerName | None = None

    # The automatic submodule name's stem in a block's scope: `conv1`, `fc2`; by default the type, lowercased.
    prefix: ClassVar[str] = ""
    # The arguments the checker may infer from the incoming tensor (its rule returns them as `inferred`).
    input_sizes: ClassVar[tuple[str, ...]] = ()
    # Whether the layer takes token ids (int64: Embedding) rather than a float tensor.
    takes_tokens: ClassVar[bool] = False


# -- convolution and pooling -------------------------------------------------------------


class Conv2d(LayerBase):
    type: Literal["Conv2d"] = "Conv2d"
    prefix = "conv"
    input_sizes = ("in_channels",)
    in_channels: PositiveInt | None = None
    out_channels: PositiveInt
    kernel_size: Size2
    stride: Size2 = 1
    padding: ConvPadding = 0
    dilation: Size2 = 1
    groups: PositiveInt = 1
    bias: Bool = True
    padding_mode: Literal["zeros", "reflect", "replicate", "circular"] = "zeros"
    init: InitArg | None = None


class MaxPool2d(LayerBase):
    type: Literal["MaxPool2d"] = "MaxPool2d"
    prefix = "pool"
    kernel_size: Size2
    stride: Size2 | None = None  # None: torch uses kernel_size
    padding: Pad2 = 0
    dilation: Size2 = 1
    ceil_mode: Bool = False


class AvgPool2d(LayerBase):
    type: Literal["AvgPool2d"] = "AvgPool2d"
    prefix = "pool"
    kernel_size: Size2
    stride: Size2 | None = None
    padding: Pad2 = 0
    ceil_mode: Bool = False
    count_include_pad: Bool = True
    divisor_override: PositiveInt | None = None


class AdaptiveAvgPool2d(LayerBase):
    type: Literal["AdaptiveAvgPool2d"] = "AdaptiveAvgPool2d"
    prefix = "pool"
    output_size: OutputSize


class AdaptiveMaxPool2d(LayerBase):
    type: Literal["AdaptiveMaxPool2d"] = "AdaptiveMaxPool2d"
    prefix = "pool"
    output_size: OutputSize


# -- normalisation, regularisation, reshaping --------------------------------------------


class BatchNorm2d(LayerBase):
    type: Literal["BatchNorm2d"] = "BatchNorm2d"
    prefix = "bn"
    input_sizes = ("num_features",)
    num_features: PositiveInt | None = None
    eps: PositiveReal = 1e-5
    momentum: Probability | None = 0.1
    affine: Bool = True
    track_running_stats: Bool = True


class Dropout(LayerBase):
    type: Literal["Dropout"] = "Dropout"
    prefix = "drop"
    p: Probability = 0.5
    inplace: Bool = False


class Dropout2d(LayerBase):
    type: Literal["Dropout2d"] = "Dropout2d"
    prefix = "drop"
    p: Probability = 0.5
    inplace: Bool = False


class Flatten(LayerBase):
    type: Literal["Flatten"] = "Flatten"
    start_dim: Dim = 1
    end_dim: Dim = -1


class Linear(LayerBase):
    type: Literal["Linear"] = "Linear"
    prefix = "fc"
    input_sizes = ("in_features",)
    in_features: PositiveInt | None = None
    out_features: PositiveInt
    bias: Bool = True
    init: InitArg | None = None


class Identity(LayerBase):
    type: Literal["Identity"] = "Identity"


# -- padding: an int, or [left, right, top, bottom] as in torch ---------------------------


class ZeroPad2d(LayerBase):
    type: Literal["ZeroPad2d"] = "ZeroPad2d"
    prefix = "pad"
    padding: Pad4


class ConstantPad2d(LayerBase):
    type: Literal["ConstantPad2d"] = "ConstantPad2d"
    prefix = "pad"
    padding: Pad4
    value: Real


class ReflectionPad2d(LayerBase):
    type: Literal["ReflectionPad2d"] = "ReflectionPad2d"
    prefix = "pad"
    padding: Pad4


class ReplicationPad2d(LayerBase):
    type: Literal["ReplicationPad2d"] = "ReplicationPad2d"
    prefix = "pad"
    padding: Pad4


# -- activations -------------------------------------------------------------------------


class ReLU(LayerBase):
    type: Literal["ReLU"] = "ReLU"
    inplace: Bool = False


class ReLU6(LayerBase):
    type: Literal["ReLU6"] = "ReLU6"
    inplace: Bool = False


class LeakyReLU(LayerBase):
    type: Literal["LeakyReLU"] = "LeakyReLU"
    negative_slope: Real = 0.01
    inplace: Bool = False


class Sigmoid(LayerBase):
    type: Literal["Sigmoid"] = "Sigmoid"


class Tanh(LayerBase):
    type: Literal["Tanh"] = "Tanh"


class GELU(LayerBase):
    type: Literal["GELU"] = "GELU"
    approximate: Literal["none", "tanh"] = "none"


class ELU(LayerBase):
    type: Literal["ELU"] = "ELU"
    alpha: Real = 1.0
    inplace: Bool = False


class SiLU(LayerBase):
    type: Literal["SiLU"] = "SiLU"
    inplace: Bool = False


class Hardswish(LayerBase):
    type: Literal["Hardswish"] = "Hardswish"
    inplace: Bool = False


class Softmax(LayerBase):
    type: Literal["Softmax"] = "Softmax"
    dim: Dim | None = None


class LogSoftmax(LayerBase):
    type: Literal["LogSoftmax"] = "LogSoftmax"
    dim: Dim | None = None


# -- blocks: layers whose arguments hold layer lists ----------------------------------------
#
# A branch is a list of layers (a single layer, or a bare name, stands for a list of one). Its layers
# are the block's own submodules, named in the block's scope (`conv1`, `bn1`, ... as torchvision's
# blocks name theirs); a named `Sequential` in a branch is one submodule of its own (`downsample`).


def _branch(v: Any) -> Any:
    """`shortcut: {type: Sequential, ...}` and `after: ReLU` are lists of one; `null` is the empty list."""
    if v is None:
        return []
    return [v] if isinstance(v, (dict, str)) else v


class Sequential(LayerBase):
    """A group of layers run in order: one nn.Sequential, whose unnamed layers are `0`, `1`, ... as torch names them."""

    type: Literal["Sequential"] = "Sequential"
    layers: Annotated[list[LayerItem], Field(min_length=1)]


class Residual(LayerBase):
    """`body(x) + shortcut(x)`, then `after`: the shortcut is the identity unless given (torchvision's BasicBlock)."""

    type: Literal["Residual"] = "Residual"
    body: Annotated[Branch, Field(min_length=1)]
    shortcut: Branch = []
    after: Branch = []


class Concat(LayerBase):
    """The branches' outputs concatenated along `dim` (channels by default), then `after`; `[]` is the identity."""

    type: Literal["Concat"] = "Concat"
    prefix = "cat"
    branches: Annotated[list[Branch], Field(min_length=2)]
    dim: Dim = 1
    after: Branch = []


class Multiply(LayerBase):
    """The branches' outputs multiplied element-wise, broadcasting as torch does (squeeze-and-excitation)."""

    type: Literal["Multiply"] = "Multiply"
    prefix = "mul"
    branches: Annotated[list[Branch], Field(min_length=2)]
    after: Branch = []


# The one table of layer kinds: a spec's `type` is looked up here and nowhere else.
Layer = Annotated[
    Union[  # noqa: UP007 - a discriminated union reads best spelled out
        Conv2d,
        MaxPool2d,
        AvgPool2d,
        AdaptiveAvgPool2d,
        AdaptiveMaxPool2d,
        BatchNorm2d,
        Dropout,
        Dropout2d,
        Flatten,
        Linear,
        Identity,
        ZeroPad2d,
        ConstantPad2d,
        ReflectionPad2d,
        ReplicationPad2d,
        ReLU,
        ReLU6,
        LeakyReLU,
        Sigmoid,
        Tanh,
        GELU,
        ELU,
        SiLU,
        Hardswish,
        Softmax,
        LogSoftmax,
        Sequential,
        Residual,
        Concat,
        Multiply,
    ],
    Field(discriminator="type"),
]


def _bare_layer(v: Any) -> Any:
    """`- ReLU` is shorthand for `- {type: ReLU}`; a mapping with `layers` and no `type` is a Sequential."""
    if isinstance(v, str):
        return {"type": v}
    if isinstance(v, dict) and "type" not in v and "layers" in v:
        return {"type": "Sequential", **v}
    return v


LayerItem = Annotated[Layer, BeforeValidator(_bare_layer)]
Branch = Annotated[list[LayerItem], BeforeValidator(_branch)]

for _block in (Sequential, Residual, Concat, Multiply):
    _block.model_rebuild()

BLOCK_TYPES: dict[str, type[LayerBase]] = {cls.__name__: cls for cls in (Sequential, Residual, Concat, Multiply)}
# torch.nn classes a layer record stands for (the builder makes `getattr(nn, type)`)
LAYER_TYPES: dict[str, type[LayerBase]] = {
    name: cls for cls in get_args(get_args(Layer)[0]) if (name := cls.__name__) not in BLOCK_TYPES
}
KINDS: dict[str, type[LayerBase]] = {**LAYER_TYPES, **BLOCK_TYPES}

# Names users bring from Keras or from torch classes netspec does not support.
ALIASES: dict[str, str] = {
    "Dense": "Linear",
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


def branches_of(layer: LayerBase) -> list[tuple[tuple[str | int, ...], Sequence[LayerBase]]]:
    """A block's layer lists, in the order they run, each with its path below the block (`after` last)."""
    if isinstance(layer, Sequential):
        return [(("layers",), layer.layers)]
    if isinstance(layer, Residual):
        return [(("body",), layer.body), (("shortcut",), layer.shortcut), (("after",), layer.after)]
    if isinstance(layer, (Concat, Multiply)):
        return [*((("branches", i), b) for i, b in enumerate(layer.branches)), (("after",), layer.after)]
    return []


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


def prefix_of(layer: LayerBase) -> str:
    return layer.prefix or layer.type.lower()


def params_of(layer: LayerBase) -> dict[str, Any]:
    """The torch constructor arguments a layer record holds (no `type`, `name` or netspec extras)."""
    names = _ARGUMENTS.get(type(layer))
    if names is None:  # once per kind: pydantic's `model_fields` is a slow property
        names = tuple(k for k in type(layer).model_fields if k not in ("type", "name", "init"))
        _ARGUMENTS[type(layer)] = names
    return {k: getattr(layer, k) for k in names}


def has_init(layer: LayerBase) -> bool:
    """Whether the kind takes `init` (Conv2d and Linear, whose weights netspec can initialise)."""
    found = _HAS_INIT.get(type(layer))
    if found is None:
        found = _HAS_INIT[type(layer)] = "init" in type(layer).model_fields
    return found


_ARGUMENTS: dict[type[LayerBase], tuple[str, ...]] = {}
_HAS_INIT: dict[type[LayerBase], bool] = {}
