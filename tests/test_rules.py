"""Rule tables: each layer kind on a known input, against figures worked out by hand or printed in the tutorials.

Conv: H_out = floor((H + 2p - d(k-1) - 1) / s) + 1; params = out × in/groups × kh × kw (+ out);
mult-adds = params × output positions (torchinfo's convention; Linear and BatchNorm: params).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

import netspec
from netspec.layers import LAYER_TYPES
from netspec.report import LayerReport

from .conftest import SPECS

TOKENS = 1000  # the vocabulary of the token ids an Embedding first in a list gets


def spec(layers: list[Any], input: tuple[int, ...]) -> netspec.Spec:
    first = layers[0] if layers and isinstance(layers[0], dict) else {}
    given: Any = {"shape": list(input), "tokens": TOKENS} if first.get("type") == "Embedding" else list(input)
    return netspec.spec_from_data({"name": "t", "input": given, "layers": layers})


def one(layer: Any, input: tuple[int, ...]) -> LayerReport:
    return netspec.check(spec([layer], input)).layers[0]


def diagnostics(layers: list[Any], input: tuple[int, ...]) -> list[netspec.Diagnostic]:
    with pytest.raises(netspec.SpecError) as e:
        netspec.check(spec(layers, input))
    return e.value.diagnostics


ELEMENTWISE = ["ReLU", "ReLU6", "LeakyReLU", "Sigmoid", "Tanh", "GELU", "ELU", "SiLU", "Hardswish", "Identity"]
ELEMENTWISE += ["Dropout", "Dropout2d", "Mish", "SELU", "Hardsigmoid"]

# (layer, one sample's input, its output, trainable params, mult-adds per sample)
SHAPES: list[tuple[Any, tuple[int, ...], tuple[int, ...], int, int]] = [
    # LeNet (tutorial 000): conv1 gives (N, 6, 28, 28), conv2 (N, 16, 10, 10)
    ({"type": "Conv2d", "out_channels": 6, "kernel_size": 5}, (1, 32, 32), (6, 28, 28), 156, 156 * 28 * 28),
    (
        {"type": "Conv2d", "in_channels": 6, "out_channels": 16, "kernel_size": 5},
        (6, 14, 14),
        (16, 10, 10),
        2416,
        241600,
    ),
    # tutorial 004's F.conv2d on a 5×5 input with a 3×3 kernel: 3×3, stride 2 gives 2×2, padding 1 gives 5×5
    ({"type": "Conv2d", "out_channels": 1, "kernel_size": 3, "bias": False}, (1, 5, 5), (1, 3, 3), 9, 81),
    ({"type": "Conv2d", "out_channels": 1, "kernel_size": 3, "stride": 2, "bias": False}, (1, 5, 5), (1, 2, 2), 9, 36),
    (
        {"type": "Conv2d", "out_channels": 1, "kernel_size": 3, "padding": 1, "bias": False},
        (1, 5, 5),
        (1, 5, 5),
        9,
        225,
    ),
    # tutorial 002: Conv2d(3, 6, 3) on CIFAR's 3×32×32 gives torch.Size([64, 6, 30, 30])
    ({"type": "Conv2d", "out_channels": 6, "kernel_size": 3}, (3, 32, 32), (6, 30, 30), 168, 168 * 900),
    # the CIFAR-10 net's first conv (tutorial 004): 3x32x32 -> 32x32x32
    (
        {"type": "Conv2d", "out_channels": 32, "kernel_size": 5, "padding": 2},
        (3, 32, 32),
        (32, 32, 32),
        2432,
        2432 * 1024,
    ),
    # `same` keeps the size, even kernels and dilation included; `valid` is no padding
    ({"type": "Conv2d", "out_channels": 4, "kernel_size": 3, "padding": "same"}, (2, 7, 7), (4, 7, 7), 76, 76 * 49),
    ({"type": "Conv2d", "out_channels": 1, "kernel_size": 4, "padding": "same"}, (1, 7, 7), (1, 7, 7), 17, 17 * 49),
    (
        {"type": "Conv2d", "out_channels": 1, "kernel_size": 3, "padding": "same", "dilation": 2},
        (1, 9, 9),
        (1, 9, 9),
        10,
        810,
    ),
    ({"type": "Conv2d", "out_channels": 1, "kernel_size": 3, "padding": "valid"}, (1, 7, 7), (1, 5, 5), 10, 250),
    # dilation 2 makes a 3×3 kernel span 5: 7 - 5 + 1 = 3
    ({"type": "Conv2d", "out_channels": 1, "kernel_size": 3, "dilation": 2}, (1, 7, 7), (1, 3, 3), 10, 90),
    # floor((7 + 2 - 3) / 2) + 1 = 4
    ({"type": "Conv2d", "out_channels": 1, "kernel_size": 3, "stride": 2, "padding": 1}, (1, 7, 7), (1, 4, 4), 10, 160),
    # pairs are (height, width)
    ({"type": "Conv2d", "out_channels": 2, "kernel_size": [3, 5]}, (1, 10, 12), (2, 8, 8), 32, 32 * 64),
    ({"type": "Conv2d", "out_channels": 1, "kernel_size": 3, "stride": [1, 2]}, (1, 8, 8), (1, 6, 3), 10, 180),
    ({"type": "Conv2d", "out_channels": 1, "kernel_size": 3, "padding": [0, 2]}, (1, 5, 5), (1, 3, 7), 10, 210),
    # groups: each output channel sees in/groups input channels
    ({"type": "Conv2d", "out_channels": 8, "kernel_size": 3, "groups": 2}, (4, 6, 6), (8, 4, 4), 152, 152 * 16),
    ({"type": "Conv2d", "out_channels": 4, "kernel_size": 3, "groups": 4}, (4, 6, 6), (4, 4, 4), 40, 640),
    # a 1×1 convolution is a per-pixel Linear over channels (tutorial 000, NIN)
    ({"type": "Conv2d", "out_channels": 2, "kernel_size": 1}, (3, 5, 5), (2, 5, 5), 8, 200),
    ({"type": "Conv2d", "out_channels": 2, "kernel_size": 1, "bias": False}, (3, 5, 5), (2, 5, 5), 6, 150),
    # padding modes: circular may pad as much as the input, replicate any amount, reflect less than it
    (
        {"type": "Conv2d", "out_channels": 1, "kernel_size": 3, "padding": 2, "padding_mode": "circular"},
        (1, 2, 2),
        (1, 4, 4),
        10,
        160,
    ),
    (
        {"type": "Conv2d", "out_channels": 1, "kernel_size": 3, "padding": 5, "padding_mode": "replicate"},
        (1, 2, 2),
        (1, 10, 10),
        10,
        1000,
    ),
    (
        {"type": "Conv2d", "out_channels": 1, "kernel_size": 3, "padding": 1, "padding_mode": "reflect"},
        (1, 2, 2),
        (1, 2, 2),
        10,
        40,
    ),
    # MaxPool2d(3) on tutorial 004's 5×5 input: 1×1, with ceil_mode=True 2×2
    ({"type": "MaxPool2d", "kernel_size": 3}, (1, 5, 5), (1, 1, 1), 0, 0),
    ({"type": "MaxPool2d", "kernel_size": 3, "ceil_mode": True}, (1, 5, 5), (1, 2, 2), 0, 0),
    ({"type": "MaxPool2d", "kernel_size": 2}, (6, 28, 28), (6, 14, 14), 0, 0),
    ({"type": "MaxPool2d", "kernel_size": 2}, (1, 7, 7), (1, 3, 3), 0, 0),
    ({"type": "MaxPool2d", "kernel_size": 2, "ceil_mode": True}, (1, 7, 7), (1, 4, 4), 0, 0),
    # ceil_mode drops a last window that would start in the right padding: (4 - 1) * 2 >= 5 + 1, so 3, not 4
    ({"type": "MaxPool2d", "kernel_size": 2, "stride": 2, "padding": 1, "ceil_mode": True}, (1, 5, 5), (1, 3, 3), 0, 0),
    # ... but keeps one that starts inside: (4 - 1) * 2 < 6 + 1, so 4 where floor gives 3
    ({"type": "MaxPool2d", "kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True}, (1, 6, 6), (1, 4, 4), 0, 0),
    ({"type": "MaxPool2d", "kernel_size": 3, "stride": 2, "padding": 1}, (1, 6, 6), (1, 3, 3), 0, 0),
    # a kernel larger than the input still gives one window with ceil_mode
    ({"type": "MaxPool2d", "kernel_size": 3, "ceil_mode": True}, (1, 2, 2), (1, 1, 1), 0, 0),
    # dilation: torch checks padding against kernel_size // 2 only, so padding 1 with a span of 5 is fine
    ({"type": "MaxPool2d", "kernel_size": 3, "stride": 1, "padding": 1, "dilation": 2}, (1, 7, 7), (1, 5, 5), 0, 0),
    ({"type": "MaxPool2d", "kernel_size": [2, 3], "stride": [2, 1]}, (1, 6, 6), (1, 3, 4), 0, 0),
    ({"type": "AvgPool2d", "kernel_size": 2}, (1, 5, 5), (1, 2, 2), 0, 0),
    ({"type": "AvgPool2d", "kernel_size": 2, "ceil_mode": True}, (1, 5, 5), (1, 3, 3), 0, 0),
    ({"type": "AvgPool2d", "kernel_size": 3, "stride": 1, "padding": 1}, (1, 5, 5), (1, 5, 5), 0, 0),
    (
        {"type": "AvgPool2d", "kernel_size": 2, "divisor_override": 3, "count_include_pad": False},
        (2, 4, 4),
        (2, 2, 2),
        0,
        0,
    ),
    ({"type": "AdaptiveAvgPool2d", "output_size": 1}, (64, 8, 8), (64, 1, 1), 0, 0),
    ({"type": "AdaptiveAvgPool2d", "output_size": [None, 3]}, (2, 7, 9), (2, 7, 3), 0, 0),
    ({"type": "AdaptiveAvgPool2d", "output_size": 4}, (1, 2, 2), (1, 4, 4), 0, 0),
    ({"type": "AdaptiveMaxPool2d", "output_size": [2, 3]}, (1, 5, 7), (1, 2, 3), 0, 0),
    # BatchNorm2d: the affine weight and bias are parameters, the running statistics are buffers
    ({"type": "BatchNorm2d"}, (16, 10, 10), (16, 10, 10), 32, 32),
    ({"type": "BatchNorm2d", "num_features": 16}, (16, 10, 10), (16, 10, 10), 32, 32),
    ({"type": "BatchNorm2d", "affine": False}, (16, 10, 10), (16, 10, 10), 0, 0),
    # Flatten honours start_dim and end_dim (dim 0 is the batch)
    ({"type": "Flatten"}, (16, 5, 5), (400,), 0, 0),
    ({"type": "Flatten", "start_dim": 2}, (16, 5, 5), (16, 25), 0, 0),
    ({"type": "Flatten", "end_dim": 2}, (16, 5, 5), (80, 5), 0, 0),
    ({"type": "Flatten", "start_dim": -3, "end_dim": -2}, (16, 5, 5), (80, 5), 0, 0),
    ({"type": "Flatten", "start_dim": 2, "end_dim": 2}, (16, 5, 5), (16, 5, 5), 0, 0),
    ({"type": "Flatten"}, (10,), (10,), 0, 0),
    # LeNet's fc1 and fc3
    ({"type": "Linear", "out_features": 120}, (400,), (120,), 48120, 48120),
    ({"type": "Linear", "in_features": 84, "out_features": 10, "bias": False}, (84,), (10,), 840, 840),
    # on a 4-D input Linear acts on the last dim, as torch does (with a warning, tested below), at 16 × 5 positions
    ({"type": "Linear", "out_features": 120}, (16, 5, 5), (16, 5, 120), 720, 720 * 80),
    # a sequence of 10 steps of 8 features: 10 × (8 × 4 + 4)
    ({"type": "Linear", "out_features": 4}, (10, 8), (10, 4), 36, 360),
    # padding layers: an int pads all four sides; a list is [left, right, top, bottom]
    ({"type": "ZeroPad2d", "padding": 1}, (1, 5, 5), (1, 7, 7), 0, 0),
    ({"type": "ZeroPad2d", "padding": [1, 2, 3, 4]}, (1, 5, 5), (1, 12, 8), 0, 0),
    ({"type": "ConstantPad2d", "padding": [0, 1, 0, 1], "value": 0.5}, (3, 4, 4), (3, 5, 5), 0, 0),
    ({"type": "ReflectionPad2d", "padding": 4}, (1, 5, 5), (1, 13, 13), 0, 0),
    ({"type": "ReplicationPad2d", "padding": 7}, (1, 2, 2), (1, 16, 16), 0, 0),
    ({"type": "Softmax", "dim": 1}, (10,), (10,), 0, 0),
    ({"type": "LogSoftmax", "dim": -1}, (3, 4, 4), (3, 4, 4), 0, 0),
    # 1-d: L_out = floor((L + 2p - d(k-1) - 1)/s) + 1: (16 + 2 - 2 - 1)//2 + 1 = 8
    ({"type": "Conv1d", "out_channels": 4, "kernel_size": 3, "stride": 2, "padding": 1}, (2, 16), (4, 8), 28, 28 * 8),
    # an M5-style first layer: 80-sample kernels, stride 16, on one second of 8 kHz audio: (8000 - 80)//16 + 1 = 496
    ({"type": "Conv1d", "out_channels": 32, "kernel_size": 80, "stride": 16}, (1, 8000), (32, 496), 2592, 2592 * 496),
    # 3-d: a 3×3×3 kernel with padding 1 keeps a volume's size; 3 × 8 × 27 + 8 = 656 parameters
    ({"type": "Conv3d", "out_channels": 8, "kernel_size": 3, "padding": 1}, (3, 4, 8, 8), (8, 4, 8, 8), 656, 656 * 256),
    # transposed: (L - 1)s - 2p + d(k - 1) + output_padding + 1: (4 - 1)2 - 0 + 2 + 0 + 1 = 9; an autoencoder's 2× up
    ({"type": "ConvTranspose1d", "out_channels": 2, "kernel_size": 3, "stride": 2}, (4, 4), (2, 9), 26, 26 * 9),
    (
        {"type": "ConvTranspose2d", "out_channels": 16, "kernel_size": 2, "stride": 2},
        (32, 7, 7),
        (16, 14, 14),
        32 * 16 * 4 + 16,
        (32 * 16 * 4 + 16) * 196,
    ),
    (
        {"type": "ConvTranspose3d", "out_channels": 1, "kernel_size": 3, "padding": 1, "output_padding": 0},
        (2, 4, 4, 4),
        (1, 4, 4, 4),
        55,
        55 * 64,
    ),
    ({"type": "MaxPool1d", "kernel_size": 2}, (3, 9), (3, 4), 0, 0),
    ({"type": "MaxPool1d", "kernel_size": 2, "ceil_mode": True}, (3, 9), (3, 5), 0, 0),
    ({"type": "MaxPool3d", "kernel_size": 2}, (3, 4, 6, 6), (3, 2, 3, 3), 0, 0),
    ({"type": "AvgPool1d", "kernel_size": 3, "stride": 1, "padding": 1}, (3, 9), (3, 9), 0, 0),
    ({"type": "AvgPool3d", "kernel_size": [1, 2, 2]}, (3, 4, 6, 6), (3, 4, 3, 3), 0, 0),
    ({"type": "LPPool1d", "norm_type": 2, "kernel_size": 3}, (3, 9), (3, 3), 0, 0),
    ({"type": "LPPool2d", "norm_type": 1, "kernel_size": 2}, (3, 5, 5), (3, 2, 2), 0, 0),
    ({"type": "AdaptiveAvgPool1d", "output_size": 1}, (64, 31), (64, 1), 0, 0),
    ({"type": "AdaptiveMaxPool1d", "output_size": 4}, (64, 31), (64, 4), 0, 0),
    ({"type": "AdaptiveAvgPool3d", "output_size": 1}, (8, 4, 7, 7), (8, 1, 1, 1), 0, 0),
    ({"type": "AdaptiveMaxPool3d", "output_size": [2, None, 3]}, (8, 4, 7, 7), (8, 2, 7, 3), 0, 0),
    # Upsample: a size, or floor(size × factor) (7 × 1.5 = 10.5 -> 10)
    ({"type": "Upsample", "scale_factor": 2}, (3, 7, 7), (3, 14, 14), 0, 0),
    ({"type": "Upsample", "scale_factor": 1.5, "mode": "bilinear"}, (3, 7, 7), (3, 10, 10), 0, 0),
    ({"type": "Upsample", "size": [5, 6, 7], "mode": "trilinear"}, (1, 2, 2, 2), (1, 5, 6, 7), 0, 0),
    ({"type": "Upsample", "size": 16, "mode": "linear", "align_corners": True}, (2, 8), (2, 16), 0, 0),
    # pixel (un)shuffle: (C·r², H, W) <-> (C, H·r, W·r)
    ({"type": "PixelShuffle", "upscale_factor": 3}, (18, 4, 4), (2, 12, 12), 0, 0),
    ({"type": "PixelUnshuffle", "downscale_factor": 2}, (3, 8, 6), (12, 4, 3), 0, 0),
    ({"type": "Unflatten", "dim": 1, "unflattened_size": [16, 5, 5]}, (400,), (16, 5, 5), 0, 0),
    ({"type": "Unflatten", "dim": -1, "unflattened_size": [2, -1]}, (3, 12), (3, 2, 6), 0, 0),
    # normalisations: 2 per channel with affine weights (BatchNorm, GroupNorm, affine InstanceNorm)
    ({"type": "BatchNorm1d"}, (12,), (12,), 24, 24),
    ({"type": "BatchNorm1d"}, (12, 50), (12, 50), 24, 24),
    ({"type": "BatchNorm3d"}, (8, 4, 4, 4), (8, 4, 4, 4), 16, 16),
    ({"type": "InstanceNorm1d"}, (6, 9), (6, 9), 0, 0),
    ({"type": "InstanceNorm2d", "affine": True}, (6, 9, 9), (6, 9, 9), 12, 12),
    ({"type": "InstanceNorm3d"}, (6, 2, 3, 3), (6, 2, 3, 3), 0, 0),
    ({"type": "GroupNorm", "num_groups": 4}, (32, 8, 8), (32, 8, 8), 64, 64),
    # LayerNorm over the last dim (inferred), or the last dims: a weight and a bias per value
    ({"type": "LayerNorm"}, (10, 64), (10, 64), 128, 128),
    ({"type": "LayerNorm", "normalized_shape": [5, 5], "bias": False}, (16, 5, 5), (16, 5, 5), 25, 25),
    ({"type": "LocalResponseNorm", "size": 5}, (96, 55, 55), (96, 55, 55), 0, 0),
    ({"type": "Dropout1d"}, (6, 9), (6, 9), 0, 0),
    ({"type": "Dropout3d"}, (6, 2, 3, 3), (6, 2, 3, 3), 0, 0),
    ({"type": "AlphaDropout", "p": 0.1}, (10,), (10,), 0, 0),
    # PReLU: one slope, or one per channel
    ({"type": "PReLU"}, (3, 4, 4), (3, 4, 4), 1, 1),
    ({"type": "PReLU", "num_parameters": 3}, (3, 4, 4), (3, 4, 4), 3, 3),
    # GLU halves its dim
    ({"type": "GLU"}, (10, 8), (10, 4), 0, 0),
    ({"type": "GLU", "dim": 1}, (6, 4, 4), (3, 4, 4), 0, 0),
    ({"type": "Softmin", "dim": 1}, (10,), (10,), 0, 0),
    ({"type": "Hardtanh", "min_val": -2.0, "max_val": 2.0}, (10,), (10,), 0, 0),
    ({"type": "Softplus", "beta": 2.0}, (10,), (10,), 0, 0),
    ({"type": "CELU", "alpha": 0.5}, (10,), (10,), 0, 0),
    # sequences, counted by hand: a recurrent layer has gates × hidden × (input + hidden) weights and two biases
    # per gate, per layer and direction, and torchinfo counts them all at every step
    ({"type": "Embedding", "embedding_dim": 64}, (12,), (12, 64), 64_000, 64_000),  # 1,000 rows × 64, once
    ({"type": "Embedding", "num_embeddings": 1200, "embedding_dim": 8}, (12, 3), (12, 3, 8), 9600, 9600),
    # torch's docs' nn.LSTM(10, 20, 2): 4·20·(10 + 20) + 2·4·20 = 2,560, then 4·20·(20 + 20) + 160 = 3,360
    ({"type": "LSTM", "hidden_size": 20, "num_layers": 2, "batch_first": True}, (5, 10), (5, 20), 5920, 5 * 5920),
    # a projection: 4·20·10 + 4·20·5 (recurrent weights of the projected size) + 160 + 5·20 = 1,460
    ({"type": "LSTM", "hidden_size": 20, "proj_size": 5, "batch_first": True}, (5, 10), (5, 5), 1460, 5 * 1460),
    # GRU: 3 gates, 3·20·30 + 2·3·20 = 1,920 per direction
    ({"type": "GRU", "hidden_size": 20, "bidirectional": True, "batch_first": True}, (5, 10), (5, 40), 3840, 19200),
    ({"type": "RNN", "hidden_size": 20, "batch_first": True, "output": "last"}, (5, 10), (20,), 640, 3200),
    (
        {"type": "GRU", "hidden_size": 20, "bidirectional": True, "batch_first": True, "output": "last"},
        (5, 10),
        (40,),
        3840,
        19200,
    ),
    # "Attention Is All You Need"'s base encoder layer: 4·512² + 4·512 attention, 2·512·2048 + 2048 + 512
    # feed-forward, 2·1,024 norms = 3,152,384; torchinfo counts the feed-forward at each of 10 steps, norms once
    ({"type": "TransformerEncoderLayer", "nhead": 8, "batch_first": True}, (10, 512), (10, 512), 3_152_384, 20_999_168),
    # its 6-layer encoder with a final LayerNorm: 18,915,328 parameters
    (
        {
            "type": "TransformerEncoder",
            "encoder_layer": {"d_model": 512, "nhead": 8, "batch_first": True},
            "num_layers": 6,
            "norm": "LayerNorm",
        },
        (10, 512),
        (10, 512),
        18_915_328,
        6 * 20_999_168 + 1024,
    ),
    *[(kind, (3, 4, 4), (3, 4, 4), 0, 0) for kind in ELEMENTWISE],
    *[(kind, (10,), (10,), 0, 0) for kind in ("ReLU", "Sigmoid", "Dropout")],
]


def _id(case: Any) -> str:
    layer, x = case[0], case[1]
    kind = layer if isinstance(layer, str) else layer["type"]
    args = "" if isinstance(layer, str) else ",".join(f"{k}={v}" for k, v in layer.items() if k != "type")
    return f"{kind}({args})-{'x'.join(map(str, x))}"


@pytest.mark.parametrize(("layer", "x", "out", "params", "mult_adds"), SHAPES, ids=[_id(c) for c in SHAPES])
def test_rule(layer: Any, x: tuple[int, ...], out: tuple[int, ...], params: int, mult_adds: int) -> None:
    report = one(layer, x)
    assert report.input_shape == ("N", *x)
    assert report.output_shape == ("N", *out)
    assert report.params == params
    assert report.mult_adds == mult_adds
    assert report.activation_bytes == 4 * _numel(out)


def _numel(shape: tuple[int, ...]) -> int:
    n = 1
    for d in shape:
        n *= d
    return n


def test_every_layer_kind_has_a_rule_row() -> None:
    kinds = {c[0] if isinstance(c[0], str) else c[0]["type"] for c in SHAPES}
    assert kinds == set(LAYER_TYPES)


# (layers, input, code, the message): the error sits on the last layer
ERRORS: list[tuple[list[Any], tuple[int, ...], str, str]] = [
    (
        [{"type": "Embedding", "num_embeddings": 500, "embedding_dim": 8}],
        (12,),
        "shape-mismatch",
        "`num_embeddings` is 500 but the input's token ids go up to 999 (`tokens: 1000`)",
    ),
    (
        [{"type": "Embedding", "embedding_dim": 8, "padding_idx": 1000}],
        (12,),
        "invalid-value",
        "`padding_idx` (1000) must be a row of the table: -1000 to 999",
    ),
    (
        [{"type": "Embedding", "embedding_dim": 8}, {"type": "Embedding", "embedding_dim": 8}],
        (12,),
        "rank-mismatch",
        "Embedding takes token ids (int64), but gets a float tensor (N, 12, 8)",
    ),
    (
        [{"type": "LSTM", "hidden_size": 8}],
        (5, 10),
        "invalid-value",
        "`batch_first: false` (torch's default) makes LSTM read dim 0, the batch, as the steps",
    ),
    (
        [{"type": "LSTM", "hidden_size": 8, "proj_size": 8, "batch_first": True}],
        (5, 10),
        "invalid-value",
        "`proj_size` (8) must be smaller than `hidden_size` (8)",
    ),
    (
        [{"type": "GRU", "input_size": 12, "hidden_size": 8, "batch_first": True}],
        (5, 10),
        "shape-mismatch",
        "`input_size` is 12 but the incoming tensor has 10 features",
    ),
    (
        [{"type": "RNN", "hidden_size": 8, "batch_first": True}],
        (10,),
        "rank-mismatch",
        "RNN expects a 3-D (N, L, F) input but gets (N, 10)",
    ),
    (
        [{"type": "TransformerEncoderLayer", "nhead": 3, "batch_first": True}],
        (5, 16),
        "invalid-value",
        "`d_model` (16) must be divisible by `nhead` (3): each head attends over d_model / nhead features",
    ),
    (
        [{"type": "TransformerEncoder", "encoder_layer": {"nhead": 2}, "num_layers": 2}],
        (5, 16),
        "invalid-value",
        "`batch_first: false` (torch's default) makes TransformerEncoderLayer read dim 0, the batch, as the steps",
    ),
    (
        [
            {
                "type": "TransformerEncoder",
                "encoder_layer": {"nhead": 2, "batch_first": True},
                "num_layers": 2,
                "norm": {"normalized_shape": 8},
            }
        ],
        (5, 16),
        "shape-mismatch",
        "`normalized_shape` is [8] but the last dims of the incoming tensor are [16]",
    ),
    (
        [{"type": "Conv2d", "out_channels": 8, "kernel_size": 3, "groups": 3}],
        (3, 8, 8),
        "invalid-value",
        "`out_channels` (=8) must be divisible by `groups` (=3)",
    ),
    (
        [{"type": "Conv2d", "out_channels": 4, "kernel_size": 3, "groups": 2}],
        (3, 8, 8),
        "invalid-value",
        "`in_channels` (=3) must be divisible by `groups` (=2)",
    ),
    (
        [{"type": "Conv2d", "out_channels": 4, "kernel_size": 3, "stride": 2, "padding": "same"}],
        (3, 8, 8),
        "invalid-value",
        "`padding: same` needs stride 1, but `stride` is 2",
    ),
    (
        [{"type": "Conv2d", "out_channels": 1, "kernel_size": 3, "padding": 2, "padding_mode": "reflect"}],
        (1, 2, 5),
        "padding-too-large",
        "`padding_mode: reflect` needs padding smaller than the input height, but the padding is 2"
        " and the input height is 2",
    ),
    (
        [{"type": "Conv2d", "out_channels": 1, "kernel_size": 3, "padding": [0, 3], "padding_mode": "circular"}],
        (1, 3, 2),
        "padding-too-large",
        "`padding_mode: circular` needs padding at most the input width, but the padding is 3 and the input width is 2",
    ),
    (
        [{"type": "Conv2d", "in_channels": 3, "out_channels": 6, "kernel_size": 5}],
        (1, 32, 32),
        "shape-mismatch",
        "`in_channels` is 3 but the incoming tensor has 1 channel",
    ),
    (
        [{"type": "Conv2d", "out_channels": 6, "kernel_size": 5}],
        (1, 4, 9),
        "empty-output",
        "the output height would be 0: the input height 4 is smaller than the kernel (5)",
    ),
    (
        [{"type": "Conv2d", "out_channels": 6, "kernel_size": 3, "dilation": 3}],
        (1, 5, 9),
        "empty-output",
        "the output height would be -1: the input height 5 is smaller than the dilated kernel,"
        " which spans 7 (kernel 3, dilation 3)",
    ),
    (
        [{"type": "Conv2d", "out_channels": 6, "kernel_size": [1, 7], "padding": 1}],
        (1, 3, 3),
        "empty-output",
        "the output width would be -1: the input width 3 plus padding 2 is smaller than the kernel (7)",
    ),
    (
        [{"type": "MaxPool2d", "kernel_size": 2}],
        (1, 1, 4),
        "empty-output",
        "the output height would be 0: the input height 1 is smaller than the kernel (2)",
    ),
    (
        [{"type": "MaxPool2d", "kernel_size": 3, "padding": 2}],
        (1, 8, 8),
        "padding-too-large",
        "`padding` (2) must be at most half of `kernel_size` (3), rounded down: 1",
    ),
    (
        [{"type": "AvgPool2d", "kernel_size": [2, 4], "padding": [1, 3]}],
        (1, 8, 8),
        "padding-too-large",
        "`padding` ([1, 3]) must be at most half of `kernel_size` ([2, 4]), rounded down: [1, 2]",
    ),
    (
        [{"type": "BatchNorm2d", "num_features": 8}],
        (16, 4, 4),
        "shape-mismatch",
        "`num_features` is 8 but the incoming tensor has 16 channels",
    ),
    (
        ["Flatten", {"type": "BatchNorm2d"}],
        (1, 4, 4),
        "rank-mismatch",
        "BatchNorm2d expects a 4-D (N, C, H, W) input but gets (N, 16)",
    ),
    (
        [{"type": "Linear", "in_features": 256, "out_features": 120}],
        (400,),
        "shape-mismatch",
        "`in_features` is 256 but the incoming tensor has 400 features",
    ),
    (
        [{"type": "Conv2d", "out_channels": 6, "kernel_size": 5}],
        (10,),
        "rank-mismatch",
        "Conv2d expects a 4-D (N, C, H, W) input but gets (N, 10)",
    ),
    (
        [{"type": "MaxPool2d", "kernel_size": 2}],
        (10,),
        "rank-mismatch",
        "MaxPool2d expects a 3-D or 4-D (N, C, H, W) input but gets (N, 10)",
    ),
    (
        [{"type": "ZeroPad2d", "padding": 1}],
        (10,),
        "rank-mismatch",
        "ZeroPad2d expects a 3-D or 4-D (N, C, H, W) input but gets (N, 10)",
    ),
    (
        [{"type": "Flatten", "start_dim": 4}],
        (16, 5, 5),
        "rank-mismatch",
        "`start_dim` (4) is out of range for the (N, 16, 5, 5) input, whose dims are -4 to 3",
    ),
    (
        [{"type": "Flatten", "start_dim": 3, "end_dim": 1}],
        (16, 5, 5),
        "invalid-value",
        "`start_dim` (3) comes after `end_dim` (1) for a 4-D input",
    ),
    (
        [{"type": "Flatten", "start_dim": 0}],
        (16, 5, 5),
        "invalid-value",
        "`start_dim: 0` would merge the batch dimension into the features",
    ),
    (
        [{"type": "Softmax", "dim": 2}],
        (10,),
        "rank-mismatch",
        "`dim` (2) is out of range for the (N, 10) input, whose dims are -2 to 1",
    ),
    (
        [{"type": "ReflectionPad2d", "padding": [0, 0, 5, 0]}],
        (1, 5, 5),
        "padding-too-large",
        "ReflectionPad2d needs padding smaller than the input height, but the padding is 5 and the input height is 5",
    ),
]


@pytest.mark.parametrize(("layers", "x", "code", "message"), ERRORS, ids=[e[3][:40] for e in ERRORS])
def test_rule_error(layers: list[Any], x: tuple[int, ...], code: str, message: str) -> None:
    found = diagnostics(layers, x)
    assert [(d.code, d.message) for d in found] == [(code, message)]
    assert found[0].path[:2] == ("layers", len(layers) - 1)


def test_both_axes_shrinking_alike_is_one_error() -> None:
    found = diagnostics([{"type": "Conv2d", "out_channels": 6, "kernel_size": 5}], (1, 4, 4))
    assert [d.message for d in found] == [
        "the output would be 0 × 0: the input 4 × 4 is smaller than the kernel (5 × 5)"
    ]
    dilated = diagnostics([{"type": "MaxPool2d", "kernel_size": 3, "dilation": 3, "padding": 1}], (1, 4, 4))
    assert [d.message for d in dilated] == [
        "the output would be 0 × 0: the input 4 × 4 plus padding 2 is smaller than the dilated kernel,"
        " which spans 7 × 7 (kernel 3, dilation 3)"
    ]


def test_axes_shrinking_differently_are_two_errors() -> None:
    found = diagnostics([{"type": "Conv2d", "out_channels": 6, "kernel_size": 5}], (1, 4, 3))
    assert [d.message for d in found] == [
        "the output height would be 0: the input height 4 is smaller than the kernel (5)",
        "the output width would be -1: the input width 3 is smaller than the kernel (5)",
    ]


def test_linear_on_a_4d_input_warns() -> None:
    report = netspec.check(spec([{"type": "Linear", "out_features": 120}], (16, 5, 5)))
    (warning,) = report.warnings
    assert warning.code == "missing-flatten"
    assert warning.severity == "warning"
    assert warning.message == "Linear acts on the last dimension of this (N, 16, 5, 5) input, giving (N, 16, 5, 120)"
    assert warning.help is not None and "16 × 5 × 5" in warning.help


@pytest.mark.parametrize(
    ("layers", "x", "over", "fix"),
    [
        (["Softmax"], (10,), "dim 1 of this (N, 10) input", "`dim: 1`"),
        (["LogSoftmax"], (3, 4, 4), "dim 1 of this (N, 3, 4, 4) input", "`dim: 1`"),
        # torch's legacy rule picks dim 0 for 3-D tensors: the batch
        (
            [{"type": "Flatten", "start_dim": 2}, "Softmax"],
            (3, 4, 4),
            "the batch dimension of this (N, 3, 16) input",
            "`dim: -1`",
        ),
    ],
)
def test_softmax_without_dim_warns(layers: list[Any], x: tuple[int, ...], over: str, fix: str) -> None:
    report = netspec.check(spec(layers, x))
    (warning,) = report.warnings
    kind = layers[-1]
    assert (warning.code, warning.severity) == ("implicit-dim", "warning")
    assert warning.message == f"{kind} without `dim` normalises over {over} (torch's implicit choice, deprecated)"
    assert warning.help == f"set {fix} explicitly"


def test_batchnorm_mismatch_without_affine_or_stats_only_warns() -> None:
    # torch has no per-channel tensor to check the count against, so it runs
    layer = {"type": "BatchNorm2d", "num_features": 8, "affine": False, "track_running_stats": False}
    report = netspec.check(spec([layer], (16, 4, 4)))
    (warning,) = report.warnings
    assert (warning.code, warning.severity) == ("shape-mismatch", "warning")
    assert warning.message.startswith("`num_features` is 8 but the incoming tensor has 16 channels")


def test_errors_after_the_first_are_still_judged() -> None:
    """A conv whose in_channels is wrong still has known outputs, so the BatchNorm after it is checked too."""
    layers = [
        {"type": "Conv2d", "in_channels": 3, "out_channels": 16, "kernel_size": 3},
        {"type": "BatchNorm2d", "num_features": 32},
        "Flatten",
        {"type": "Linear", "in_features": 10, "out_features": 2},
    ]
    found = diagnostics(layers, (1, 10, 10))
    assert [(d.path[1], d.code) for d in found] == [(0, "shape-mismatch"), (1, "shape-mismatch"), (3, "shape-mismatch")]
    assert found[2].message == "`in_features` is 10 but the incoming tensor has 1024 features"


# -- receptive fields --------------------------------------------------------------------------


def test_lenet_receptive_fields() -> None:
    """Tutorial 000: conv1, pool1, conv2, pool2 see 5, 6, 14 and 16 pixels, with jumps 1, 2, 2 and 4."""
    report = netspec.check(netspec.load_spec(Path(__file__).parent.parent / "specs" / "lenet.yaml"))
    fields = {layer.name: layer.receptive_field for layer in report.layers}
    expected = {"conv1": (5, 1), "relu1": (5, 1), "pool1": (6, 2), "conv2": (14, 2), "relu2": (14, 2), "pool2": (16, 4)}
    for name, (size, jump) in expected.items():
        rf = fields[name]
        assert rf is not None and (rf.size, rf.jump) == ((size, size), (jump, jump)), name
    assert fields["flatten1"] is None and fields["fc1"] is None


@pytest.mark.parametrize(
    ("layers", "x", "size", "jump"),
    [
        # a dilated 3×3 kernel spans 5; a stride-2 conv after it adds (3 - 1) × 1
        ([{"type": "Conv2d", "out_channels": 1, "kernel_size": 3, "dilation": 2}], (1, 9, 9), (5, 5), (1, 1)),
        (
            [
                {"type": "Conv2d", "out_channels": 1, "kernel_size": 3, "dilation": 2},
                {"type": "Conv2d", "out_channels": 1, "kernel_size": 3, "stride": 2},
            ],
            (1, 15, 15),
            (7, 7),
            (2, 2),
        ),
        ([{"type": "Conv2d", "out_channels": 1, "kernel_size": [3, 5], "stride": [1, 2]}], (1, 9, 9), (3, 5), (1, 2)),
        # padding layers and activations leave it unchanged
        (
            [{"type": "ZeroPad2d", "padding": 2}, "ReLU", {"type": "Conv2d", "out_channels": 1, "kernel_size": 3}],
            (1, 9, 9),
            (3, 3),
            (1, 1),
        ),
        # adaptive pooling of 8 into 3: windows [0, 3), [2, 6), [5, 8), the largest 4 wide, starts up to 3 apart
        ([{"type": "AdaptiveAvgPool2d", "output_size": 3}], (1, 8, 8), (4, 4), (3, 3)),
        ([{"type": "AdaptiveMaxPool2d", "output_size": 2}], (1, 8, 8), (4, 4), (4, 4)),
    ],
)
def test_receptive_field(layers: list[Any], x: tuple[int, ...], size: tuple[int, int], jump: tuple[int, int]) -> None:
    rf = netspec.check(spec(layers, x)).layers[-1].receptive_field
    assert rf is not None and (rf.size, rf.jump) == (size, jump)


# -- whole networks: the tutorials' tables, and torchinfo's totals ---------------------------------


def test_lenet_shapes_follow_the_tutorial() -> None:
    """Tutorial 000 annotates each stage: (N, 6, 28, 28) ... (N, 400), then 120, 84, 10."""
    report = netspec.check(netspec.load_spec(Path(__file__).parent.parent / "specs" / "lenet.yaml"))
    shapes = {layer.name: layer.output_shape for layer in report.layers}
    assert shapes["conv1"] == ("N", 6, 28, 28)
    assert shapes["pool1"] == ("N", 6, 14, 14)
    assert shapes["conv2"] == ("N", 16, 10, 10)
    assert shapes["pool2"] == ("N", 16, 5, 5)
    assert shapes["flatten1"] == ("N", 400)
    assert [shapes[f"fc{i}"] for i in (1, 2, 3)] == [("N", 120), ("N", 84), ("N", 10)]
    assert report.total_params == 61706
    assert report.output_shape == ("N", 10)


def test_cifar10_net_follows_the_tutorial_table() -> None:
    """Tutorial 004's table: 3x32x32 -> 32x32x32 -> 32x16x16 -> ... -> 64x4x4 -> 1024 -> 64 -> 10."""
    report = netspec.check(netspec.load_spec(Path(__file__).parent.parent / "specs" / "cifar10-net.yaml"))
    table = [(32, 32, 32), (32, 16, 16), (32, 16, 16), (32, 8, 8), (64, 8, 8), (64, 4, 4), (1024,), (64,), (10,)]
    assert [layer.output_shape[1:] for layer in report.layers] == table
    assert report.total_params == 145578


def test_d2l_lenet_needs_16x4x4() -> None:
    """d2l's LeNet on 28×28 Fashion-MNIST: two convs and pools leave 16 × 4 × 4 = 256 features, 44,426 params."""
    report = netspec.check(netspec.load_spec(Path(__file__).parent.parent / "specs" / "lenet5-d2l.yaml"))
    assert report.layers[6].output_shape == ("N", 256)
    assert report.total_params == 44426


def test_input_override_retargets_the_spec() -> None:
    """LeNet on 1×28×28: (N, 16, 4, 4) reaches Flatten, so its declared in_features 400 no longer fits."""
    lenet = netspec.load_spec(Path(__file__).parent.parent / "specs" / "lenet.yaml")
    with pytest.raises(netspec.SpecError) as e:
        netspec.check(lenet.with_input((1, 28, 28)))
    (d,) = e.value.diagnostics
    assert d.message == "`in_features` is 400 but the incoming tensor has 256 features"


def test_sizes_are_python_ints_and_nothing_is_allocated() -> None:
    """Sizes near torch's int64 limit are checked with exact integer arithmetic, instantly."""
    big = 2**62
    report = netspec.check(spec([{"type": "Linear", "out_features": big}], (big,)))
    assert report.total_params == big * big + big
    assert report.layers[0].activation_bytes == 4 * big
    image = netspec.check(spec([{"type": "Conv2d", "out_channels": 2, "kernel_size": 3}], (1, big, big)))
    assert image.output_shape == ("N", 2, big - 2, big - 2)
    assert image.total_mult_adds == 20 * (big - 2) ** 2


@pytest.mark.parametrize("path", SPECS, ids=lambda p: p.name)
def test_totals_equal_torchinfo(path: Path) -> None:
    """Parameters and mult-adds of every shipped spec, against torchinfo on a model built without netspec."""
    torch = pytest.importorskip("torch")
    torchinfo = pytest.importorskip("torchinfo")
    from .oracle import example, torch_model

    loaded = netspec.load_spec(path)
    model = torch_model(loaded).eval()  # sizes read off the real tensors, not netspec's inference
    with torch.no_grad():
        x = model(example(loaded, 1))
    summary = torchinfo.summary(model, input_data=[example(loaded, 1)], verbose=0)
    report = netspec.check(loaded)
    assert report.total_params == summary.trainable_params
    assert report.total_mult_adds == summary.total_mult_adds
    assert report.output_shape[1:] == tuple(x.shape[1:])


# params as the tutorials give them; mult-adds worked out layer by layer (conv params × output positions)
KNOWN_TOTALS = {
    "lenet": (61706, 156 * 28 * 28 + 2416 * 10 * 10 + 48120 + 10164 + 850),
    "lenet5-d2l": (44426, 156 * 24 * 24 + 2416 * 8 * 8 + (256 * 120 + 120) + 10164 + 850),
    "cifar10-net": (145578, 2432 * 32 * 32 + 25632 * 16 * 16 + 51264 * 8 * 8 + 65600 + 650),
}


@pytest.mark.parametrize("name", sorted(KNOWN_TOTALS))
def test_known_totals(name: str) -> None:
    report = netspec.check(netspec.load_spec(Path(__file__).parent.parent / "specs" / f"{name}.yaml"))
    assert (report.total_params, report.total_mult_adds) == KNOWN_TOTALS[name]


@pytest.mark.parametrize(("size", "k", "s", "p"), [(1, 3, 1, 2), (1, 2, 1, 1), (3, 1, 1, 2), (2, 4, 2, 5)])
def test_following_the_transposed_padding_help_gives_a_positive_output(size: int, k: int, s: int, p: int) -> None:
    """The most padding the help allows leaves an output of at least 1 (torch: (H-1)s - 2p + (k-1) + 1)."""
    layer = {"type": "ConvTranspose2d", "out_channels": 2, "kernel_size": k, "stride": s, "padding": p}
    [d] = diagnostics([layer], (1, size, size))
    assert d.code == "empty-output" and d.path[-1] == "padding"
    allowed = int(re.search(r"use padding (\d+)", d.help).group(1))  # type: ignore[union-attr]
    assert (size - 1) * s - 2 * allowed + (k - 1) + 1 >= 1
    assert (size - 1) * s - 2 * (allowed + 1) + (k - 1) + 1 <= 0  # and it is the most: one more empties it again
    assert one({**layer, "padding": allowed}, (1, size, size)).output_shape[2] >= 1
