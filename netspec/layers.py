"""The layer records: one frozen model per supported torch.nn class, with torch's argument names.

Input sizes (`in_channels`, `in_features`, `num_features`) are optional: the checker infers
them from the incoming tensor, and checks them when they are given. Defaults are torch's.
Adding a layer kind means a record here, a rule in `shapes.py` and a line in `builder.py`;
tests fail if any of those tables misses a kind.
"""

from __future__ import annotations

import keyword
import re
from typing import Annotated, Any, Literal, Union

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


# -- convolution and pooling -------------------------------------------------------------


class Conv2d(LayerBase):
    type: Literal["Conv2d"] = "Conv2d"
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
    kernel_size: Size2
    stride: Size2 | None = None  # None: torch uses kernel_size
    padding: Pad2 = 0
    dilation: Size2 = 1
    ceil_mode: Bool = False


class AvgPool2d(LayerBase):
    type: Literal["AvgPool2d"] = "AvgPool2d"
    kernel_size: Size2
    stride: Size2 | None = None
    padding: Pad2 = 0
    ceil_mode: Bool = False
    count_include_pad: Bool = True
    divisor_override: PositiveInt | None = None


class AdaptiveAvgPool2d(LayerBase):
    type: Literal["AdaptiveAvgPool2d"] = "AdaptiveAvgPool2d"
    output_size: OutputSize


class AdaptiveMaxPool2d(LayerBase):
    type: Literal["AdaptiveMaxPool2d"] = "AdaptiveMaxPool2d"
    output_size: OutputSize


# -- normalisation, regularisation, reshaping --------------------------------------------


class BatchNorm2d(LayerBase):
    type: Literal["BatchNorm2d"] = "BatchNorm2d"
    num_features: PositiveInt | None = None
    eps: PositiveReal = 1e-5
    momentum: Probability | None = 0.1
    affine: Bool = True
    track_running_stats: Bool = True


class Dropout(LayerBase):
    type: Literal["Dropout"] = "Dropout"
    p: Probability = 0.5
    inplace: Bool = False


class Dropout2d(LayerBase):
    type: Literal["Dropout2d"] = "Dropout2d"
    p: Probability = 0.5
    inplace: Bool = False


class Flatten(LayerBase):
    type: Literal["Flatten"] = "Flatten"
    start_dim: Dim = 1
    end_dim: Dim = -1


class Linear(LayerBase):
    type: Literal["Linear"] = "Linear"
    in_features: PositiveInt | None = None
    out_features: PositiveInt
    bias: Bool = True
    init: InitArg | None = None


class Identity(LayerBase):
    type: Literal["Identity"] = "Identity"


# -- padding: an int, or [left, right, top, bottom] as in torch ---------------------------


class ZeroPad2d(LayerBase):
    type: Literal["ZeroPad2d"] = "ZeroPad2d"
    padding: Pad4


class ConstantPad2d(LayerBase):
    type: Literal["ConstantPad2d"] = "ConstantPad2d"
    padding: Pad4
    value: Real


class ReflectionPad2d(LayerBase):
    type: Literal["ReflectionPad2d"] = "ReflectionPad2d"
    padding: Pad4


class ReplicationPad2d(LayerBase):
    type: Literal["ReplicationPad2d"] = "ReplicationPad2d"
    padding: Pad4


# -- activations -------------------------------------------------------------------------


class ReLU(LayerBase):
    type: Literal["ReLU"] = "ReLU"
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
        LeakyReLU,
        Sigmoid,
        Tanh,
        GELU,
        ELU,
        SiLU,
        Hardswish,
        Softmax,
        LogSoftmax,
    ],
    Field(discriminator="type"),
]

# type name -> record class; the only place a spec's `type` is looked up
LAYER_TYPES: dict[str, type[LayerBase]] = {cls.__name__: cls for cls in LayerBase.__subclasses__()}

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
}


# Automatic submodule names (`conv1`, `relu1`, `pool1`, `fc1`, ...): stable state_dict keys.
_PREFIX = {
    "Conv2d": "conv",
    "Linear": "fc",
    "BatchNorm2d": "bn",
    "Flatten": "flatten",
    "Identity": "identity",
    "MaxPool2d": "pool",
    "AvgPool2d": "pool",
    "AdaptiveAvgPool2d": "pool",
    "AdaptiveMaxPool2d": "pool",
    "Dropout": "drop",
    "Dropout2d": "drop",
    "ZeroPad2d": "pad",
    "ConstantPad2d": "pad",
    "ReflectionPad2d": "pad",
    "ReplicationPad2d": "pad",
}


def module_names(layers: list[Any]) -> list[str]:
    """Each layer's submodule name: its own `name`, else the next free `<kind><n>`."""
    taken = {layer.name for layer in layers if layer.name}
    counters: dict[str, int] = {}
    names = []
    for layer in layers:
        if layer.name:
            names.append(layer.name)
            continue
        prefix = _PREFIX.get(layer.type, layer.type.lower())
        while True:
            counters[prefix] = counters.get(prefix, 0) + 1
            candidate = f"{prefix}{counters[prefix]}"
            if candidate not in taken:
                break
        taken.add(candidate)
        names.append(candidate)
    return names


def params_of(layer: LayerBase) -> dict[str, Any]:
    """The torch constructor arguments a record holds (no `type`, `name` or netspec extras)."""
    return {k: getattr(layer, k) for k in type(layer).model_fields if k not in ("type", "name", "init")}
