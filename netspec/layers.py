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
import math
import re
from collections.abc import Sequence
from typing import Annotated, Any, ClassVar, Literal, Union, get_args

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PlainValidator, SerializeAsAny, WithJsonSchema
from pydantic_core import PydanticCustomError

from .fields import (
    INT64_MAX,
    Bool,
    ConvPadding,
    ConvPadding1,
    ConvPadding3,
    Dim,
    OutputSize,
    OutputSize1,
    OutputSize3,
    Pad1,
    Pad2,
    Pad3,
    Pad4,
    PositiveInt,
    PositiveReal,
    Probability,
    Real,
    Size1,
    Size2,
    Size3,
    invalid,
    show,
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
    if isinstance(v, dict) and isinstance(v.get("type"), str) and v["type"] in INIT_FUNCTIONS:
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

    # deferred: a record's validator is built the first time a spec uses its kind, not when netspec is imported
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)
    type: str  # each record narrows this to its own Literal, the union's discriminator
    name: LayerName | None = None

    # The automatic submodule name's stem in a block's scope: `conv1`, `fc2`; by default the type, lowercased.
    prefix: ClassVar[str] = ""
    # The arguments the checker may infer from the incoming tensor (its rule returns them as `inferred`).
    input_sizes: ClassVar[tuple[str, ...]] = ()
    # Whether the layer takes token ids (int64: Embedding) rather than a float tensor.
    takes_tokens: ClassVar[bool] = False
    # Whether netspec's `init` (weight initialisation) applies: convolutions and Linear.
    weight_init: ClassVar[bool] = False
    # How many spatial axes a pooling, padding or normalisation layer works on (1, 2 or 3).
    spatial: ClassVar[int] = 0


# -- convolution and pooling -------------------------------------------------------------


class Conv1d(LayerBase):
    type: Literal["Conv1d"] = "Conv1d"
    prefix = "conv"
    input_sizes = ("in_channels",)
    weight_init = True
    in_channels: PositiveInt | None = None
    out_channels: PositiveInt
    kernel_size: Size1
    stride: Size1 = 1
    padding: ConvPadding1 = 0
    dilation: Size1 = 1
    groups: PositiveInt = 1
    bias: Bool = True
    padding_mode: Literal["zeros", "reflect", "replicate", "circular"] = "zeros"
    init: InitArg | None = None


class Conv2d(LayerBase):
    type: Literal["Conv2d"] = "Conv2d"
    prefix = "conv"
    input_sizes = ("in_channels",)
    weight_init = True
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


class Conv3d(LayerBase):
    type: Literal["Conv3d"] = "Conv3d"
    prefix = "conv"
    input_sizes = ("in_channels",)
    weight_init = True
    in_channels: PositiveInt | None = None
    out_channels: PositiveInt
    kernel_size: Size3
    stride: Size3 = 1
    padding: ConvPadding3 = 0
    dilation: Size3 = 1
    groups: PositiveInt = 1
    bias: Bool = True
    padding_mode: Literal["zeros", "reflect", "replicate", "circular"] = "zeros"
    init: InitArg | None = None


class ConvTranspose1d(LayerBase):
    type: Literal["ConvTranspose1d"] = "ConvTranspose1d"
    prefix = "upconv"
    input_sizes = ("in_channels",)
    weight_init = True
    in_channels: PositiveInt | None = None
    out_channels: PositiveInt
    kernel_size: Size1
    stride: Size1 = 1
    padding: Pad1 = 0
    output_padding: Pad1 = 0
    groups: PositiveInt = 1
    bias: Bool = True
    dilation: Size1 = 1
    padding_mode: Literal["zeros"] = "zeros"  # the only mode torch implements for transposed convolutions
    init: InitArg | None = None


class ConvTranspose2d(LayerBase):
    type: Literal["ConvTranspose2d"] = "ConvTranspose2d"
    prefix = "upconv"
    input_sizes = ("in_channels",)
    weight_init = True
    in_channels: PositiveInt | None = None
    out_channels: PositiveInt
    kernel_size: Size2
    stride: Size2 = 1
    padding: Pad2 = 0
    output_padding: Pad2 = 0
    groups: PositiveInt = 1
    bias: Bool = True
    dilation: Size2 = 1
    padding_mode: Literal["zeros"] = "zeros"
    init: InitArg | None = None


class ConvTranspose3d(LayerBase):
    type: Literal["ConvTranspose3d"] = "ConvTranspose3d"
    prefix = "upconv"
    input_sizes = ("in_channels",)
    weight_init = True
    in_channels: PositiveInt | None = None
    out_channels: PositiveInt
    kernel_size: Size3
    stride: Size3 = 1
    padding: Pad3 = 0
    output_padding: Pad3 = 0
    groups: PositiveInt = 1
    bias: Bool = True
    dilation: Size3 = 1
    padding_mode: Literal["zeros"] = "zeros"
    init: InitArg | None = None


class MaxPool1d(LayerBase):
    type: Literal["MaxPool1d"] = "MaxPool1d"
    prefix = "pool"
    spatial = 1
    kernel_size: Size1
    stride: Size1 | None = None  # None: torch uses kernel_size
    padding: Pad1 = 0
    dilation: Size1 = 1
    ceil_mode: Bool = False


class MaxPool2d(LayerBase):
    type: Literal["MaxPool2d"] = "MaxPool2d"
    prefix = "pool"
    spatial = 2
    kernel_size: Size2
    stride: Size2 | None = None  # None: torch uses kernel_size
    padding: Pad2 = 0
    dilation: Size2 = 1
    ceil_mode: Bool = False


class MaxPool3d(LayerBase):
    type: Literal["MaxPool3d"] = "MaxPool3d"
    prefix = "pool"
    spatial = 3
    kernel_size: Size3
    stride: Size3 | None = None
    padding: Pad3 = 0
    dilation: Size3 = 1
    ceil_mode: Bool = False


class AvgPool1d(LayerBase):
    type: Literal["AvgPool1d"] = "AvgPool1d"
    prefix = "pool"
    spatial = 1
    kernel_size: Size1
    stride: Size1 | None = None
    padding: Pad1 = 0
    ceil_mode: Bool = False
    count_include_pad: Bool = True


class AvgPool2d(LayerBase):
    type: Literal["AvgPool2d"] = "AvgPool2d"
    prefix = "pool"
    spatial = 2
    kernel_size: Size2
    stride: Size2 | None = None
    padding: Pad2 = 0
    ceil_mode: Bool = False
    count_include_pad: Bool = True
    divisor_override: PositiveInt | None = None


class AvgPool3d(LayerBase):
    type: Literal["AvgPool3d"] = "AvgPool3d"
    prefix = "pool"
    spatial = 3
    kernel_size: Size3
    stride: Size3 | None = None
    padding: Pad3 = 0
    ceil_mode: Bool = False
    count_include_pad: Bool = True
    divisor_override: PositiveInt | None = None


class LPPool1d(LayerBase):
    type: Literal["LPPool1d"] = "LPPool1d"
    prefix = "pool"
    spatial = 1
    norm_type: PositiveReal
    kernel_size: Size1
    stride: Size1 | None = None
    ceil_mode: Bool = False


class LPPool2d(LayerBase):
    type: Literal["LPPool2d"] = "LPPool2d"
    prefix = "pool"
    spatial = 2
    norm_type: PositiveReal
    kernel_size: Size2
    stride: Size2 | None = None
    ceil_mode: Bool = False


class AdaptiveAvgPool1d(LayerBase):
    type: Literal["AdaptiveAvgPool1d"] = "AdaptiveAvgPool1d"
    prefix = "pool"
    spatial = 1
    output_size: OutputSize1


class AdaptiveAvgPool2d(LayerBase):
    type: Literal["AdaptiveAvgPool2d"] = "AdaptiveAvgPool2d"
    prefix = "pool"
    spatial = 2
    output_size: OutputSize


class AdaptiveAvgPool3d(LayerBase):
    type: Literal["AdaptiveAvgPool3d"] = "AdaptiveAvgPool3d"
    prefix = "pool"
    spatial = 3
    output_size: OutputSize3


class AdaptiveMaxPool1d(LayerBase):
    type: Literal["AdaptiveMaxPool1d"] = "AdaptiveMaxPool1d"
    prefix = "pool"
    spatial = 1
    output_size: OutputSize1


class AdaptiveMaxPool2d(LayerBase):
    type: Literal["AdaptiveMaxPool2d"] = "AdaptiveMaxPool2d"
    prefix = "pool"
    spatial = 2
    output_size: OutputSize


class AdaptiveMaxPool3d(LayerBase):
    type: Literal["AdaptiveMaxPool3d"] = "AdaptiveMaxPool3d"
    prefix = "pool"
    spatial = 3
    output_size: OutputSize3


# -- resizing ----------------------------------------------------------------------------


def _size_list(v: Any) -> Any:
    """Upsample's `size`: a positive integer for every axis, or one per axis."""
    if v is None:
        return None
    if isinstance(v, (list, tuple)):
        if not 1 <= len(v) <= 3:
            raise invalid("a positive integer or a list of one per spatial axis", v)
        return tuple(_int_positive(x) for x in v)
    return _int_positive(v)


def _int_positive(v: Any) -> int:
    if not isinstance(v, int) or isinstance(v, bool) or not 1 <= v <= INT64_MAX:
        raise invalid("a positive integer or a list of one per spatial axis", v)
    return v


def _scale(v: Any) -> Any:
    """Upsample's `scale_factor`: a number > 0, or one per axis."""
    if v is None:
        return None
    values = v if isinstance(v, (list, tuple)) else [v]
    if isinstance(v, (list, tuple)) and not 1 <= len(v) <= 3:
        raise invalid("a number > 0 or a list of one per spatial axis", v)
    for x in values:
        if not isinstance(x, (int, float)) or isinstance(x, bool) or not math.isfinite(x) or x <= 0:
            raise invalid("a number > 0 or a list of one per spatial axis", v)
    return tuple(float(x) for x in v) if isinstance(v, (list, tuple)) else float(v)


class Upsample(LayerBase):
    type: Literal["Upsample"] = "Upsample"
    prefix = "up"
    size: Annotated[int | tuple[int, ...] | None, BeforeValidator(_size_list)] = None
    scale_factor: Annotated[float | tuple[float, ...] | None, BeforeValidator(_scale)] = None
    mode: Literal["nearest", "nearest-exact", "linear", "bilinear", "bicubic", "trilinear"] = "nearest"
    align_corners: Bool | None = None
    recompute_scale_factor: Bool | None = None


class PixelShuffle(LayerBase):
    type: Literal["PixelShuffle"] = "PixelShuffle"
    prefix = "shuffle"
    upscale_factor: PositiveInt


class PixelUnshuffle(LayerBase):
    type: Literal["PixelUnshuffle"] = "PixelUnshuffle"
    prefix = "unshuffle"
    downscale_factor: PositiveInt


def _unflattened(v: Any) -> Any:
    """Unflatten's sizes: positive integers, at most one -1 (inferred, as torch infers it)."""
    if (
        not isinstance(v, (list, tuple))
        or not v
        or not all(isinstance(x, int) and not isinstance(x, bool) and (1 <= x <= INT64_MAX or x == -1) for x in v)
        or list(v).count(-1) > 1
    ):
        raise invalid("a list of positive sizes, one of which may be -1", v)
    return tuple(v)


class Unflatten(LayerBase):
    type: Literal["Unflatten"] = "Unflatten"
    dim: Dim
    unflattened_size: Annotated[tuple[int, ...], BeforeValidator(_unflattened)]


# -- normalisation, regularisation, reshaping --------------------------------------------


class BatchNorm1d(LayerBase):
    type: Literal["BatchNorm1d"] = "BatchNorm1d"
    prefix = "bn"
    input_sizes = ("num_features",)
    spatial = 1
    num_features: PositiveInt | None = None
    eps: PositiveReal = 1e-5
    momentum: Probability | None = 0.1
    affine: Bool = True
    track_running_stats: Bool = True


class BatchNorm2d(LayerBase):
    type: Literal["BatchNorm2d"] = "BatchNorm2d"
    prefix = "bn"
    input_sizes = ("num_features",)
    spatial = 2
    num_features: PositiveInt | None = None
    eps: PositiveReal = 1e-5
    momentum: Probability | None = 0.1
    affine: Bool = True
    track_running_stats: Bool = True


class BatchNorm3d(LayerBase):
    type: Literal["BatchNorm3d"] = "BatchNorm3d"
    prefix = "bn"
    input_sizes = ("num_features",)
    spatial = 3
    num_features: PositiveInt | None = None
    eps: PositiveReal = 1e-5
    momentum: Probability | None = 0.1
    affine: Bool = True
    track_running_stats: Bool = True


class InstanceNorm1d(LayerBase):
    type: Literal["InstanceNorm1d"] = "InstanceNorm1d"
    prefix = "norm"
    input_sizes = ("num_features",)
    spatial = 1
    num_features: PositiveInt | None = None
    eps: PositiveReal = 1e-5
    momentum: Probability | None = 0.1
    affine: Bool = False
    track_running_stats: Bool = False


class InstanceNorm2d(LayerBase):
    type: Literal["InstanceNorm2d"] = "InstanceNorm2d"
    prefix = "norm"
    input_sizes = ("num_features",)
    spatial = 2
    num_features: PositiveInt | None = None
    eps: PositiveReal = 1e-5
    momentum: Probability | None = 0.1
    affine: Bool = False
    track_running_stats: Bool = False


class InstanceNorm3d(LayerBase):
    type: Literal["InstanceNorm3d"] = "InstanceNorm3d"
    prefix = "norm"
    input_sizes = ("num_features",)
    spatial = 3
    num_features: PositiveInt | None = None
    eps: PositiveReal = 1e-5
    momentum: Probability | None = 0.1
    affine: Bool = False
    track_running_stats: Bool = False


def _shape_arg(v: Any) -> Any:
    """LayerNorm's `normalized_shape`: a size, or the sizes of the last dims."""
    if v is None:
        return None
    if isinstance(v, (list, tuple)):
        if not v or not all(isinstance(x, int) and not isinstance(x, bool) and 1 <= x <= INT64_MAX for x in v):
            raise invalid("a positive integer or a list of the last dims' sizes", v)
        return tuple(v)
    if not isinstance(v, int) or isinstance(v, bool) or not 1 <= v <= INT64_MAX:
        raise invalid("a positive integer or a list of the last dims' sizes", v)
    return v


class LayerNorm(LayerBase):
    type: Literal["LayerNorm"] = "LayerNorm"
    prefix = "norm"
    input_sizes = ("normalized_shape",)
    normalized_shape: Annotated[int | tuple[int, ...] | None, BeforeValidator(_shape_arg)] = None
    eps: PositiveReal = 1e-5
    elementwise_affine: Bool = True
    bias: Bool = True


class GroupNorm(LayerBase):
    type: Literal["GroupNorm"] = "GroupNorm"
    prefix = "norm"
    input_sizes = ("num_channels",)
    num_groups: PositiveInt
    num_channels: PositiveInt | None = None
    eps: PositiveReal = 1e-5
    affine: Bool = True


class LocalResponseNorm(LayerBase):
    type: Literal["LocalResponseNorm"] = "LocalResponseNorm"
    prefix = "lrn"
    size: PositiveInt
    alpha: Real = 1e-4
    beta: Real = 0.75
    k: Real = 1.0


class Dropout(LayerBase):
    type: Literal["Dropout"] = "Dropout"
    prefix = "drop"
    p: Probability = 0.5
    inplace: Bool = False


class Dropout1d(LayerBase):
    type: Literal["Dropout1d"] = "Dropout1d"
    prefix = "drop"
    spatial = 1
    p: Probability = 0.5
    inplace: Bool = False


class Dropout2d(LayerBase):
    type: Literal["Dropout2d"] = "Dropout2d"
    prefix = "drop"
    spatial = 2
    p: Probability = 0.5
    inplace: Bool = False


class Dropout3d(LayerBase):
    type: Literal["Dropout3d"] = "Dropout3d"
    prefix = "drop"
    spatial = 3
    p: Probability = 0.5
    inplace: Bool = False


class AlphaDropout(LayerBase):
    type: Literal["AlphaDropout"] = "AlphaDropout"
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
    weight_init = True
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


class Hardtanh(LayerBase):
    type: Literal["Hardtanh"] = "Hardtanh"
    min_val: Real = -1.0
    max_val: Real = 1.0
    inplace: Bool = False


class Hardsigmoid(LayerBase):
    type: Literal["Hardsigmoid"] = "Hardsigmoid"
    inplace: Bool = False


class Mish(LayerBase):
    type: Literal["Mish"] = "Mish"
    inplace: Bool = False


class Softplus(LayerBase):
    type: Literal["Softplus"] = "Softplus"
    beta: Real = 1.0
    threshold: Real = 20.0


class SELU(LayerBase):
    type: Literal["SELU"] = "SELU"
    inplace: Bool = False


class CELU(LayerBase):
    type: Literal["CELU"] = "CELU"
    alpha: Real = 1.0
    inplace: Bool = False


class PReLU(LayerBase):
    type: Literal["PReLU"] = "PReLU"
    num_parameters: PositiveInt = 1  # 1, or the number of channels (dim 1)
    init: Real = 0.25  # torch's initial slope (not netspec's weight `init`)


class GLU(LayerBase):
    type: Literal["GLU"] = "GLU"
    dim: Dim = -1


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


class Softmin(LayerBase):
    type: Literal["Softmin"] = "Softmin"
    dim: Dim | None = None


class LogSoftmax(LayerBase):
    type: Literal["LogSoftmax"] = "LogSoftmax"
    dim: Dim | None = None


# -- sequences: token embeddings, recurrent layers, transformer encoders ----------------------
#
# netspec's tensors carry the batch first, (N, L, F), so a recurrent or transformer layer must say
# `batch_first: true`; torch's default (false) would read the batch as the steps, which the checker refuses.


def _index(v: Any) -> int:
    if not isinstance(v, int) or isinstance(v, bool) or not -INT64_MAX <= v <= INT64_MAX:
        raise invalid("an integer (a token id; negative counts from the end of the vocabulary)", v)
    return v


class Embedding(LayerBase):
    type: Literal["Embedding"] = "Embedding"
    prefix = "embed"
    input_sizes = ("num_embeddings",)
    takes_tokens = True
    num_embeddings: PositiveInt | None = None  # inferred: the input's vocabulary (`tokens`)
    embedding_dim: PositiveInt
    padding_idx: Annotated[int, BeforeValidator(_index)] | None = None
    max_norm: PositiveReal | None = None
    norm_type: PositiveReal = 2.0
    scale_grad_by_freq: Bool = False
    sparse: Bool = False


def _count(v: Any) -> int:
    if not isinstance(v, int) or isinstance(v, bool) or not 0 <= v <= INT64_MAX:
        raise invalid("an integer ≥ 0", v)
    return v


# netspec's own argument of the recurrent kinds: what the layer passes on in a chain of layers
RecurrentOutput = Literal["sequence", "last"]


class RNN(LayerBase):
    type: Literal["RNN"] = "RNN"
    prefix = "rnn"
    input_sizes = ("input_size",)
    input_size: PositiveInt | None = None
    hidden_size: PositiveInt
    num_layers: PositiveInt = 1
    nonlinearity: Literal["tanh", "relu"] = "tanh"
    bias: Bool = True
    batch_first: Bool = False
    dropout: Probability = 0.0
    bidirectional: Bool = False
    output: RecurrentOutput = "sequence"  # netspec's: every step's output (N, L, D·H), or the last (N, D·H)


class LSTM(LayerBase):
    type: Literal["LSTM"] = "LSTM"
    prefix = "lstm"
    input_sizes = ("input_size",)
    input_size: PositiveInt | None = None
    hidden_size: PositiveInt
    num_layers: PositiveInt = 1
    bias: Bool = True
    batch_first: Bool = False
    dropout: Probability = 0.0
    bidirectional: Bool = False
    proj_size: Annotated[int, Field(ge=0), BeforeValidator(_count)] = 0
    output: RecurrentOutput = "sequence"


class GRU(LayerBase):
    type: Literal["GRU"] = "GRU"
    prefix = "gru"
    input_sizes = ("input_size",)
    input_size: PositiveInt | None = None
    hidden_size: PositiveInt
    num_layers: PositiveInt = 1
    bias: Bool = True
    batch_first: Bool = False
    dropout: Probability = 0.0
    bidirectional: Bool = False
    output: RecurrentOutput = "sequence"


class TransformerEncoderLayer(LayerBase):
    type: Literal["TransformerEncoderLayer"] = "TransformerEncoderLayer"
    prefix = "encoder"
    input_sizes = ("d_model",)
    d_model: PositiveInt | None = None  # inferred: the features of the incoming (N, L, F)
    nhead: PositiveInt
    dim_feedforward: PositiveInt = 2048
    dropout: Probability = 0.1
    activation: Literal["relu", "gelu"] = "relu"
    layer_norm_eps: PositiveReal = 1e-5
    batch_first: Bool = False
    norm_first: Bool = False
    bias: Bool = True


def _layer_norm(v: Any) -> Any:
    """`norm: LayerNorm` is shorthand for `norm: {type: LayerNorm}`."""
    return {"type": v} if isinstance(v, str) else v


class TransformerEncoder(LayerBase):
    """`num_layers` copies of `encoder_layer` (a TransformerEncoderLayer's arguments), then `norm` if given."""

    type: Literal["TransformerEncoder"] = "TransformerEncoder"
    prefix = "encoder"
    encoder_layer: TransformerEncoderLayer
    num_layers: PositiveInt
    norm: Annotated[LayerNorm | None, BeforeValidator(_layer_norm)] = None
    enable_nested_tensor: Bool = True
    mask_check: Bool = True


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
        # convolution
        Conv1d,
        Conv2d,
        Conv3d,
        ConvTranspose1d,
        ConvTranspose2d,
        ConvTranspose3d,
        # pooling
        MaxPool1d,
        MaxPool2d,
        MaxPool3d,
        AvgPool1d,
        AvgPool2d,
        AvgPool3d,
        LPPool1d,
        LPPool2d,
        AdaptiveAvgPool1d,
        AdaptiveAvgPool2d,
        AdaptiveAvgPool3d,
        AdaptiveMaxPool1d,
        AdaptiveMaxPool2d,
        AdaptiveMaxPool3d,
        # resizing and reshaping
        Upsample,
        PixelShuffle,
        PixelUnshuffle,
        Flatten,
        Unflatten,
        ZeroPad2d,
        ConstantPad2d,
        ReflectionPad2d,
        ReplicationPad2d,
        # normalisation and regularisation
        BatchNorm1d,
        BatchNorm2d,
        BatchNorm3d,
        InstanceNorm1d,
        InstanceNorm2d,
        InstanceNorm3d,
        LayerNorm,
        GroupNorm,
        LocalResponseNorm,
        Dropout,
        Dropout1d,
        Dropout2d,
        Dropout3d,
        AlphaDropout,
        # dense
        Linear,
        Identity,
        # sequences
        Embedding,
        RNN,
        LSTM,
        GRU,
        TransformerEncoderLayer,
        TransformerEncoder,
        # activations
        ReLU,
        ReLU6,
        LeakyReLU,
        PReLU,
        ELU,
        CELU,
        SELU,
        GELU,
        SiLU,
        Mish,
        Hardswish,
        Hardsigmoid,
        Hardtanh,
        Softplus,
        Sigmoid,
        Tanh,
        GLU,
        Softmax,
        Softmin,
        LogSoftmax,
        # blocks
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


def _layer(v: Any) -> LayerBase:
    """A layer validated as its own kind's record: the one lookup of a spec's `type`.

    The `Layer` union above is the table (and the JSON Schema's); validating through it would build every
    record's validator when the first spec is read, so each kind is dispatched here and built when first
    used. The errors are the union's own (their types and context), so `validation.py` words them the same.
    """
    if isinstance(v, LayerBase):
        return v
    v = _bare_layer(v)
    if not isinstance(v, dict):
        raise PydanticCustomError("model_attributes_type", "a layer must be a layer name or a mapping", {})
    if "type" not in v:
        raise PydanticCustomError("union_tag_not_found", "a layer needs `type`", {"discriminator": "'type'"})
    kind = v["type"]
    cls = KINDS.get(kind) if isinstance(kind, str) else None
    if cls is None:
        raise PydanticCustomError(
            "union_tag_invalid",
            "unknown layer type {tag}",
            {"discriminator": "'type'", "tag": kind if isinstance(kind, str) else show(kind), "expected_tags": ""},
        )
    return cls.model_validate(v)


# the JSON Schema names `Layer` by a marker that schema.py replaces with a reference to the union's definition
LAYER_SCHEMA_MARK = {"x-netspec-definition": "Layer"}
LayerItem = Annotated[SerializeAsAny[LayerBase], PlainValidator(_layer), WithJsonSchema(LAYER_SCHEMA_MARK)]
Branch = Annotated[list[LayerItem], BeforeValidator(_branch)]

BLOCK_TYPES: dict[str, type[LayerBase]] = {cls.__name__: cls for cls in (Sequential, Residual, Concat, Multiply)}
# torch.nn classes a layer record stands for (the builder makes `getattr(nn, type)`)
LAYER_TYPES: dict[str, type[LayerBase]] = {
    name: cls for cls in get_args(get_args(Layer)[0]) if (name := cls.__name__) not in BLOCK_TYPES
}
KINDS: dict[str, type[LayerBase]] = {**LAYER_TYPES, **BLOCK_TYPES}

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
        own = ("type", "name", "init") if layer.weight_init else ("type", "name")  # PReLU's `init` is torch's
        names = tuple(k for k in type(layer).model_fields if k not in own)
        _ARGUMENTS[type(layer)] = names
    return {k: getattr(layer, k) for k in names}


def has_init(layer: LayerBase) -> bool:
    """Whether the kind takes netspec's `init` (convolutions and Linear, whose weights netspec can initialise)."""
    return layer.weight_init


_ARGUMENTS: dict[type[LayerBase], tuple[str, ...]] = {}
