"""The layer records: one frozen model per supported torch.nn class, with torch's argument names.

Input sizes (`in_channels`, `in_features`, `num_features`) are optional: the checker infers
them from the incoming tensor, and checks them when they are given. Defaults are torch's.
Adding a layer kind means a record here (in the `Layer` union) and a rule in `shapes.py`; the
builder makes `torch.nn.<type>` from the arguments the rule returns. Tests fail if a kind lacks
either, or if torch has no class of that name. Then `make fastpath` writes the record into the fast
path's table (fastpath_table.py), so that `netspec check` validates it without pydantic; a test says
when that was forgotten. An argument's validator is a plain function in values.py, which both use.

Blocks (`Sequential`, `Residual`, `Concat`, `Multiply`) are records whose arguments hold layer lists,
so a spec is a tree; `blocks.py` expands user-defined block kinds into them before validation.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal, Union, get_args

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PlainValidator, SerializeAsAny, WithJsonSchema
from pydantic_core import PydanticCustomError

from . import values as V
from .fields import (
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
    show,
)
from .kinds import (  # noqa: F401 - re-exported: the tables and helpers that were defined here
    _NAME,
    ALIASES,
    BRANCH_FIELDS,
    BRANCH_LISTS,
    INIT_FIELDS,
    INIT_FUNCTIONS,
    LAYER_KINDS,
    RESERVED_NAMES,
    bare_layer,
    branch,
    branches_of,
    has_init,
    index_names,
    init_shorthand,
    kind_names,
    layer_name,
    layer_norm_shorthand,
    params_of,
    prefix_of,
)

LayerName = Annotated[str, Field(pattern=_NAME.pattern), BeforeValidator(layer_name)]


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


InitArg = Annotated[Init, BeforeValidator(init_shorthand)]


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


class Upsample(LayerBase):
    type: Literal["Upsample"] = "Upsample"
    prefix = "up"
    size: Annotated[int | tuple[int, ...] | None, BeforeValidator(V.size_list)] = None
    scale_factor: Annotated[float | tuple[float, ...] | None, BeforeValidator(V.scale_factor)] = None
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


class Unflatten(LayerBase):
    type: Literal["Unflatten"] = "Unflatten"
    dim: Dim
    unflattened_size: Annotated[tuple[int, ...], BeforeValidator(V.unflattened_size)]


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


class LayerNorm(LayerBase):
    type: Literal["LayerNorm"] = "LayerNorm"
    prefix = "norm"
    input_sizes = ("normalized_shape",)
    normalized_shape: Annotated[int | tuple[int, ...] | None, BeforeValidator(V.normalized_shape)] = None
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


class Embedding(LayerBase):
    type: Literal["Embedding"] = "Embedding"
    prefix = "embed"
    input_sizes = ("num_embeddings",)
    takes_tokens = True
    num_embeddings: PositiveInt | None = None  # inferred: the input's vocabulary (`tokens`)
    embedding_dim: PositiveInt
    padding_idx: Annotated[int, BeforeValidator(V.token_index)] | None = None
    max_norm: PositiveReal | None = None
    norm_type: PositiveReal = 2.0
    scale_grad_by_freq: Bool = False
    sparse: Bool = False


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
    proj_size: Annotated[int, Field(ge=0), BeforeValidator(V.count)] = 0
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


class TransformerEncoder(LayerBase):
    """`num_layers` copies of `encoder_layer` (a TransformerEncoderLayer's arguments), then `norm` if given."""

    type: Literal["TransformerEncoder"] = "TransformerEncoder"
    prefix = "encoder"
    encoder_layer: TransformerEncoderLayer
    num_layers: PositiveInt
    norm: Annotated[LayerNorm | None, BeforeValidator(layer_norm_shorthand)] = None
    enable_nested_tensor: Bool = True
    mask_check: Bool = True


# -- blocks: layers whose arguments hold layer lists ----------------------------------------
#
# A branch is a list of layers (a single layer, or a bare name, stands for a list of one). Its layers
# are the block's own submodules, named in the block's scope (`conv1`, `bn1`, ... as torchvision's
# blocks name theirs); a named `Sequential` in a branch is one submodule of its own (`downsample`).


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


# The `Layer` union, of the records in kinds.LAYER_KINDS' order: what the JSON Schema's `Layer` definition lists.
Layer: Any = Annotated[Union[tuple(globals()[kind] for kind in LAYER_KINDS)], Field(discriminator="type")]  # noqa: UP007


def _layer(v: Any) -> LayerBase:
    """A layer validated as its own kind's record: the one lookup of a spec's `type`.

    The `Layer` union above is the table (and the JSON Schema's); validating through it would build every
    record's validator when the first spec is read, so each kind is dispatched here and built when first
    used. The errors are the union's own (their types and context), so `validation.py` words them the same.
    """
    if isinstance(v, LayerBase):
        return v
    v = bare_layer(v)
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
Branch = Annotated[list[LayerItem], BeforeValidator(branch)]

BLOCK_TYPES: dict[str, type[LayerBase]] = {cls.__name__: cls for cls in (Sequential, Residual, Concat, Multiply)}
# torch.nn classes a layer record stands for (the builder makes `getattr(nn, type)`)
LAYER_TYPES: dict[str, type[LayerBase]] = {
    name: cls for cls in get_args(get_args(Layer)[0]) if (name := cls.__name__) not in BLOCK_TYPES
}
KINDS: dict[str, type[LayerBase]] = {**LAYER_TYPES, **BLOCK_TYPES}
